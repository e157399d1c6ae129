/* SPDX-License-Identifier: MIT */
/* Unit tests: lock-discipline races on files (analyzer/race.c), from
 * synthetic traces through lg_model_load. Stacks carry Python frames only
 * (PYSTACK), so every location is exact without debug information. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "lg_analyze.h"
#include "lg_race.h"
#include "trace_writer.h"

#define DEV 7
#define INO 4242
#define PARENT 100

/* Stack ids (per trace): where each kind of call happened. */
enum { S_OPEN = 1, S_READ = 2, S_WRITE = 3, S_SETUP = 4, S_PEEK = 5 };

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

TestSuite(race, .init = setup, .fini = teardown);

static void stacks(struct tw *w)
{
    tw_pystack(w, S_OPEN, "db.py", 10, "get");
    tw_pystack(w, S_READ, "db.py", 11, "get");
    tw_pystack(w, S_WRITE, "db.py", 15, "get");
    tw_pystack(w, S_SETUP, "db.py", 30, "<module>");
    tw_pystack(w, S_PEEK, "db.py", 5, "search");
}

static struct tw *proc(int pid, int ppid, uint64_t start, uint64_t fork_ns)
{
    struct tw *w = tw_open(dir, pid, ppid, 0, start);
    if (fork_ns)
        tw_set_fork(w, fork_ns, ppid);
    stacks(w);
    return w;
}

static void fd_open(struct tw *w, int tid, uint64_t t, uint64_t session, uint32_t oflags,
                    const char *path)
{
    size_t pl = strlen(path);
    size_t len = sizeof(struct lg_rec_fd_open) + pl + 1;
    struct lg_rec_fd_open *o = calloc(1, len);
    o->session = session;
    o->dev = DEV;
    o->ino = INO;
    o->fd = 3;
    o->type = LG_FD_FILE;
    o->oflags = oflags;
    o->stack_id = S_OPEN;
    o->path_len = (uint32_t)pl;
    memcpy(o->path, path, pl);
    tw_record(w, LG_REC_FD_OPEN, tid, t, o, len);
    free(o);
}

/* A FILE_ACCESS from first to last holding held[0..nheld). */
static void access_(struct tw *w, int tid, uint64_t first, uint64_t last, uint64_t session,
                    uint32_t op, uint32_t stack, const struct lg_io_held *held, uint32_t nheld)
{
    size_t len = sizeof(struct lg_rec_file_access) + nheld * sizeof(*held);
    struct lg_rec_file_access *a = calloc(1, len);
    a->session = session;
    a->dev = DEV;
    a->ino = INO;
    a->count = 1;
    a->last_ns = last;
    a->fd = 3;
    a->op = op;
    a->stack_id = stack;
    a->nheld = nheld;
    if (nheld)
        memcpy(a->held, held, nheld * sizeof(*held));
    tw_record(w, LG_REC_FILE_ACCESS, tid, first, a, len);
    free(a);
}

static void fork_rec(struct tw *w, int tid, uint64_t t, int child)
{
    struct lg_rec_fork f = { .child_pid = child };
    tw_record(w, LG_REC_FORK, tid, t, &f, sizeof(f));
}

/* One read-think-write sequence in one session, from t to t+span. */
static void rmw(struct tw *w, int tid, uint64_t t, uint64_t span, uint64_t session,
                const struct lg_io_held *held, uint32_t nheld)
{
    fd_open(w, tid, t, session, O_RDWR, "db.txt");
    access_(w, tid, t + 1, t + 1, session, LG_FOP_READ, S_READ, held, nheld);
    access_(w, tid, t + span, t + span, session, LG_FOP_WRITE, S_WRITE, held, nheld);
}

static void load(void)
{
    const char *err = NULL;
    cr_assert_eq(lg_model_load(dir, &model, &err), 0, "load: %s", err ? err : "");
}

static int count_races(void)
{
    int n = 0;
    for (int i = 0; i < model->nfindings; i++)
        n += model->findings[i].kind == LG_FK_LOCK_DISCIPLINE_RACE;
    return n;
}

static const struct lg_finding *only_race(void)
{
    cr_assert_eq(count_races(), 1, "expected one lock-discipline-race, got %d", count_races());
    for (int i = 0; i < model->nfindings; i++)
        if (model->findings[i].kind == LG_FK_LOCK_DISCIPLINE_RACE)
            return &model->findings[i];
    return NULL;
}

static bool cites(const struct lg_finding *f, const char *file, int line)
{
    for (int i = 0; i < f->nloc; i++)
        if (f->locations[i].file && strcmp(f->locations[i].file, file) == 0 &&
            f->locations[i].line == line)
            return true;
    return false;
}

/* The parent writes the file, then forks two buyers. */
static void parent_with_children(uint64_t fork1, uint64_t fork2, int child1, int child2)
{
    struct tw *p = proc(PARENT, 1, 1000, 0);
    fd_open(p, PARENT, 1100, 1, O_WRONLY | O_CREAT | O_TRUNC, "db.txt");
    access_(p, PARENT, 1200, 1200, 1, LG_FOP_WRITE, S_SETUP, NULL, 0);
    fork_rec(p, PARENT, fork1, child1);
    fork_rec(p, PARENT, fork2, child2);
    free(tw_close(p, true));
}

Test(race, overlapping_read_modify_writes_of_two_processes_are_an_error)
{
    parent_with_children(2000, 2001, 101, 102);
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 500, 1, NULL, 0);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    rmw(b, 102, 3100, 500, 1, NULL, 0);
    free(tw_close(b, true));
    load();
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert(strstr(f->message, "db.txt"), "message: %s", f->message);
    cr_assert(strstr(f->message, "read-modify-write"), "message: %s", f->message);
    cr_assert(cites(f, "db.py", 11), "the read is cited");
    cr_assert(cites(f, "db.py", 15), "the write-back is cited");
    cr_assert(cites(f, "db.py", 10), "the open is cited");
    cr_assert(!cites(f, "db.py", 30), "the parent's setup write is ordered by the fork");
    cr_assert_eq(f->ndetails, 3);
    cr_assert(strstr(f->details[0], "holding no lock"), "detail: %s", f->details[0]);
    cr_assert(strstr(f->details[2], "overlapped"), "detail: %s", f->details[2]);
}

/* A multiprocessing.Lock: one named semaphore, the same object in both. */
static void shared_sem(struct tw *w, uint64_t id)
{
    struct lg_rec_lock_new l = { .lock_id = id, .lock_kind = LG_LOCK_NAMED_SEM, .sem_value = 1,
                                 .flags = LG_LOCKF_SHARED_ID | LG_LOCKF_INHERITED,
                                 .dev = 22, .ino = 33, .offset = 0 };
    tw_lock_full(w, 2500, &l, "/mp-lock");
}

Test(race, a_semaphore_shared_by_both_processes_makes_it_clean)
{
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held h = { .lock_id = 5, .kind = LG_IOL_LOCK, .mode = LG_MODE_WRITE };
    struct tw *a = proc(101, PARENT, 2010, 2000);
    shared_sem(a, 5);
    rmw(a, 101, 3000, 500, 1, &h, 1);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    h.lock_id = 9;   /* another id in the other trace, same backing object */
    shared_sem(b, 9);
    rmw(b, 102, 3600, 500, 1, &h, 1);
    free(tw_close(b, true));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, private_locks_of_two_processes_do_not_protect)
{
    /* A pthread mutex copied by fork is two mutexes: same lock_id in each
     * trace, yet nothing in common. */
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held h = { .lock_id = 5, .kind = LG_IOL_LOCK, .mode = LG_MODE_WRITE };
    struct tw *a = proc(101, PARENT, 2010, 2000);
    tw_lock(a, 2500, 5, 0x1000, LG_LOCK_MUTEX, 0, "m");
    rmw(a, 101, 3000, 500, 1, &h, 1);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    tw_lock(b, 2500, 5, 0x1000, LG_LOCK_MUTEX, 0, "m");
    rmw(b, 102, 3100, 500, 1, &h, 1);
    free(tw_close(b, true));
    load();
    const struct lg_finding *f = only_race();
    cr_assert(strstr(f->details[0], "holding m"), "detail: %s", f->details[0]);
}

Test(race, an_exclusive_flock_makes_it_clean)
{
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held h = { .dev = DEV, .ino = INO, .kind = LG_IOL_FLOCK, .mode = LG_MODE_WRITE };
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 500, 1, &h, 1);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    rmw(b, 102, 3600, 500, 1, &h, 1);
    free(tw_close(b, true));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, shared_flocks_on_both_sides_exclude_nothing)
{
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held h = { .dev = DEV, .ino = INO, .kind = LG_IOL_FLOCK, .mode = LG_MODE_READ };
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 500, 1, &h, 1);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    rmw(b, 102, 3100, 500, 1, &h, 1);
    free(tw_close(b, true));
    load();
    cr_assert_eq(count_races(), 1);
}

Test(race, record_locks_on_disjoint_ranges_do_not_protect)
{
    struct lg_race_lock a = { .key = 1, .start = 0, .len = 10, .kind = LG_IOL_POSIX, .mode = LG_MODE_WRITE };
    struct lg_race_lock b = { .key = 1, .start = 10, .len = 10, .kind = LG_IOL_POSIX, .mode = LG_MODE_WRITE };
    cr_assert(!lg_race_common_lock(&a, 1, &b, 1));
    b.start = 5;
    cr_assert(lg_race_common_lock(&a, 1, &b, 1));
    b.len = 0;   /* to the end of the file */
    b.start = 100;
    a.len = 0;
    cr_assert(lg_race_common_lock(&a, 1, &b, 1));
    b.key = 2;
    cr_assert(!lg_race_common_lock(&a, 1, &b, 1));
}

Test(race, a_waitpid_orders_the_child_before_the_parent)
{
    /* The child writes; the parent reaps it, then reads and writes. The
     * child's trace has no exit record: only the WAIT orders them. */
    struct tw *p = proc(PARENT, 1, 1000, 0);
    fork_rec(p, PARENT, 2000, 101);
    struct lg_rec_wait wt = { .arg_pid = 101, .ret_pid = 101 };
    tw_record(p, LG_REC_WAIT, PARENT, 5000, &wt, sizeof(wt));
    rmw(p, PARENT, 6000, 100, 1, NULL, 0);
    free(tw_close(p, false));
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 500, 1, NULL, 0);
    free(tw_close(a, false));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, without_the_wait_the_same_accesses_race)
{
    struct tw *p = proc(PARENT, 1, 1000, 0);
    fork_rec(p, PARENT, 2000, 101);
    rmw(p, PARENT, 6000, 100, 1, NULL, 0);
    free(tw_close(p, false));
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 500, 1, NULL, 0);
    free(tw_close(a, false));
    load();
    const struct lg_finding *f = only_race();
    cr_assert(strstr(f->details[2], "did not overlap"), "detail: %s", f->details[2]);
}

Test(race, a_join_orders_the_thread_before_the_joiner)
{
    struct tw *p = proc(PARENT, 1, 1000, 0);
    tw_thread_start(p, 201, 1500, PARENT);
    rmw(p, 201, 2000, 100, 1, NULL, 0);
    tw_join(p, PARENT, 3000, 201);
    rmw(p, PARENT, 4000, 100, 2, NULL, 0);
    free(tw_close(p, false));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, an_unjoined_live_thread_races_with_main)
{
    struct tw *p = proc(PARENT, 1, 1000, 0);
    tw_thread_start(p, 201, 1500, PARENT);
    rmw(p, 201, 2000, 100, 1, NULL, 0);
    rmw(p, PARENT, 4000, 100, 2, NULL, 0);
    free(tw_close(p, false));
    load();
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->nthreads, 2);
    cr_assert_eq(f->process, 0);
}

Test(race, a_python_thread_that_had_ended_cannot_race)
{
    /* CPython joins a thread by waiting on a semaphore its end releases:
     * no JOIN record, but the thread's end orders it. */
    struct tw *p = proc(PARENT, 1, 1000, 0);
    tw_set_flags(p, LG_TRACE_F_PYTHON);
    tw_thread_start(p, 201, 1500, PARENT);
    rmw(p, 201, 2000, 100, 1, NULL, 0);
    tw_thread_exit(p, 201, 2500, LG_END_RETURN);
    rmw(p, PARENT, 4000, 100, 2, NULL, 0);
    free(tw_close(p, false));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, files_only_read_are_not_reported)
{
    parent_with_children(2000, 2001, 101, 102);
    struct tw *a = proc(101, PARENT, 2010, 2000);
    fd_open(a, 101, 3000, 1, O_RDONLY, "db.txt");
    access_(a, 101, 3001, 3400, 1, LG_FOP_READ, S_READ, NULL, 0);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    fd_open(b, 102, 3000, 1, O_RDONLY, "db.txt");
    access_(b, 102, 3001, 3400, 1, LG_FOP_READ, S_READ, NULL, 0);
    free(tw_close(b, true));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, append_only_writers_are_not_reported)
{
    parent_with_children(2000, 2001, 101, 102);
    struct tw *a = proc(101, PARENT, 2010, 2000);
    fd_open(a, 101, 3000, 1, O_WRONLY | O_APPEND, "db.txt");
    access_(a, 101, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    fd_open(b, 102, 3000, 1, O_WRONLY | O_APPEND, "db.txt");
    access_(b, 102, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    free(tw_close(b, true));
    load();
    cr_assert_eq(count_races(), 0);
}

Test(race, append_writers_count_when_asked)
{
    setenv("LOCKGRAPH_RACE_APPEND", "1", 1);
    parent_with_children(2000, 2001, 101, 102);
    for (int c = 0; c < 2; c++) {
        struct tw *w = proc(101 + c, PARENT, 2010 + c, 2000 + c);
        fd_open(w, 101 + c, 3000, 1, O_WRONLY | O_APPEND, "db.txt");
        access_(w, 101 + c, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
        free(tw_close(w, true));
    }
    load();
    unsetenv("LOCKGRAPH_RACE_APPEND");
    cr_assert_eq(count_races(), 1);
}

Test(race, blind_writes_of_two_processes_race)
{
    parent_with_children(2000, 2001, 101, 102);
    struct tw *a = proc(101, PARENT, 2010, 2000);
    fd_open(a, 101, 3000, 1, O_WRONLY | O_TRUNC, "db.txt");
    access_(a, 101, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    fd_open(b, 102, 3000, 1, O_WRONLY | O_TRUNC, "db.txt");
    access_(b, 102, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    free(tw_close(b, true));
    load();
    const struct lg_finding *f = only_race();
    cr_assert(strstr(f->message, "two writes"), "message: %s", f->message);
}

Test(race, proc_and_trace_files_are_ignored)
{
    parent_with_children(2000, 2001, 101, 102);
    struct tw *a = proc(101, PARENT, 2010, 2000);
    fd_open(a, 101, 3000, 1, O_RDWR, "/proc/self/status");
    access_(a, 101, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    fd_open(b, 102, 3000, 1, O_RDWR, "/proc/self/status");
    access_(b, 102, 3001, 3400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    free(tw_close(b, true));
    load();
    cr_assert_eq(count_races(), 0);
}

/* The tutorials' locked ticket grab: each buyer peeks without the lock
 * (search), then does its read-modify-write under the shared lock. */
static void locked_grab(bool writers_locked)
{
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held h = { .lock_id = 5, .kind = LG_IOL_LOCK, .mode = LG_MODE_WRITE };
    for (int c = 0; c < 2; c++) {
        int pid = 101 + c;
        struct tw *w = proc(pid, PARENT, 2010 + c, 2000 + c);
        shared_sem(w, 5);
        fd_open(w, pid, 2600, 1, O_RDONLY, "db.txt");
        access_(w, pid, 2601, 2602, 1, LG_FOP_READ, S_PEEK, NULL, 0);
        uint64_t t = 3000 + 1000 * (uint64_t)c;
        fd_open(w, pid, t, 2, O_RDONLY, "db.txt");
        access_(w, pid, t + 1, t + 2, 2, LG_FOP_READ, S_READ, &h, writers_locked);
        fd_open(w, pid, t + 500, 3, O_WRONLY | O_TRUNC, "db.txt");
        access_(w, pid, t + 501, t + 502, 3, LG_FOP_WRITE, S_WRITE, &h, writers_locked);
        free(tw_close(w, true));
    }
    load();
}

Test(race, an_unlocked_peek_at_disciplined_writers_is_not_reported)
{
    locked_grab(true);
    cr_assert_eq(count_races(), 0);
}

Test(race, the_same_program_without_the_lock_is_reported_once)
{
    locked_grab(false);
    const struct lg_finding *f = only_race();
    cr_assert(cites(f, "db.py", 11) && cites(f, "db.py", 15));
    cr_assert(strstr(f->message, "two read-modify-write sequences"), "message: %s", f->message);
}

Test(race, reports_are_deterministic)
{
    locked_grab(false);
    char *a = NULL, *b = NULL;
    size_t la, lb;
    FILE *fa = open_memstream(&a, &la);
    lg_report_json(model, fa);
    fclose(fa);
    lg_model_free(model);
    model = NULL;
    load();
    FILE *fb = open_memstream(&b, &lb);
    lg_report_json(model, fb);
    fclose(fb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(a, b, la) == 0);
    cr_assert(strstr(a, "lock-discipline-race"));
    free(a);
    free(b);
}

/* A reader thread that only reads, after a live writer thread wrote. */
static void writer_then_reader(uint64_t read_at)
{
    struct tw *p = proc(PARENT, 1, 1000, 0);
    tw_thread_start(p, 201, 1500, PARENT);
    tw_thread_start(p, 202, 1501, PARENT);
    fd_open(p, 201, 2000, 1, O_WRONLY | O_TRUNC, "db.txt");
    access_(p, 201, 2001, 2400, 1, LG_FOP_WRITE, S_WRITE, NULL, 0);
    fd_open(p, 202, read_at - 1, 2, O_RDONLY, "db.txt");
    access_(p, 202, read_at, read_at + 10, 2, LG_FOP_READ, S_PEEK, NULL, 0);
    free(tw_close(p, false));
    load();
}

Test(race, a_read_after_an_unordered_write_is_a_warning)
{
    writer_then_reader(5000);
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->severity, LG_SEV_WARNING);
    cr_assert(strstr(f->details[2], "message"), "detail: %s", f->details[2]);
}

Test(race, a_read_during_the_write_is_an_error)
{
    writer_then_reader(2200);
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert(cites(f, "db.py", 5) && cites(f, "db.py", 15));
}

Test(race, short_unordered_sessions_of_two_exited_processes_still_race)
{
    /* Each child did its read-modify-write quickly and exited before the
     * other began; only the parent's final waits come after both: the
     * race did not happen this time, but nothing prevents it. */
    struct tw *p = proc(PARENT, 1, 1000, 0);
    fork_rec(p, PARENT, 2000, 101);
    fork_rec(p, PARENT, 2001, 102);
    struct lg_rec_wait w1 = { .arg_pid = -1, .ret_pid = 101 }, w2 = { .arg_pid = -1, .ret_pid = 102 };
    tw_record(p, LG_REC_WAIT, PARENT, 9000, &w1, sizeof(w1));
    tw_record(p, LG_REC_WAIT, PARENT, 9001, &w2, sizeof(w2));
    free(tw_close(p, true));
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 10, 1, NULL, 0);
    tw_proc_exit(a, 101, 3100, LG_END_EXIT, 0);
    free(tw_close(a, true));
    struct tw *b = proc(102, PARENT, 2011, 2001);
    rmw(b, 102, 4000, 10, 1, NULL, 0);
    tw_proc_exit(b, 102, 4100, LG_END_EXIT, 0);
    free(tw_close(b, true));
    load();
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->severity, LG_SEV_ERROR);
    cr_assert(strstr(f->details[2], "did not overlap"), "detail: %s", f->details[2]);
}

Test(race, locks_copied_by_fork_are_not_named_as_protection)
{
    /* Each child holds a private lock it inherited locked from the fork
     * (CPython's thread-state lock is one): never common, never named. */
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held h = { .lock_id = 5, .kind = LG_IOL_LOCK, .mode = LG_MODE_WRITE };
    for (int c = 0; c < 2; c++) {
        struct tw *w = proc(101 + c, PARENT, 2010 + c, 2000 + c);
        struct lg_rec_lock_new l = { .lock_id = 5, .addr = 0x1000, .lock_kind = LG_LOCK_SEM,
                                     .sem_value = 1, .flags = LG_LOCKF_INHERITED };
        tw_lock_full(w, 2500, &l, "");
        rmw(w, 101 + c, 3000 + 100 * (uint64_t)c, 500, 1, &h, 1);
        free(tw_close(w, true));
    }
    load();
    const struct lg_finding *f = only_race();
    cr_assert(strstr(f->details[0], "holding no lock"), "detail: %s", f->details[0]);
    cr_assert(strstr(f->details[1], "holding no lock"), "detail: %s", f->details[1]);
}

Test(race, an_ended_but_unjoined_c_thread_still_races)
{
    /* In C only pthread_join orders a thread's end: its having ended
     * earlier in this run was luck. */
    struct tw *p = proc(PARENT, 1, 1000, 0);
    tw_thread_start(p, 201, 1500, PARENT);
    rmw(p, 201, 2000, 100, 1, NULL, 0);
    tw_thread_exit(p, 201, 2500, LG_END_RETURN);
    rmw(p, PARENT, 4000, 100, 2, NULL, 0);
    free(tw_close(p, false));
    load();
    cr_assert_eq(count_races(), 1);
}

/* One FILE_ACCESS record standing for `count` calls from first to last
 * (the shim keeps one per thread, session, op and lockset). */
static void calls(struct tw *w, int tid, uint64_t first, uint64_t last, uint64_t count,
                  uint64_t session, uint32_t op, uint32_t stack)
{
    struct lg_rec_file_access a = {0};
    a.session = session;
    a.dev = DEV;
    a.ino = INO;
    a.count = count;
    a.last_ns = last;
    a.fd = 3;
    a.op = op;
    a.stack_id = stack;
    tw_record(w, LG_REC_FILE_ACCESS, tid, first, &a, sizeof(a));
}

/* git index-pack's shape: main writes the pack (16 writes), starts two
 * threads that pread() it through the same fd, joins them, writes the
 * trailer. Main's writes are one record from before the creates to after
 * the joins; `join` false leaves the threads unjoined. */
static void pack_then_threads_in(bool join, bool python)
{
    struct tw *p = proc(PARENT, 1, 1000, 0);
    if (python)
        tw_set_flags(p, LG_TRACE_F_PYTHON);
    fd_open(p, PARENT, 1100, 1, O_RDWR | O_CREAT | O_TRUNC, "pack.tmp");
    calls(p, PARENT, 1200, 9000, 17, 1, LG_FOP_WRITE, S_WRITE);
    tw_thread_start(p, 201, 2000, PARENT);
    tw_thread_start(p, 202, 2100, PARENT);
    calls(p, 201, 2500, 4000, 256, 1, LG_FOP_READ, S_PEEK);
    calls(p, 202, 2600, 4100, 256, 1, LG_FOP_READ, S_PEEK);
    tw_thread_exit(p, 201, 4200, LG_END_RETURN);
    tw_thread_exit(p, 202, 4300, LG_END_RETURN);
    if (join) {
        tw_join(p, PARENT, 4400, 201);
        tw_join(p, PARENT, 4500, 202);
    }
    free(tw_close(p, false));
    load();
}

static void pack_then_threads(bool join)
{
    pack_then_threads_in(join, false);
}

Test(race, a_file_written_before_create_and_after_join_is_ordered_with_the_threads_reads)
{
    pack_then_threads(true);
    cr_assert_eq(count_races(), 0, "the creates and joins order every read");
}

Test(race, in_python_the_threads_end_orders_them_before_the_trailer)
{
    /* CPython joins through a semaphore (no JOIN record): the readers'
     * ends are main's synchronisation points. */
    pack_then_threads_in(false, true);
    cr_assert_eq(count_races(), 0);
}

Test(race, without_the_joins_the_trailer_write_races_with_the_reads)
{
    pack_then_threads(false);
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->nthreads, 2);
    cr_assert(cites(f, "db.py", 15), "the write is cited");
    cr_assert(cites(f, "db.py", 5), "the read is cited");
}

Test(race, a_write_between_create_and_join_in_its_own_record_still_races)
{
    /* Main writes before the create; then, with the thread running, under
     * a new record (its own session): not ordered with the thread's read. */
    struct tw *p = proc(PARENT, 1, 1000, 0);
    fd_open(p, PARENT, 1100, 1, O_RDWR, "db.txt");
    calls(p, PARENT, 1200, 1300, 4, 1, LG_FOP_WRITE, S_SETUP);
    tw_thread_start(p, 201, 2000, PARENT);
    calls(p, 201, 2500, 4000, 2, 1, LG_FOP_READ, S_PEEK);
    fd_open(p, PARENT, 2600, 2, O_RDWR, "db.txt");
    calls(p, PARENT, 3000, 3000, 1, 2, LG_FOP_WRITE, S_WRITE);
    tw_join(p, PARENT, 4400, 201);
    free(tw_close(p, false));
    load();
    const struct lg_finding *f = only_race();
    cr_assert(cites(f, "db.py", 15), "the write during the thread is cited");
    cr_assert_not(cites(f, "db.py", 30), "the write before the create is ordered");
}

Test(race, the_finding_lists_the_sessions_in_time_order_with_the_racing_ones_marked)
{
    /* Unjoined readers: the pack written before the creates is ordered
     * with the reads, the trailer after them is not; main's one record is
     * drawn as two sessions, on either side of its creates. */
    pack_then_threads(false);
    const struct lg_finding *f = only_race();
    cr_assert_str_eq(f->race_file, "pack.tmp");
    cr_assert_eq(f->nsessions, 4, "pack, trailer, two readers: %d", f->nsessions);
    for (int i = 1; i < f->nsessions; i++)
        cr_assert_leq(f->sessions[i - 1].start_ns, f->sessions[i].start_ns);
    /* The trailer's piece starts at main's last create (2100): the
     * record does not time the calls between its first and last. */
    const struct lg_race_session *pack = &f->sessions[0], *trailer = &f->sessions[1];
    cr_assert_eq(pack->thread, trailer->thread);
    cr_assert_eq(pack->start_ns, 1200);
    cr_assert_eq(pack->end_ns, 2000);
    cr_assert_eq(pack->nwrites, 16);
    cr_assert_not(pack->overlapping, "the pack precedes the creates");
    cr_assert_eq(trailer->start_ns, 2100);
    cr_assert_eq(trailer->end_ns, 9000);
    cr_assert_eq(trailer->nwrites, 1);
    cr_assert(trailer->overlapping);
    for (int i = 2; i <= 3; i++) {
        cr_assert_neq(f->sessions[i].thread, pack->thread);
        cr_assert_eq(f->sessions[i].nreads, 256);
        cr_assert(f->sessions[i].overlapping);
        cr_assert_str_eq(f->sessions[i].access_at.file, "db.py");
        cr_assert_eq(f->sessions[i].access_at.line, 5);
        cr_assert_str_eq(f->sessions[i].open_at.file, "db.py");
        cr_assert_eq(f->sessions[i].open_at.line, 10);
        cr_assert_null(f->sessions[i].held);
    }
}

Test(race, a_session_names_the_lock_it_held)
{
    /* Both processes hold a lock, but not the same one: each session says
     * which. */
    parent_with_children(2000, 2001, 101, 102);
    struct lg_io_held ha = { .kind = LG_IOL_FLOCK, .dev = DEV, .ino = 1111, .mode = LG_MODE_WRITE };
    struct lg_io_held hb = { .kind = LG_IOL_FLOCK, .dev = DEV, .ino = 2222, .mode = LG_MODE_WRITE };
    struct tw *a = proc(101, PARENT, 2010, 2000);
    rmw(a, 101, 3000, 500, 1, &ha, 1);
    free(tw_close(a, false));
    struct tw *b = proc(102, PARENT, 2020, 2001);
    rmw(b, 102, 3100, 500, 1, &hb, 1);
    free(tw_close(b, false));
    load();
    const struct lg_finding *f = only_race();
    cr_assert_eq(f->nsessions, 3, "the parent's setup write and the two buyers");
    cr_assert_not(f->sessions[0].overlapping, "the setup write precedes the forks");
    cr_assert_null(f->sessions[0].held);
    for (int i = 1; i < 3; i++) {
        cr_assert(f->sessions[i].overlapping);
        cr_assert_eq(f->sessions[i].nreads, 1);
        cr_assert_eq(f->sessions[i].nwrites, 1);
        cr_assert_not_null(f->sessions[i].held);
        cr_assert(strstr(f->sessions[i].held, "flock"), "held: %s", f->sessions[i].held);
    }
    cr_assert_neq(f->sessions[1].process, f->sessions[2].process);
}
