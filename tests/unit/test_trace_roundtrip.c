/* SPDX-License-Identifier: MIT */
/* Unit tests: synthetic trace files written with the structs of
 * lg_trace.h come back as the right model (analyzer/load.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lg_analyze.h"
#include "trace_writer.h"

#define PID 300

static char *dir;
static struct lg_model *model;

static void setup(void)
{
    dir = tw_tmpdir();
    model = NULL;
}

static void teardown(void)
{
    lg_model_free(model);
    tw_rmdir(dir);
}

static void load(void)
{
    const char *err;
    cr_assert_eq(lg_model_load(dir, &model, &err), 0, "load: %s", err ? err : "");
}

static int count_kind(enum lg_finding_kind k)
{
    int n = 0;
    for (int i = 0; i < model->nfindings; i++)
        n += model->findings[i].kind == k;
    return n;
}

static const struct lg_finding *first_of(enum lg_finding_kind k)
{
    for (int i = 0; i < model->nfindings; i++)
        if (model->findings[i].kind == k)
            return &model->findings[i];
    cr_assert_fail("no %s finding", lg_finding_kind_name(k));
    return NULL;
}

TestSuite(trace_roundtrip, .init = setup, .fini = teardown);

Test(trace_roundtrip, process_threads_locks_and_witnesses)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_set_exe(w, "/opt/demo/bank");
    tw_stack(w, 1, (uint64_t[]){ 0x1111, 0x2222 }, 2);
    tw_pystack(w, 2, "/work/x/bank.py", 14, "transfer");
    tw_pystack(w, 3, "/work/x/bank.py", 12, "transfer");
    tw_lock(w, 1001, 7, 0x5000, LG_LOCK_MUTEX, 0, NULL);
    tw_lock(w, 1002, 8, 0x6000, LG_LOCK_NAMED_SEM, 0, "/mp-queue");
    tw_lock(w, 1003, 9, 0x7000, LG_LOCK_MUTEX, 0, NULL);
    tw_thread_start(w, 301, 2000, PID);
    struct lg_held held[2] = { { .lock_id = 9, .stack_id = 3 }, { .lock_id = 7, .stack_id = 1 } };
    tw_dep(w, 301, 2500, 8, LG_MODE_WRITE, 0, 2, held, 2);
    tw_thread_exit(w, 301, 2600, LG_END_RETURN);
    tw_join(w, PID, 2700, 301);
    tw_proc_exit(w, PID, 2800, LG_END_EXIT, 3);
    free(tw_close(w, true));
    load();

    cr_assert_eq(model->nprocs, 1);
    cr_assert_eq(model->procs[0].pid, PID);
    cr_assert_str_eq(model->procs[0].exe, "/opt/demo/bank");
    cr_assert_eq(model->procs[0].exit_status, 3);
    cr_assert_eq(model->procs[0].end_how, LG_END_EXIT);
    cr_assert_eq(model->nthreads, 2);
    cr_assert_str_eq(model->threads[0].name, "T1");
    cr_assert_eq(model->threads[0].tid, PID);
    cr_assert_str_eq(model->threads[1].name, "T2");
    cr_assert_eq(model->threads[1].creator, 0);
    cr_assert_eq(model->threads[1].joined_by, 0);
    cr_assert_eq(model->threads[1].joined_ns, 2700);
    cr_assert_eq(model->nlocks, 3);
    cr_assert_str_eq(model->locks[1].name, "/mp-queue", "a named semaphore is named by its name");
    cr_assert_eq(model->locks[1].kind, LG_LOCK_NAMED_SEM);

    /* Two edges into /mp-queue: from lock 9 (gate 7) and from lock 7 (gate 9). */
    cr_assert_eq(model->nedges, 2);
    for (int e = 0; e < 2; e++) {
        const struct lg_edge *ed = &model->edges[e];
        cr_assert_eq(ed->to, 1);
        cr_assert_eq(ed->nw, 1);
        const struct lg_witness *wi = &ed->w[0];
        cr_assert_eq(wi->thread, 1);
        cr_assert_eq(wi->time_ns, 2500);
        cr_assert_eq(wi->ngates, 1);
        cr_assert_eq(wi->gates[0], ed->from == 2 ? 0 : 2);
        cr_assert_not_null(wi->acquired_at);
        cr_assert_eq(wi->acquired_at->npy, 1);
        cr_assert_eq(wi->acquired_at->py[0].line, 14);
        cr_assert_str_eq(wi->acquired_at->py[0].function, "transfer");
    }
    const struct lg_edge *from9 = model->edges[0].from == 2 ? &model->edges[0] : &model->edges[1];
    cr_assert_eq(from9->w[0].held_at->py[0].line, 12);
    cr_assert_eq(model->lock_ops, 1);
    cr_assert_eq(model->nfindings, 0);
    cr_assert_eq(model->nskipped, 0);
}

Test(trace_roundtrip, fork_child_wait_and_names)
{
    struct tw *p = tw_open(dir, PID, 1, 0, 1000);
    tw_wait(p, PID, 9000, 301);
    free(tw_close(p, true));
    struct tw *c = tw_open(dir, 301, PID, 0, 5000);
    tw_set_fork(c, 4999, PID);
    tw_thread_start(c, 302, 6000, 301);
    free(tw_close(c, true));
    struct tw *e = tw_open(dir, 301, PID, 1, 7000);   /* the child exec'd */
    free(tw_close(e, false));
    load();
    cr_assert_eq(model->nprocs, 3);
    cr_assert_eq(model->procs[0].pid, PID);
    cr_assert_eq(model->procs[1].pid, 301);
    cr_assert_eq(model->procs[1].parent, 0);
    cr_assert_eq(model->procs[1].fork_ns, 4999);
    cr_assert_eq(model->procs[1].reaped_ns, 9000);
    cr_assert_eq(model->procs[2].exec_seq, 1);
    cr_assert_eq(model->procs[2].parent, 1, "an exec image follows its predecessor");
    cr_assert_eq(model->nthreads, 4);
    cr_assert_str_eq(model->threads[0].name, "T1@300");
    cr_assert_str_eq(model->threads[1].name, "T1@301.0", "pid 301 ran two images");
    cr_assert_str_eq(model->threads[3].name, "T2@301.0");
    cr_assert_eq(model->threads[3].process, 1);
}

Test(trace_roundtrip, threads_of_the_only_busy_process_keep_short_names)
{
    /* A launcher (no locks) execs into the program that uses locks. */
    struct tw *sh = tw_open(dir, PID, 1, 0, 1000);
    free(tw_close(sh, true));
    struct tw *w = tw_open(dir, PID, 1, 1, 2000);
    tw_lock(w, 2001, 1, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_thread_start(w, 301, 2100, PID);
    free(tw_close(w, true));
    load();
    cr_assert_eq(model->nprocs, 2);
    cr_assert_str_eq(model->threads[0].name, "T1@300.0");
    cr_assert_str_eq(model->threads[1].name, "T1");
    cr_assert_str_eq(model->threads[2].name, "T2");
}

Test(trace_roundtrip, unreleased_lock_at_thread_exit_once)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_pystack(w, 1, "worker.py", 21, "run");
    tw_lock(w, 1001, 1, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_lock(w, 1002, 2, 0, LG_LOCK_SEM, 0, NULL);
    tw_thread_start(w, 301, 2000, PID);
    tw_held_at(w, 301, 3000, 1, 1, LG_END_RETURN);
    tw_held_at(w, 301, 3000, 1, 1, LG_END_RETURN);   /* same lock, same site: once */
    tw_held_at(w, 301, 3000, 2, 1, LG_END_RETURN);   /* a semaphore: legitimately held */
    tw_held_at(w, PID, 3000, 1, 1, LG_END_FORK);     /* across fork: not a leak */
    free(tw_close(w, true));
    load();
    cr_assert_eq(count_kind(LG_FK_UNRELEASED_LOCK), 1);
    const struct lg_finding *f = first_of(LG_FK_UNRELEASED_LOCK);
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert(strstr(f->message, "T2"), "%s", f->message);
    cr_assert_geq(f->nloc, 1);
    cr_assert_str_eq(f->locations[0].file, "worker.py");
    cr_assert_eq(f->locations[0].line, 21);
}

Test(trace_roundtrip, misuse_records_become_findings)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_pystack(w, 1, "m.py", 5, "f");
    tw_pystack(w, 2, "m.py", 9, "g");
    tw_lock(w, 1001, 1, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_lock(w, 1002, 2, 0, LG_LOCK_MUTEX, 0, NULL);
    tw_lock(w, 1003, 3, 0, LG_LOCK_SEM, 0, NULL);
    tw_thread_start(w, 301, 2000, PID);
    tw_misuse(w, 301, 2100, LG_MISUSE_UNLOCK_NOT_OWNER, 1, 1, PID, 0, EPERM);
    tw_misuse(w, PID, 2200, LG_MISUSE_UNLOCK_UNLOCKED, 1, 2, 0, 0, 0);
    tw_misuse(w, PID, 2300, LG_MISUSE_SELF_DEADLOCK, 2, 1, 0, 0, EDEADLK);
    tw_misuse(w, PID, 2300, LG_MISUSE_SELF_DEADLOCK, 2, 1, 0, 0, EDEADLK);  /* duplicate */
    tw_misuse(w, PID, 2400, LG_MISUSE_DESTROY_LOCKED, 2, 2, PID, 0, EBUSY);
    tw_misuse(w, PID, 2500, LG_MISUSE_COND_NO_MUTEX, 1, 1, 0xc0de, 0, 0);
    tw_misuse(w, PID, 2600, LG_MISUSE_COND_TWO_MUTEXES, 2, 2, 1, 0xc0de, 0);
    tw_misuse(w, PID, 2700, LG_MISUSE_SEM_OVERPOST, 3, 1, 0, 2, 0);
    free(tw_close(w, true));
    load();
    cr_assert_eq(count_kind(LG_FK_UNLOCK_NOT_OWNER), 1);
    cr_assert_eq(count_kind(LG_FK_UNLOCK_UNLOCKED), 1);
    cr_assert_eq(count_kind(LG_FK_SELF_DEADLOCK), 1, "duplicates are kept once");
    cr_assert_eq(count_kind(LG_FK_DESTROY_LOCKED), 1);
    cr_assert_eq(count_kind(LG_FK_COND_WAIT_MISUSE), 2);
    cr_assert_eq(count_kind(LG_FK_SEMAPHORE_OVERPOST), 1);
    cr_assert_eq(lg_model_count(model, LG_SEV_ERROR), 7);
    const struct lg_finding *f = first_of(LG_FK_UNLOCK_NOT_OWNER);
    cr_assert(strstr(f->message, "T2 unlocks") && strstr(f->message, "which T1 holds"), "%s",
              f->message);
    cr_assert_eq(f->locations[0].line, 5);
    f = first_of(LG_FK_SEMAPHORE_OVERPOST);
    cr_assert(strstr(f->message, "to 2"), "%s", f->message);
    /* Sorted: same severity, kinds in vocabulary order. */
    for (int i = 1; i < model->nfindings; i++)
        cr_assert_leq(model->findings[i - 1].kind, model->findings[i].kind);
}

Test(trace_roundtrip, locks_sharing_a_site_are_numbered)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_pystack(w, 1, "bank.py", 12, "__init__");
    tw_lock(w, 1001, 1, 0x100, LG_LOCK_MUTEX, 1, NULL);
    tw_lock(w, 1002, 2, 0x200, LG_LOCK_MUTEX, 1, NULL);
    tw_lock(w, 1003, 3, 0x300, LG_LOCK_MUTEX, 1, NULL);
    free(tw_close(w, true));
    load();
    cr_assert_str_eq(model->locks[0].name, "mutex at bank.py:12");
    cr_assert_str_eq(model->locks[1].name, "mutex at bank.py:12 #2");
    cr_assert_str_eq(model->locks[2].name, "mutex at bank.py:12 #3");
}

Test(trace_roundtrip, many_held_locks)
{
    /* 2000 locks held at once: no cap at 1024 or below. */
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    struct lg_held *h = calloc(2000, sizeof(*h));
    for (int i = 0; i < 2001; i++)
        tw_lock(w, 1001, (uint64_t)i + 1, 0, LG_LOCK_MUTEX, 0, NULL);
    for (int i = 0; i < 2000; i++)
        h[i].lock_id = (uint64_t)i + 1;
    tw_dep(w, PID, 2000, 2001, LG_MODE_WRITE, 0, 0, h, 2000);
    free(h);
    free(tw_close(w, true));
    load();
    cr_assert_eq(model->nedges, 2000);
    /* Many held: one shared array of everything held (from included). */
    cr_assert_eq(model->edges[1999].w[0].ngates, 2000);
    cr_assert_eq(model->edges[1999].w[0].gates, model->edges[0].w[0].gates);
}

Test(trace_roundtrip, empty_folder_is_a_clear_error)
{
    const char *err = NULL;
    cr_assert_lt(lg_model_load(dir, &model, &err), 0);
    cr_assert_not_null(err);
    cr_assert(strstr(err, "no trace files"), "%s", err);
    cr_assert_null(model);
}

Test(trace_roundtrip, missing_folder_is_a_clear_error)
{
    const char *err = NULL;
    char path[600];
    snprintf(path, sizeof(path), "%s/does-not-exist", dir);
    cr_assert_eq(lg_model_load(path, &model, &err), -ENOENT);
    cr_assert(strstr(err, "does-not-exist") && strstr(err, "cannot open"), "%s", err);
}

Test(trace_roundtrip, huge_trace_keeps_witnesses_of_cycle_edges_only)
{
    /* Pretend the trace is huge (limit of 5 witnesses): edges on no cycle
     * keep none, edges inside the component keep all of theirs. */
    setenv("LOCKGRAPH_WITNESS_LIMIT", "5", 1);
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    for (uint64_t i = 1; i <= 20; i++)
        tw_lock(w, 1000 + i, i, 0, LG_LOCK_NAMED_SEM, 0, "L");
    for (uint64_t i = 3; i < 20; i++)          /* background, acyclic */
        tw_dep_ids(w, PID, 2000 + i, i + 1, (uint64_t[]){ i }, 1, 0);
    tw_thread_start(w, 301, 2500, PID);
    tw_thread_start(w, 302, 2501, PID);
    tw_thread_start(w, 303, 2502, PID);
    tw_dep_ids(w, 301, 3000, 2, (uint64_t[]){ 1 }, 1, 0);
    tw_dep_ids(w, 303, 3001, 2, (uint64_t[]){ 20, 1 }, 2, 0);   /* a second witness of 1->2 */
    tw_dep_ids(w, 302, 3002, 1, (uint64_t[]){ 2 }, 1, 0);
    free(tw_close(w, true));
    load();
    unsetenv("LOCKGRAPH_WITNESS_LIMIT");
    int on_cycle = 0, bare = 0;
    for (int e = 0; e < model->nedges; e++) {
        const struct lg_edge *ed = &model->edges[e];
        bool cyc = (ed->from == 0 && ed->to == 1) || (ed->from == 1 && ed->to == 0);
        if (cyc) {
            on_cycle++;
            cr_assert_eq(ed->nw, ed->nw_seen, "edge %d->%d keeps all", ed->from, ed->to);
            cr_assert_not_null(ed->w);
        } else {
            bare++;
            cr_assert_eq(ed->nw, 0);
            cr_assert_geq(ed->nw_seen, 1);
        }
    }
    cr_assert_eq(on_cycle, 2);
    cr_assert_gt(bare, 10);
    cr_assert_eq(model->nfindings, 1);
    cr_assert_eq(model->findings[0].severity, LG_SEV_ERROR);
    const struct lg_edge *ab = model->edges[model->findings[0].steps[0].edge].from == 0
                                   ? &model->edges[model->findings[0].steps[0].edge]
                                   : &model->edges[model->findings[0].steps[1].edge];
    cr_assert_eq(ab->nw, 2);
}

Test(trace_roundtrip, python_locks_named_by_their_variable)
{
    char py[600];
    snprintf(py, sizeof(py), "%s/app.py", dir);
    FILE *f = fopen(py, "w");
    fputs("import threading, multiprocessing\n"                 /* 1 */
          "lock_a = threading.Lock()\n"                          /* 2 */
          "class C:\n"                                           /* 3 */
          "    def __init__(self):\n"                            /* 4 */
          "        self.guard = threading.RLock()\n"             /* 5 */
          "locks = {}\n"                                         /* 6 */
          "locks[3] = multiprocessing.Lock()\n"                  /* 7 */
          "q = make_things(threading.Lock())\n",                 /* 8 */
          f);
    fclose(f);
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_pystack(w, 2, py, 2, "<module>");
    tw_pystack(w, 5, py, 5, "__init__");
    tw_pystack(w, 7, py, 7, "<module>");
    tw_pystack(w, 8, py, 8, "<module>");
    tw_lock(w, 1001, 1, 0x10, LG_LOCK_SEM, 2, NULL);
    tw_lock(w, 1002, 2, 0x20, LG_LOCK_SEM, 5, NULL);
    tw_lock(w, 1003, 3, 0x30, LG_LOCK_NAMED_SEM, 7, "/mp-x1y2");
    tw_lock(w, 1004, 4, 0x40, LG_LOCK_SEM, 8, NULL);
    free(tw_close(w, true));
    load();
    cr_assert_str_eq(model->locks[0].name, "lock_a");
    cr_assert_str_eq(model->locks[1].name, "self.guard");
    cr_assert_str_eq(model->locks[2].name, "locks[3]", "the variable beats the /mp- name");
    cr_assert_str_eq(model->locks[3].name, "lock at app.py:8", "no plain assignment: the site");
}

Test(trace_roundtrip, lock_held_at_a_crash_is_reported)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_pystack(w, 1, "crash.py", 7, "f");
    tw_lock(w, 1001, 1, 0, LG_LOCK_MUTEX, 0, NULL);
    struct lg_rec_lock_new sh = { .lock_id = 2, .lock_kind = LG_LOCK_MUTEX,
                                  .flags = LG_LOCKF_SHARED_ID, .dev = 1, .ino = 2 };
    tw_lock_full(w, 1002, &sh, NULL);
    tw_held_at(w, PID, 3000, 1, 1, LG_END_SIGNAL);
    tw_held_at(w, PID, 3000, 2, 1, LG_END_SIGNAL);
    free(tw_close(w, false));
    load();
    cr_assert_eq(count_kind(LG_FK_UNRELEASED_LOCK), 2);
    cr_assert_eq(lg_model_count(model, LG_SEV_ERROR), 1, "the shared one: others would wait");
    cr_assert_eq(lg_model_count(model, LG_SEV_WARNING), 1, "a private one: the crash is the bug");
    cr_assert(strstr(model->findings[0].message, "killed by a signal"), "%s", model->findings[0].message);
}
