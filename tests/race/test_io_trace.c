/* SPDX-License-Identifier: MIT */
/* End-to-end tests of preload/interpose_io.c: programs run under
 * `lockgraph run` (LG_LOCKGRAPH), then their traces are read back with
 * the trace reader to check the records the I/O wrappers must leave. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_trace_read.h"

static char outdir[256];

static int run(const char *prog, const char *arg)
{
    char cmd[2048];
    snprintf(outdir, sizeof(outdir), "/tmp/lg_race_io_XXXXXX");
    cr_assert_not_null(mkdtemp(outdir));
    snprintf(cmd, sizeof(cmd), "cd %s && %s run --out %s/out -- %s %s > %s/stdout 2> %s/stderr",
             outdir, LG_LOCKGRAPH, outdir, prog, arg ? arg : "", outdir, outdir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cleanup(void)
{
    char cmd[512];
    if (outdir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", outdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", outdir);
    }
}

static void show_stderr(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cat %s/stderr >&2", outdir);
    if (system(cmd) != 0)
        return;
}

/* Visit every record of every trace of the run. */
typedef void (*visit_fn)(const struct lg_trace_header *h, const struct lg_rec_hdr *r, void *ctx);
static int visit(visit_fn fn, void *ctx)
{
    char d[512];
    snprintf(d, sizeof(d), "%s/out", outdir);
    DIR *dd = opendir(d);
    cr_assert_not_null(dd, "no output folder %s", d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(dd))) {
        if (strncmp(de->d_name, "trace-", 6) != 0)
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
        struct lg_trace_file tf;
        const char *why;
        if (lg_trace_open(p, &tf, &why) < 0)
            continue;
        const struct lg_rec_hdr *r;
        while (lg_trace_next(&tf, &r) == 1)
            fn(tf.hdr, r, ctx);
        lg_trace_close(&tf);
        files++;
    }
    closedir(dd);
    return files;
}

struct pipe_facts {
    uint64_t written, read;        /* bytes through PIPE_IO records */
    int write_recs, ends_read, ends_write;
    int child_pid_writing;
};

static void pipe_visit(const struct lg_trace_header *h, const struct lg_rec_hdr *r, void *ctx)
{
    struct pipe_facts *f = ctx;
    if (r->kind == LG_REC_PIPE_IO) {
        const struct lg_rec_pipe_io *p = lg_rec_payload(r);
        if (p->dir == LG_PIPE_WRITE) {
            f->write_recs++;
            if (p->bytes == (1 << 20)) {
                f->written += p->bytes;
                f->child_pid_writing = h->pid;
            }
        } else if (p->bytes == (1 << 20)) {
            f->read += p->bytes;
        }
    } else if (r->kind == LG_REC_FD_OPEN) {
        const struct lg_rec_fd_open *o = lg_rec_payload(r);
        if (o->type == LG_FD_PIPE && (r->flags & LG_FDO_READ_END))
            f->ends_read++;
        if (o->type == LG_FD_PIPE && (r->flags & LG_FDO_WRITE_END))
            f->ends_write++;
    }
}

TestSuite(io_trace, .fini = cleanup, .timeout = 120);

Test(io_trace, pipe_results_errno_and_blocked_writer_under_the_shim)
{
    int rc = run(LG_PIPE_IO, NULL);
    if (rc != 0)
        show_stderr();
    cr_assert_eq(rc, 0, "pipe_io under lockgraph exited %d (its checks are on stderr)", rc);
    struct pipe_facts f = { 0 };
    cr_assert_gt(visit(pipe_visit, &f), 1);
    cr_assert_gt(f.ends_read, 0, "no FD_OPEN for a pipe read end");
    cr_assert_gt(f.ends_write, 0, "no FD_OPEN for a pipe write end");
    /* Two children each write 1 MiB in one call; the one writing through
     * its fd 1 is published while blocked but its traffic is not recorded. */
    cr_assert_eq(f.written, 1 << 20, "PIPE_IO: the child's 1 MiB write is not accounted (%llu)",
                 (unsigned long long)f.written);
    cr_assert_eq(f.read, 2 << 20, "PIPE_IO: the parent's reads do not add up to 2 MiB (%llu)",
                 (unsigned long long)f.read);
    cr_assert_neq(f.child_pid_writing, 0);
}

struct file_facts {
    uint64_t write_count, write_bytes;
    int write_recs, read_recs, pwrite_under_flock, trunc_recs;
    int flock_acq, flock_rel, posix_acq, posix_rel, stdio_opens, append_opens;
    int opens, closes;
};

static void file_visit(const struct lg_trace_header *h, const struct lg_rec_hdr *r, void *ctx)
{
    struct file_facts *f = ctx;
    (void)h;
    if (r->kind == LG_REC_FILE_ACCESS) {
        const struct lg_rec_file_access *a = lg_rec_payload(r);
        if (a->op == LG_FOP_WRITE) {
            f->write_recs++;
            if (a->count >= 1000) {
                f->write_count = a->count;
                f->write_bytes = a->bytes;
            }
            for (uint32_t i = 0; i < a->nheld; i++)
                if (a->held[i].kind == LG_IOL_FLOCK && a->count == 1)
                    f->pwrite_under_flock++;
        } else if (a->op == LG_FOP_READ) {
            f->read_recs++;
        } else if (a->op == LG_FOP_TRUNCATE) {
            f->trunc_recs++;
        }
    } else if (r->kind == LG_REC_FILE_LOCK) {
        const struct lg_rec_file_lock *l = lg_rec_payload(r);
        if (l->lock_kind == LG_IOL_FLOCK)
            l->op == LG_FLOP_ACQUIRE ? f->flock_acq++ : l->op == LG_FLOP_RELEASE ? f->flock_rel++ : 0;
        if (l->lock_kind == LG_IOL_POSIX)
            l->op == LG_FLOP_ACQUIRE ? f->posix_acq++ : l->op == LG_FLOP_RELEASE ? f->posix_rel++ : 0;
    } else if (r->kind == LG_REC_FD_CLOSE) {
        f->closes++;
    } else if (r->kind == LG_REC_FD_OPEN) {
        const struct lg_rec_fd_open *o = lg_rec_payload(r);
        if (o->type == LG_FD_FILE)
            f->opens++;
        if (o->type == LG_FD_FILE && (r->flags & LG_FDO_STDIO))
            f->stdio_opens++;
        if (o->type == LG_FD_FILE && (o->oflags & O_APPEND))
            f->append_opens++;
    }
}

Test(io_trace, file_accesses_are_recorded_once_and_counted)
{
    int rc = run(LG_FILE_IO, "file_io.db");
    if (rc != 0)
        show_stderr();
    cr_assert_eq(rc, 0, "file_io under lockgraph exited %d", rc);
    struct file_facts f = { 0 };
    visit(file_visit, &f);
    /* 1000 write() calls on one session by one thread: one record, count 1000. */
    cr_assert_eq(f.write_count, 1000, "write count %llu", (unsigned long long)f.write_count);
    cr_assert_eq(f.write_bytes, 10000, "write bytes %llu", (unsigned long long)f.write_bytes);
    cr_assert_leq(f.write_recs, 3, "%d write records: repeats must bump, not append", f.write_recs);
    cr_assert_eq(f.pwrite_under_flock, 1, "the pwrite under flock has its own record with the flock");
    cr_assert_geq(f.read_recs, 2, "pread and fgets");
    cr_assert_eq(f.trunc_recs, 1);
    cr_assert_eq(f.flock_acq, 1);
    cr_assert_eq(f.flock_rel, 1);
    cr_assert_eq(f.posix_acq, 2, "fcntl F_SETLKW and lockf F_LOCK");
    cr_assert_eq(f.posix_rel, 2, "fcntl F_UNLCK and lockf F_ULOCK");
    cr_assert_eq(f.stdio_opens, 4, "fopen(a), fopen(r), fopen(r) and its freopen(r+)");
    cr_assert_eq(f.append_opens, 1);
    /* open, fopen(a), fopen(r), fopen(r)+freopen, two opens closed by close_range */
    cr_assert_eq(f.opens, 7, "%d file sessions", f.opens);
    cr_assert_eq(f.closes, f.opens, "every session closed: %d opens, %d closes", f.opens, f.closes);
}
