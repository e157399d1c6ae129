/* SPDX-License-Identifier: MIT */
/* Unit tests: which lock-order cycles are deadlocks (analyzer/classify.c),
 * end to end from synthetic traces through lg_model_load. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lg_analyze.h"
#include "trace_writer.h"

enum { A = 1, B = 2, C = 3, G = 4 };
#define PID 100

static char *dir;
static struct lg_model *model;

static void setup(void)
{
    dir = tw_tmpdir();
    cr_assert_not_null(dir);
    model = NULL;
}

static void teardown(void)
{
    lg_model_free(model);
    tw_rmdir(dir);
}

/* A process with named locks A, B, C (mutexes) and G, plus threads 101..103. */
static struct tw *begin(int lock_kind_a)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_lock(w, 1001, A, 0, lock_kind_a, 0, "A");
    tw_lock(w, 1002, B, 0, LG_LOCK_NAMED_SEM, 0, "B");
    tw_lock(w, 1003, C, 0, LG_LOCK_NAMED_SEM, 0, "C");
    tw_lock(w, 1004, G, 0, LG_LOCK_NAMED_SEM, 0, "G");
    return w;
}

static void finish(struct tw *w)
{
    const char *err;
    free(tw_close(w, true));
    cr_assert_eq(lg_model_load(dir, &model, &err), 0, "load: %s", err ? err : "");
}

static const struct lg_finding *only_cycle(void)
{
    const struct lg_finding *f = NULL;
    int n = 0;
    for (int i = 0; i < model->nfindings; i++)
        if (model->findings[i].kind == LG_FK_LOCK_ORDER_CYCLE) {
            f = &model->findings[i];
            n++;
        }
    cr_assert_eq(n, 1, "expected one cycle finding, got %d", n);
    return f;
}

TestSuite(cycles_classify, .init = setup, .fini = teardown);

Test(cycles_classify, real_abba_is_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_dep_ids(w, 102, 3001, A, (uint64_t[]){ B }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert_str_eq(f->message, "lock-order cycle A -> B -> A (potential deadlock)");
    cr_assert_null(f->reason);
    cr_assert_eq(f->nsteps, 2);
    cr_assert_eq(f->nthreads, 2);
    cr_assert_eq(lg_model_count(model, LG_SEV_ERROR), 1);
}

Test(cycles_classify, gate_lock_suppresses_inversion)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3000, A, (uint64_t[]){ G }, 1, 0);
    tw_dep_ids(w, 101, 3001, B, (uint64_t[]){ G, A }, 2, 0);
    tw_dep_ids(w, 102, 3002, B, (uint64_t[]){ G }, 1, 0);
    tw_dep_ids(w, 102, 3003, A, (uint64_t[]){ G, B }, 2, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_WARNING);
    cr_assert_not_null(f->reason);
    cr_assert(strstr(f->reason, "gate lock") && strstr(f->reason, "G"), "reason: %s", f->reason);
    cr_assert_eq(lg_model_count(model, LG_SEV_ERROR), 0);
}

Test(cycles_classify, gate_held_by_one_side_only_is_still_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3001, B, (uint64_t[]){ G, A }, 2, 0);
    tw_dep_ids(w, 102, 3003, A, (uint64_t[]){ B }, 1, 0);
    finish(w);
    cr_assert_eq(only_cycle()->severity, LG_SEV_ERROR);
}

Test(cycles_classify, single_thread_is_note)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_dep_ids(w, PID, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_dep_ids(w, PID, 3001, A, (uint64_t[]){ B }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_NOTE);
    cr_assert(strstr(f->reason, "single thread"), "reason: %s", f->reason);
}

Test(cycles_classify, trylock_edge_not_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_dep_ids(w, 102, 3001, A, (uint64_t[]){ B }, 1, LG_ACQ_TRY);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_WARNING);
    cr_assert(strstr(f->reason, "trylock") && strstr(f->reason, "B -> A"), "reason: %s", f->reason);
}

Test(cycles_classify, trylock_plus_blocking_witness_is_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_thread_start(w, 103, 2002, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_dep_ids(w, 102, 3001, A, (uint64_t[]){ B }, 1, LG_ACQ_TRY);
    tw_dep_ids(w, 103, 3002, A, (uint64_t[]){ B }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert_eq(model->threads[f->steps[1].thread].tid, 103, "the blocking witness is chosen");
}

Test(cycles_classify, read_read_not_error)
{
    struct tw *w = begin(LG_LOCK_RWLOCK);
    struct lg_held ha = { .lock_id = A, .mode = LG_MODE_READ };
    struct lg_held hb = { .lock_id = B, .mode = LG_MODE_WRITE };
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep(w, 101, 3000, B, LG_MODE_WRITE, 0, 0, &ha, 1);   /* holds A for reading */
    tw_dep(w, 102, 3001, A, LG_MODE_READ, 0, 0, &hb, 1);    /* wants A for reading */
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_NOTE);
    cr_assert(strstr(f->reason, "read-read"), "reason: %s", f->reason);
}

Test(cycles_classify, read_then_write_is_error)
{
    struct tw *w = begin(LG_LOCK_RWLOCK);
    struct lg_held ha = { .lock_id = A, .mode = LG_MODE_READ };
    struct lg_held hb = { .lock_id = B, .mode = LG_MODE_WRITE };
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep(w, 101, 3000, B, LG_MODE_WRITE, 0, 0, &ha, 1);
    tw_dep(w, 102, 3001, A, LG_MODE_WRITE, 0, 0, &hb, 1);   /* a writer waits for the reader */
    finish(w);
    cr_assert_eq(only_cycle()->severity, LG_SEV_ERROR);
}

Test(cycles_classify, joined_before_created_not_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_thread_exit(w, 101, 3500, LG_END_RETURN);
    tw_join(w, PID, 4000, 101);
    tw_thread_start(w, 102, 5000, PID);
    tw_dep_ids(w, 102, 6000, A, (uint64_t[]){ B }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_NOTE);
    cr_assert(strstr(f->reason, "never overlap"), "reason: %s", f->reason);
}

Test(cycles_classify, joined_by_pthread_value_not_error)
{
    /* The JOIN names only the pthread_t (the shim did not know the tid);
     * the same pthread_t is reused by the next thread. */
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start_pt(w, 101, 2000, PID, 0x7f00);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_join_pt(w, PID, 4000, 0, 0x7f00);
    tw_thread_start_pt(w, 102, 5000, PID, 0x7f00);
    tw_dep_ids(w, 102, 6000, A, (uint64_t[]){ B }, 1, 0);
    tw_join_pt(w, PID, 7000, 0, 0x7f00);
    finish(w);
    cr_assert_eq(model->threads[1].joined_ns, 4000);
    cr_assert_eq(model->threads[2].joined_ns, 7000);
    cr_assert_eq(only_cycle()->severity, LG_SEV_NOTE);
}

Test(cycles_classify, ended_but_not_joined_is_still_error)
{
    /* 101 finished before 102 began, but nobody waited for it: another
     * schedule runs them together. */
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_thread_exit(w, 101, 3500, LG_END_RETURN);
    tw_thread_start(w, 102, 5000, PID);
    tw_dep_ids(w, 102, 6000, A, (uint64_t[]){ B }, 1, 0);
    finish(w);
    cr_assert_eq(only_cycle()->severity, LG_SEV_ERROR);
}

Test(cycles_classify, reaped_child_process_never_overlaps_later_one)
{
    /* Shared (cross-process) locks A and B; child 201 takes A->B and is
     * reaped before child 202 is forked and takes B->A. */
    struct lg_rec_lock_new la = { .lock_id = 11, .lock_kind = LG_LOCK_NAMED_SEM,
                                  .flags = LG_LOCKF_SHARED_ID, .dev = 5, .ino = 77, .offset = 0 };
    struct lg_rec_lock_new lb = la;
    lb.lock_id = 12;
    lb.ino = 78;
    struct tw *p = tw_open(dir, PID, 1, 0, 1000);
    tw_lock_full(p, 1001, &la, "A");
    tw_lock_full(p, 1002, &lb, "B");
    tw_wait(p, PID, 4000, 201);
    free(tw_close(p, true));

    struct tw *c1 = tw_open(dir, 201, PID, 0, 2000);
    tw_set_fork(c1, 2000, PID);
    la.lock_id = 1; lb.lock_id = 2;
    tw_lock_full(c1, 2001, &la, "A");
    tw_lock_full(c1, 2002, &lb, "B");
    tw_dep_ids(c1, 201, 3000, 2, (uint64_t[]){ 1 }, 1, 0);
    free(tw_close(c1, true));

    struct tw *c2 = tw_open(dir, 202, PID, 0, 5000);
    tw_set_fork(c2, 5000, PID);
    tw_lock_full(c2, 5001, &la, "A");
    tw_lock_full(c2, 5002, &lb, "B");
    tw_dep_ids(c2, 202, 6000, 1, (uint64_t[]){ 2 }, 1, 0);
    finish(c2);
    cr_assert_eq(model->nlocks, 2, "shared locks are one node across processes");
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_NOTE, "%s", f->message);
    cr_assert(strstr(f->reason, "never overlap"), "reason: %s", f->reason);
}

Test(cycles_classify, cross_process_abba_is_error)
{
    struct lg_rec_lock_new la = { .lock_id = 1, .lock_kind = LG_LOCK_NAMED_SEM,
                                  .flags = LG_LOCKF_SHARED_ID, .dev = 5, .ino = 77, .offset = 0 };
    struct lg_rec_lock_new lb = la;
    lb.lock_id = 2;
    lb.offset = 32;
    struct tw *p = tw_open(dir, PID, 1, 0, 1000);
    tw_lock_full(p, 1001, &la, "A");
    tw_lock_full(p, 1002, &lb, "B");
    tw_dep_ids(p, PID, 3000, 2, (uint64_t[]){ 1 }, 1, 0);
    free(tw_close(p, true));
    struct tw *c = tw_open(dir, 201, PID, 0, 2000);
    tw_set_fork(c, 2000, PID);
    tw_lock_full(c, 2001, &lb, "B");   /* announced in the other order: same nodes */
    tw_lock_full(c, 2002, &la, "A");
    tw_dep_ids(c, 201, 3000, 1, (uint64_t[]){ 2 }, 1, 0);
    finish(c);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert_eq(f->process, -1, "two processes");
}

Test(cycles_classify, three_threads_three_locks_is_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_thread_start(w, 103, 2002, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_dep_ids(w, 102, 3001, C, (uint64_t[]){ B }, 1, 0);
    tw_dep_ids(w, 103, 3002, A, (uint64_t[]){ C }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert_str_eq(f->message, "lock-order cycle A -> B -> C -> A (potential deadlock)");
    cr_assert_eq(f->nthreads, 3);
}

Test(cycles_classify, needs_distinct_threads_for_each_edge)
{
    /* Three-lock cycle but two threads: T1 makes A->B and B->C, T2 C->A.
     * No assignment gives three distinct threads: not a three-way deadlock. */
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3000, B, (uint64_t[]){ A }, 1, 0);
    tw_dep_ids(w, 101, 3001, C, (uint64_t[]){ B }, 1, 0);
    tw_dep_ids(w, 102, 3002, A, (uint64_t[]){ C }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_neq(f->severity, LG_SEV_ERROR);
}

Test(cycles_classify, single_thread_under_a_gate_is_a_single_thread_note)
{
    /* Both rules apply; "one thread" is the stronger explanation. */
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_dep_ids(w, PID, 3000, B, (uint64_t[]){ G, A }, 2, 0);
    tw_dep_ids(w, PID, 3001, A, (uint64_t[]){ G, B }, 2, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_NOTE);
    cr_assert(strstr(f->reason, "single thread"), "reason: %s", f->reason);
}

Test(cycles_classify, python_stdlib_internal_cycle_is_not_reported)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_pystack(w, 1, "/usr/lib/python3.11/threading.py", 1116, "join");
    tw_pystack(w, 2, "/usr/lib/python3.11/threading.py", 960, "start");
    struct lg_held ha = { .lock_id = A, .stack_id = 1 }, hb = { .lock_id = B, .stack_id = 2 };
    tw_dep(w, PID, 3000, B, LG_MODE_WRITE, 0, 2, &ha, 1);
    tw_dep(w, PID, 3001, A, LG_MODE_WRITE, 0, 1, &hb, 1);
    finish(w);
    cr_assert_eq(model->nfindings, 0);
    cr_assert_eq(model->nskipped, 0);
}

Test(cycles_classify, python_user_cycle_is_reported)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    tw_pystack(w, 1, "/home/u/app.py", 5, "f");
    tw_pystack(w, 2, "/home/u/app.py", 9, "g");
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    struct lg_held ha = { .lock_id = A, .stack_id = 1 }, hb = { .lock_id = B, .stack_id = 2 };
    tw_dep(w, 101, 3000, B, LG_MODE_WRITE, 0, 2, &ha, 1);
    tw_dep(w, 102, 3001, A, LG_MODE_WRITE, 0, 1, &hb, 1);
    finish(w);
    cr_assert_eq(only_cycle()->severity, LG_SEV_ERROR);
}

Test(cycles_classify, same_shape_cycles_over_other_instances_are_counted_once)
{
    /* Four accounts born at one site; transfers both ways between 10/11
     * and between 12/13, always at the same two source lines. */
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_pystack(w, 1, "bank.py", 3, "__init__");
    tw_pystack(w, 2, "bank.py", 7, "transfer");
    tw_pystack(w, 3, "bank.py", 8, "transfer");
    for (uint64_t id = 10; id <= 13; id++)
        tw_lock(w, 1000 + id, id, 0x100 * id, LG_LOCK_MUTEX, 1, NULL);
    for (int t = 101; t <= 104; t++)
        tw_thread_start(w, t, 2000 + t, PID);
    struct lg_held h10 = { .lock_id = 10, .stack_id = 2 }, h11 = { .lock_id = 11, .stack_id = 2 };
    struct lg_held h12 = { .lock_id = 12, .stack_id = 2 }, h13 = { .lock_id = 13, .stack_id = 2 };
    tw_dep(w, 101, 3000, 11, LG_MODE_WRITE, 0, 3, &h10, 1);
    tw_dep(w, 102, 3001, 10, LG_MODE_WRITE, 0, 3, &h11, 1);
    tw_dep(w, 103, 3002, 13, LG_MODE_WRITE, 0, 3, &h12, 1);
    tw_dep(w, 104, 3003, 12, LG_MODE_WRITE, 0, 3, &h13, 1);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert_str_eq(f->message, "lock-order cycle mutex at bank.py:3 -> mutex at bank.py:3 #2 -> "
                                 "mutex at bank.py:3 (potential deadlock)");
    cr_assert(strstr(f->details[f->ndetails - 1], "1 more cycle of the same shape"), "%s",
              f->details[f->ndetails - 1]);
}

Test(cycles_classify, counting_semaphore_cycle_is_warning)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    struct lg_rec_lock_new pool = { .lock_id = 1, .lock_kind = LG_LOCK_SEM, .sem_value = 4 };
    tw_lock_full(w, 1001, &pool, NULL);
    tw_lock(w, 1002, 2, 0, LG_LOCK_NAMED_SEM, 0, "M");
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3000, 2, (uint64_t[]){ 1 }, 1, 0);
    tw_dep_ids(w, 102, 3001, 1, (uint64_t[]){ 2 }, 1, 0);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_WARNING);
    cr_assert(strstr(f->reason, "counting semaphore") && strstr(f->reason, "4 permits"), "%s",
              f->reason);
}

Test(cycles_classify, binary_semaphore_cycle_is_error)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    struct lg_rec_lock_new s1 = { .lock_id = 1, .lock_kind = LG_LOCK_SEM, .sem_value = 1 };
    tw_lock_full(w, 1001, &s1, NULL);
    tw_lock(w, 1002, 2, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    tw_dep_ids(w, 101, 3000, 2, (uint64_t[]){ 1 }, 1, 0);
    tw_dep_ids(w, 102, 3001, 1, (uint64_t[]){ 2 }, 1, 0);
    finish(w);
    cr_assert_eq(only_cycle()->severity, LG_SEV_ERROR);
}

/* Threads holding many locks (shared gate arrays): the gate rule still
 * works, and a cycle lock is never mistaken for a gate. */
static void many_held(struct tw *w, int tid, uint64_t t, uint64_t base, uint64_t gate,
                      uint64_t held_last, uint64_t acq)
{
    uint64_t h[40];
    int n = 0;
    if (gate)
        h[n++] = gate;
    for (uint64_t k = 0; k < 30; k++)
        h[n++] = base + k;
    h[n++] = held_last;
    tw_dep_ids(w, tid, t, acq, h, (uint32_t)n, 0);
}

Test(cycles_classify, gate_among_many_held_locks)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    for (uint64_t id = 100; id < 200; id++)
        tw_lock(w, 1010, id, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    many_held(w, 101, 3000, 100, G, A, B);
    many_held(w, 102, 3001, 150, G, B, A);
    finish(w);
    const struct lg_finding *f = only_cycle();
    cr_assert_eq(f->severity, LG_SEV_WARNING, "%s", f->message);
    cr_assert(strstr(f->reason, "gate lock:") && strstr(f->reason, " G,"), "%s", f->reason);
}

Test(cycles_classify, many_held_locks_without_common_gate_is_error)
{
    struct tw *w = begin(LG_LOCK_NAMED_SEM);
    for (uint64_t id = 100; id < 200; id++)
        tw_lock(w, 1010, id, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_thread_start(w, 101, 2000, PID);
    tw_thread_start(w, 102, 2001, PID);
    many_held(w, 101, 3000, 100, 0, A, B);
    many_held(w, 102, 3001, 150, 0, B, A);
    finish(w);
    cr_assert_eq(only_cycle()->severity, LG_SEV_ERROR);
}
