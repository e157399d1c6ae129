/* SPDX-License-Identifier: MIT */
/*
 * locktable.c — lock identity: a global lock-free table (lg_shim.h says
 * how it is laid out) from address to (lock_id, generation, kind, owner,
 * init site, shared identity). Ids are handed out in order per trace; init and destroy give
 * a new one. LOCK_NEW records are written lazily, once per trace.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lg_shim.h"

_Atomic uint64_t *lg_lockidx;
struct lg_lock *lg_lockents;
static _Atomic uint32_t lg_lockents_used;
static _Atomic uint64_t lg_next_lock_id = 1;
static _Atomic int lg_locktab_full_said;

void lg_locktable_init(void)
{
    /* Address space only (NORESERVE): pages appear as locks do. */
    void *ix = mmap(NULL, sizeof(uint64_t) * LG_LT_SLOTS * LG_LT_BUCKETS, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    void *ents = mmap(NULL, sizeof(struct lg_lock) * LG_LT_ENTRIES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ix == MAP_FAILED || ents == MAP_FAILED) {
        lg_say("cannot map the lock table; locks are not tracked");
        return;
    }
    lg_lockents = ents;
    lg_lockidx = ix;
}

void lg_locktab_full(void)
{
    if (!atomic_exchange(&lg_locktab_full_said, 1))
        lg_say("lock table is full; new locks are not tracked");
}

uint32_t lg_lock_new_entry(uintptr_t a)
{
    uint32_t n = atomic_fetch_add(&lg_lockents_used, 1);
    if (n >= LG_LT_ENTRIES) {
        lg_locktab_full();
        return 0;
    }
    /* Published by the CAS that puts its number in a slot (release). */
    atomic_store_explicit(&lg_lockents[n].addr, a, memory_order_relaxed);
    return n + 1;
}

/* The entry for addr, claimed if new (lock_id still 0). */
static struct lg_lock *lg_lock_slot(const void *addr) { return lg_lock_walk((uintptr_t)addr, 1); }

static int lg_lock_busy(struct lg_lock *l)
{
    uint32_t f = atomic_load(&l->flags);
    for (long w = 0; w < 100000000; w++) {
        if (!(f & LG_LE_BUSY) && atomic_compare_exchange_weak(&l->flags, &f, f | LG_LE_BUSY))
            return 0;
        __builtin_ia32_pause();
        f = atomic_load(&l->flags);
    }
    return -1;
}

/* Fill a fresh identity; caller holds BUSY. Publishes lock_id last. */
static void lg_lock_fill(struct lg_thread *t, struct lg_lock *l, int kind, int subtype, int sem_value,
                         struct lg_sharedid *shared, uint32_t lflags, uint64_t pc)
{
    l->gen++;
    l->kind = (uint16_t)kind;
    l->subtype = (uint16_t)subtype;
    l->sem_value = sem_value;
    l->shared = shared;
    atomic_store(&l->owner, 0);
    atomic_store(&l->aux, 0);
    l->born = lg_g.epoch;
    atomic_store(&l->announced, 0);
    l->site = (kind == LG_KIND_COND || kind == LG_KIND_BARRIER) ? NULL : lg_stack_capture(t, pc);
    if (shared)
        lflags |= LG_LOCKF_SHARED_ID;
    if (kind == LG_LOCK_SEM || kind == LG_LOCK_NAMED_SEM) {
        lflags |= LG_LE_SLOW;
        if (sem_value == 1)
            lflags |= LG_LE_LOCK_SEM;
    }
    if (kind == LG_LOCK_MUTEX && (subtype & LG_MUTEX_TYPE_MASK) == LG_MUTEX_RECURSIVE)
        lflags |= LG_LE_SLOW;
    atomic_store(&l->flags, lflags | LG_LE_BUSY);
    atomic_store_explicit(&l->lock_id, atomic_fetch_add(&lg_next_lock_id, 1), memory_order_release);
}

struct lg_lock *lg_lock_get(struct lg_thread *t, const void *addr, int kind, int subtype)
{
    struct lg_lock *l = lg_lock_slot(addr);
    if (!l)
        return NULL;
    if (atomic_load_explicit(&l->lock_id, memory_order_acquire))
        return l;
    if (lg_lock_busy(l) != 0)
        return NULL;
    if (!atomic_load(&l->lock_id))      /* first use of a statically initialised (or destroyed) lock */
        lg_lock_fill(t, l, kind, subtype, kind == LG_LOCK_SEM ? -1 : 0, NULL, LG_LOCKF_FIRST_USE, 0);
    atomic_fetch_and(&l->flags, ~(uint32_t)LG_LE_BUSY);
    return l;
}

struct lg_lock *lg_lock_init(struct lg_thread *t, const void *addr, int kind, int subtype, int sem_value,
                             struct lg_sharedid *shared, uint64_t pc)
{
    struct lg_lock *l = lg_lock_slot(addr);
    if (!l || lg_lock_busy(l) != 0)
        return NULL;
    lg_lock_fill(t, l, kind, subtype, sem_value, shared, 0, pc);
    atomic_fetch_and(&l->flags, ~(uint32_t)LG_LE_BUSY);
    return l;
}

_Atomic uint64_t lg_locks_destroyed;

void lg_lock_destroy(struct lg_thread *t, struct lg_lock *l)
{
    if (!l || !atomic_load(&l->lock_id))
        return;
    atomic_fetch_add_explicit(&lg_locks_destroyed, 1, memory_order_relaxed);
    /* Destroyed while someone holds it: its holder's end report will name
     * it, so it must be in this trace. */
    if (atomic_load(&l->owner) != 0)
        lg_lock_announce(l);
    /* No stack: no finding uses where a free lock died (destroying a held
     * one is a MISUSE record, with its own), and a process's end destroys
     * locks by the thousand: OpenSSL's exit handler unwinding through
     * libcrypto put 380 KiB of its unwind tables into CPython's peak RSS. */
    if (atomic_load(&l->announced) == (uint16_t)(lg_g.epoch + 1)) {
        struct lg_rec_hdr *h;
        struct lg_rec_lock_destroy *r = lg_rec_begin(sizeof *r, &h);
        if (r) {
            r->lock_id = atomic_load(&l->lock_id);
            r->stack_id = 0;
            lg_rec_commit(h, LG_REC_LOCK_DESTROY, 0);
        }
    }
    atomic_store(&l->owner, 0);
    atomic_store_explicit(&l->lock_id, 0, memory_order_release);
}

/* Contract: the lock's id, its LOCK_NEW written in the current trace
 * first (once per trace: a fork child re-announces inherited locks). */
uint64_t lg_lock_announce(struct lg_lock *l)
{
    uint64_t id = atomic_load_explicit(&l->lock_id, memory_order_acquire);
    uint16_t want = (uint16_t)(lg_g.epoch + 1);
    uint16_t a = atomic_load_explicit(&l->announced, memory_order_relaxed);
    if (LG_LIKELY(a == want) || !id || l->kind >= LG_KIND_COND)
        return id;
    if (!atomic_compare_exchange_strong(&l->announced, &a, want))
        return id;
    const char *name = l->shared && l->shared->name ? l->shared->name : NULL;
    uint32_t nlen = name ? (uint32_t)strlen(name) : 0;
    uint32_t site = lg_stack_id(l->site);
    struct lg_rec_hdr *h;
    struct lg_rec_lock_new *r = lg_rec_begin(sizeof *r + (name ? nlen + 1 : 0), &h);
    if (!r)
        return id;
    r->lock_id = id;
    r->addr = atomic_load(&l->addr);
    r->lock_kind = l->kind;
    r->subtype = l->subtype;
    r->sem_value = l->sem_value;
    r->site_stack = site;
    r->flags = (atomic_load(&l->flags) & 0xffff) | (l->born != lg_g.epoch ? LG_LOCKF_INHERITED : 0);
    if (l->shared) {
        r->dev = l->shared->dev;
        r->ino = l->shared->ino;
        r->offset = l->shared->off;
    }
    r->name_len = nlen;
    if (name)
        memcpy(r->name, name, nlen + 1);
    lg_rec_commit(h, LG_REC_LOCK_NEW, 0);
    return id;
}

/* ---- shared identity from /proc/self/maps (raw syscalls, no stdio) ---- */

static const char *hexnum(const char *p, uint64_t *v)
{
    uint64_t x = 0;
    for (;; p++) {
        int c = *p, d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else break;
        x = x * 16 + (uint64_t)d;
    }
    *v = x;
    return p;
}

/* Parse one maps line; 1 and *out filled if it covers a and is shared. */
static int lg_maps_line(const char *line, uintptr_t a, struct lg_sharedid *out)
{
    uint64_t lo, hi, off, maj, min, ino = 0;
    const char *p = hexnum(line, &lo);
    if (*p++ != '-')
        return 0;
    p = hexnum(p, &hi);
    if (a < lo || a >= hi || *p++ != ' ')
        return 0;
    char shared = p[3];
    p += 5;
    p = hexnum(p, &off);
    p = hexnum(p + 1, &maj);
    p = hexnum(p + 1, &min);
    p++;
    while (*p >= '0' && *p <= '9')
        ino = ino * 10 + (uint64_t)(*p++ - '0');
    if (shared != 's' || ino == 0)
        return -1;   /* found, but private: no cross-process identity */
    out->dev = makedev(maj, min);
    out->ino = ino;
    out->off = off + (a - lo);
    return 1;
}

struct lg_sharedid *lg_shared_identity(const void *addr, const char *name)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char buf[8192];
    size_t have = 0;
    struct lg_sharedid id = {0};
    int found = 0;
    for (;;) {
        long n = syscall(SYS_read, fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            *nl = 0;
            int r = lg_maps_line(line, (uintptr_t)addr, &id);
            if (r) {
                found = r;
                goto done;
            }
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0;   /* absurd line: drop it */
    }
done:
    syscall(SYS_close, fd);
    if (found != 1)
        return NULL;
    struct lg_sharedid *s = lg_arena_alloc(sizeof *s + (name ? strlen(name) + 1 : 0));
    if (!s)
        return NULL;
    *s = id;
    if (name) {
        s->name = (char *)(s + 1);
        strcpy(s->name, name);
    }
    return s;
}
