/* SPDX-License-Identifier: MIT */
/*
 * pyprobe.c — a test-only LD_PRELOAD library around preload/pyframes.c
 * (built with LG_PYFRAMES_SELFTEST), independent of the real shim. It hooks
 * sem_trywait, sem_wait, sem_timedwait, sem_clockwait, waitpid and write,
 * captures the caller's Python frames before the real call and appends one
 * line per capture to $LG_PYPROBE_OUT:
 *   cap <pid> <tid> <op> <arg> | file:line func | file:line func ...
 * and at sem_init and sem_open, the variable the new lock goes into:
 *   name <pid> <op> <variable> | file:line | file:line ...
 * plus "init", "ctor", "nostate", "bench" and "summary" lines that
 * run_probe.py checks (see there for what each must say).
 */
#include "lg_pyframes.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In pyframes.c built with LG_PYFRAMES_SELFTEST (pyprobe.so); absent from
 * the timing build (pyprobe_fast.so), whose summary then says "-1". */
void lg_py_selftest_counts(unsigned long *lines, unsigned long *mismatches)
    __attribute__((weak));

#define MAX_FRAMES 48

static int out_fd = -1;
static int bench_runs;                       /* LG_PYPROBE_BENCH */
static const char *bench_func = "nest";      /* LG_PYPROBE_BENCH_FUNC */
static int nostate_done, bench_done;
static unsigned long captures, frames_total;
static __thread int in_hook __attribute__((tls_model("initial-exec")));

static int (*real_sem_init)(sem_t *, int, unsigned);
static sem_t *(*real_sem_open)(const char *, int, ...);
static int (*real_sem_trywait)(sem_t *);
static int (*real_sem_wait)(sem_t *);
static int (*real_sem_timedwait)(sem_t *, const struct timespec *);
static int (*real_sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
static pid_t (*real_waitpid)(pid_t, int *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static void (*real__exit)(int) __attribute__((noreturn));

struct line {
    char buf[8192];
    size_t len;
};

static void put(struct line *l, const char *text, size_t n)
{
    if (n > sizeof l->buf - 1 - l->len)
        n = sizeof l->buf - 1 - l->len;
    memcpy(l->buf + l->len, text, n);
    l->len += n;
}

static void putf(struct line *l, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Output bypasses the hooked write() and keeps errno: Python reads errno
 * after sem_trywait. */
static void emit(struct line *l)
{
    int saved = errno;

    put(l, "\n", 1);
    if (out_fd >= 0)
        syscall(SYS_write, out_fd, l->buf, l->len);
    errno = saved;
}

static void record(const char *op, long arg)
{
    struct lg_pyframe frames[MAX_FRAMES];
    struct line l = { .len = 0 };
    int n = lg_py_capture(frames, MAX_FRAMES);

    if (n <= 0)
        return;
    __atomic_add_fetch(&captures, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&frames_total, (unsigned long)n, __ATOMIC_RELAXED);
    putf(&l, "cap %d %ld %s %ld", (int)getpid(), (long)syscall(SYS_gettid), op, arg);
    for (int i = 0; i < n; i++) {
        put(&l, " | ", 3);
        if (frames[i].file)
            put(&l, frames[i].file, frames[i].file_len);
        else
            put(&l, "?", 1);
        putf(&l, ":%u ", frames[i].line);
        if (frames[i].func)
            put(&l, frames[i].func, frames[i].func_len);
        else
            put(&l, "?", 1);
    }
    emit(&l);
}

static void *nostate_thread(void *arg)
{
    struct lg_pyframe frames[4];

    *(int *)arg = lg_py_capture(frames, 4);
    return NULL;
}

/* Once Python runs: a thread without Python state must capture nothing. */
static void check_nostate(void)
{
    pthread_t t;
    int got = -1;
    struct line l = { .len = 0 };

    if (__atomic_exchange_n(&nostate_done, 1, __ATOMIC_ACQ_REL))
        return;
    if (pthread_create(&t, NULL, nostate_thread, &got) == 0)
        pthread_join(t, NULL);
    putf(&l, "nostate %d capture=%d", (int)getpid(), got);
    emit(&l);
}

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Cost of one capture, measured once per process at the first hook whose
 * innermost Python function is bench_func. */
static void bench(void)
{
    struct lg_pyframe frames[MAX_FRAMES];
    struct line l = { .len = 0 };
    int depth = lg_py_capture(frames, MAX_FRAMES);
    long long t0, t1;

    if (depth < 1 || !frames[0].func || frames[0].func_len != strlen(bench_func) ||
        memcmp(frames[0].func, bench_func, frames[0].func_len) != 0 || __atomic_exchange_n(&bench_done, 1, __ATOMIC_ACQ_REL))
        return;
    t0 = now_ns();
    for (int i = 0; i < bench_runs; i++)
        lg_py_capture(frames, MAX_FRAMES);
    t1 = now_ns();
    putf(&l, "bench %d depth=%d runs=%d ns_per_capture=%.1f", (int)getpid(),
         depth, bench_runs, (double)(t1 - t0) / bench_runs);
    emit(&l);
}

static int enter(void)
{
    if (in_hook)
        return 0;
    in_hook = 1;
    if (lg_py_active()) {
        check_nostate();
        if (bench_runs)
            bench();
    }
    return 1;
}

static void leave(void)
{
    in_hook = 0;
}

static void summary(const char *how)
{
    unsigned long lines = 0, mismatches = 0;
    struct line l = { .len = 0 };

    if (lg_py_selftest_counts) {
        lg_py_selftest_counts(&lines, &mismatches);
        putf(&l, "summary %d %s captures=%lu frames=%lu lines_checked=%lu mismatches=%lu",
             (int)getpid(), how, captures, frames_total, lines, mismatches);
    } else {
        putf(&l, "summary %d %s captures=%lu frames=%lu lines_checked=-1 mismatches=-1",
             (int)getpid(), how, captures, frames_total);
    }
    emit(&l);
}

__attribute__((constructor)) static void probe_init(void)
{
    const char *path = getenv("LG_PYPROBE_OUT");
    const char *runs = getenv("LG_PYPROBE_BENCH");
    struct lg_pyframe frames[4];
    struct line l = { .len = 0 };
    uintptr_t lo, hi;
    int ok;

    real_sem_init = dlsym(RTLD_NEXT, "sem_init");
    real_sem_open = dlsym(RTLD_NEXT, "sem_open");
    real_sem_trywait = dlsym(RTLD_NEXT, "sem_trywait");
    real_sem_wait = dlsym(RTLD_NEXT, "sem_wait");
    real_sem_timedwait = dlsym(RTLD_NEXT, "sem_timedwait");
    real_sem_clockwait = dlsym(RTLD_NEXT, "sem_clockwait");
    real_waitpid = dlsym(RTLD_NEXT, "waitpid");
    real_write = dlsym(RTLD_NEXT, "write");
    real__exit = dlsym(RTLD_NEXT, "_exit");
    if (path)
        out_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (runs)
        bench_runs = atoi(runs);
    if (getenv("LG_PYPROBE_BENCH_FUNC"))
        bench_func = getenv("LG_PYPROBE_BENCH_FUNC");
    ok = lg_py_init();
    lg_py_runtime_range(&lo, &hi);
    putf(&l, "init %d supported=%d version=%s runtime_size=%lu", (int)getpid(), ok,
         lg_py_version() ? lg_py_version() : "none", (unsigned long)(hi - lo));
    emit(&l);
    l.len = 0;
    putf(&l, "ctor %d active=%d capture=%d", (int)getpid(), lg_py_active(),
         lg_py_capture(frames, 4));
    emit(&l);
}

__attribute__((destructor)) static void probe_fini(void)
{
    summary("exit");
}

/* "name <pid> <op> <variable> | file:line | file:line ..." for a new lock:
 * the variable lg_py_assigned_name gives, then the frames of the creation. */
static void record_name(const char *op)
{
    struct lg_pyframe frames[16];
    struct line l = { .len = 0 };
    char name[256];
    const char *text;
    uint16_t len;
    int n;

    if (!lg_py_assigned_name(&text, &len))
        return;
    if (len > sizeof name)
        len = sizeof name;
    memcpy(name, text, len);            /* the next capture reuses its buffer */
    putf(&l, "name %d %s ", (int)getpid(), op);
    put(&l, name, len);
    n = lg_py_capture(frames, 16);
    for (int i = 0; i < n; i++) {
        put(&l, " | ", 3);
        if (frames[i].file)
            put(&l, frames[i].file, frames[i].file_len);
        putf(&l, ":%u", frames[i].line);
    }
    emit(&l);
}

int sem_init(sem_t *sem, int pshared, unsigned value)
{
    if (enter()) {
        record_name("sem_init");
        leave();
    }
    return real_sem_init(sem, pshared, value);
}

sem_t *sem_open(const char *name, int oflag, ...)
{
    va_list ap;
    mode_t mode = 0;
    unsigned value = 0;

    if (oflag & O_CREAT) {
        va_start(ap, oflag);
        mode = va_arg(ap, mode_t);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    if (enter()) {
        record_name("sem_open");
        leave();
    }
    return real_sem_open(name, oflag, mode, value);
}

int sem_trywait(sem_t *sem)
{
    int r;

    if (enter()) {
        record("sem_trywait", 0);
        leave();
    }
    r = real_sem_trywait(sem);
    return r;
}

int sem_wait(sem_t *sem)
{
    if (enter()) {
        record("sem_wait", 0);
        leave();
    }
    return real_sem_wait(sem);
}

int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
    if (enter()) {
        record("sem_timedwait", 0);
        leave();
    }
    return real_sem_timedwait(sem, abstime);
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
    if (enter()) {
        record("sem_clockwait", 0);
        leave();
    }
    return real_sem_clockwait(sem, clock, abstime);
}

pid_t waitpid(pid_t pid, int *status, int options)
{
    if (enter()) {
        record("waitpid", (long)pid);
        leave();
    }
    return real_waitpid(pid, status, options);
}

ssize_t write(int fd, const void *buf, size_t count)
{
    if (fd != out_fd && enter()) {
        record("write", (long)count);
        leave();
    }
    return real_write(fd, buf, count);
}

void _exit(int status)
{
    summary("_exit");
    real__exit(status);
}
