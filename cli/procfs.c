/* SPDX-License-Identifier: MIT */
/*
 * procfs.c — the supervisor's view of a live process tree through /proc
 * (see lg_procfs.h). Everything here works without the shim, so threads
 * the shim cannot see (static binaries, raw system calls, poll/select)
 * can still be judged. Reading syscall, fdinfo and mem needs ptrace
 * permission: the supervisor is the tree's ancestor and same uid.
 */
#include "lg_procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int lg_proc_parse_stat(const char *text, struct lg_proc_task *t)
{
    /* comm may contain spaces and parentheses: it ends at the LAST ')'. */
    const char *open = strchr(text, '(');
    const char *close = strrchr(text, ')');
    if (!open || !close || close < open || close[1] != ' ')
        return -EINVAL;
    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof t->comm)
        n = sizeof t->comm - 1;
    memcpy(t->comm, open + 1, n);
    t->comm[n] = 0;
    /* Fields after comm: 3 state, 4 ppid, ... 14 utime, 15 stime. */
    const char *p = close + 2;
    char state = *p;
    if (!state || !isalpha((unsigned char)state))
        return -EINVAL;
    p++;
    unsigned long long v[13];
    for (int i = 0; i < 12; i++) {       /* fields 4..15 */
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno)
            return -EINVAL;
        v[i] = (unsigned long long)x;
        p = end;
    }
    t->state = state;
    t->ppid = (int)v[0];
    t->cpu_ticks = v[10] + v[11];     /* fields 14 and 15 */
    return 0;
}

int lg_proc_parse_syscall(const char *text, long *nr, uint64_t args[6])
{
    for (int i = 0; i < 6; i++)
        args[i] = 0;
    if (strncmp(text, "running", 7) == 0) {
        *nr = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || errno)
        return -EINVAL;
    *nr = n < 0 ? -1 : n;
    if (n < 0)
        return 0;
    const char *p = end;
    for (int i = 0; i < 6; i++) {
        while (*p == ' ')
            p++;
        errno = 0;
        unsigned long long x = strtoull(p, &end, 16);
        if (end == p || errno)
            return -EINVAL;
        args[i] = x;
        p = end;
    }
    return 0;
}

int lg_proc_parse_pipe_link(const char *link, uint64_t *ino)
{
    if (strncmp(link, "pipe:[", 6) != 0)
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(link + 6, &end, 10);
    if (end == link + 6 || *end != ']' || errno)
        return -EINVAL;
    *ino = x;
    return 0;
}

int lg_proc_parse_fdinfo_flags(const char *text, unsigned *flags)
{
    const char *p = strstr(text, "flags:");
    if (!p)
        return -EINVAL;
    p += 6;
    char *end;
    errno = 0;
    unsigned long x = strtoul(p, &end, 8);
    if (end == p || errno)
        return -EINVAL;
    *flags = (unsigned)x;
    return 0;
}

int lg_proc_parse_locks(const char *text, struct lg_proc_flock *out, int max)
{
    int n = 0;
    const char *line = text;
    while (*line && n < max) {
        const char *next = strchr(line, '\n');
        char buf[256];
        size_t len = next ? (size_t)(next - line) : strlen(line);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = 0;
        line = next ? next + 1 : line + strlen(line);
        struct lg_proc_flock f;
        memset(&f, 0, sizeof f);
        char *p = strchr(buf, ':');
        if (!p)
            continue;
        p++;
        while (*p == ' ')
            p++;
        if (strncmp(p, "->", 2) == 0) {
            f.blocked = 1;
            p += 2;
        }
        char adv[16], mode[16], dev[32], endtok[32];
        unsigned long long ino, start;
        if (sscanf(p, "%7s %15s %15s %d %31s %llu %31s", f.type, adv, mode, &f.pid, dev, &start, endtok) != 7)
            continue;
        /* dev:ino is "MAJ:MIN:INO", the numbers in hex, hex, decimal. */
        if (sscanf(dev, "%x:%x:%llu", &f.dev_major, &f.dev_minor, &ino) != 3)
            continue;
        f.ino = ino;
        f.write = strcmp(mode, "WRITE") == 0;
        f.start = start;
        f.end = strcmp(endtok, "EOF") == 0 ? UINT64_MAX : strtoull(endtok, NULL, 10);
        out[n++] = f;
    }
    return n;
}

ssize_t lg_proc_read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t r = read(fd, buf + got, size - 1 - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = 0;
    close(fd);
    return (ssize_t)got;
}

int lg_proc_task_read(int pid, int tid, struct lg_proc_task *t)
{
    char path[96], buf[1024];
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->tid = tid;
    t->state = '?';
    t->sysno = -2;
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    ssize_t n = lg_proc_read_file(path, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    if (lg_proc_parse_stat(buf, t) < 0)
        return -EINVAL;
    /* Only a sleeping thread has a wait channel and a system call worth
     * reading: skipping them for running threads keeps a poll cheap. */
    if (t->state != 'S' && t->state != 'D') {
        t->sysno = t->state == 'R' ? -1 : -2;
        return 0;
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", pid, tid);
    n = lg_proc_read_file(path, buf, sizeof buf);
    if (n > 0 && strcmp(buf, "0") != 0) {
        snprintf(t->wchan, sizeof t->wchan, "%.47s", buf);
        t->wchan[strcspn(t->wchan, "\n")] = 0;
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, tid);
    n = lg_proc_read_file(path, buf, sizeof buf);
    long nr;
    if (n > 0 && lg_proc_parse_syscall(buf, &nr, t->args) == 0)
        t->sysno = nr;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int lg_proc_list_tasks(int pid, int *tids, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        if (n < max)
            tids[n++] = atoi(e->d_name);
    }
    closedir(d);
    qsort(tids, (size_t)n, sizeof *tids, cmp_int);
    return n;
}

int lg_proc_children(int pid, int *kids, int max)
{
    int tids[512];
    int nt = lg_proc_list_tasks(pid, tids, 512);
    if (nt < 0)
        return nt;
    int n = 0;
    for (int i = 0; i < nt; i++) {
        char path[96], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, tids[i]);
        if (lg_proc_read_file(path, buf, sizeof buf) <= 0)
            continue;
        char *p = buf;
        for (;;) {
            char *end;
            long k = strtol(p, &end, 10);
            if (end == p)
                break;
            if (n < max)
                kids[n++] = (int)k;
            p = end;
        }
    }
    return n;
}

int lg_proc_fd_pipe(int pid, int fd, uint64_t *ino, int *accmode)
{
    char path[64], link[128], info[512];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        return -errno;
    link[n] = 0;
    if (lg_proc_parse_pipe_link(link, ino) < 0) {
        /* A named FIFO reads as its path: stat says what it is. */
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISFIFO(st.st_mode))
            return 0;
        *ino = st.st_ino;
    }
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, fd);
    unsigned flags;
    if (lg_proc_read_file(path, info, sizeof info) < 0 || lg_proc_parse_fdinfo_flags(info, &flags) < 0)
        return -EIO;
    *accmode = (int)(flags & O_ACCMODE);
    return 1;
}

int lg_proc_fd_kind(int pid, int fd)
{
    char path[64], link[256];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        return 0;
    link[n] = 0;
    if (strncmp(link, "pipe:", 5) == 0)
        return 'p';
    if (strncmp(link, "socket:", 7) == 0)
        return 's';
    if (strncmp(link, "/dev/pts/", 9) == 0 || strncmp(link, "/dev/tty", 8) == 0 ||
        strcmp(link, "/dev/console") == 0)
        return 't';
    struct stat st;
    if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
        return 'p';
    return 'f';
}

int lg_proc_pipe_holder(int pid, uint64_t ino, int accmode, int *fd_out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        int fd = atoi(e->d_name);
        uint64_t i;
        int mode;
        if (lg_proc_fd_pipe(pid, fd, &i, &mode) != 1 || i != ino)
            continue;
        /* O_RDWR (a FIFO opened both ways) counts as either end. */
        if (accmode >= 0 && mode != accmode && mode != O_RDWR)
            continue;
        if (count == 0 && fd_out)
            *fd_out = fd;
        count++;
    }
    closedir(d);
    return count;
}

int lg_proc_pipe_fill(int pid, int fd, int *queued, int *capacity)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    /* Opening a pipe's /proc link O_RDONLY|O_NONBLOCK yields a new read
     * end of the same pipe: it never blocks and we never read from it. */
    int p = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (p < 0)
        return -errno;
    int q = 0, rc = 0;
    if (ioctl(p, FIONREAD, &q) < 0)
        rc = -errno;
    int cap = fcntl(p, F_GETPIPE_SZ);
    if (cap < 0 && rc == 0)
        rc = -errno;
    close(p);
    if (rc == 0) {
        *queued = q;
        *capacity = cap;
    }
    return rc;
}

int lg_proc_read_mem(int pid, uint64_t addr, void *buf, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t r = pread(fd, buf, n, (off_t)addr);
    int e = errno;
    close(fd);
    if (r < 0)
        return -e;
    return (size_t)r == n ? 0 : -EIO;
}
