/* SPDX-License-Identifier: MIT */
/*
 * interpose_sem.c — POSIX semaphores, unnamed and named. A semaphore made
 * with value 1 is a lock (CPython's threading.Lock, multiprocessing.Lock):
 * owned by its last acquirer, released by a post from anyone. Others are
 * signals or counters: never in the lock-order graph, but published when
 * a thread blocks on them.
 */
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>

#include "lg_pyframes.h"
#include "lg_shim.h"

static inline int lg_sem_is_lock(struct lg_lock *l)
{
    return l && (atomic_load_explicit(&l->flags, memory_order_relaxed) & LG_LE_LOCK_SEM);
}

LG_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(sem_init)(s, pshared, value);
    lg_leave(t);
    int r = LG_REAL(sem_init)(s, pshared, value);
    if (r == 0) {
        int e = errno;
        lg_reenter(t);
        lg_lock_init(t, s, LG_LOCK_SEM, pshared ? LG_LOCK_PSHARED : 0, (int)value,
                     pshared ? lg_shared_identity(s, NULL) : NULL, LG_RET_PC());
        lg_leave(t);
        errno = e;
    }
    return r;
}

/* A lock semaphore that another live thread still holds dies: a
 * HELD_AT(destroy) on that thread's behalf, citing where it took it.
 * Otherwise its end would not tell: CPython frees a finished thread's
 * unreleased threading.Lock at finalization, and by the time that
 * thread's own end runs (it may wait 5 ms for the GIL) the address can
 * hold a new semaphore, and its entry looks released. The holder's stack
 * is read without its cooperation (entries may be moving: at worst a
 * wrong stack, never a dangling one: stacks are never freed). */
static void sem_died_held(struct lg_lock *l, const sem_t *s, int owner)
{
    struct lg_thread *o = lg_thread_first();
    while (o && !(atomic_load_explicit(&o->alive, memory_order_acquire) && o->tid == owner))
        o = o->next;
    if (!o)
        return;
    struct lg_held_ent *h = lg_held_find(o, s);
    if (h)   /* else not that thread's: its tid was reused, or it gave the lock back */
        lg_held_at_record(l, h, LG_END_DESTROY, owner);
}

/* After a successful sem_destroy or sem_close: the semaphore leaves this
 * thread's held set and the lock table. A semaphore dies "held" all the
 * time (a Condition's waiter lock, a finished thread's tstate lock): that
 * is not destroy-locked. Keeps errno. */
static void sem_forget(struct lg_thread *t, sem_t *s)
{
    int e = errno;
    lg_reenter(t);
    struct lg_held_ent *h = lg_held_find(t, s);
    if (h)
        lg_held_remove(t, h);
    struct lg_lock *l = lg_lock_find(s);
    int owner = l && atomic_load(&l->lock_id) && lg_sem_is_lock(l) ? atomic_load(&l->owner) : 0;
    if (owner && owner != t->tid)
        sem_died_held(l, s, owner);
    lg_lock_destroy(t, l);
    lg_leave(t);
    errno = e;
}

LG_EXPORT int sem_destroy(sem_t *s)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(sem_destroy)(s);
    lg_leave(t);
    int r = LG_REAL(sem_destroy)(s);
    if (r == 0)
        sem_forget(t, s);
    return r;
}

LG_EXPORT sem_t *sem_open(const char *name, int oflag, ...)
{
    mode_t mode = 0;
    unsigned value = 0;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = (mode_t)va_arg(ap, unsigned);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    struct lg_thread *t = lg_enter();
    if (t)
        lg_leave(t);
    sem_t *s = (oflag & O_CREAT) ? LG_REAL(sem_open)(name, oflag, mode, value) : LG_REAL(sem_open)(name, oflag);
    if (!t || s == SEM_FAILED)
        return s;
    int e = errno;
    lg_reenter(t);
    /* Opened without O_CREAT (or it existed): the creator's value is not
     * known here; its current value is the best guess (1: a free lock). */
    int v = (int)value;
    if (!(oflag & O_CREAT) || !(oflag & O_EXCL)) {
        int cur = 0;
        if (LG_REAL(sem_getvalue)(s, &cur) == 0 && (!(oflag & O_CREAT) || cur != (int)value))
            v = cur;
    }
    struct lg_lock *old = lg_lock_find(s);
    if (!old || !atomic_load(&old->lock_id) || old->kind != LG_LOCK_NAMED_SEM)
        lg_lock_init(t, s, LG_LOCK_NAMED_SEM, LG_LOCK_PSHARED, v, lg_shared_identity(s, name), LG_RET_PC());
    lg_leave(t);
    errno = e;
    return s;
}

LG_EXPORT int sem_close(sem_t *s)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(sem_close)(s);
    lg_leave(t);
    int r = LG_REAL(sem_close)(s);
    if (r == 0)
        sem_forget(t, s);
    return r;
}

LG_EXPORT int sem_unlink(const char *name) { return LG_REAL(sem_unlink)(name); }

/* After a successful wait: a lock semaphore is pushed, owned by us. In a
 * Python process a sem_trywait is how every acquire starts, blocking or
 * not, so it does not count as a "try" there (it would hide cycles). */
static void lg_sem_got(struct lg_thread *t, sem_t *s, int flags, uint64_t pc)
{
    lg_reenter(t);
    struct lg_lock *l = lg_lock_live(t, s, LG_LOCK_SEM, 0);
    struct lg_stackent *known = NULL;
    if (t->py_pending_sem == (uintptr_t)s)
        known = t->py_pending_stack;
    t->py_pending_sem = 0;
    if (lg_sem_is_lock(l))
        lg_acquired(t, l, s, LG_MODE_WRITE, flags, pc, known);
    lg_leave(t);
}

enum { LG_SW_PLAIN, LG_SW_TIMED, LG_SW_CLOCK };

static int lg_sem_wait(sem_t *s, int how, clockid_t clk, const struct timespec *abstime, uint64_t pc)
{
    struct lg_thread *t = lg_enter();
    if (t)
        lg_leave(t);
    int r = LG_REAL(sem_trywait)(s);
    if (r != 0 && errno == EAGAIN) {
        if (t) {
            int e = errno;
            lg_reenter(t);
            struct lg_lock *l = lg_lock_live(t, s, LG_LOCK_SEM, 0);
            struct lg_publish p = {.op = LG_BLOCK_SEM, .flags = how ? LG_TT_TIMED : 0, .lock = l, .addr = s};
            /* The stack of a blocked wait, kept for the acquisition that
             * ends it (lg_sem_got), so that one needs no frame walk. */
            p.stack = lg_stack_capture(t, pc);
            if (lg_g.py) {
                t->py_pending_sem = (uintptr_t)s;
                t->py_pending_stack = p.stack;
            }
            lg_tt_publish(t, &p);
            lg_leave(t);
            errno = e;
        }
        if (how == LG_SW_PLAIN)
            r = LG_REAL(sem_wait)(s);
        else if (how == LG_SW_TIMED)
            r = LG_REAL(sem_timedwait)(s, abstime);
        else
            r = LG_REAL(sem_clockwait)(s, clk, abstime);
        if (t) {
            int e = errno;
            lg_reenter(t);
            lg_tt_done(t);
            lg_leave(t);
            errno = e;
        }
    }
    if (r == 0 && t) {
        int e = errno;
        lg_sem_got(t, s, how ? LG_ACQ_TIMED : 0, pc);
        errno = e;
    }
    return r;
}

LG_EXPORT int sem_wait(sem_t *s) { return lg_sem_wait(s, LG_SW_PLAIN, 0, NULL, LG_RET_PC()); }

LG_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    return lg_sem_wait(s, LG_SW_TIMED, 0, abstime, LG_RET_PC());
}

LG_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abstime)
{
    return lg_sem_wait(s, LG_SW_CLOCK, clk, abstime, LG_RET_PC());
}

LG_EXPORT int sem_trywait(sem_t *s)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(sem_trywait)(s);
    lg_leave(t);
    int r = LG_REAL(sem_trywait)(s);
    int e = errno;   /* CPython checks errno == EAGAIN right after this */
    uint64_t pc = LG_RET_PC();
    /* A busy lock (EAGAIN) costs nothing here: CPython's blocking
     * sem_wait follows, which captures the stack only if it really
     * blocks (the thread's own frames can be read without the GIL). */
    if (r == 0)
        lg_sem_got(t, s, lg_g.py ? 0 : LG_ACQ_TRY, pc);
    errno = e;
    return r;
}

LG_EXPORT int sem_post(sem_t *s)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(sem_post)(s);
    uint64_t pc = LG_RET_PC();
    struct lg_lock *l = lg_lock_find(s);
    int is_lock = l && atomic_load_explicit(&l->lock_id, memory_order_relaxed) && lg_sem_is_lock(l);
    int sentinel = is_lock && lg_g.py && t->nheld && t->held[0].addr == (uintptr_t)s;
    if (is_lock)
        lg_released(t, s, LG_LOCK_SEM, pc);
    if (sentinel)
        t->py_end_ns = lg_now_ns();   /* before the post: the joiner wakes after it */
    /* The value is read before the post, never after: once posted, a
     * waiter may take the semaphore, destroy it and free its memory (a
     * joiner frees a finished thread's CPython lock that way; a reread
     * saw a reused word, "posted to 1917359649"). A lock semaphore whose
     * value is already 1 is not held by anyone: posting it is the misuse
     * whatever a racing taker does next. sem_getvalue reads the word: no
     * system call. */
    int before = 0;
    if (is_lock && LG_REAL(sem_getvalue)(s, &before) != 0)
        before = 0;
    lg_leave(t);
    int r = LG_REAL(sem_post)(s);
    if (r == 0 && before >= 1) {
        int e = errno;
        lg_reenter(t);
        lg_misuse(t, LG_MISUSE_SEM_OVERPOST, l, pc, 0, before + 1, 0);
        lg_leave(t);
        errno = e;
    }
    return r;
}
