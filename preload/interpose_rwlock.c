/* SPDX-License-Identifier: MIT */
/*
 * interpose_rwlock.c — pthread_rwlock_* wrappers. Read acquisitions are
 * recorded with mode READ (two readers do not wait on each other); the
 * writer is the owner. Same try-first shape as the mutex wrappers.
 */
#include <pthread.h>

#include "lg_shim.h"

static inline int lg_rw_subtype(const pthread_rwlock_t *rw)
{
    return rw->__data.__shared ? LG_LOCK_PSHARED : 0;
}

LG_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_rwlock_init)(rw, attr);
    lg_leave(t);
    int r = LG_REAL(pthread_rwlock_init)(rw, attr);
    if (r == 0) {
        lg_reenter(t);
        int st = lg_rw_subtype(rw);
        lg_lock_init(t, rw, LG_LOCK_RWLOCK, st, 0, st ? lg_shared_identity(rw, NULL) : NULL, LG_RET_PC());
        lg_leave(t);
    }
    return r;
}

LG_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_rwlock_destroy)(rw);
    struct lg_lock *l = lg_lock_find(rw);
    int w = rw->__data.__cur_writer;
    if (l && atomic_load(&l->lock_id) && (w || (rw->__data.__readers >> 3)))
        lg_destroy_locked(t, l, rw, w, LG_RET_PC());
    lg_leave(t);
    int r = LG_REAL(pthread_rwlock_destroy)(rw);
    if (r == 0 && l) {
        lg_reenter(t);
        lg_lock_destroy(t, l);
        lg_leave(t);
    }
    return r;
}

enum { LG_RW_PLAIN, LG_RW_TIMED, LG_RW_CLOCK };

/* Slow path: the try form failed. A writer relocking (or a reader taking
 * write) would wait for itself: glibc answers EDEADLK when it holds the
 * write side, and hangs when it holds a read side. */
static int lg_rw_block(struct lg_thread *t, pthread_rwlock_t *rw, int mode, int how, clockid_t clk,
                       const struct timespec *abstime, uint64_t pc)
{
    lg_reenter(t);
    struct lg_lock *l = lg_lock_live(t, rw, LG_LOCK_RWLOCK, lg_rw_subtype(rw));
    struct lg_held_ent *h = lg_held_find(t, rw);
    int self_writer = rw->__data.__cur_writer == t->tid;
    if (self_writer || (h && mode == LG_MODE_WRITE))
        lg_misuse(t, LG_MISUSE_SELF_DEADLOCK, l, pc, (uint64_t)t->tid, mode, self_writer ? EDEADLK : 0);
    struct lg_publish p = {.op = mode == LG_MODE_READ ? LG_BLOCK_RWLOCK_RD : LG_BLOCK_RWLOCK_WR,
                           .flags = how ? LG_TT_TIMED : 0, .lock = l, .addr = rw};
    lg_tt_publish(t, &p);
    lg_leave(t);
    int r;
    if (mode == LG_MODE_READ)
        r = how == LG_RW_PLAIN ? LG_REAL(pthread_rwlock_rdlock)(rw)
          : how == LG_RW_TIMED ? LG_REAL(pthread_rwlock_timedrdlock)(rw, abstime)
                               : LG_REAL(pthread_rwlock_clockrdlock)(rw, clk, abstime);
    else
        r = how == LG_RW_PLAIN ? LG_REAL(pthread_rwlock_wrlock)(rw)
          : how == LG_RW_TIMED ? LG_REAL(pthread_rwlock_timedwrlock)(rw, abstime)
                               : LG_REAL(pthread_rwlock_clockwrlock)(rw, clk, abstime);
    lg_reenter(t);
    lg_tt_done(t);
    lg_leave(t);
    return r;
}

static inline __attribute__((always_inline)) void lg_rw_got(struct lg_thread *t, pthread_rwlock_t *rw, int r,
                                                            int mode, int flags, uint64_t pc)
{
    if (LG_LIKELY(r == 0))
        lg_got(t, rw, LG_LOCK_RWLOCK, lg_rw_subtype(rw), mode, flags, pc);
}

/* The try form failed with EBUSY: publish, block, then record. */
static __attribute__((noinline)) int lg_rw_busy(struct lg_thread *t, pthread_rwlock_t *rw, int mode, int how,
                                                clockid_t clk, const struct timespec *abstime, uint64_t pc)
{
    int r = lg_rw_block(t, rw, mode, how, clk, abstime, pc);
    lg_rw_got(t, rw, r, mode, how ? LG_ACQ_TIMED : 0, pc);
    return r;
}

/* Not traced (reentered, not active): the real call, in full. */
static __attribute__((noinline)) int lg_rw_untraced(pthread_rwlock_t *rw, int mode, int how, clockid_t clk,
                                                    const struct timespec *abstime)
{
    if (mode == LG_MODE_READ)
        return how == LG_RW_PLAIN ? LG_REAL(pthread_rwlock_rdlock)(rw)
             : how == LG_RW_TIMED ? LG_REAL(pthread_rwlock_timedrdlock)(rw, abstime)
                                  : LG_REAL(pthread_rwlock_clockrdlock)(rw, clk, abstime);
    return how == LG_RW_PLAIN ? LG_REAL(pthread_rwlock_wrlock)(rw)
         : how == LG_RW_TIMED ? LG_REAL(pthread_rwlock_timedwrlock)(rw, abstime)
                              : LG_REAL(pthread_rwlock_clockwrlock)(rw, clk, abstime);
}

/* One body for the eight acquisition forms. */
static inline __attribute__((always_inline)) int lg_rw_acquire(pthread_rwlock_t *rw, int mode, int how,
                                                               clockid_t clk, const struct timespec *abstime,
                                                               uint64_t pc)
{
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        return lg_rw_untraced(rw, mode, how, clk, abstime);
    int r = mode == LG_MODE_READ ? LG_REAL(pthread_rwlock_tryrdlock)(rw) : LG_REAL(pthread_rwlock_trywrlock)(rw);
    if (LG_UNLIKELY(r == EBUSY))
        return lg_rw_busy(t, rw, mode, how, clk, abstime, pc);
    lg_rw_got(t, rw, r, mode, how ? LG_ACQ_TIMED : 0, pc);
    return r;
}

LG_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    return lg_rw_acquire(rw, LG_MODE_READ, LG_RW_PLAIN, 0, NULL, LG_RET_PC());
}

LG_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
    return lg_rw_acquire(rw, LG_MODE_WRITE, LG_RW_PLAIN, 0, NULL, LG_RET_PC());
}

LG_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
    return lg_rw_acquire(rw, LG_MODE_READ, LG_RW_TIMED, 0, abstime, LG_RET_PC());
}

LG_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
    return lg_rw_acquire(rw, LG_MODE_WRITE, LG_RW_TIMED, 0, abstime, LG_RET_PC());
}

LG_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clk, const struct timespec *abstime)
{
    return lg_rw_acquire(rw, LG_MODE_READ, LG_RW_CLOCK, clk, abstime, LG_RET_PC());
}

LG_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clk, const struct timespec *abstime)
{
    return lg_rw_acquire(rw, LG_MODE_WRITE, LG_RW_CLOCK, clk, abstime, LG_RET_PC());
}

LG_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    struct lg_thread *t = lg_self();
    if (!t)
        return LG_REAL(pthread_rwlock_tryrdlock)(rw);
    int r = LG_REAL(pthread_rwlock_tryrdlock)(rw);
    lg_rw_got(t, rw, r, LG_MODE_READ, LG_ACQ_TRY, LG_RET_PC());
    return r;
}

LG_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    struct lg_thread *t = lg_self();
    if (!t)
        return LG_REAL(pthread_rwlock_trywrlock)(rw);
    int r = LG_REAL(pthread_rwlock_trywrlock)(rw);
    lg_rw_got(t, rw, r, LG_MODE_WRITE, LG_ACQ_TRY, LG_RET_PC());
    return r;
}

LG_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        return LG_REAL(pthread_rwlock_unlock)(rw);
    lg_released_fast(t, rw, LG_LOCK_RWLOCK, LG_RET_PC());
    return LG_REAL(pthread_rwlock_unlock)(rw);
}
