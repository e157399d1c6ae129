/* SPDX-License-Identifier: MIT */
/*
 * pipe_io.c — run under `lockgraph run`. Checks that the shim's pipe
 * wrappers change nothing (results, data, errno) and that a child blocked
 * writing into a full pipe is published in the thread table (threads.lgt)
 * as LG_BLOCK_PIPE_WRITE with the pipe's inode, its fd and the bytes it
 * asked for, and a child waiting for a flock another process holds as
 * LG_BLOCK_FLOCK with the file's identity. Exit 0 when every check holds;
 * otherwise one line per failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_threadtable.h"

#define BIG (1 << 20)

static int failures;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "pipe_io: FAILED: " __VA_ARGS__); \
            fputc('\n', stderr);                          \
            failures++;                                   \
        }                                                 \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void results_and_errno(void)
{
    int p[2];
    char buf[16];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    CHECK(write(p[1], "hello", 5) == 5, "write returned the wrong count");
    CHECK(read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0, "read lost data");

    struct iovec w[2] = { { "ab", 2 }, { "cde", 3 } };
    CHECK(writev(p[1], w, 2) == 5, "writev count");
    char x[2], y[8];
    struct iovec r[2] = { { x, 2 }, { y, 8 } };
    CHECK(readv(p[0], r, 2) == 5 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0, "readv data");

    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "F_SETFL");
    errno = 0;
    CHECK(read(p[0], buf, sizeof(buf)) == -1 && errno == EAGAIN, "empty non-blocking read: errno %d", errno);

    int fd = dup(p[1]);
    CHECK(fd > 2, "dup");
    CHECK(write(fd, "z", 1) == 1, "write through dup");
    CHECK(read(p[0], buf, 1) == 1 && buf[0] == 'z', "read after dup");
    close(fd);
    errno = 0;
    CHECK(write(fd, "z", 1) == -1 && errno == EBADF, "write to a closed fd: errno %d", errno);
    errno = 0;
    CHECK(read(-1, buf, 1) == -1 && errno == EBADF, "read of fd -1: errno %d", errno);

    close(p[0]);
    errno = 0;
    CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE, "write without reader: errno %d", errno);
    close(p[1]);

    int s[2];
    CHECK(pipe2(s, O_CLOEXEC) == 0, "pipe2");
    CHECK(fcntl(s[0], F_GETFD) == FD_CLOEXEC, "pipe2 flags kept");
    close(s[0]);
    close(s[1]);
}

/* A consistent copy of the slot of a thread of `pid` blocked in `op`. */
static int find_blocked(const struct lg_tt_header *h, pid_t pid, uint32_t op, struct lg_tt_slot *out)
{
    const struct lg_tt_slot *slots = (const void *)(h + 1);
    for (uint32_t i = 0; i < h->nslots; i++) {
        const volatile struct lg_tt_slot *s = &slots[i];
        if (s->pid != pid)
            continue;
        uint32_t seq = s->seq;
        if (seq & 1)
            continue;
        memcpy(out, (const void *)s, sizeof(*out));
        if (s->seq == seq && out->op == op)
            return 1;
    }
    return 0;
}

/* The thread table of this run, mapped read-only, or NULL. */
static const struct lg_tt_header *table(void)
{
    const char *dir = getenv("LOCKGRAPH_DIR");
    CHECK(dir != NULL, "LOCKGRAPH_DIR is not set: run this under lockgraph run");
    if (!dir)
        return NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, LG_TT_FILE);
    int tfd = open(path, O_RDONLY);
    CHECK(tfd >= 0, "open %s: %s", path, strerror(errno));
    if (tfd < 0)
        return NULL;
    void *map = mmap(NULL, LG_TT_SIZE, PROT_READ, MAP_SHARED, tfd, 0);
    close(tfd);
    CHECK(map != MAP_FAILED, "mmap threads.lgt");
    return map == MAP_FAILED ? NULL : map;
}

static void blocked_flock(const struct lg_tt_header *map)
{
    char path[] = "/tmp/lg_pipe_io_flock_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    struct stat st;
    fstat(fd, &st);
    CHECK(flock(fd, LOCK_EX) == 0, "flock in the parent");
    pid_t child = fork();
    if (child == 0) {
        int cfd = open(path, O_RDWR);
        int r = flock(cfd, LOCK_EX);   /* waits for the parent */
        _exit(r == 0 ? 0 : 4);
    }
    struct lg_tt_slot slot;
    int found = 0;
    for (int i = 0; i < 100 && !found; i++) {
        sleep_ms(30);
        found = find_blocked(map, child, LG_BLOCK_FLOCK, &slot);
    }
    CHECK(found, "no LG_BLOCK_FLOCK slot for the child %d waiting for the flock", (int)child);
    if (found)
        CHECK(slot.obj.dev == (uint64_t)st.st_dev && slot.obj.ino == (uint64_t)st.st_ino,
              "LG_BLOCK_FLOCK names another file (ino %llu, expected %llu)",
              (unsigned long long)slot.obj.ino, (unsigned long long)st.st_ino);
    CHECK(flock(fd, LOCK_UN) == 0, "unlock");
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child did not get the flock (status 0x%x)", status);
    close(fd);
    unlink(path);
}

/* to_stdout: the child writes into the pipe through its fd 1, as a
 * subprocess with stdout=PIPE does. */
static void blocked_writer(const struct lg_tt_header *map, int to_stdout)
{

    int q[2];
    CHECK(pipe(q) == 0, "pipe");
    struct stat st;
    fstat(q[0], &st);
    pid_t child = fork();
    if (child == 0) {
        close(q[0]);
        int wfd = q[1];
        if (to_stdout) {
            dup2(q[1], 1);
            close(q[1]);
            wfd = 1;
        }
        char *big = calloc(1, BIG);
        ssize_t n = write(wfd, big, BIG);   /* blocks: the pipe holds 64 KiB */
        _exit(n == BIG ? 0 : 3);
    }
    close(q[1]);
    struct lg_tt_slot slot;
    int found = 0;
    for (int i = 0; i < 100 && !found; i++) {
        sleep_ms(30);
        found = find_blocked(map, child, LG_BLOCK_PIPE_WRITE, &slot);
    }
    CHECK(found, "no LG_BLOCK_PIPE_WRITE slot for the blocked child %d", (int)child);
    if (found) {
        CHECK(slot.obj.ino == (uint64_t)st.st_ino, "slot inode %llu, pipe inode %llu",
              (unsigned long long)slot.obj.ino, (unsigned long long)st.st_ino);
        int wfd = to_stdout ? 1 : q[1];
        CHECK(slot.target_fd == wfd, "slot fd %d, write end %d", slot.target_fd, wfd);
        CHECK(slot.aux == BIG, "slot asks for %llu bytes, wrote %d", (unsigned long long)slot.aux, BIG);
        CHECK(!(slot.flags & LG_TT_TIMED), "a pipe write is an untimed wait");
    }
    /* Drain; the child's write completes. */
    char *buf = malloc(65536);
    size_t total = 0;
    ssize_t n;
    while ((n = read(q[0], buf, 65536)) > 0)
        total += (size_t)n;
    CHECK(total == BIG, "drained %zu bytes, expected %d", total, BIG);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child's write did not return %d (status 0x%x)", BIG, status);
    close(q[0]);
    free(buf);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    results_and_errno();
    const struct lg_tt_header *map = table();
    if (map) {
        blocked_writer(map, 0);
        blocked_writer(map, 1);
        blocked_flock(map);
        munmap((void *)map, LG_TT_SIZE);
    }
    if (failures)
        return 1;
    puts("pipe_io: all checks passed");
    return 0;
}
