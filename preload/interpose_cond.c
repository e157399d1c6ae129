/* SPDX-License-Identifier: MIT */
/*
 * interpose_cond.c — condition variables and barriers. glibc releases and
 * retakes the mutex inside pthread_cond_wait without passing through our
 * hooks (FACTS §1), so a wait is modelled here: release the mutex, wait,
 * re-acquire it (a DEP with LG_ACQ_COND when other locks are held).
 */
#include <pthread.h>

#include "lg_shim.h"

LG_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    struct lg_thread *t = lg_is_gil(c) ? NULL : lg_enter();
    if (!t)
        return LG_REAL(pthread_cond_init)(c, attr);
    lg_leave(t);
    int r = LG_REAL(pthread_cond_init)(c, attr);
    if (r == 0) {
        lg_reenter(t);
        lg_lock_init(t, c, LG_KIND_COND, 0, 0, NULL, 0);   /* a new condvar: forget its old mutex */
        lg_leave(t);
    }
    return r;
}

LG_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
    struct lg_thread *t = lg_is_gil(c) ? NULL : lg_enter();
    if (!t)
        return LG_REAL(pthread_cond_destroy)(c);
    lg_leave(t);
    int r = LG_REAL(pthread_cond_destroy)(c);
    if (r == 0) {
        lg_reenter(t);
        struct lg_lock *l = lg_lock_find(c);
        if (l)
            lg_lock_destroy(t, l);
        lg_leave(t);
    }
    return r;
}

/* signal and broadcast only need the right symbol version behind them. */
LG_EXPORT int pthread_cond_signal(pthread_cond_t *c) { return LG_REAL(pthread_cond_signal)(c); }
LG_EXPORT int pthread_cond_broadcast(pthread_cond_t *c) { return LG_REAL(pthread_cond_broadcast)(c); }

enum { LG_CW_PLAIN, LG_CW_TIMED, LG_CW_CLOCK };

/* Contract: one body for wait/timedwait/clockwait. Checks the caller
 * holds the mutex and that the condvar keeps to one mutex; publishes the
 * wait; after it, re-pushes the mutex. Cancellation inside the wait skips
 * the re-push; the cleanup handler's unlock then finds glibc's owner word
 * set to this thread and is not reported. */
static int lg_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int how, clockid_t clk,
                        const struct timespec *abstime, uint64_t pc)
{
    struct lg_thread *t = (lg_is_gil(c) || lg_is_gil(m)) ? NULL : lg_enter();
    if (!t) {
        if (how == LG_CW_PLAIN)
            return LG_REAL(pthread_cond_wait)(c, m);
        if (how == LG_CW_TIMED)
            return LG_REAL(pthread_cond_timedwait)(c, m, abstime);
        return LG_REAL(pthread_cond_clockwait)(c, m, clk, abstime);
    }
    int kind = m->__data.__kind;
    int st = (kind & LG_MUTEX_TYPE_MASK) | ((kind & 16) ? LG_LOCK_ROBUST : 0) | ((kind & 128) ? LG_LOCK_PSHARED : 0);
    struct lg_lock *lm = lg_lock_live(t, m, LG_LOCK_MUTEX, st);
    struct lg_lock *lc = lg_lock_live(t, c, LG_KIND_COND, 0);
    struct lg_held_ent *h = lg_held_find(t, m);
    if (!h && lm && m->__data.__owner != t->tid)
        lg_misuse(t, LG_MISUSE_COND_NO_MUTEX, lm, pc, (uint64_t)(uintptr_t)c, 0, 0);
    if (lc && lm) {
        uint64_t mid = atomic_load(&lm->lock_id), first = 0;
        if (atomic_compare_exchange_strong(&lc->aux, &first, mid)) {
            struct lg_stackent *sst = lg_stack_capture(t, 0);
            uint64_t aid = lg_lock_announce(lm);
            uint32_t sid = lg_stack_id(sst);
            struct lg_rec_hdr *hd;
            struct lg_rec_cond_use *r = lg_rec_begin(sizeof *r, &hd);
            if (r) {
                r->cond_addr = (uint64_t)(uintptr_t)c;
                r->mutex_id = aid;
                r->stack_id = sid;
                lg_rec_commit(hd, LG_REC_COND_USE, 0);
            }
        } else if (first != mid) {
            lg_misuse(t, LG_MISUSE_COND_TWO_MUTEXES, lm, pc, first, (int64_t)(uintptr_t)c, 0);
        }
    }
    /* The model: release m for the duration of the wait. */
    struct lg_stackent *hstack = NULL;
    uint16_t recursion = 0;
    if (h) {
        hstack = h->stack;
        recursion = h->recursion;
        h->recursion = 0;
        lg_released(t, m, LG_LOCK_MUTEX, pc);
    }
    struct lg_publish p = {.op = LG_BLOCK_COND, .flags = how ? LG_TT_TIMED : 0, .lock = lm, .addr = m,
                           .aux = (uint64_t)(uintptr_t)c};
    lg_tt_publish(t, &p);
    lg_leave(t);
    int r;
    if (how == LG_CW_PLAIN)
        r = LG_REAL(pthread_cond_wait)(c, m);
    else if (how == LG_CW_TIMED)
        r = LG_REAL(pthread_cond_timedwait)(c, m, abstime);
    else
        r = LG_REAL(pthread_cond_clockwait)(c, m, clk, abstime);
    int e = errno;
    lg_reenter(t);
    lg_tt_done(t);
    /* Whatever r is (ETIMEDOUT included), the mutex is held again. */
    if (h && lm) {
        lg_acquired(t, lm, m, LG_MODE_WRITE, LG_ACQ_COND, pc, hstack);
        struct lg_held_ent *nh = lg_held_find(t, m);
        if (nh)
            nh->recursion = recursion;
    }
    lg_leave(t);
    errno = e;
    return r;
}

LG_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return lg_cond_wait(c, m, LG_CW_PLAIN, 0, NULL, LG_RET_PC());
}

LG_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    return lg_cond_wait(c, m, LG_CW_TIMED, 0, abstime, LG_RET_PC());
}

LG_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *abstime)
{
    return lg_cond_wait(c, m, LG_CW_CLOCK, clk, abstime, LG_RET_PC());
}

/* ---- barriers: not locks, but a thread in one waits for the others ---- */

LG_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count)
{
    return LG_REAL(pthread_barrier_init)(b, attr, count);
}

LG_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
    return LG_REAL(pthread_barrier_destroy)(b);
}

LG_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_barrier_wait)(b);
    struct lg_publish p = {.op = LG_BLOCK_BARRIER, .addr = b, .aux = (uint64_t)(uintptr_t)b};
    lg_tt_publish(t, &p);
    lg_leave(t);
    int r = LG_REAL(pthread_barrier_wait)(b);
    lg_reenter(t);
    lg_tt_done(t);
    lg_leave(t);
    return r;
}
