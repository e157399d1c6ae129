/* SPDX-License-Identifier: MIT */
/*
 * lg_shim.h — the shim's internal API, shared by the interpose_*.c wrappers
 * and the bookkeeping modules (locktable, held, deps, stacks, trace writer,
 * thread table). Nothing here is exported from liblockgraph.so.
 *
 * How a wrapper is written (see interpose_mutex.c for the model):
 *
 *     int pthread_foo(T *obj) {
 *         struct lg_thread *t = lg_enter();        // NULL: pass straight through
 *         if (!t) return LG_REAL(pthread_foo)(obj);
 *         ... bookkeeping (guard is set) ...
 *         lg_leave(t);                             // guard off before blocking
 *         r = LG_REAL(pthread_foo)(obj);           // the real call, unguarded
 *         lg_reenter(t); ... record ...; lg_leave(t);
 *         return r;                                // errno preserved by enter/leave
 *     }
 *
 * For another interposition module (pipes, flock: preload/interpose_io.c):
 *  - real functions: add a line to LG_REALS in real.c (name, version) and
 *    declare it with LG_REAL_DECL below; call through LG_REAL(name).
 *  - guard: lg_enter()/lg_leave() around your own bookkeeping only.
 *  - a blocking call: lg_tt_publish(t, &pub) just before, lg_tt_done(t)
 *    right after (only when the call can really block; check fstat first).
 *  - a stack: lg_stack_capture(t, pc) gives an interned stack (ids per trace
 *    via lg_stack_id()), Python frames included when Python is active;
 *    pc: the wrapper's LG_RET_PC(), or 0.
 *  - a record: lg_rec_begin()/lg_rec_commit() (trace_writer.c).
 */
#ifndef LG_SHIM_H
#define LG_SHIM_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../trace/lg_threadtable.h"
#include "../trace/lg_trace.h"

#define LG_HIDDEN __attribute__((visibility("hidden")))
#define LG_EXPORT __attribute__((visibility("default")))
#define LG_LIKELY(x) __builtin_expect(!!(x), 1)
#define LG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LG_TLS __attribute__((tls_model("initial-exec")))

/* ---- real functions (real.c) -------------------------------------- */

#include "real.h"

/* ---- global state (shim.c) ----------------------------------------- */

enum lg_state_v { LG_ST_UNINIT = 0, LG_ST_INITING = 1, LG_ST_ACTIVE = 2, LG_ST_OFF = 3 };

struct lg_global {
    _Atomic int state;          /* enum lg_state_v */
    uintptr_t py_lo, py_hi;     /* _PyRuntime range: GIL mutexes/condvars live here */
    uintptr_t py_span;          /* py_hi - py_lo (0: no interpreter) */
    uintptr_t pytext_lo, pytext_hi; /* the interpreter's code, when its frames are walked */
    int py;                     /* a CPython interpreter is in the process (any version) */
    pid_t pid;                  /* pid the current trace belongs to */
    uintptr_t self_lo, self_hi; /* our own text: frames here are cut from stacks */
    uint16_t epoch;             /* trace generation of this process image (fork child: +1) */
    int pthread_key_ok;
};
extern struct lg_global lg_g LG_HIDDEN;

/* ---- per-thread state ---------------------------------------------- */

#define LG_MAX_HELD 1024        /* ThreadSanitizer gives up at 64; the issue asks 1024 */
#define LG_STACK_MAX 32         /* native frames kept per stack */
#define LG_PY_MAX 24            /* Python frames kept per stack */

struct lg_lock;
struct lg_stackent;

/* One lock this thread holds (held.c). 64 bytes; the fast paths write
 * and test kind/mode/recursion/cond_waiting as the one word `tag`. */
struct lg_held_ent {
    uintptr_t addr;
    struct lg_lock *lock;       /* its lock-table entry */
    uint64_t lock_id;
    uint64_t pc;                /* return address of the acquiring call */
    uint64_t prefix;            /* hash of held[0..i], for the dependency cache */
    struct lg_stackent *stack;  /* full stack of the acquisition, or NULL */
    union {
        struct {
            uint16_t kind;          /* enum lg_lock_kind */
            uint16_t mode;          /* enum lg_acq_mode */
            uint16_t recursion;     /* extra acquisitions of a recursive mutex */
            uint16_t cond_waiting;  /* released inside a condition wait */
        };
        uint64_t tag;
    };
    union {
        struct {
            uint32_t gen;           /* lock generation at acquisition */
            uint16_t flags;         /* enum lg_acq_flags */
            uint16_t pad;
        };
        uint64_t genflags;
    };
};

/* The tag of a plain write-mode hold of a lock of kind k: what the fast
 * release path pops without a second look. */
#define LG_HELD_TAG(k, mode) ((uint64_t)(uint16_t)(k) | (uint64_t)(uint16_t)(mode) << 16)

/* Dependency cache (a per-thread open-addressing table that starts small
 * and grows on the miss path). A probe touches only the 16-byte slots:
 * the key's top 40 bits (bit 63 forced: never 0, the empty slot) over a
 * 24-bit count of repeats not yet added to the DEP record
 * (lg_depcache_flush), and the acquisition's stack. The record's count
 * field (its trace offset / 4; 0: no record), which a hit does not need,
 * lives apart. */
#define LG_DC_PBITS 24
#define LG_DC_PMASK ((1ull << LG_DC_PBITS) - 1)
static inline uint64_t lg_dc_tag(uint64_t key) { return (key | 1ull << 63) & ~LG_DC_PMASK; }
struct lg_depcache_ent {
    uint64_t word;              /* lg_dc_tag(key) | pending; 0: empty */
    struct lg_stackent *stack;
};
#define LG_DC_SLOT_BYTES (sizeof(struct lg_depcache_ent) + sizeof(uint32_t))

#define LG_DEPCACHE_INIT 256    /* slots in the thread block itself: 5 KiB */
#define LG_DEPCACHE_MAX (1u << 17)  /* 2.5 MiB: beyond it, evictions write a DEP again */
#define LG_LCACHE_SIZE 64       /* per-thread lock-table lookups kept: 1 KiB */

struct lg_thread {
    struct lg_thread *next;     /* registry (never unlinked; blocks are reused) */
    _Atomic int alive;          /* 1 while its thread lives; CAS 0->1 to reuse */
    pid_t tid;
    uint64_t pthread;           /* pthread_self() */
    uint64_t create_seq;        /* which pthread_create made it (0: not seen) */
    struct lg_tt_slot *slot;    /* thread-table slot, or NULL */
    /* Hot: read on every acquisition. */
    uint32_t nheld;             /* entries in held[] */
    uint32_t slow;              /* nonzero: acquisitions take lg_acquired (nsem_held || overflowed) */
    uint32_t nsem_held;         /* how many held entries are semaphores (may be stale) */
    int overflowed;             /* held stack overflowed: tracking stopped */
    struct lg_depcache_ent *cache;  /* cache0 or a larger mapping */
    uint32_t cache_mask;        /* slots - 1 */
    uint32_t cache_used;        /* filled slots */
    uint32_t *cache_count_at;   /* per slot, apart: the DEP record's count field / 4 */
    uint64_t cache_destroyed_at;  /* lg_locks_destroyed when the table was made */
    int end_how;                /* enum lg_end_how, set by pthread_exit / the trampoline */
    /* CPython: the stack a blocking sem_wait captured, reused by the
     * acquisition that ends that wait on the same semaphore. */
    uintptr_t py_pending_sem;
    struct lg_stackent *py_pending_stack;
    /* CPython: when the thread posted the semaphore at the bottom of its
     * held stack (threading's _tstate_lock, taken first at bootstrap and
     * posted by the interpreter as the thread finishes: what join waits
     * for), with nothing traced since; 0 otherwise. Its THREAD_EXIT
     * carries this time, so a joiner that went on at once is after it. */
    uint64_t py_end_ns;
    /* Lock-table entries this thread used lately, by address (direct
     * mapped; an entry's address never changes, so nothing goes stale). */
    struct lg_lcache_ent {
        uintptr_t addr;
        struct lg_lock *lock;
    } lcache[LG_LCACHE_SIZE];
    /* The first dependency-cache table, then the held stack, last: a
     * thread touches its block's first pages only (about 8 KiB), as the
     * held stack rarely goes deep. */
    struct lg_depcache_ent cache0[LG_DEPCACHE_INIT];
    uint32_t cache0_count_at[LG_DEPCACHE_INIT];
    struct lg_held_ent held[LG_MAX_HELD];
};

/* Forget every cached dependency (fork child, a reused thread block):
 * a larger table is given back, cache0 cleared. */
LG_HIDDEN void lg_depcache_reset(struct lg_thread *t);
/* Add the repeats counted in t's cache to their DEP records (the thread's
 * end, the process's end, exec): the hot path counts in the cache, and
 * the flush writes through the file (lg_trace_add_count), so the trace
 * pages behind the writer, given back as it goes, are never mapped
 * again. Guard set; the calling thread's own cache only. */
LG_HIDDEN void lg_depcache_flush(struct lg_thread *t);
static inline void lg_thread_set_slow(struct lg_thread *t) { t->slow = t->nsem_held | (uint32_t)t->overflowed; }

/* The per-thread pointer and the reentry guard, in initial-exec TLS: no
 * __tls_get_addr call (it can malloc when the library is dlopen'ed) and
 * only a few bytes of the static TLS surplus (FACTS §2). */
struct lg_tls_block {
    struct lg_thread *self;
    int guard;
};
extern __thread struct lg_tls_block lg_tlsb LG_TLS LG_HIDDEN;
#define lg_tls_self (lg_tlsb.self)
#define lg_tls_guard (lg_tlsb.guard)
#define LG_GUARD_DEAD 0x100     /* thread past its exit record: pass everything through */

LG_HIDDEN struct lg_thread *lg_enter_slow(void);

/* Enter the shim's bookkeeping. Returns NULL when the call must go
 * straight to the real function: reentered (from the unwinder, dlsym, a
 * signal handler during bookkeeping), not active, or thread exiting. */
static inline struct lg_thread *lg_enter(void)
{
    if (LG_UNLIKELY(lg_tls_guard))
        return NULL;
    struct lg_thread *t = lg_tls_self;
    if (LG_UNLIKELY(!t))
        return lg_enter_slow();
    lg_tls_guard = 1;
    return t;
}
static inline void lg_leave(struct lg_thread *t) { (void)t; lg_tls_guard = 0; }

/* The calling thread's state without entering (guard left clear), or NULL
 * when the call must pass straight through. For the hot wrappers, which
 * set the guard only around their own bookkeeping. */
static inline struct lg_thread *lg_self(void)
{
    if (LG_UNLIKELY(lg_tls_guard))
        return NULL;
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t != NULL))
        return t;
    t = lg_enter_slow();
    if (t)
        lg_tls_guard = 0;
    return t;
}
static inline void lg_reenter(struct lg_thread *t) { (void)t; lg_tls_guard = 1; }

/* 1 when addr lies in the interpreter's runtime (the GIL's locks). */
static inline int lg_is_gil(const void *addr)
{
    return (uintptr_t)addr - lg_g.py_lo < lg_g.py_span;
}

LG_HIDDEN pid_t lg_gettid(void);
LG_HIDDEN uint64_t lg_now_ns(void);
LG_HIDDEN void lg_say(const char *msg);          /* one line on stderr, raw write(2) */
LG_HIDDEN void *lg_arena_alloc(size_t n);        /* zeroed, never freed, lock-free */
LG_HIDDEN struct lg_thread *lg_thread_first(void);
LG_HIDDEN struct lg_thread *lg_thread_by_pthread(uint64_t pthread);
/* THREAD_START for t; its time is `when` (the creator's pthread_create
 * call, so a thread is born before its creator's next step), 0: now. */
LG_HIDDEN void lg_thread_start_record(struct lg_thread *t, pid_t creator, struct lg_stackent *st,
                                      uint64_t routine, uint64_t when);
LG_HIDDEN void lg_thread_end(struct lg_thread *t, int how);  /* THREAD_EXIT + HELD_AT, frees slot */
LG_HIDDEN void lg_proc_end(int how, int status);             /* PROC_EXIT + HELD_AT for all */
LG_HIDDEN void lg_fork_prepare(void);
LG_HIDDEN void lg_fork_parent(void);
LG_HIDDEN void lg_fork_child(void);
LG_HIDDEN void lg_mutex_selftest(void);         /* interpose_mutex.c: may the shim take mutexes inline */

/* ---- lock table (locktable.c) -------------------------------------- */

enum lg_lockent_flags {
    LG_LE_BUSY = 1u << 16,      /* being (re)initialised: others wait */
    LG_LE_LOCK_SEM = 1u << 17,  /* semaphore created with value 1: a lock */
    LG_LE_SLOW = 1u << 18,      /* recursive mutex or semaphore: not for lg_acquired_fast */
};

/* One lock (or condvar, barrier) address: 64 bytes, in a global table
 * that is never shrunk (an address keeps its entry for good). lock_id == 0 means "not
 * live" (never seen, or destroyed): the next use or init gives it a new id. */
struct lg_lock {
    _Atomic uintptr_t addr;
    _Atomic uint64_t lock_id;
    _Atomic uint64_t aux;       /* condvar: lock id of the first mutex it was used with */
    struct lg_sharedid *shared; /* backing object, for pshared/named locks */
    struct lg_stackent *site;   /* init site (or first use) */
    uint32_t gen;
    uint16_t kind;              /* enum lg_lock_kind, or LG_KIND_COND/BARRIER */
    uint16_t subtype;           /* enum lg_lock_subtype */
    _Atomic int32_t owner;      /* tid of the last acquirer still holding it (write mode) */
    int32_t sem_value;
    _Atomic uint32_t flags;     /* LG_LOCKF_* (low bits), LG_LE_* */
    _Atomic uint16_t announced; /* epoch whose trace has its LOCK_NEW */
    uint16_t born;              /* epoch it was created in */
};

#define LG_KIND_COND 100        /* not lock kinds of the format: never announced */
#define LG_KIND_REC1 102        /* lg_push_fast only: a recursive mutex's first acquisition */
#define LG_KIND_BARRIER 101

struct lg_sharedid {
    uint64_t dev, ino, off;
    char *name;                 /* sem_open name, or NULL */
};

LG_HIDDEN void lg_locktable_init(void);
/* Locks destroyed so far in this process (the dependency caches' sweep). */
extern _Atomic uint64_t lg_locks_destroyed LG_HIDDEN;

/*
 * The index from address to entry: levels of 64-byte buckets, each level
 * four times the one before (128 buckets, then 512, ... 512K), found by a
 * multiplicative hash, so a program's few locks fill a page or two of
 * level 0 wherever they lie in memory (the heap of a CPython run spreads
 * its 170 locks over 45 distinct 8 KiB spans: an address-ordered table
 * touched 81 pages for them, this one 5). A bucket holds 8 slots, each a
 * 32-bit tag of the address over the entry's number + 1 (0: empty). An
 * address is in the first bucket of its sequence (level 0's, level 1's,
 * ..., then the next buckets of the last level) that has room: slots are
 * never emptied, so a lookup ends at the first empty slot, and a level
 * costs one cache line. Entries (64 bytes) are handed out in order from
 * one NORESERVE mapping: a program's locks are dense there too.
 */
#define LG_LT_LEVELS 7
#define LG_LT_BITS0 7           /* level 0: 2^7 buckets */
#define LG_LT_SLOTS 8           /* per bucket: one cache line */
#define LG_LT_SPILL 64          /* buckets of the last level one address may use */
/* Buckets before level lv: 128 (4^lv - 1) / 3. */
#define LG_LT_BASE(lv) (((1u << (2 * (lv))) - 1) / 3 << LG_LT_BITS0)
#define LG_LT_BUCKETS LG_LT_BASE(LG_LT_LEVELS)
#define LG_LT_LAST_BITS (LG_LT_BITS0 + 2 * (LG_LT_LEVELS - 1))
#define LG_LT_ENTRIES (1u << 21)    /* live and dead lock addresses the table can hold */
extern _Atomic uint64_t *lg_lockidx LG_HIDDEN;     /* LG_LT_BUCKETS * LG_LT_SLOTS slots */
extern struct lg_lock *lg_lockents LG_HIDDEN;      /* LG_LT_ENTRIES entries */

static inline uint64_t lg_lock_hash(uintptr_t a) { return (uint64_t)a * 0x9e3779b97f4a7c15ull; }
static inline uint32_t lg_lock_tag(uintptr_t a) { return (uint32_t)(((uint64_t)a * 0xc2b2ae3d27d4eb4full) >> 32); }
/* The first slot of level lv's bucket for hash h. */
static inline uint32_t lg_lt_bucket(int lv, uint64_t h)
{
    return (LG_LT_BASE(lv) + (uint32_t)(h >> (64 - (LG_LT_BITS0 + 2 * lv)))) * LG_LT_SLOTS;
}
/* The next bucket of the last level, wrapping inside it. */
static inline uint32_t lg_lt_spill(uint32_t slot)
{
    uint32_t first = LG_LT_BASE(LG_LT_LEVELS - 1) * LG_LT_SLOTS, n = (1u << LG_LT_LAST_BITS) * LG_LT_SLOTS;
    return first + (slot - first + LG_LT_SLOTS) % n;
}

/* locktable.c: a fresh entry holding a (its number + 1), 0 when the
 * entries are used up; and the one "table is full" line. */
LG_HIDDEN uint32_t lg_lock_new_entry(uintptr_t a);
LG_HIDDEN void lg_locktab_full(void);

/* The walk of a's bucket sequence: its entry, or NULL when never seen.
 * claim: put a into the first empty slot instead (the same walk, so two
 * threads adding one address meet at one slot: the CAS loser finds the
 * winner's entry there; its own, unused, is lost: 64 bytes). */
static inline __attribute__((always_inline)) struct lg_lock *lg_lock_walk(uintptr_t a, int claim)
{
    _Atomic uint64_t *ix = lg_lockidx;
    if (LG_UNLIKELY(!ix))
        return NULL;
    uint64_t h = lg_lock_hash(a);
    uint32_t tag = lg_lock_tag(a);
    uint32_t b = lg_lt_bucket(0, h), mine = 0;
    for (int step = 0; step < LG_LT_LEVELS - 1 + LG_LT_SPILL; step++) {
        for (int s = 0; s < LG_LT_SLOTS; s++) {
            uint64_t v = atomic_load_explicit(&ix[b + s], memory_order_acquire);
            if (v == 0) {
                if (!claim || (!mine && !(mine = lg_lock_new_entry(a))))
                    return NULL;
                if (atomic_compare_exchange_strong_explicit(&ix[b + s], &v, (uint64_t)tag << 32 | mine,
                                                            memory_order_acq_rel, memory_order_acquire))
                    return &lg_lockents[mine - 1];
            }
            if ((uint32_t)(v >> 32) == tag) {
                struct lg_lock *l = &lg_lockents[(uint32_t)v - 1];
                if (LG_LIKELY(atomic_load_explicit(&l->addr, memory_order_relaxed) == a))
                    return l;
            }
        }
        b = step + 1 < LG_LT_LEVELS ? lg_lt_bucket(step + 1, h) : lg_lt_spill(b);
    }
    if (claim)
        lg_locktab_full();
    return NULL;
}

/* The entry for addr, NULL if never seen. Hot path: loads of read-mostly
 * lines (level 0's bucket and the entry, for most programs); no write, no
 * atomic read-modify-write. */
static inline __attribute__((always_inline)) struct lg_lock *lg_lock_find(const void *addr)
{
    return lg_lock_walk((uintptr_t)addr, 0);
}
/* The live entry for addr, created on first use (site = current stack,
 * LG_LOCKF_FIRST_USE). NULL if the table is full. */
LG_HIDDEN struct lg_lock *lg_lock_get(struct lg_thread *t, const void *addr, int kind, int subtype);
/* (Re)initialise: new id and generation, init site captured now (pc:
 * the init wrapper's LG_RET_PC(), or 0). */
LG_HIDDEN struct lg_lock *lg_lock_init(struct lg_thread *t, const void *addr, int kind, int subtype,
                                       int sem_value, struct lg_sharedid *shared, uint64_t pc);
/* Destroy: LOCK_DESTROY if announced, then not live. */
LG_HIDDEN void lg_lock_destroy(struct lg_thread *t, struct lg_lock *l);
/* The lock's id in the current trace, writing LOCK_NEW the first time. */
LG_HIDDEN uint64_t lg_lock_announce(struct lg_lock *l);
/* Backing object of the mapping that holds addr (reads /proc/self/maps
 * with raw syscalls). Returns an arena copy, or NULL. */
LG_HIDDEN struct lg_sharedid *lg_shared_identity(const void *addr, const char *name);

/* Its slot: spinlocks are 4 bytes apart, mutexes 40, whole structures a
 * page or more. */
static inline uint32_t lg_lcache_idx(uintptr_t a) { return (uint32_t)((a >> 2) ^ (a >> 8)) & (LG_LCACHE_SIZE - 1); }

/* lg_lock_find through the calling thread's small cache (hot path). */
static inline __attribute__((always_inline)) struct lg_lock *lg_lock_find_cached(struct lg_thread *t, const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    struct lg_lcache_ent *c = &t->lcache[lg_lcache_idx(a)];
    if (LG_LIKELY(c->addr == a))
        return c->lock;
    struct lg_lock *l = lg_lock_find(addr);
    if (l) {
        c->addr = a;
        c->lock = l;
    }
    return l;
}

static inline struct lg_lock *lg_lock_live(struct lg_thread *t, const void *addr, int kind, int subtype)
{
    struct lg_lock *l = lg_lock_find(addr);
    if (LG_LIKELY(l && atomic_load_explicit(&l->lock_id, memory_order_acquire)))
        return l;
    return lg_lock_get(t, addr, kind, subtype);
}

/* ---- held stack and dependencies (held.c, deps.c) ------------------ */

#define LG_PREFIX_SEED 0x6a09e667f3bcc909ull
#define LG_ROOT_SEED 0x2545f4914f6cdd1dull

/* Hash of the held set, one step per entry: the held set below, the
 * lock, mode and flags (one multiply: it runs on every nested
 * acquisition). It is also the dependency-cache key of the acquisition
 * that pushed the entry: (held set below, lock, mode, flags). Odd, so
 * never the cache's empty key 0. */
static inline uint64_t lg_dep_key(uint64_t below, uint64_t lock_id, unsigned mode, unsigned flags)
{
    uint64_t h = (below ^ (lock_id * 16 + mode * 8 + flags)) * 0xff51afd7ed558ccdull;
    return (h ^ (h >> 31)) | 1;
}
#define lg_prefix_step lg_dep_key

/* After a successful acquisition: push, then record the dependency if the
 * held set is not empty and this (held set, lock, mode, flags) is new. */
LG_HIDDEN void lg_acquired(struct lg_thread *t, struct lg_lock *l, const void *addr, int mode,
                           int flags, uint64_t pc, struct lg_stackent *known_stack);
/* Before a release: pop; records misuse when this thread does not hold it.
 * Returns 1 if it was held by this thread. */
LG_HIDDEN int lg_released(struct lg_thread *t, const void *addr, int kind, uint64_t pc);
/* The dependency cache missed for the entry just pushed (slow path). */
LG_HIDDEN void lg_dep_miss(struct lg_thread *t, struct lg_held_ent *h, uint64_t key);
LG_HIDDEN struct lg_held_ent *lg_held_find(struct lg_thread *t, const void *addr);
LG_HIDDEN void lg_held_remove(struct lg_thread *t, struct lg_held_ent *h);
LG_HIDDEN void lg_held_drop_stale(struct lg_thread *t);
LG_HIDDEN void lg_held_drop_released(struct lg_thread *t);   /* keeps locks destroyed while held */
LG_HIDDEN void lg_destroy_locked(struct lg_thread *t, struct lg_lock *l, const void *addr, int owner, uint64_t pc);
/* A HELD_AT record for lock l, held by holder_tid, taken as h says (NULL:
 * not known). 0, or -1 when the trace takes no more. */
LG_HIDDEN int lg_held_at_record(struct lg_lock *l, const struct lg_held_ent *h, int how, int holder_tid);
/* Write HELD_AT records for t's held locks. */
LG_HIDDEN uint32_t lg_held_report(struct lg_thread *t, int how);
/* Write the DEP record for acq (the top of t's held stack) against the
 * locks below it; fills acq->stack. Returns the record's count field. */
LG_HIDDEN uint32_t *lg_dep_record(struct lg_thread *t, struct lg_held_ent *acq);

/* MISUSE record, first time per (kind, lock, call site). */
LG_HIDDEN void lg_misuse(struct lg_thread *t, int kind, struct lg_lock *l, uint64_t pc,
                         uint64_t other, int64_t extra, int err);

/*
 * The hot path, inlined into the mutex wrappers. An uncontended lock then
 * costs: one lock-table probe (a read-mostly line), a push of one 64-byte
 * entry into this thread's own stack, and, with locks already held, one
 * probe of this thread's dependency cache and a count bump in the DEP
 * record. No malloc (per-thread blocks are mmap'd once), no syscall, no
 * atomic read-modify-write, no store to a line another thread uses (a
 * mutex's owner is read from the mutex itself when needed), nothing the
 * program can see. Anything unusual (first use, recursion, semaphores
 * held, overflow, a new dependency) goes to the out-of-line functions
 * above. Guard set by the caller.
 */
/* Slot n's prefix was just (re)computed: the slot above, if a push
 * there finds it again, may not reuse its prefix (lg_push_fast), which
 * was hashed from the old one. */
static inline void lg_held_prefix_changed(struct lg_thread *t, uint32_t n)
{
    if (n + 1 < LG_MAX_HELD)
        t->held[n + 1].prefix = 0;
}

/* The push itself. Returns 0 when done (nothing new to record), 1 when
 * nothing was pushed and lg_acquired must take it (unusual state or
 * lock), 2 when *hp was pushed and its dependency key *keyp missed the
 * cache's home slot (lg_dep_miss). */
static inline __attribute__((always_inline)) int lg_push_fast(struct lg_thread *t, struct lg_lock *l, const void *addr,
                                                              uint64_t pc, int flags, int mode, int kind,
                                                              struct lg_held_ent **hp, uint64_t *keyp)
{
    uint32_t n = t->nheld;
    if (LG_UNLIKELY(t->slow || n == LG_MAX_HELD ||
                    ((atomic_load_explicit(&l->flags, memory_order_relaxed) & LG_LE_SLOW) && kind != LG_KIND_REC1)))
        return 1;
    if (kind == LG_KIND_REC1)
        kind = LG_LOCK_MUTEX;
    uint64_t id = atomic_load_explicit(&l->lock_id, memory_order_relaxed);
    struct lg_held_ent *h = &t->held[n];
    /* The slot still holds what the last push at this depth wrote. When
     * that was this lock (its id: one lock, one address, one generation),
     * in this mode, with these flags, and the slot's prefix is still good
     * (lg_held_prefix_changed clears the slot above whenever a prefix
     * changes), the push is a rewrite of the same entry: only the call
     * site and the stack are stored. No hash on the way. */
    uint64_t tag = LG_HELD_TAG(l->kind, mode);
    uint64_t prefix = h->prefix;
    if (LG_UNLIKELY(!prefix) || LG_UNLIKELY(h->lock_id != id) || LG_UNLIKELY(h->tag != tag) ||
        LG_UNLIKELY(h->flags != (uint16_t)flags)) {
        uint64_t below = n ? t->held[n - 1].prefix : LG_PREFIX_SEED;
        h->addr = (uintptr_t)addr;
        h->lock = l;
        h->lock_id = id;
        prefix = lg_prefix_step(below, id, (unsigned)mode, (unsigned)flags);
        h->prefix = prefix;
        h->tag = tag;
        h->genflags = (uint64_t)l->gen | (uint64_t)(uint16_t)flags << 32;
        lg_held_prefix_changed(t, n);
    }
    h->pc = pc;
    t->nheld = n + 1;
    /* A spinlock keeps no owner of its own: the table's is the only one
     * (mutexes and rwlocks have theirs in the lock word). */
    if (kind == LG_LOCK_SPIN)
        atomic_store_explicit(&l->owner, t->tid, memory_order_relaxed);
    uint64_t key;
    if (n == 0) {
        if (LG_LIKELY(!lg_g.py)) {
            h->stack = NULL;
            return 0;   /* nothing held: nothing to record */
        }
        key = (lg_dep_key(LG_ROOT_SEED, id, 0, 0) ^ pc) | 1;
    } else {
        key = prefix;
    }
    struct lg_depcache_ent *e = &t->cache[(uint32_t)(key >> LG_DC_PBITS) & t->cache_mask];
    uint64_t w = e->word;
    if (LG_LIKELY((w ^ lg_dc_tag(key)) < LG_DC_PMASK)) {
        e->word = w + 1;          /* a repeat, added to the DEP record by lg_depcache_flush */
        h->stack = e->stack;
        return 0;
    }
    h->stack = NULL;
    *hp = h;
    *keyp = key;
    return 2;
}

static inline __attribute__((always_inline)) void lg_acquired_fast_as(struct lg_thread *t, struct lg_lock *l, const void *addr, uint64_t pc, int flags,
                                                                   int mode, int kind)
{
    struct lg_held_ent *h;
    uint64_t key;
    int r = lg_push_fast(t, l, addr, pc, flags, mode, kind, &h, &key);
    if (LG_UNLIKELY(r == 1))
        lg_acquired(t, l, addr, mode, flags, pc, NULL);
    else if (LG_UNLIKELY(r == 2))
        lg_dep_miss(t, h, key);
}

#define lg_acquired_fast(t, l, addr, pc, flags) lg_acquired_fast_as(t, l, addr, pc, flags, LG_MODE_WRITE, LG_LOCK_MUTEX)

/* Release of the lock on top of the stack, a plain hold (either mode) of
 * kind `kind`, not recursive, not in a condition wait: a pop. Anything
 * else: lg_released. Needs no guard: a signal handler's lock and unlock
 * in between leave the stack as they found it. */
static inline __attribute__((always_inline)) void lg_released_fast(struct lg_thread *t, const void *addr, int kind, uint64_t pc)
{
    uint32_t n = t->nheld;
    if (LG_LIKELY(n)) {
        struct lg_held_ent *h = &t->held[n - 1];
        if (LG_LIKELY(h->addr == (uintptr_t)addr && (h->tag & ~LG_HELD_TAG(0, 0xffff)) == LG_HELD_TAG(kind, 0))) {
            if (kind == LG_LOCK_SPIN)
                atomic_store_explicit(&h->lock->owner, 0, memory_order_relaxed);
            t->nheld = n - 1;
            return;
        }
    }
    lg_tls_guard = 1;
    lg_released(t, addr, kind, pc);
    lg_tls_guard = 0;
}

/* A first use (no live lock-table entry yet): make it, then record
 * (held.c). Guard set. */
LG_HIDDEN void lg_got_new(struct lg_thread *t, const void *addr, int kind, int subtype, int mode, int flags,
                          uint64_t pc);

/* After a successful acquisition of a rwlock or spinlock: the guard
 * around the push, the lock found through the thread's cache. */
static inline __attribute__((always_inline)) void lg_got(struct lg_thread *t, const void *addr, int kind, int subtype,
                                                         int mode, int flags, uint64_t pc)
{
    lg_tls_guard = 1;
    struct lg_lock *l = lg_lock_find_cached(t, addr);
    if (LG_LIKELY(l && atomic_load_explicit(&l->lock_id, memory_order_acquire)))
        lg_acquired_fast_as(t, l, addr, pc, flags, mode, kind);
    else
        lg_got_new(t, addr, kind, subtype, mode, flags, pc);
    lg_tls_guard = 0;
}

/* ---- stacks (stacks.c) --------------------------------------------- */

struct lg_stackent {
    _Atomic uint64_t key;       /* hash of the frames; 0 free */
    _Atomic uint64_t epoch_id;  /* (epoch << 32) | id in that epoch's trace; low 32 = ~0 while writing */
    uint32_t nframes, npy;      /* the frames live in stacks.c's shared chains */
    uint32_t py_len;            /* PYSTACK payload length */
    _Atomic uint32_t ready;     /* frames filled in */
};

/* Capture the caller's stack (our own frames cut), with Python frames
 * when Python is active, and intern it. Guard must be set. NULL if the
 * table is full or unwinding failed. hook_pc: the return address of the
 * wrapper the program called (LG_RET_PC() there), 0 when not known; when
 * the interpreter called the wrapper, that address is all of the native
 * stack a Python capture keeps, and nothing is unwound. */
LG_HIDDEN struct lg_stackent *lg_stack_capture(struct lg_thread *t, uint64_t hook_pc);
/* The stack's id in the current trace; writes STACK/PYSTACK the first time. */
LG_HIDDEN uint32_t lg_stack_id(struct lg_stackent *s);
LG_HIDDEN void lg_stacks_reset_for_child(void);
/* Around fork (pthread_atfork): no release of unwind-table pages runs
 * across it (stacks.c). */
LG_HIDDEN void lg_stacks_fork_prepare(void);
LG_HIDDEN void lg_stacks_fork_done(void);
LG_HIDDEN void lg_stacks_init(void);            /* once, at start-up: loads the unwinder */
LG_HIDDEN uint64_t lg_py_where(void);            /* hash of the innermost Python frame, 0 if none */
LG_HIDDEN void lg_modules_scan(void);            /* MODULE records for objects not yet recorded */

/* ---- trace writer (trace_writer.c) --------------------------------- */

LG_HIDDEN int lg_trace_open(int forked, uint64_t fork_ns, pid_t fork_parent_tid);
/* Reserve a record of payload size n; returns the payload, zeroed, or NULL
 * when not recording. Commit with lg_rec_commit (stores kind last). */
LG_HIDDEN void *lg_rec_begin(uint32_t n, struct lg_rec_hdr **hdr);
LG_HIDDEN void lg_rec_commit(struct lg_rec_hdr *hdr, int kind, int flags);
/* Same, with the record's time given (0: now). */
LG_HIDDEN void lg_rec_commit_at(struct lg_rec_hdr *hdr, int kind, int flags, uint64_t time_ns);
LG_HIDDEN void lg_trace_finish(void);             /* clean end; later writes are dropped */
LG_HIDDEN void lg_trace_unfinish(void);           /* exec failed: keep writing */
LG_HIDDEN void lg_trace_drop_for_child(void);     /* forget the parent's file in a fork child */
LG_HIDDEN int lg_trace_active(void);
/* The trace mapping's first byte (NULL when no trace is open). */
LG_HIDDEN char *lg_trace_base(void);
/* Add to the 32-bit count at trace offset off (saturating), through the
 * file rather than the mapping (two system calls: a thread's end, never
 * a lock call). */
LG_HIDDEN void lg_trace_add_count(uint64_t off, uint32_t add);
static inline uint32_t lg_sat_add32(uint32_t c, uint32_t add)
{
    uint64_t s = (uint64_t)c + add;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}
LG_HIDDEN void lg_trace_set_flag(uint32_t f);
LG_HIDDEN extern uint32_t lg_trace_exec_seq;

/* ---- thread table (threadtable.c) ---------------------------------- */

struct lg_publish {
    int op;                     /* enum lg_block_op */
    int flags;                  /* enum lg_tt_flags */
    struct lg_lock *lock;       /* the lock waited for, or NULL */
    const void *addr;           /* object address */
    uint64_t aux;
    int32_t target_tid, target_pid, target_fd;
    uint64_t dev, ino;          /* pipes, files */
    struct lg_stackent *stack;  /* NULL: captured here */
};

LG_HIDDEN void lg_tt_open(void);
LG_HIDDEN void lg_tt_claim(struct lg_thread *t);
LG_HIDDEN void lg_tt_free(struct lg_thread *t);
/* Guard must be set. Publishes "about to block" with a snapshot of t's
 * held locks; lg_tt_done clears it and bumps progress. */
LG_HIDDEN void lg_tt_publish(struct lg_thread *t, const struct lg_publish *p);
LG_HIDDEN void lg_tt_done(struct lg_thread *t);
LG_HIDDEN void lg_tt_child_reset(void);

/* ---- helpers -------------------------------------------------------- */

#define LG_RET_PC() ((uint64_t)(uintptr_t)__builtin_return_address(0))

#endif /* LG_SHIM_H */
