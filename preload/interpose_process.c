/* SPDX-License-Identifier: MIT */
/*
 * interpose_process.c — processes: fork (the child's own trace is set up
 * by the atfork child handler in shim.c), the exec family (the trace is
 * closed cleanly first), exit/_exit/_Exit, and the wait family (published
 * as a wait for that child). vfork is deliberately not wrapped: its child
 * would return through our frame on the parent's stack.
 */
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_shim.h"

LG_HIDDEN extern int lg_proc_exit_written;
LG_HIDDEN extern char lg_env_preload[], lg_env_dir[];

LG_EXPORT pid_t fork(void)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return LG_REAL(fork)();
    struct lg_stackent *st = lg_stack_capture(t, 0);
    uint32_t nheld = t->nheld;
    lg_leave(t);
    pid_t pid = LG_REAL(fork)();
    if (pid != 0) {
        int e = errno;
        lg_reenter(t);
        uint32_t sid = lg_stack_id(st);
        struct lg_rec_hdr *h;
        struct lg_rec_fork *r = lg_rec_begin(sizeof *r, &h);
        if (r) {
            r->child_pid = pid;
            r->stack_id = sid;
            r->nheld = nheld;
            lg_rec_commit(h, LG_REC_FORK, 0);
        }
        lg_leave(t);
        errno = e;
    }
    return pid;
}

/* ---- exec -------------------------------------------------------------- */

static void lg_exec_record(struct lg_thread *t, const char *path, int err)
{
    struct lg_stackent *st = lg_stack_capture(t, 0);
    uint32_t sid = lg_stack_id(st);
    uint32_t plen = path ? (uint32_t)strnlen(path, 4096) : 0;
    struct lg_rec_hdr *h;
    struct lg_rec_exec *r = lg_rec_begin(sizeof *r + plen + 1, &h);
    if (!r)
        return;
    r->err = err;
    r->stack_id = sid;
    r->path_len = plen;
    if (plen)
        memcpy(r->path, path, plen);
    lg_rec_commit(h, LG_REC_EXEC, 0);
}

/* 1 when this process is not the one whose trace we hold: a vfork child
 * (posix_spawn, Python's subprocess) shares our memory and TLS, so it
 * must not write records, end the trace or free slots of its parent. */
static int lg_foreign_process(void)
{
    return (pid_t)syscall(SYS_getpid) != lg_g.pid;
}

/* FORK with vfork = 1: a child made by vfork/posix_spawn, which the
 * fork hook and the atfork handlers never see. */
static void lg_vfork_record(pid_t child, struct lg_stackent *st)
{
    uint32_t sid = lg_stack_id(st);
    struct lg_rec_hdr *h;
    struct lg_rec_fork *r = lg_rec_begin(sizeof *r, &h);
    if (!r)
        return;
    r->child_pid = child;
    r->stack_id = sid;
    r->nheld = lg_tls_self ? lg_tls_self->nheld : 0;
    r->vfork = 1;
    lg_rec_commit(h, LG_REC_FORK, 0);
}

/* In a vfork child about to exec (Python's subprocess, a program's own
 * vfork): tell the parent's trace a child was made. Memory is shared with
 * the suspended parent thread, so this is a plain record write; no stack
 * (the unwinder may take a lock that only a parent thread would release). */
static void lg_vfork_child_exec(void)
{
    if (atomic_load(&lg_g.state) != LG_ST_ACTIVE || !lg_tls_self || lg_tls_guard)
        return;
    lg_tls_guard = 1;
    lg_vfork_record((pid_t)syscall(SYS_getpid), NULL);
    lg_tls_guard = 0;
}

/* Before the image is replaced: EXEC, the locks every thread holds, a
 * clean end of the trace, and the thread-table slot handed back (the new
 * image claims its own). */
static struct lg_thread *lg_exec_before(const char *path)
{
    if (atomic_load(&lg_g.state) != LG_ST_ACTIVE)
        return NULL;
    if (lg_foreign_process()) {
        lg_vfork_child_exec();
        return NULL;
    }
    struct lg_thread *t = lg_enter();
    if (!t)
        return NULL;
    int e = errno;
    lg_depcache_flush(t);
    lg_exec_record(t, path, 0);
    for (struct lg_thread *o = lg_thread_first(); o; o = o->next)
        if (atomic_load(&o->alive))
            lg_held_report(o, LG_END_EXEC);
    lg_tt_free(t);
    lg_trace_finish();
    lg_leave(t);
    errno = e;
    return t;
}

/* exec returned: it failed, and this image carries on. */
static void lg_exec_failed(struct lg_thread *t, const char *path)
{
    if (!t)
        return;
    int e = errno;
    lg_reenter(t);
    lg_trace_unfinish();
    lg_exec_record(t, path, e);
    lg_tt_claim(t);
    lg_leave(t);
    errno = e;
}

/* The new image must load the shim again and find the output folder: a
 * program that execs with an environment of its own making (env -i,
 * subprocess with env=...) gets LD_PRELOAD and LOCKGRAPH_DIR added back.
 * Built on the stack (no malloc: this may run in a vfork child). */
#define LG_ENV_FIX(envp, out)                                                    \
    size_t n_ = 0;                                                               \
    int has_pre_ = 0, has_dir_ = 0;                                              \
    for (; envp && envp[n_]; n_++) {                                             \
        if (!strncmp(envp[n_], "LD_PRELOAD=", 11)) has_pre_ = 1;                 \
        if (!strncmp(envp[n_], LG_ENV_DIR "=", sizeof LG_ENV_DIR)) has_dir_ = 1; \
    }                                                                            \
    char *out[n_ + 3];                                                           \
    char *const *fixed_ = envp;                                                  \
    if (lg_env_preload[0] && lg_env_dir[0] && (!has_pre_ || !has_dir_)) {        \
        size_t k_ = 0;                                                           \
        for (size_t i_ = 0; i_ < n_; i_++) out[k_++] = envp[i_];                 \
        if (!has_pre_) out[k_++] = lg_env_preload;                               \
        if (!has_dir_) out[k_++] = lg_env_dir;                                   \
        out[k_] = NULL;                                                          \
        fixed_ = out;                                                            \
    }

LG_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    LG_ENV_FIX(envp, env2);
    struct lg_thread *t = lg_exec_before(path);
    int r = LG_REAL(execve)(path, argv, fixed_);
    lg_exec_failed(t, path);
    return r;
}

LG_EXPORT int execv(const char *path, char *const argv[])
{
    LG_ENV_FIX(environ, env2);
    struct lg_thread *t = lg_exec_before(path);
    int r = LG_REAL(execve)(path, argv, fixed_);
    lg_exec_failed(t, path);
    return r;
}

LG_EXPORT int execvp(const char *file, char *const argv[])
{
    LG_ENV_FIX(environ, env2);
    struct lg_thread *t = lg_exec_before(file);
    int r = LG_REAL(execvpe)(file, argv, fixed_);
    lg_exec_failed(t, file);
    return r;
}

LG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    LG_ENV_FIX(envp, env2);
    struct lg_thread *t = lg_exec_before(file);
    int r = LG_REAL(execvpe)(file, argv, fixed_);
    lg_exec_failed(t, file);
    return r;
}

/* The execl forms: glibc builds the vector and calls execve internally
 * (not through the PLT), so they are rebuilt here onto execv*. */
#define LG_EXECL_ARGV(arg0, last, argv)                            \
    size_t argc_ = 1;                                              \
    va_list ap_;                                                   \
    va_start(ap_, arg0);                                           \
    while (va_arg(ap_, const char *))                              \
        argc_++;                                                   \
    va_end(ap_);                                                   \
    const char *argv[argc_ + 1];                                   \
    argv[0] = arg0;                                                \
    va_start(ap_, arg0);                                           \
    for (size_t i_ = 1; i_ <= argc_; i_++)                         \
        argv[i_] = va_arg(ap_, const char *);                      \
    last = va_arg(ap_, char *const *);                             \
    va_end(ap_)

LG_EXPORT int execl(const char *path, const char *arg, ...)
{
    char *const *unused;
    LG_EXECL_ARGV(arg, unused, argv);
    (void)unused;
    return execv(path, (char *const *)argv);
}

LG_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *const *unused;
    LG_EXECL_ARGV(arg, unused, argv);
    (void)unused;
    return execvp(file, (char *const *)argv);
}

LG_EXPORT int execle(const char *path, const char *arg, ...)
{
    char *const *envp;
    LG_EXECL_ARGV(arg, envp, argv);
    return execve(path, (char *const *)argv, envp);
}

/* ---- posix_spawn: glibc execs inside with its internal __execve ------- */

typedef int (*lg_spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                           char *const[], char *const[]);

static int lg_spawn(lg_spawn_fn real, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                    const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    LG_ENV_FIX(envp, env2);
    struct lg_thread *t = lg_enter();
    struct lg_stackent *st = NULL;
    if (t) {
        int e = errno;
        st = lg_stack_capture(t, 0);
        lg_leave(t);
        errno = e;
    }
    pid_t child = 0;
    int r = real(&child, path, fa, at, argv, fixed_);
    if (pid && r == 0)
        *pid = child;
    if (t && r == 0) {
        int e = errno;
        lg_reenter(t);
        lg_vfork_record(child, st);
        lg_leave(t);
        errno = e;
    }
    return r;
}

LG_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    return lg_spawn(LG_REAL(posix_spawn), pid, path, fa, at, argv, envp);
}

LG_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    return lg_spawn(LG_REAL(posix_spawnp), pid, file, fa, at, argv, envp);
}

/* ---- exit -------------------------------------------------------------- */

LG_EXPORT void exit(int status)
{
    struct lg_thread *t = lg_foreign_process() ? NULL : lg_enter();
    if (t) {
        if (!lg_proc_exit_written) {
            lg_proc_exit_written = 1;
            lg_proc_end(LG_END_EXIT, status);
        }
        lg_leave(t);
    }
    /* atexit handlers still run (and may block: published as usual); our
     * destructor closes the trace after them. */
    LG_REAL(exit)(status);
    __builtin_unreachable();
}

static void lg_exit_now(int status)
{
    if (atomic_load(&lg_g.state) != LG_ST_ACTIVE || lg_foreign_process())
        return;   /* a vfork child leaving: its parent's trace goes on */
    struct lg_thread *t = lg_enter();
    if (!t)
        return;
    if (!lg_proc_exit_written) {
        lg_proc_exit_written = 1;
        lg_proc_end(LG_END__EXIT, status);
    }
    for (struct lg_thread *o = lg_thread_first(); o; o = o->next)
        if (atomic_load(&o->alive))
            lg_tt_free(o);
    lg_trace_finish();
    lg_leave(t);
}

LG_EXPORT void _exit(int status)
{
    lg_exit_now(status);
    LG_REAL(_exit)(status);
    __builtin_unreachable();
}

LG_EXPORT void _Exit(int status)
{
    lg_exit_now(status);
    LG_REAL(_Exit)(status);
    __builtin_unreachable();
}

/* ---- wait family ------------------------------------------------------- */

static struct lg_thread *lg_wait_before(pid_t target, int options)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return NULL;
    if (!(options & WNOHANG)) {
        struct lg_publish p = {.op = LG_BLOCK_WAITPID, .target_pid = target};
        lg_tt_publish(t, &p);
    }
    lg_leave(t);
    return t;
}

static void lg_wait_after(struct lg_thread *t, pid_t arg, pid_t ret, int status, int options)
{
    if (!t)
        return;
    int e = errno;
    lg_reenter(t);
    if (!(options & WNOHANG))
        lg_tt_done(t);
    if ((options & WNOHANG) && ret == 0) {
        /* A poll that found nothing: polling loops would fill the trace. */
        lg_leave(t);
        errno = e;
        return;
    }
    struct lg_stackent *st = lg_stack_capture(t, 0);
    uint32_t sid = lg_stack_id(st);
    struct lg_rec_hdr *h;
    struct lg_rec_wait *r = lg_rec_begin(sizeof *r, &h);
    if (r) {
        r->arg_pid = arg;
        r->ret_pid = ret;
        r->status = status;
        r->stack_id = sid;
        r->options = (uint32_t)options;
        lg_rec_commit(h, LG_REC_WAIT, 0);
    }
    lg_leave(t);
    errno = e;
}

LG_EXPORT pid_t wait(int *status)
{
    int st = 0;
    struct lg_thread *t = lg_wait_before(-1, 0);
    pid_t r = LG_REAL(wait)(status ? status : &st);
    lg_wait_after(t, -1, r, r > 0 ? (status ? *status : st) : 0, 0);
    return r;
}

LG_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
    int st = 0;
    struct lg_thread *t = lg_wait_before(pid, options);
    pid_t r = LG_REAL(waitpid)(pid, status ? status : &st, options);
    lg_wait_after(t, pid, r, r > 0 ? (status ? *status : st) : 0, options);
    return r;
}

LG_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
    int st = 0;
    struct lg_thread *t = lg_wait_before(-1, options);
    pid_t r = LG_REAL(wait3)(status ? status : &st, options, ru);
    lg_wait_after(t, -1, r, r > 0 ? (status ? *status : st) : 0, options);
    return r;
}

LG_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    int st = 0;
    struct lg_thread *t = lg_wait_before(pid, options);
    pid_t r = LG_REAL(wait4)(pid, status ? status : &st, options, ru);
    lg_wait_after(t, pid, r, r > 0 ? (status ? *status : st) : 0, options);
    return r;
}

LG_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    pid_t target = idtype == P_PID ? (pid_t)id : -1;
    struct lg_thread *t = lg_wait_before(target, options);
    int r = LG_REAL(waitid)(idtype, id, info, options);
    lg_wait_after(t, target, r == 0 && info ? info->si_pid : r, r == 0 && info ? info->si_status : 0, options);
    return r;
}
