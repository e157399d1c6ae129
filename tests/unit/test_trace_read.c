/* SPDX-License-Identifier: MIT */
/* Unit tests: the trace reader (trace/lg_trace_read.c) survives a trace
 * file that gets shorter while it is mapped, as the shim's writer cuts a
 * trace to its used length when a late fork child closes it, and leaves
 * every other SIGBUS alone. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lg_trace_read.h"
#include "trace_writer.h"

#define NLOCKS 2000

static char *dir;

static void setup(void)
{
    dir = tw_tmpdir();
}

static void teardown(void)
{
    tw_rmdir(dir);
}

TestSuite(trace_read, .init = setup, .fini = teardown);

/* A trace of NLOCKS lock records with no clean end (the writer was
 * killed): its size comes from the file, as for a live trace. */
static char *lock_trace(void)
{
    struct tw *w = tw_open(dir, 600, 1, 0, 1000);
    for (uint64_t i = 1; i <= NLOCKS; i++)
        tw_lock(w, 1000 + i, i, 0, LG_LOCK_MUTEX, 0, "L");
    return tw_close(w, false);
}

/* The offset of record `n` (0-based) of the trace at `path`. */
static size_t offset_of_record(const char *path, int n)
{
    struct lg_trace_file tf;
    const struct lg_rec_hdr *r;
    const char *why;
    size_t off = 0;
    cr_assert_eq(lg_trace_open(path, &tf, &why), 0, "%s", why);
    for (int i = 0; i <= n && lg_trace_next(&tf, &r) == 1; i++)
        off = (size_t)((const uint8_t *)r - tf.base);
    lg_trace_close(&tf);
    return off;
}

/* Reads the rest of tf; returns how many records it had. */
static int count_rest(struct lg_trace_file *tf)
{
    const struct lg_rec_hdr *r;
    int n = 0;
    while (lg_trace_next(tf, &r) == 1)
        n++;
    return n;
}

Test(trace_read, file_cut_while_mapped_reads_up_to_the_cut)
{
    char *path = lock_trace();
    size_t cut = offset_of_record(path, NLOCKS / 2);
    struct lg_trace_file tf;
    const struct lg_rec_hdr *r;
    const char *why;
    struct stat st;

    cr_assert_eq(lg_trace_open(path, &tf, &why), 0, "%s", why);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_geq((size_t)st.st_size - cut, 4 * (size_t)sysconf(_SC_PAGESIZE),
                  "whole pages lie past the cut");
    for (int i = 0; i < 10; i++)   /* the reader is under way when the file shrinks */
        cr_assert_eq(lg_trace_next(&tf, &r), 1);
    cr_assert_eq(truncate(path, (off_t)cut), 0);
    cr_assert_eq(10 + count_rest(&tf), NLOCKS / 2, "every record before the cut is read");
    cr_assert_str_empty(tf.problem, "a cut at a record boundary reads as the end: %s", tf.problem);
    lg_trace_close(&tf);
    free(path);
}

Test(trace_read, file_cut_under_many_open_traces)
{
    /* More traces open than one block of the reader's registry holds: a
     * folder of a fork-heavy program is opened all at once. */
    enum { NOPEN = 150 };
    char *path = lock_trace();
    size_t cut = offset_of_record(path, NLOCKS / 2);
    static struct lg_trace_file tf[NOPEN];
    const char *why;

    for (int i = 0; i < NOPEN; i++)
        cr_assert_eq(lg_trace_open(path, &tf[i], &why), 0, "%s", why);
    cr_assert_eq(truncate(path, (off_t)cut), 0);
    cr_assert_eq(count_rest(&tf[NOPEN - 1]), NLOCKS / 2, "the last one opened");
    cr_assert_eq(count_rest(&tf[0]), NLOCKS / 2, "the first one opened");
    for (int i = NOPEN / 3; i < NOPEN; i++)
        lg_trace_close(&tf[i]);
    cr_assert_eq(count_rest(&tf[1]), NLOCKS / 2, "one still open after others closed");
    for (int i = 0; i < NOPEN / 3; i++)
        lg_trace_close(&tf[i]);
    free(path);
}

/* The SIGBUS disposition before any trace was opened: it notes how the
 * signal came and jumps back to the test. (Not "the process dies": under
 * tests/stress/asan_ci.sh the former disposition is ASan's.) */
static sigjmp_buf former_escape;
static volatile sig_atomic_t former_calls, former_code;

static void former_handler(int sig, siginfo_t *si, void *ctx)
{
    former_calls++;
    former_code = si->si_code;
    siglongjmp(former_escape, 1);
}

static void install_former(void)
{
    struct sigaction sa = { .sa_sigaction = former_handler, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
    former_calls = 0;
}

/* A SIGBUS on a mapping that is not a trace is a real fault: it must
 * still reach the former disposition, also while traces are open. */
Test(trace_read, sigbus_elsewhere_reaches_the_former_handler)
{
    char *path = lock_trace();
    char other[600];
    struct lg_trace_file tf;
    const char *why;
    long page = sysconf(_SC_PAGESIZE);

    install_former();
    cr_assert_eq(lg_trace_open(path, &tf, &why), 0, "%s", why);
    snprintf(other, sizeof(other), "%s/other", dir);
    int fd = open(other, O_RDWR | O_CREAT, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 4 * page), 0);
    const volatile char *p = mmap(NULL, (size_t)(4 * page), PROT_READ, MAP_PRIVATE, fd, 0);
    cr_assert_neq((void *)p, MAP_FAILED);
    cr_assert_eq(ftruncate(fd, 0), 0);
    if (!sigsetjmp(former_escape, 1)) {
        (void)p[2 * page];
        cr_assert_fail("reading past the end of a non-trace mapping went on");
    }
    cr_assert_eq(former_calls, 1);
    cr_assert_eq(former_code, BUS_ADRERR, "the fault itself, not a copy");
    munmap((void *)p, (size_t)(4 * page));
    close(fd);
    lg_trace_close(&tf);
    free(path);
}

/* kill -BUS does not happen again on return as a fault does: it must
 * still reach the former disposition too. */
Test(trace_read, sigbus_sent_by_kill_reaches_the_former_handler)
{
    char *path = lock_trace();
    struct lg_trace_file tf;
    const char *why;

    install_former();
    cr_assert_eq(lg_trace_open(path, &tf, &why), 0, "%s", why);
    if (!sigsetjmp(former_escape, 1)) {
        kill(getpid(), SIGBUS);
        cr_assert_fail("a SIGBUS sent while a trace is open was swallowed");
    }
    cr_assert_eq(former_calls, 1);
    lg_trace_close(&tf);
    free(path);
}

Test(trace_read, closing_the_last_trace_gives_sigbus_back)
{
    char *path = lock_trace();
    struct sigaction before, during, after;
    struct lg_trace_file a, b;
    const char *why;

    cr_assert_eq(sigaction(SIGBUS, NULL, &before), 0);
    cr_assert_eq(lg_trace_open(path, &a, &why), 0, "%s", why);
    cr_assert_eq(lg_trace_open(path, &b, &why), 0, "%s", why);
    lg_trace_close(&a);
    cr_assert_eq(sigaction(SIGBUS, NULL, &during), 0);
    cr_assert_neq((void *)during.sa_sigaction, (void *)before.sa_sigaction,
                  "a trace is still mapped: still guarded");
    lg_trace_close(&b);
    cr_assert_eq(sigaction(SIGBUS, NULL, &after), 0);
    cr_assert_eq((void *)after.sa_sigaction, (void *)before.sa_sigaction);
    cr_assert_eq(after.sa_flags & SA_SIGINFO, before.sa_flags & SA_SIGINFO);
    free(path);
}
