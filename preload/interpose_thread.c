/* SPDX-License-Identifier: MIT */
/*
 * interpose_thread.c — thread lifecycle: pthread_create (a trampoline that
 * attaches the new thread and writes THREAD_START), join in all forms
 * (published as a wait for that thread), detach, pthread_exit.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "lg_shim.h"

LG_HIDDEN struct lg_thread *lg_thread_attach_new(pid_t creator, struct lg_stackent *st, uint64_t routine,
                                                 uint64_t when);

struct lg_start {
    void *(*fn)(void *);
    void *arg;
    pid_t creator;
    struct lg_stackent *stack;
    uint64_t seq;
    uint64_t create_ns;
};

/* pthread_t values are reused as soon as a thread is joined (glibc caches
 * stacks), so "which thread is this pthread_t" needs the create sequence:
 * pthread_t -> seq of the latest pthread_create that returned it. */
#define LG_CREATED 4096
static struct { _Atomic uint64_t pthread, seq; } lg_created[LG_CREATED];
static _Atomic uint64_t lg_create_seq;

static inline uint32_t lg_created_slot(uint64_t th) { return (uint32_t)((th >> 12) ^ (th >> 24)) & (LG_CREATED - 1); }

static void *lg_trampoline(void *p)
{
    struct lg_start s = *(struct lg_start *)p;
    free(p);
    struct lg_thread *t = lg_thread_attach_new(s.creator, s.stack, (uint64_t)(uintptr_t)s.fn, s.create_ns);
    if (t) {
        t->create_seq = s.seq;
        lg_leave(t);
    }
    void *ret = s.fn(s.arg);
    /* Returned normally; the key destructor writes THREAD_EXIT. */
    if (lg_tls_self && !lg_tls_self->end_how)
        lg_tls_self->end_how = LG_END_RETURN;
    return ret;
}

LG_EXPORT int pthread_create(pthread_t *thr, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_create)(thr, attr, fn, arg);
    int e = errno;
    struct lg_start *s = malloc(sizeof *s);   /* pthread_create allocates too: not a hot path */
    if (s) {
        s->fn = fn;
        s->arg = arg;
        s->creator = t->tid;
        s->stack = lg_stack_capture(t, 0);
        s->seq = atomic_fetch_add(&lg_create_seq, 1) + 1;
        s->create_ns = lg_now_ns();
    }
    lg_leave(t);
    errno = e;
    if (!s)
        return LG_REAL(pthread_create)(thr, attr, fn, arg);
    uint64_t seq = s->seq;
    int r = LG_REAL(pthread_create)(thr, attr, lg_trampoline, s);
    if (r != 0) {
        free(s);
    } else {
        uint32_t k = lg_created_slot((uint64_t)*thr);
        atomic_store(&lg_created[k].seq, seq);
        atomic_store(&lg_created[k].pthread, (uint64_t)*thr);
    }
    return r;
}

/* The kernel tid of the thread th names, 0 if unknown. A thread we saw
 * created but that has not reached its trampoline yet is waited for
 * (up to 100 ms: it is about to run), so a join right after create still
 * publishes its target. */
static pid_t lg_tid_of(pthread_t th)
{
    uint32_t k = lg_created_slot((uint64_t)th);
    uint64_t seq = atomic_load(&lg_created[k].pthread) == (uint64_t)th ? atomic_load(&lg_created[k].seq) : 0;
    uint64_t deadline = lg_now_ns() + 100000000ull;   /* a loaded machine can take ms to start a thread */
    for (;;) {
        struct lg_thread *any = NULL;
        for (struct lg_thread *t = lg_thread_first(); t; t = t->next) {
            if (t->pthread != (uint64_t)th)
                continue;
            if (seq && t->create_seq == seq)
                return t->tid;
            if (!seq && atomic_load(&t->alive))
                any = t;
        }
        if (!seq)
            return any ? any->tid : 0;
        if (lg_now_ns() > deadline)
            return 0;
        sched_yield();
    }
}

static void lg_join_record(struct lg_thread *t, pthread_t th, pid_t tid, int r, int flags)
{
    struct lg_stackent *st = lg_stack_capture(t, 0);
    uint32_t sid = lg_stack_id(st);
    struct lg_rec_hdr *h;
    struct lg_rec_join *j = lg_rec_begin(sizeof *j, &h);
    if (!j)
        return;
    j->joined_tid = tid;
    j->ret = r;
    j->pthread = (uint64_t)th;
    j->stack_id = sid;
    j->flags = (uint32_t)flags;
    lg_rec_commit(h, LG_REC_JOIN, 0);
}

enum { LG_J_PLAIN, LG_J_TIMED, LG_J_CLOCK };

static int lg_join(pthread_t th, void **ret, int how, clockid_t clk, const struct timespec *abstime)
{
    struct lg_thread *t = lg_enter();
    if (!t) {
        if (how == LG_J_PLAIN)
            return LG_REAL(pthread_join)(th, ret);
        if (how == LG_J_TIMED)
            return LG_REAL(pthread_timedjoin_np)(th, ret, abstime);
        return LG_REAL(pthread_clockjoin_np)(th, ret, clk, abstime);
    }
    pid_t tid = lg_tid_of(th);
    lg_leave(t);
    /* Already finished: no wait to publish. */
    int r = LG_REAL(pthread_tryjoin_np)(th, ret);
    if (r == EBUSY) {
        lg_reenter(t);
        struct lg_publish p = {.op = LG_BLOCK_JOIN, .flags = how ? LG_TT_TIMED : 0, .target_tid = tid,
                               .aux = (uint64_t)th};
        lg_tt_publish(t, &p);
        lg_leave(t);
        if (how == LG_J_PLAIN)
            r = LG_REAL(pthread_join)(th, ret);
        else if (how == LG_J_TIMED)
            r = LG_REAL(pthread_timedjoin_np)(th, ret, abstime);
        else
            r = LG_REAL(pthread_clockjoin_np)(th, ret, clk, abstime);
        lg_reenter(t);
        lg_tt_done(t);
        lg_leave(t);
    }
    int e = errno;
    lg_reenter(t);
    lg_join_record(t, th, tid, r, how ? LG_ACQ_TIMED : 0);
    lg_leave(t);
    errno = e;
    return r;
}

LG_EXPORT int pthread_join(pthread_t th, void **ret) { return lg_join(th, ret, LG_J_PLAIN, 0, NULL); }

LG_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abstime)
{
    return lg_join(th, ret, LG_J_TIMED, 0, abstime);
}

LG_EXPORT int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk, const struct timespec *abstime)
{
    return lg_join(th, ret, LG_J_CLOCK, clk, abstime);
}

LG_EXPORT int pthread_tryjoin_np(pthread_t th, void **ret)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_tryjoin_np)(th, ret);
    pid_t tid = lg_tid_of(th);
    lg_leave(t);
    int r = LG_REAL(pthread_tryjoin_np)(th, ret);
    int e = errno;
    lg_reenter(t);
    lg_join_record(t, th, tid, r, LG_ACQ_TRY);
    lg_leave(t);
    errno = e;
    return r;
}

LG_EXPORT int pthread_detach(pthread_t th)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(pthread_detach)(th);
    lg_leave(t);
    int r = LG_REAL(pthread_detach)(th);
    int e = errno;
    lg_reenter(t);
    struct lg_rec_hdr *h;
    struct lg_rec_detach *d = lg_rec_begin(sizeof *d, &h);
    if (d) {
        d->pthread = (uint64_t)th;
        d->ret = r;
        lg_rec_commit(h, LG_REC_DETACH, 0);
    }
    lg_leave(t);
    errno = e;
    return r;
}

LG_EXPORT void pthread_exit(void *v)
{
    struct lg_thread *t = lg_enter();
    if (t) {
        t->end_how = LG_END_PTHREAD_EXIT;   /* THREAD_EXIT comes from the key destructor */
        lg_leave(t);
    }
    LG_REAL(pthread_exit)(v);
    __builtin_unreachable();
}
