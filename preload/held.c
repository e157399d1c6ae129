/* SPDX-License-Identifier: MIT */
/*
 * held.c — the per-thread held-lock stack: push on acquisition, pop on
 * release (from anywhere in the stack), lazy removal of semaphores that
 * another thread released, and HELD_AT records at an end.
 */
#include <string.h>

#include "lg_shim.h"

static inline uint64_t lg_prefix_below(struct lg_thread *t, uint32_t i)
{
    return i ? t->held[i - 1].prefix : LG_PREFIX_SEED;
}

static inline int lg_kind_is_sem(int kind) { return kind == LG_LOCK_SEM || kind == LG_LOCK_NAMED_SEM; }

struct lg_held_ent *lg_held_find(struct lg_thread *t, const void *addr)
{
    /* Most releases are of the most recent acquisition: scan from the top. */
    for (uint32_t i = t->nheld; i-- > 0;)
        if (t->held[i].addr == (uintptr_t)addr)
            return &t->held[i];
    return NULL;
}

void lg_held_remove(struct lg_thread *t, struct lg_held_ent *h)
{
    uint32_t i = (uint32_t)(h - t->held);
    if (lg_kind_is_sem(h->kind) && t->nsem_held) {
        t->nsem_held--;
        lg_thread_set_slow(t);
    }
    t->nheld--;
    if (i == t->nheld)
        return;
    memmove(&t->held[i], &t->held[i + 1], sizeof(t->held[0]) * (t->nheld - i));
    for (uint32_t k = i; k < t->nheld; k++)
        t->held[k].prefix = lg_prefix_step(lg_prefix_below(t, k), t->held[k].lock_id, t->held[k].mode,
                                           t->held[k].flags);
    lg_held_prefix_changed(t, t->nheld - 1);   /* the new top's did: the slot left is stale */
}

/* Why an entry may no longer be "held by t":
 *   1: released for it or re-made — another thread posted the semaphore,
 *      unlocked the mutex as a non-owner, or the lock was destroyed and
 *      made again (new id or generation);
 *   2: the lock was destroyed while t held it and not made again — it
 *      was never released (Python frees a lock a dead thread left held at
 *      finalisation): still "held" for an end report.
 *   0: held. */
static int lg_held_is_stale(struct lg_thread *t, const struct lg_held_ent *h)
{
    struct lg_lock *l = h->lock;
    uint64_t id = atomic_load_explicit(&l->lock_id, memory_order_relaxed);
    if (id == 0)
        return 2;
    if (id != h->lock_id || l->gen != h->gen)
        return 1;
    return lg_kind_is_sem(h->kind) && atomic_load_explicit(&l->owner, memory_order_relaxed) != t->tid;
}

/* Drop stale entries (slow paths: before a DEP, a publish). */
void lg_held_drop_stale(struct lg_thread *t)
{
    for (uint32_t i = t->nheld; i-- > 0;)
        if (lg_held_is_stale(t, &t->held[i]))
            lg_held_remove(t, &t->held[i]);
}

/* At an end: drop what was released; keep what died held. */
void lg_held_drop_released(struct lg_thread *t)
{
    for (uint32_t i = t->nheld; i-- > 0;)
        if (lg_held_is_stale(t, &t->held[i]) == 1)
            lg_held_remove(t, &t->held[i]);
}

static void lg_held_drop_stale_sems(struct lg_thread *t)
{
    for (uint32_t i = t->nheld; i-- > 0;) {
        struct lg_held_ent *h = &t->held[i];
        if (!lg_kind_is_sem(h->kind))
            continue;
        struct lg_lock *l = h->lock;
        if (atomic_load_explicit(&l->owner, memory_order_relaxed) != t->tid ||
            atomic_load_explicit(&l->lock_id, memory_order_relaxed) != h->lock_id)
            lg_held_remove(t, h);
    }
}

/* ---- the dependency cache -------------------------------------------- */

#include <sys/mman.h>

static size_t lg_cache_bytes(uint32_t slots) { return LG_DC_SLOT_BYTES * (size_t)slots; }

static void lg_cache_free(struct lg_thread *t)
{
    if (t->cache && t->cache != t->cache0)
        munmap(t->cache, lg_cache_bytes(t->cache_mask + 1));
}

/* The count fields of a mapping of `slots` slots follow the slots. */
static void lg_cache_set(struct lg_thread *t, struct lg_depcache_ent *tab, uint32_t slots)
{
    t->cache = tab;
    t->cache_mask = slots - 1;
    t->cache_count_at = tab == t->cache0 ? t->cache0_count_at : (uint32_t *)(void *)(tab + slots);
    t->cache_destroyed_at = atomic_load_explicit(&lg_locks_destroyed, memory_order_relaxed);
}

/* Add slot idx's repeats to its record. At a thread's end (through_file)
 * the count is updated through the file (lg_trace_add_count), not the
 * mapping: the records are all over the trace, and touching them all
 * would bring the trace back into the program's RSS. An eviction or a
 * full count happens inside a lock call, which makes no system call: one
 * record, through the mapping. */
static inline void lg_cache_slot_flush(struct lg_thread *t, uint32_t idx, int through_file)
{
    struct lg_depcache_ent *e = &t->cache[idx];
    uint32_t pending = (uint32_t)(e->word & LG_DC_PMASK), at = t->cache_count_at[idx];
    if (!pending)
        return;
    if (at && through_file) {
        lg_trace_add_count((uint64_t)at * 4, pending);
    } else if (at) {
        uint32_t *c = (uint32_t *)(void *)(lg_trace_base() + (size_t)at * 4);
        *c = lg_sat_add32(*c, pending);
    }
    e->word &= ~LG_DC_PMASK;
}

void lg_depcache_flush(struct lg_thread *t)
{
    if (!lg_trace_active())
        return;
    for (uint32_t i = 0; i <= t->cache_mask; i++)
        if (t->cache[i].word & LG_DC_PMASK)
            lg_cache_slot_flush(t, i, 1);
}

void lg_depcache_reset(struct lg_thread *t)
{
    lg_cache_free(t);
    memset(t->cache0, 0, sizeof t->cache0);
    lg_cache_set(t, t->cache0, LG_DEPCACHE_INIT);
    t->cache_used = 0;
}

/* A key's home slot, from its tag (so that a larger table can rehash
 * from the slots alone). */
static inline uint32_t lg_cache_home(uint64_t tag, uint32_t mask) { return (uint32_t)(tag >> LG_DC_PBITS) & mask; }

#define LG_DC_PROBES 32     /* eight lines of slots */

/* The slot for tag within a few probes of its home: the one holding it
 * (*hit = 1) or the first empty one; a full neighbourhood gives the home
 * slot, to evict (a later repeat of the evicted dependency writes a
 * second DEP record; nothing is lost). */
static uint32_t lg_cache_slot(const struct lg_depcache_ent *tab, uint32_t mask, uint64_t tag, int *hit)
{
    uint32_t idx = lg_cache_home(tag, mask);
    for (int p = 0; p < LG_DC_PROBES; p++, idx = (idx + 1) & mask) {
        uint64_t w = tab[idx].word;
        if ((w & ~LG_DC_PMASK) == tag) {
            *hit = 1;
            return idx;
        }
        if (w == 0) {
            *hit = 0;
            return idx;
        }
    }
    *hit = 0;
    return lg_cache_home(tag, mask);
}

/* Rehash the cache into a new table of nsize slots, leaving out, with
 * keep_idle 0, the entries never repeated since they were made (pending
 * 0: the record's count needs nothing from them). 0 when mmap fails. */
static int lg_cache_rebuild(struct lg_thread *t, uint32_t nsize, int keep_idle)
{
    uint32_t size = t->cache_mask + 1;
    struct lg_depcache_ent *n = mmap(NULL, lg_cache_bytes(nsize), PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (n == MAP_FAILED)
        return 0;
    uint32_t *ncount = (uint32_t *)(void *)(n + nsize);
    uint32_t used = 0;
    for (uint32_t i = 0; i < size; i++) {
        const struct lg_depcache_ent *o = &t->cache[i];
        if (!o->word || (!keep_idle && !(o->word & LG_DC_PMASK)))
            continue;
        int hit;
        uint32_t j = lg_cache_slot(n, nsize - 1, o->word & ~LG_DC_PMASK, &hit);
        if (!n[j].word)
            used++;
        n[j] = *o;
        ncount[j] = t->cache_count_at[i];
    }
    lg_cache_free(t);
    lg_cache_set(t, n, nsize);
    t->cache_used = used;
    return 1;
}

#define LG_DC_SWEEP_MIN 512   /* tables this size and up are swept before they double */

/* Double when three quarters full, or when a key finds its neighbourhood
 * full (slow path only: a new dependency is being recorded anyway). A
 * thread that records few dependencies keeps the 5 KiB table in its own
 * block; only a busy one maps more, in proportion to what it records.
 * A thread that keeps making locks (a Condition's wait makes one each
 * time) fills its cache with the keys of dead locks, and would double it
 * to the limit: so when many locks died since the table was made (a
 * quarter of its size, process-wide), a full table first lets go of the
 * entries never repeated, if that leaves it at most half full. Not
 * otherwise: a program's first pass over many lock pairs looks the same
 * until its second. A dependency let go and seen again writes a second
 * DEP record; nothing is lost. */
static void lg_cache_grow(struct lg_thread *t, int now)
{
    uint32_t size = t->cache_mask + 1;
    if ((!now && t->cache_used < size - size / 4) || size >= LG_DEPCACHE_MAX)
        return;
    if (size >= LG_DC_SWEEP_MIN &&
        atomic_load_explicit(&lg_locks_destroyed, memory_order_relaxed) - t->cache_destroyed_at >= size / 4) {
        uint32_t repeated = 0;
        for (uint32_t i = 0; i < size; i++)
            repeated += (t->cache[i].word & LG_DC_PMASK) != 0;
        if (repeated <= size / 2 && lg_cache_rebuild(t, size, 0))
            return;
    }
    lg_cache_rebuild(t, size * 2, 1);
}

/* Contract: called after a successful acquisition, guard set. Pushes the
 * lock; if other locks are held and (held set, lock, mode, flags) is new
 * for this thread, writes a DEP record (stack captured only then);
 * otherwise bumps the existing record's count in place. */
void lg_acquired(struct lg_thread *t, struct lg_lock *l, const void *addr, int mode, int flags, uint64_t pc,
                 struct lg_stackent *known_stack)
{
    if (LG_UNLIKELY(t->overflowed || !l))
        return;
    if (LG_UNLIKELY(t->nsem_held))
        lg_held_drop_stale_sems(t);
    int kind = l->kind;
    if (kind == LG_LOCK_MUTEX && (l->subtype & LG_MUTEX_TYPE_MASK) == LG_MUTEX_RECURSIVE) {
        struct lg_held_ent *r = lg_held_find(t, addr);
        if (r && !r->cond_waiting) {
            r->recursion++;   /* a recursive relock orders nothing new */
            return;
        }
    }
    uint32_t n = t->nheld;
    if (LG_UNLIKELY(n == LG_MAX_HELD)) {
        static _Atomic int said;
        t->overflowed = 1;
        lg_thread_set_slow(t);
        if (!atomic_exchange(&said, 1))
            lg_say("a thread holds more than 1024 locks; that thread's locks are no longer tracked");
        return;
    }
    uint64_t id = atomic_load_explicit(&l->lock_id, memory_order_relaxed);
    struct lg_held_ent *h = &t->held[n];
    h->addr = (uintptr_t)addr;
    h->lock = l;
    h->lock_id = id;
    h->pc = pc;
    h->gen = l->gen;
    h->mode = (uint16_t)mode;
    h->flags = (uint16_t)flags;
    h->kind = (uint16_t)kind;
    h->recursion = 0;
    h->cond_waiting = 0;
    h->stack = known_stack;
    uint64_t below = lg_prefix_below(t, n);
    h->prefix = lg_prefix_step(below, id, (unsigned)mode, (unsigned)flags);
    lg_held_prefix_changed(t, n);
    t->nheld = n + 1;
    /* The owner store is a plain store to a line that the lock's other
     * users touch anyway; no read-modify-write. Readers do not own. */
    if (mode == LG_MODE_WRITE)
        atomic_store_explicit(&l->owner, t->tid, memory_order_relaxed);
    if (lg_kind_is_sem(kind)) {
        t->nsem_held++;
        lg_thread_set_slow(t);
    }

    uint64_t key;
    if (n == 0) {
        /* Nothing held: nothing to record. In a Python process the pc is
         * inside the interpreter, so keep the acquisition's stack for
         * later DEP/HELD_AT records to cite, once per thread, lock and
         * Python line (the innermost frame alone is cheap to read). */
        if (!lg_g.py || known_stack)
            return;
        key = lg_dep_key(LG_ROOT_SEED, id, 0, 0) ^ pc;
    } else {
        key = h->prefix;
    }
    /* Python: the native pc is always the interpreter's, so the Python
     * line is part of the key — each `with lock:` line gets its own stack
     * (and a lock held later cites the line that took it). */
    if (lg_g.py && !known_stack)
        key ^= lg_py_where() * 0x9e3779b97f4a7c15ull;
    lg_dep_miss(t, h, key);
}

/* Contract: guard set; h (the top of t's stack) was just pushed and its
 * key is not in the cache's home slot. Probes the neighbourhood, and on a
 * real miss captures the stack and writes the DEP (or, with nothing else
 * held in a Python process, keeps the acquisition's stack). */
void lg_dep_miss(struct lg_thread *t, struct lg_held_ent *h, uint64_t key)
{
    uint64_t tag = lg_dc_tag(key);
    int hit;
    uint32_t idx = lg_cache_slot(t->cache, t->cache_mask, tag, &hit);
    if (!hit && t->cache[idx].word) {
        /* A full neighbourhood: grow rather than evict, while we may. */
        lg_cache_grow(t, 1);
        idx = lg_cache_slot(t->cache, t->cache_mask, tag, &hit);
    }
    struct lg_depcache_ent *e = &t->cache[idx];
    if (hit) {
        if ((e->word & LG_DC_PMASK) == LG_DC_PMASK)
            lg_cache_slot_flush(t, idx, 0);   /* the count is full */
        e->word++;
        if (!h->stack)
            h->stack = e->stack;
        return;
    }
    uint32_t n = (uint32_t)(h - t->held);
    struct lg_stackent *stack;
    uint32_t count_at = 0;
    if (n == 0) {
        if (!h->stack)
            h->stack = lg_stack_capture(t, h->pc);
        stack = h->stack;
    } else {
        lg_held_drop_stale(t);     /* a lock another thread released for us */
        h = &t->held[t->nheld - 1];
        if (t->nheld == 1)
            return;
        uint32_t *c = lg_dep_record(t, h);
        if (c)   /* 4-byte aligned, within the 8 GiB reserve: fits in 31 bits */
            count_at = (uint32_t)(((char *)c - lg_trace_base()) / 4);
        stack = h->stack;
    }
    /* The stack capture may have taken locks of its own (passed through,
     * guard set) but never touches the cache: e is still the slot. */
    if (!e->word)
        t->cache_used++;
    else
        lg_cache_slot_flush(t, idx, 0);   /* evicted: its repeats so far go to its record */
    e->word = tag;
    e->stack = stack;
    t->cache_count_at[idx] = count_at;
    lg_cache_grow(t, 0);
}

void lg_got_new(struct lg_thread *t, const void *addr, int kind, int subtype, int mode, int flags, uint64_t pc)
{
    struct lg_lock *l = lg_lock_get(t, addr, kind, subtype);
    if (l)
        lg_acquired(t, l, addr, mode, flags, pc, NULL);
}

/* Contract: called before the real release, guard set. Pops the lock if
 * this thread holds it (1); otherwise records unlock-unlocked or
 * unlock-not-owner (0). Semaphores: a post by a non-owner is a release. */
int lg_released(struct lg_thread *t, const void *addr, int kind, uint64_t pc)
{
    struct lg_held_ent *h = lg_held_find(t, addr);
    if (LG_LIKELY(h != NULL)) {
        if (h->recursion && !h->cond_waiting) {
            h->recursion--;
            return 1;
        }
        struct lg_lock *l = h->lock;
        if (h->mode == LG_MODE_WRITE && atomic_load_explicit(&l->owner, memory_order_relaxed) == t->tid)
            atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
        lg_held_remove(t, h);
        return 1;
    }
    if (t->overflowed)
        return 0;
    /* A mutex's owner is in the mutex itself, so even one never seen
     * before can be judged; other kinds only if we saw them. */
    struct lg_lock *l = kind == LG_LOCK_MUTEX ? lg_lock_live(t, addr, LG_LOCK_MUTEX, 0) : lg_lock_find(addr);
    if (!l || !atomic_load(&l->lock_id))
        return 0;
    int owner = atomic_load_explicit(&l->owner, memory_order_relaxed);
    if (lg_kind_is_sem(kind)) {
        if (atomic_load(&l->flags) & LG_LE_LOCK_SEM)
            atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
        return 0;
    }
    if (kind == LG_LOCK_MUTEX) {
        /* glibc keeps the owner tid in the mutex itself; trust it over
         * ours (a lock taken before we were active, a pshared owner). */
        owner = ((const pthread_mutex_t *)addr)->__data.__owner;
    } else if (kind == LG_LOCK_RWLOCK) {
        int w = ((const pthread_rwlock_t *)addr)->__data.__cur_writer;
        unsigned readers = ((const pthread_rwlock_t *)addr)->__data.__readers >> 3;
        if (!w && readers)
            return 0;   /* read-held by someone: we cannot tell whose */
        owner = w;
    }
    if (owner == 0) {
        lg_misuse(t, LG_MISUSE_UNLOCK_UNLOCKED, l, pc, 0, 0, 0);
    } else if (owner != t->tid) {
        lg_misuse(t, LG_MISUSE_UNLOCK_NOT_OWNER, l, pc, (uint64_t)owner, 0, 0);
        /* The real unlock will release it: the owner's held entry goes
         * stale (its generation no longer matches). */
        l->gen++;
        atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
    }
    return 0;
}

int lg_held_at_record(struct lg_lock *l, const struct lg_held_ent *h, int how, int holder_tid)
{
    uint64_t id = lg_lock_announce(l);
    uint32_t sid = h ? lg_stack_id(h->stack) : 0;
    struct lg_rec_hdr *hd;
    struct lg_rec_held_at *r = lg_rec_begin(sizeof *r, &hd);
    if (!r)
        return -1;
    r->lock_id = id ? id : h ? h->lock_id : 0;
    r->pc = h ? h->pc : 0;
    r->stack_id = sid;
    r->mode = h ? h->mode : LG_MODE_WRITE;
    r->how = (uint16_t)how;
    r->holder_tid = holder_tid;
    lg_rec_commit(hd, LG_REC_HELD_AT, 0);
    return 0;
}

uint32_t lg_held_report(struct lg_thread *t, int how)
{
    uint32_t n = t->nheld > LG_MAX_HELD ? LG_MAX_HELD : t->nheld;
    for (uint32_t i = 0; i < n; i++) {
        struct lg_held_ent *h = &t->held[i];
        if (!h->lock || lg_held_is_stale(t, h) == 1)
            continue;
        if (lg_held_at_record(h->lock, h, how, t->tid) < 0)
            break;
    }
    return n;
}

/* Contract: guard set; the lock at addr is about to be destroyed while
 * locked. MISUSE(destroy-locked) and a HELD_AT(how=DESTROY) for the
 * holder; if that is this thread, the lock leaves its held stack. */
void lg_destroy_locked(struct lg_thread *t, struct lg_lock *l, const void *addr, int owner, uint64_t pc)
{
    lg_misuse(t, LG_MISUSE_DESTROY_LOCKED, l, pc, (uint64_t)owner, 0, 0);
    struct lg_held_ent *h = lg_held_find(t, addr);
    lg_held_at_record(l, h, LG_END_DESTROY, h ? t->tid : owner);
    if (h)
        lg_held_remove(t, h);
}
