/* SPDX-License-Identifier: MIT */
/* Unit tests of cli/procfs.c: the parsers on fixed text, the readers on
 * this test's own threads and pipes. */
#include "lg_procfs.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

Test(procfs, stat_comm_with_spaces_and_parens)
{
    struct lg_proc_task t;
    memset(&t, 0, sizeof t);
    const char *line = "4711 (we (ird) x) S 4700 4711 4700 0 -1 4194304 120 0 0 0 17 5 0 0 20 0 3 0 1234 "
                       "1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    cr_assert_eq(lg_proc_parse_stat(line, &t), 0);
    cr_assert_eq(t.state, 'S');
    cr_assert_eq(t.ppid, 4700);
    cr_assert_eq(t.cpu_ticks, 22u);
    cr_assert_str_eq(t.comm, "we (ird) x");
}

Test(procfs, stat_garbage_is_refused)
{
    struct lg_proc_task t;
    cr_assert_lt(lg_proc_parse_stat("hello world", &t), 0);
    cr_assert_lt(lg_proc_parse_stat("1 (x) S 2 3", &t), 0);
}

Test(procfs, syscall_lines)
{
    long nr;
    uint64_t a[6];
    cr_assert_eq(lg_proc_parse_syscall("running\n", &nr, a), 0);
    cr_assert_eq(nr, -1);
    cr_assert_eq(lg_proc_parse_syscall("-1 0x7ffc 0x7f00\n", &nr, a), 0);
    cr_assert_eq(nr, -1);
    cr_assert_eq(lg_proc_parse_syscall("61 0x2499 0x7ffd8 0x0 0x0 0x0 0x0 0x7ffd 0x7f12\n", &nr, a), 0);
    cr_assert_eq(nr, 61);
    cr_assert_eq(a[0], 0x2499u);
    cr_assert_eq(lg_proc_parse_syscall("1 0x4 0x7f8f 0xf4249 0x0 0x0 0x0 0x1 0x2\n", &nr, a), 0);
    cr_assert_eq(nr, 1);
    cr_assert_eq(a[2], 0xf4249u);
    cr_assert_lt(lg_proc_parse_syscall("61 0x1\n", &nr, a), 0);
}

Test(procfs, pipe_links_and_fdinfo_flags)
{
    uint64_t ino;
    cr_assert_eq(lg_proc_parse_pipe_link("pipe:[14742]", &ino), 0);
    cr_assert_eq(ino, 14742u);
    cr_assert_lt(lg_proc_parse_pipe_link("socket:[14742]", &ino), 0);
    cr_assert_lt(lg_proc_parse_pipe_link("pipe:[12", &ino), 0);
    unsigned f;
    cr_assert_eq(lg_proc_parse_fdinfo_flags("pos:\t0\nflags:\t02000001\nmnt_id:\t15\n", &f), 0);
    cr_assert_eq(f & O_ACCMODE, (unsigned)O_WRONLY);
    cr_assert_eq(lg_proc_parse_fdinfo_flags("pos:\t0\nflags:\t02004000\n", &f), 0);
    cr_assert_eq(f & O_ACCMODE, (unsigned)O_RDONLY);
}

Test(procfs, pipe_ends_fill_and_holders)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    char buf[100] = {0};
    cr_assert_eq(write(p[1], buf, sizeof buf), (ssize_t)sizeof buf);
    int me = getpid();
    uint64_t ino_r, ino_w;
    int mode_r, mode_w;
    cr_assert_eq(lg_proc_fd_pipe(me, p[0], &ino_r, &mode_r), 1);
    cr_assert_eq(lg_proc_fd_pipe(me, p[1], &ino_w, &mode_w), 1);
    cr_assert_eq(ino_r, ino_w);
    cr_assert_eq(mode_r, O_RDONLY);
    cr_assert_eq(mode_w, O_WRONLY);
    int q = -1, cap = -1;
    cr_assert_eq(lg_proc_pipe_fill(me, p[1], &q, &cap), 0);
    cr_assert_eq(q, 100);
    cr_assert_eq(cap, 65536);
    /* Measuring did not consume anything. */
    cr_assert_eq(lg_proc_pipe_fill(me, p[0], &q, &cap), 0);
    cr_assert_eq(q, 100);
    int fd = -1;
    cr_assert_eq(lg_proc_pipe_holder(me, ino_r, O_RDONLY, &fd), 1);
    cr_assert_eq(fd, p[0]);
    cr_assert_eq(lg_proc_pipe_holder(me, ino_r, O_WRONLY, &fd), 1);
    cr_assert_eq(fd, p[1]);
    cr_assert_eq(lg_proc_fd_kind(me, p[0]), 'p');
    close(p[0]);
    close(p[1]);
}

static int rpipe[2];
static volatile int reader_tid;

static void *reader(void *arg)
{
    char c;
    reader_tid = (int)syscall(SYS_gettid);
    return (void *)(long)read(rpipe[0], &c, 1);
}

Test(procfs, blocked_reader_is_seen_in_read_on_its_pipe)
{
    cr_assert_eq(pipe(rpipe), 0);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    struct lg_proc_task k;
    int tries = 0;
    do {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        cr_assert_eq(reader_tid == 0 || lg_proc_task_read(getpid(), reader_tid, &k) == 0, 1);
    } while ((reader_tid == 0 || k.state != 'S' || k.sysno != 0) && ++tries < 100);
    cr_assert_eq(k.sysno, 0, "read is system call 0, got %ld", k.sysno);
    cr_assert_eq((int)k.args[0], rpipe[0]);
    cr_assert(strstr(k.wchan, "pipe_read") != NULL, "wchan %s", k.wchan);
    int tids[64];
    int n = lg_proc_list_tasks(getpid(), tids, 64);
    int seen = 0;
    for (int i = 0; i < n; i++)
        seen |= tids[i] == reader_tid;
    cr_assert(seen);
    cr_assert_eq(write(rpipe[1], "x", 1), 1);
    pthread_join(t, NULL);
}

Test(procfs, read_mem_reads_our_own_word)
{
    static int word = 0x5eed;
    int got = 0;
    cr_assert_eq(lg_proc_read_mem(getpid(), (uint64_t)(uintptr_t)&word, &got, sizeof got), 0);
    cr_assert_eq(got, 0x5eed);
}

Test(procfs, children_lists_a_forked_child)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(p[1]);
        _exit((int)read(p[0], &x, 1));
    }
    int kids[16];
    int n = lg_proc_children(getpid(), kids, 16);
    int seen = 0;
    for (int i = 0; i < n; i++)
        seen |= kids[i] == c;
    close(p[1]);
    close(p[0]);
    waitpid(c, NULL, 0);
    cr_assert(seen, "child %d not in /proc children", (int)c);
}

Test(procfs, proc_locks_lines)
{
    const char *text = "1: POSIX  ADVISORY  WRITE 32189 fe:00:10953126 10 14\n"
                       "2: FLOCK  ADVISORY  WRITE 32189 fe:00:10953113 0 EOF\n"
                       "2: -> FLOCK  ADVISORY  WRITE 32190 fe:00:10953113 0 EOF\n"
                       "3: OFDLCK ADVISORY  READ  -1 00:1b:77 0 EOF\n"
                       "garbage\n";
    struct lg_proc_flock f[8];
    int n = lg_proc_parse_locks(text, f, 8);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(f[0].type, "POSIX");
    cr_assert_eq(f[0].pid, 32189);
    cr_assert_eq(f[0].dev_major, 0xfeu);
    cr_assert_eq(f[0].ino, 10953126u);
    cr_assert_eq(f[0].start, 10u);
    cr_assert_eq(f[0].end, 14u);
    cr_assert_eq(f[1].end, UINT64_MAX);
    cr_assert_eq(f[1].blocked, 0);
    cr_assert_eq(f[2].blocked, 1);
    cr_assert_eq(f[2].pid, 32190);
    cr_assert_eq(f[3].write, 0);
    cr_assert_eq(f[3].pid, -1);
    cr_assert_eq(f[3].dev_minor, 0x1bu);
}
