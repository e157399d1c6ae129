/* SPDX-License-Identifier: MIT */
/*
 * interpose_mutex.c — pthread_mutex_* and pthread_spin_* wrappers: guard,
 * real call, record. An acquisition tries the non-blocking form first;
 * only when that fails is the thread table told the thread may block.
 */
#include <pthread.h>

#include "lg_shim.h"

/* glibc keeps the mutex type in __kind: the low two bits are the type,
 * 16 marks robust, 128 process-shared (nptl/pthreadP.h). Reading it
 * costs nothing and covers statically initialised mutexes too. */
static inline int lg_mutex_subtype(const pthread_mutex_t *m)
{
    int k = m->__data.__kind;
    int st = k & LG_MUTEX_TYPE_MASK;
    if (k & 16)
        st |= LG_LOCK_ROBUST;
    if (k & 128)
        st |= LG_LOCK_PSHARED;
    return st;
}

LG_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    struct lg_thread *t = lg_is_gil(m) ? NULL : lg_enter();
    if (!t)
        return LG_REAL(pthread_mutex_init)(m, attr);
    lg_leave(t);
    int r = LG_REAL(pthread_mutex_init)(m, attr);
    if (r == 0) {
        lg_reenter(t);
        int st = lg_mutex_subtype(m);
        lg_lock_init(t, m, LG_LOCK_MUTEX, st, 0, (st & LG_LOCK_PSHARED) ? lg_shared_identity(m, NULL) : NULL,
                     LG_RET_PC());
        lg_leave(t);
    }
    return r;
}

LG_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    struct lg_thread *t = lg_is_gil(m) ? NULL : lg_enter();
    if (!t)
        return LG_REAL(pthread_mutex_destroy)(m);
    uint64_t pc = LG_RET_PC();
    struct lg_lock *l = lg_lock_find(m);
    int owner = m->__data.__owner;
    if (l && atomic_load(&l->lock_id) && (owner || m->__data.__lock))
        lg_destroy_locked(t, l, m, owner, pc);
    lg_leave(t);
    int r = LG_REAL(pthread_mutex_destroy)(m);
    if (r == 0 && l) {
        lg_reenter(t);
        lg_lock_destroy(t, l);
        lg_leave(t);
    }
    return r;
}

/* ---- the uncontended acquisition, inline ------------------------------

 * For the commonest mutexes, normal, error-checking and adaptive private
 * ones (__kind 0, 2, 3: not robust, not shared, no elision; a free
 * recursive one, kind 1, too, one call further in), the shim takes the
 * lock word itself the way glibc's pthread_mutex_lock does (nptl/pthread_mutex_lock.c: a
 * 0 -> 1 compare-and-swap, a plain store while the process has one
 * thread; then __owner and __nusers), instead of calling
 * pthread_mutex_trylock, whose type dispatch costs a third of the
 * shim's time on a lock-heavy loop. Everything else — a taken lock, any
 * other kind — goes through the real trylock, and every unlock through
 * the real pthread_mutex_unlock, which wakes waiters. The layout is the
 * public struct __pthread_mutex_s; the protocol is checked against the
 * real functions once at start-up (lg_mutex_selftest), and the inline
 * path stays off if anything differs. */
#include <sys/single_threaded.h>

static int lg_inline_mutex, lg_inline_spin;

/* The kinds whose free lock is taken the same way by glibc's lock and
 * trylock: normal (0), error-checking (2: the owner check only matters
 * for a lock already taken) and adaptive (3: it only spins on a taken
 * lock). Not recursive (1: __count), nor any robust, PI, PP, shared or
 * elision kind (higher bits). */
static inline __attribute__((always_inline)) int lg_inline_kind(int k) { return (unsigned)k <= 3 && k != 1; }

/* 1 when the spinlock was free and is now ours (lg_inline_spin set). */
static inline __attribute__((always_inline)) int lg_spin_take(pthread_spinlock_t *s)
{
    int one = 1;
    return __atomic_compare_exchange_n((int *)s, &one, 0, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* 0: taken; EBUSY: locked by someone; -1: not a kind we take ourselves
 * (a recursive mutex its owner takes again: glibc counts that). A free
 * recursive mutex (kind 1) is taken like the others, with __count 1. */
static inline __attribute__((always_inline)) int lg_mutex_take(struct lg_thread *t, pthread_mutex_t *m)
{
    int k = m->__data.__kind;
    if (LG_UNLIKELY((unsigned)k > 3 || !lg_inline_mutex))
        return -1;
    if (LG_UNLIKELY(k == PTHREAD_MUTEX_RECURSIVE_NP) && m->__data.__owner == t->tid)
        return -1;
    if (__libc_single_threaded) {
        if (m->__data.__lock != 0)
            return EBUSY;
        m->__data.__lock = 1;
    } else {
        int zero = 0;
        if (!__atomic_compare_exchange_n(&m->__data.__lock, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return EBUSY;
    }
    m->__data.__owner = t->tid;
    if (LG_UNLIKELY(k == PTHREAD_MUTEX_RECURSIVE_NP))
        m->__data.__count = 1;
    ++m->__data.__nusers;
    return 0;
}

/* The real functions must agree with lg_mutex_take on a fresh mutex:
 * they see it locked by us, unlock it, and can take it again. */
void lg_mutex_selftest(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct lg_thread probe = {.tid = lg_gettid()};
    if (m.__data.__kind != 0)
        return;
    lg_inline_mutex = 1;
    int ok = lg_mutex_take(&probe, &m) == 0 && m.__data.__lock == 1 && m.__data.__owner == probe.tid &&
             m.__data.__nusers == 1 && LG_REAL(pthread_mutex_trylock)(&m) == EBUSY &&
             LG_REAL(pthread_mutex_unlock)(&m) == 0 && m.__data.__lock == 0 && m.__data.__owner == 0 &&
             m.__data.__nusers == 0 && LG_REAL(pthread_mutex_trylock)(&m) == 0 &&
             m.__data.__owner == probe.tid && LG_REAL(pthread_mutex_unlock)(&m) == 0 &&
             LG_REAL(pthread_mutex_destroy)(&m) == 0;
    /* Error-checking, adaptive and recursive: the same, and one taken
     * inline is ours to glibc (an error-checking relock says EDEADLK, a
     * recursive one counts, the unlock by the owner succeeds). */
    static const int kinds[] = {PTHREAD_MUTEX_ERRORCHECK_NP, PTHREAD_MUTEX_ADAPTIVE_NP, PTHREAD_MUTEX_RECURSIVE_NP};
    for (unsigned i = 0; ok && i < sizeof kinds / sizeof kinds[0]; i++) {
        pthread_mutexattr_t a;
        pthread_mutex_t k;
        ok = pthread_mutexattr_init(&a) == 0 && pthread_mutexattr_settype(&a, kinds[i]) == 0 &&
             LG_REAL(pthread_mutex_init)(&k, &a) == 0 && k.__data.__kind == kinds[i] &&
             lg_mutex_take(&probe, &k) == 0 && k.__data.__owner == probe.tid && k.__data.__nusers == 1 &&
             (kinds[i] == PTHREAD_MUTEX_RECURSIVE_NP
                  ? k.__data.__count == 1 && lg_mutex_take(&probe, &k) == -1 &&
                        LG_REAL(pthread_mutex_trylock)(&k) == 0 && k.__data.__count == 2 &&
                        LG_REAL(pthread_mutex_unlock)(&k) == 0 && k.__data.__count == 1 && k.__data.__lock == 1
                  : LG_REAL(pthread_mutex_trylock)(&k) == EBUSY) &&
             (kinds[i] != PTHREAD_MUTEX_ERRORCHECK_NP || LG_REAL(pthread_mutex_lock)(&k) == EDEADLK) &&
             LG_REAL(pthread_mutex_unlock)(&k) == 0 && k.__data.__lock == 0 && k.__data.__owner == 0 &&
             k.__data.__nusers == 0 && lg_mutex_take(&probe, &k) == 0 &&
             LG_REAL(pthread_mutex_unlock)(&k) == 0 && LG_REAL(pthread_mutex_destroy)(&k) == 0;
        pthread_mutexattr_destroy(&a);
    }
    lg_inline_mutex = ok;

    /* Spinlocks: glibc's x86-64 one is a word, 1 free and 0 taken
     * (sysdeps/x86_64/nptl/pthread_spin_*.S); the shim takes it with the
     * same compare-and-swap when the real functions agree. */
    pthread_spinlock_t s;
    lg_inline_spin = 1;
    ok = LG_REAL(pthread_spin_init)(&s, PTHREAD_PROCESS_PRIVATE) == 0 && s == 1 && lg_spin_take(&s) &&
         s == 0 && LG_REAL(pthread_spin_trylock)(&s) == EBUSY && LG_REAL(pthread_spin_unlock)(&s) == 0 &&
         s == 1 && LG_REAL(pthread_spin_trylock)(&s) == 0 && s == 0 && !lg_spin_take(&s) &&
         LG_REAL(pthread_spin_unlock)(&s) == 0 && LG_REAL(pthread_spin_destroy)(&s) == 0;
    lg_inline_spin = ok;
}

/* The uncontended attempt: inline when it can, else the real trylock. */
static inline __attribute__((always_inline)) int lg_mutex_try(struct lg_thread *t, pthread_mutex_t *m)
{
    int r = lg_mutex_take(t, m);
    if (LG_LIKELY(r >= 0))
        return r;
    return LG_REAL(pthread_mutex_trylock)(m);
}

/* The lock-table entry, made on first use (the type is read from the
 * mutex only then). */
static inline struct lg_lock *lg_mutex_live(struct lg_thread *t, pthread_mutex_t *m)
{
    struct lg_lock *l = lg_lock_find(m);
    if (LG_LIKELY(l && atomic_load_explicit(&l->lock_id, memory_order_acquire)))
        return l;
    return lg_lock_get(t, m, LG_LOCK_MUTEX, lg_mutex_subtype(m));
}

/* Slow path of every blocking mutex acquisition: the non-blocking attempt
 * failed. Self-deadlock is recorded BEFORE the real call (a normal mutex
 * relocked by its owner never returns). */
static int lg_mutex_block(struct lg_thread *t, pthread_mutex_t *m, int how, clockid_t clk,
                          const struct timespec *abstime, uint64_t pc)
{
    lg_reenter(t);
    struct lg_lock *l = lg_mutex_live(t, m);
    int st = lg_mutex_subtype(m) & LG_MUTEX_TYPE_MASK;
    if (m->__data.__owner == t->tid && st != LG_MUTEX_RECURSIVE)
        lg_misuse(t, LG_MISUSE_SELF_DEADLOCK, l, pc, (uint64_t)t->tid, 0, st == LG_MUTEX_ERRORCHECK ? EDEADLK : 0);
    struct lg_publish p = {.op = LG_BLOCK_MUTEX, .flags = how ? LG_TT_TIMED : 0, .lock = l, .addr = m};
    lg_tt_publish(t, &p);
    lg_leave(t);
    int r;
    if (how == 0)
        r = LG_REAL(pthread_mutex_lock)(m);
    else if (how == 1)
        r = LG_REAL(pthread_mutex_timedlock)(m, abstime);
    else
        r = LG_REAL(pthread_mutex_clocklock)(m, clk, abstime);
    lg_reenter(t);
    lg_tt_done(t);
    lg_leave(t);
    return r;
}

/* The lock just taken has no live lock-table entry yet (first use), or
 * the call did not plainly succeed: out of line. Guard set. */
static __attribute__((noinline)) void lg_mutex_got_slow(struct lg_thread *t, pthread_mutex_t *m, int flags,
                                                        uint64_t pc)
{
    struct lg_lock *l = lg_mutex_live(t, m);
    if (l)
        lg_acquired_fast(t, l, m, pc, flags);
}

/* After the real call returned r: record the acquisition (guard clear on
 * entry and exit, set only around the push: a signal handler's lock in
 * between passes straight through). EOWNERDEAD (robust) also means "you
 * own it now". */
static inline __attribute__((always_inline)) void lg_mutex_got(struct lg_thread *t, pthread_mutex_t *m, int r,
                                                               int flags, uint64_t pc)
{
    if (LG_LIKELY(r == 0) || r == EOWNERDEAD) {
        lg_tls_guard = 1;
        struct lg_lock *l = lg_lock_find_cached(t, m);
        if (LG_UNLIKELY(!l || !atomic_load_explicit(&l->lock_id, memory_order_acquire)))
            lg_mutex_got_slow(t, m, flags, pc);
        else if (LG_UNLIKELY((m->__data.__kind & 127) == PTHREAD_MUTEX_RECURSIVE_NP && m->__data.__count == 1))
            /* A recursive mutex taken for the first time is a plain push;
             * only a relock (lg_acquired: recursion++) is not. */
            lg_acquired_fast_as(t, l, m, pc, flags, LG_MODE_WRITE, LG_KIND_REC1);
        else
            lg_acquired_fast(t, l, m, pc, flags);
        lg_tls_guard = 0;
    }
}

/* The try form failed with EBUSY: publish, block, then record. */
static __attribute__((noinline)) int lg_mutex_lock_busy(struct lg_thread *t, pthread_mutex_t *m, uint64_t pc)
{
    int r = lg_mutex_block(t, m, 0, 0, NULL, pc);
    lg_mutex_got(t, m, r, 0, pc);
    return r;
}

/* pthread_mutex_lock in full: any mutex, any state of the thread. */
static __attribute__((noinline)) int lg_mutex_lock_general(pthread_mutex_t *m, uint64_t pc)
{
    /* The GIL's mutexes are filtered before anything else: CPython takes
     * them thousands of times a second and they order nothing. */
    if (LG_UNLIKELY(lg_is_gil(m)))
        return LG_REAL(pthread_mutex_lock)(m);
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        return LG_REAL(pthread_mutex_lock)(m);
    /* Guard clear: never held across a call that may block. The try form
     * first, so the uncontended path never touches the thread table. */
    int r = lg_mutex_try(t, m);
    if (LG_UNLIKELY(r == EBUSY))
        return lg_mutex_lock_busy(t, m, pc);
    lg_mutex_got(t, m, r, 0, pc);
    return r;
}

/* The mutex is ours (taken inline), guard set; what is left of the
 * recording, out of line: a first use or an unusual lock or thread
 * (how 1), or a dependency not in the cache's home slot (how 2). */
static __attribute__((noinline)) int lg_mutex_record_slow(struct lg_thread *t, pthread_mutex_t *m, uint64_t pc)
{
    struct lg_lock *l = lg_lock_find_cached(t, m);   /* fills the thread's cache */
    if (l && atomic_load_explicit(&l->lock_id, memory_order_acquire))
        lg_acquired_fast(t, l, m, pc, 0);
    else
        lg_mutex_got_slow(t, m, 0, pc);
    lg_tls_guard = 0;
    return 0;
}

static __attribute__((noinline)) int lg_mutex_acquired_slow(struct lg_thread *t, struct lg_lock *l,
                                                            const void *m, uint64_t pc)
{
    lg_acquired(t, l, m, LG_MODE_WRITE, 0, pc, NULL);
    lg_tls_guard = 0;
    return 0;
}

static __attribute__((noinline)) int lg_mutex_miss_slow(struct lg_thread *t, struct lg_held_ent *h, uint64_t key)
{
    lg_dep_miss(t, h, key);
    lg_tls_guard = 0;
    return 0;
}

/* The fast path: a traced thread, a normal private mutex that is free,
 * its lock-table entry in the thread's cache, a dependency already
 * recorded. Every other case leaves by a tail call. */
LG_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    struct lg_thread *t = lg_tls_self;
    uint64_t pc = LG_RET_PC();
    if (LG_UNLIKELY(!t || lg_tls_guard || lg_is_gil(m) || !lg_inline_kind(m->__data.__kind) || !lg_inline_mutex))
        return lg_mutex_lock_general(m, pc);
    if (__libc_single_threaded) {
        if (m->__data.__lock != 0)
            return lg_mutex_lock_general(m, pc);
        m->__data.__lock = 1;
    } else {
        int zero = 0;
        if (!__atomic_compare_exchange_n(&m->__data.__lock, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return lg_mutex_lock_general(m, pc);
    }
    m->__data.__owner = t->tid;
    ++m->__data.__nusers;
    lg_tls_guard = 1;
    uintptr_t a = (uintptr_t)m;
    struct lg_lcache_ent *c = &t->lcache[lg_lcache_idx(a)];
    struct lg_lock *l = c->lock;
    if (LG_UNLIKELY(c->addr != a || !atomic_load_explicit(&l->lock_id, memory_order_acquire)))
        return lg_mutex_record_slow(t, m, pc);
    struct lg_held_ent *h;
    uint64_t key;
    int r = lg_push_fast(t, l, m, pc, 0, LG_MODE_WRITE, LG_LOCK_MUTEX, &h, &key);
    if (LG_UNLIKELY(r == 1))
        return lg_mutex_acquired_slow(t, l, m, pc);
    if (LG_UNLIKELY(r == 2))
        return lg_mutex_miss_slow(t, h, key);
    lg_tls_guard = 0;
    return 0;
}

LG_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    if (LG_UNLIKELY(lg_is_gil(m)))
        return LG_REAL(pthread_mutex_trylock)(m);
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        return LG_REAL(pthread_mutex_trylock)(m);
    uint64_t pc = LG_RET_PC();
    int r = lg_mutex_try(t, m);
    lg_mutex_got(t, m, r, LG_ACQ_TRY, pc);
    return r;
}

LG_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    struct lg_thread *t = lg_is_gil(m) ? NULL : lg_enter();
    if (!t)
        return LG_REAL(pthread_mutex_timedlock)(m, abstime);
    lg_leave(t);
    uint64_t pc = LG_RET_PC();
    int r = LG_REAL(pthread_mutex_trylock)(m);
    if (r == EBUSY)
        r = lg_mutex_block(t, m, 1, 0, abstime, pc);
    lg_mutex_got(t, m, r, LG_ACQ_TIMED, pc);
    return r;
}

LG_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abstime)
{
    struct lg_thread *t = lg_is_gil(m) ? NULL : lg_enter();
    if (!t)
        return LG_REAL(pthread_mutex_clocklock)(m, clk, abstime);
    lg_leave(t);
    uint64_t pc = LG_RET_PC();
    int r = LG_REAL(pthread_mutex_trylock)(m);
    if (r == EBUSY)
        r = lg_mutex_block(t, m, 2, clk, abstime, pc);
    lg_mutex_got(t, m, r, LG_ACQ_TIMED, pc);
    return r;
}

/* Everything but the pop of the top entry: not traced, not resolved yet,
 * not on top. Out of line, so the fast path below saves no registers
 * and ends in a jump to the real unlock. */
static __attribute__((noinline)) int lg_mutex_unlock_slow(pthread_mutex_t *m, uint64_t pc)
{
    struct lg_thread *t = lg_is_gil(m) ? NULL : lg_self();
    if (t)
        lg_released_fast(t, m, LG_LOCK_MUTEX, pc);
    return LG_REAL(pthread_mutex_unlock)(m);
}

LG_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    /* Bookkeeping before the real unlock: afterwards another thread may
     * already own it. The fast path: traced, not the GIL, and the mutex
     * is the top of the held stack, a plain hold. */
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t && !lg_tls_guard && !lg_is_gil(m) && real_pthread_mutex_unlock)) {
        uint32_t n = t->nheld;
        struct lg_held_ent *h = &t->held[n - 1];
        if (LG_LIKELY(n && h->addr == (uintptr_t)m &&
                      (h->tag & ~LG_HELD_TAG(0, 0xffff)) == LG_HELD_TAG(LG_LOCK_MUTEX, 0))) {
            t->nheld = n - 1;
            return real_pthread_mutex_unlock(m);
        }
    }
    return lg_mutex_unlock_slow(m, LG_RET_PC());
}

/* ---- spinlocks --------------------------------------------------------- */

LG_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_spin_init)(s, pshared);
    lg_leave(t);
    int r = LG_REAL(pthread_spin_init)(s, pshared);
    if (r == 0) {
        lg_reenter(t);
        int shared = pshared == PTHREAD_PROCESS_SHARED;
        lg_lock_init(t, (const void *)s, LG_LOCK_SPIN, shared ? LG_LOCK_PSHARED : 0, 0,
                     shared ? lg_shared_identity((const void *)s, NULL) : NULL, LG_RET_PC());
        lg_leave(t);
    }
    return r;
}

LG_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_spin_destroy)(s);
    struct lg_lock *l = lg_lock_find((const void *)s);
    /* The lock word's "unlocked" value is not portable (x86 once used 1):
     * trust our owner field. */
    if (l && atomic_load(&l->lock_id) && atomic_load(&l->owner) != 0)
        lg_destroy_locked(t, l, (const void *)s, atomic_load(&l->owner), LG_RET_PC());
    lg_leave(t);
    int r = LG_REAL(pthread_spin_destroy)(s);
    if (r == 0 && l) {
        lg_reenter(t);
        lg_lock_destroy(t, l);
        lg_leave(t);
    }
    return r;
}

static inline __attribute__((always_inline)) void lg_spin_got(struct lg_thread *t, pthread_spinlock_t *s, int flags,
                                                              uint64_t pc)
{
    lg_got(t, (const void *)s, LG_LOCK_SPIN, 0, LG_MODE_WRITE, flags, pc);
}

/* The try form failed: a relock by the holder spins forever. */
static __attribute__((noinline)) int lg_spin_block(struct lg_thread *t, pthread_spinlock_t *s, uint64_t pc)
{
    lg_reenter(t);
    struct lg_lock *l = lg_lock_live(t, (const void *)s, LG_LOCK_SPIN, 0);
    if (l && atomic_load(&l->owner) == t->tid)
        lg_misuse(t, LG_MISUSE_SELF_DEADLOCK, l, pc, (uint64_t)t->tid, 0, 0);
    struct lg_publish p = {.op = LG_BLOCK_SPIN, .lock = l, .addr = (const void *)s};
    lg_tt_publish(t, &p);
    lg_leave(t);
    int r = LG_REAL(pthread_spin_lock)(s);
    lg_reenter(t);
    lg_tt_done(t);
    lg_leave(t);
    return r;
}

/* pthread_spin_lock in full, any thread state. */
static __attribute__((noinline)) int lg_spin_lock_general(pthread_spinlock_t *s, uint64_t pc)
{
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        return LG_REAL(pthread_spin_lock)(s);
    int r = LG_REAL(pthread_spin_trylock)(s);
    if (LG_UNLIKELY(r == EBUSY))
        r = lg_spin_block(t, s, pc);
    if (LG_LIKELY(r == 0))
        lg_spin_got(t, s, 0, pc);
    return r;
}

/* Taken by the fast path below, guard clear: the recording in full. */
static __attribute__((noinline)) int lg_spin_record_slow(struct lg_thread *t, pthread_spinlock_t *s, uint64_t pc)
{
    lg_spin_got(t, s, 0, pc);
    return 0;
}

/* The fast path: traced thread, free lock, lock-table entry cached, no
 * new dependency; the rest leaves by a tail call. */
LG_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
    struct lg_thread *t = lg_tls_self;
    uint64_t pc = LG_RET_PC();
    if (LG_UNLIKELY(!t || lg_tls_guard || !lg_inline_spin || !lg_spin_take(s)))
        return lg_spin_lock_general(s, pc);   /* taken: the general path tries again, then waits */
    uintptr_t a = (uintptr_t)s;
    struct lg_lcache_ent *c = &t->lcache[lg_lcache_idx(a)];
    struct lg_lock *l = c->lock;
    if (LG_UNLIKELY(c->addr != a || !atomic_load_explicit(&l->lock_id, memory_order_acquire)))
        return lg_spin_record_slow(t, s, pc);
    lg_tls_guard = 1;
    struct lg_held_ent *h;
    uint64_t key;
    int r = lg_push_fast(t, l, (const void *)s, pc, 0, LG_MODE_WRITE, LG_LOCK_SPIN, &h, &key);
    if (LG_UNLIKELY(r == 1))
        return lg_mutex_acquired_slow(t, l, (const void *)s, pc);
    if (LG_UNLIKELY(r == 2))
        return lg_mutex_miss_slow(t, h, key);
    lg_tls_guard = 0;
    return 0;
}

LG_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        return LG_REAL(pthread_spin_trylock)(s);
    uint64_t pc = LG_RET_PC();
    int r = LG_REAL(pthread_spin_trylock)(s);
    if (r == 0)
        lg_spin_got(t, s, LG_ACQ_TRY, pc);
    return r;
}

static __attribute__((noinline)) int lg_spin_unlock_slow(pthread_spinlock_t *s, uint64_t pc)
{
    struct lg_thread *t = lg_self();
    if (t)
        lg_released_fast(t, (const void *)s, LG_LOCK_SPIN, pc);
    return LG_REAL(pthread_spin_unlock)(s);
}

LG_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t && !lg_tls_guard && lg_inline_spin)) {
        uint32_t n = t->nheld;
        struct lg_held_ent *h = &t->held[n - 1];
        if (LG_LIKELY(n && h->addr == (uintptr_t)s &&
                      (h->tag & ~LG_HELD_TAG(0, 0xffff)) == LG_HELD_TAG(LG_LOCK_SPIN, 0))) {
            atomic_store_explicit(&h->lock->owner, 0, memory_order_relaxed);
            t->nheld = n - 1;
            __atomic_store_n((int *)s, 1, __ATOMIC_RELEASE);   /* what glibc's unlock does */
            return 0;
        }
    }
    return lg_spin_unlock_slow(s, LG_RET_PC());
}
