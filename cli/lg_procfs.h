/* SPDX-License-Identifier: MIT */
/*
 * lg_procfs.h — what the supervisor (cli/supervise.c) reads about a live
 * process tree from /proc: per-thread state, CPU time, kernel wait channel
 * and the system call it sits in; children; which pipe ends each process
 * holds; how full a pipe is; a word of the target's memory. The parsers
 * are separate from the readers so they can be tested on fixed text.
 */
#ifndef LG_PROCFS_H
#define LG_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One thread as /proc shows it at one instant. */
struct lg_proc_task {
    int pid, tid;
    char state;              /* R S D T t Z X I, '?' unknown */
    int ppid;                /* of the process */
    uint64_t cpu_ticks;      /* utime + stime, clock ticks */
    char comm[16];
    char wchan[48];          /* "" when running or unknown */
    long sysno;              /* -1: running in user space, -2: unknown */
    uint64_t args[6];        /* system call arguments when sysno >= 0 */
};

/* --- parsers (pure, unit-tested) ---------------------------------------- */

/* /proc/PID/task/TID/stat: fills state, ppid, cpu_ticks and comm.
 * Returns 0, or -EINVAL when the text does not look like a stat line. */
int lg_proc_parse_stat(const char *text, struct lg_proc_task *t);

/* /proc/PID/task/TID/syscall: "running", "-1 sp pc", or "NR a0..a5 sp pc".
 * Sets *nr to the number, -1 for running/-1; fills args. 0 or -EINVAL. */
int lg_proc_parse_syscall(const char *text, long *nr, uint64_t args[6]);

/* "pipe:[12345]" -> 12345. 0, or -EINVAL for anything else. */
int lg_proc_parse_pipe_link(const char *link, uint64_t *ino);

/* /proc/PID/fdinfo/N: the octal "flags:" field. 0 or -EINVAL. */
int lg_proc_parse_fdinfo_flags(const char *text, unsigned *flags);

/* One line of /proc/locks: a file lock held (or, blocked = 1, wanted). */
struct lg_proc_flock {
    int blocked;             /* "->" line: a waiter */
    char type[8];            /* FLOCK, POSIX, OFDLCK, LEASE... */
    int write;               /* WRITE (exclusive) or READ */
    int pid;                 /* -1 for OFD locks */
    unsigned dev_major, dev_minor;
    uint64_t ino;
    uint64_t start, end;     /* end UINT64_MAX for EOF */
};

/* Parse /proc/locks text; at most max entries. Count, or -EINVAL. */
int lg_proc_parse_locks(const char *text, struct lg_proc_flock *out, int max);

/* --- readers ------------------------------------------------------------ */

/* Read a whole small /proc file into buf (NUL-terminated). Bytes or -errno. */
ssize_t lg_proc_read_file(const char *path, char *buf, size_t size);

/* Fill *t for one thread (wchan and the system call only when it sleeps,
 * state S or D). 0, or -errno (-ENOENT: the thread is gone). */
int lg_proc_task_read(int pid, int tid, struct lg_proc_task *t);

/* Thread ids of pid (ascending). Count, or -errno. At most max stored. */
int lg_proc_list_tasks(int pid, int *tids, int max);

/* Children of every thread of pid. Count, or -errno. At most max stored. */
int lg_proc_children(int pid, int *kids, int max);

/* What fd N of pid is: 1 and the pipe inode and O_ACCMODE if a pipe or
 * FIFO, 0 if something else, -errno if it cannot be read. */
int lg_proc_fd_pipe(int pid, int fd, uint64_t *ino, int *accmode);

/* Kind of fd N of pid: 'p' pipe/FIFO, 's' socket, 't' terminal,
 * 'f' regular file or other, 0 when unreadable. */
int lg_proc_fd_kind(int pid, int fd);

/* Every fd of pid that is an end of pipe `ino` opened with `accmode`
 * (O_RDONLY or O_WRONLY; -1: either). Count of such fds, first in *fd_out. */
int lg_proc_pipe_holder(int pid, uint64_t ino, int accmode, int *fd_out);

/* Bytes queued in the pipe behind fd N of pid, and its capacity, measured
 * by reopening /proc/PID/fd/N non-blocking (FIONREAD, F_GETPIPE_SZ).
 * 0 or -errno. The reopen never consumes data. */
int lg_proc_pipe_fill(int pid, int fd, int *queued, int *capacity);

/* Read n bytes at addr of pid's memory. 0 or -errno. */
int lg_proc_read_mem(int pid, uint64_t addr, void *buf, size_t n);

/* Linux x86_64 system call numbers the supervisor interprets. */
enum {
    LG_SYS_READ = 0, LG_SYS_WRITE = 1, LG_SYS_POLL = 7, LG_SYS_READV = 19,
    LG_SYS_WRITEV = 20, LG_SYS_SELECT = 23, LG_SYS_PAUSE = 34,
    LG_SYS_NANOSLEEP = 35, LG_SYS_WAIT4 = 61, LG_SYS_FLOCK = 73,
    LG_SYS_FCNTL = 72, LG_SYS_RT_SIGSUSPEND = 130, LG_SYS_FUTEX = 202,
    LG_SYS_EPOLL_WAIT = 232, LG_SYS_CLOCK_NANOSLEEP = 230,
    LG_SYS_WAITID = 247, LG_SYS_PSELECT6 = 270, LG_SYS_PPOLL = 271,
    LG_SYS_EPOLL_PWAIT = 281, LG_SYS_SEMTIMEDOP = 220,
    LG_SYS_FUTEX_WAITV = 449, LG_SYS_EPOLL_PWAIT2 = 441,
};

#endif /* LG_PROCFS_H */
