/* SPDX-License-Identifier: MIT */
/*
 * shim.c — start-up and per-thread life of liblockgraph.so: lazy
 * initialisation from the first hook, the thread registry (one mmap'd
 * block per thread, reused), thread/process end records, fork handling.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lg_pyframes.h"
#include "lg_shim.h"

/* pyframes.c belongs to another module and may be absent from a build:
 * weak references make the calls below skip it when it is. */
#pragma weak lg_py_init
#pragma weak lg_py_runtime_range
#pragma weak lg_py_text_range
#pragma weak lg_py_version

struct lg_global lg_g;
LG_HIDDEN int lg_proc_exit_written;   /* PROC_EXIT is written once, by whichever end comes first */
__thread struct lg_tls_block lg_tlsb LG_TLS;

static _Atomic(struct lg_thread *) lg_threads;  /* registry head */
static pthread_key_t lg_key;
static uint64_t lg_fork_ns;
static pid_t lg_fork_tid;

pid_t lg_gettid(void) { return (pid_t)syscall(SYS_gettid); }

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);   /* vDSO: no system call */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Raw write(2): the program's write() may be interposed (by us, later). */
void lg_say(const char *msg)
{
    int e = errno;
    static const char pfx[] = "lockgraph: ";
    syscall(SYS_write, 2, pfx, sizeof pfx - 1);
    syscall(SYS_write, 2, msg, strlen(msg));
    syscall(SYS_write, 2, "\n", 1);
    errno = e;
}

/* ---- arena: never-freed, lock-free bump allocation ------------------ */

struct lg_chunk {
    _Atomic size_t used;
    size_t size;
    char data[];
};
static _Atomic(struct lg_chunk *) lg_arena;
static _Atomic int lg_arena_spin;

/* Contract: n zeroed bytes, 16-aligned, or NULL when mmap fails. Any
 * thread, any time (no lock the program can see). */
void *lg_arena_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    for (int tries = 0; tries < 64; tries++) {
        struct lg_chunk *c = atomic_load_explicit(&lg_arena, memory_order_acquire);
        if (c) {
            size_t off = atomic_fetch_add_explicit(&c->used, n, memory_order_relaxed);
            if (off + n <= c->size)
                return c->data + off;
        }
        if (atomic_exchange_explicit(&lg_arena_spin, 1, memory_order_acquire))
            continue;
        if (atomic_load_explicit(&lg_arena, memory_order_relaxed) == c) {
            size_t sz = n + sizeof(struct lg_chunk) > (1u << 20) ? n + sizeof(struct lg_chunk) : (1u << 20);
            void *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) {
                atomic_store_explicit(&lg_arena_spin, 0, memory_order_release);
                return NULL;
            }
            struct lg_chunk *nc = m;
            nc->size = sz - sizeof(struct lg_chunk);
            atomic_store_explicit(&lg_arena, nc, memory_order_release);
        }
        atomic_store_explicit(&lg_arena_spin, 0, memory_order_release);
    }
    return NULL;
}

/* ---- own text range: frames inside it are cut from captured stacks --- */

static int lg_find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t probe = (uintptr_t)data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo) lo = a;
        if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
    }
    if (probe >= lo && probe < hi) {
        lg_g.self_lo = lo;
        lg_g.self_hi = hi;
        return 1;
    }
    return 0;
}

/* ---- thread registry -------------------------------------------------- */

struct lg_thread *lg_thread_first(void) { return atomic_load_explicit(&lg_threads, memory_order_acquire); }

struct lg_thread *lg_thread_by_pthread(uint64_t pthread)
{
    for (struct lg_thread *t = lg_thread_first(); t; t = t->next)
        if (t->pthread == pthread && atomic_load_explicit(&t->alive, memory_order_relaxed))
            return t;
    return NULL;
}

/* A block for the calling thread: a dead one reused, else a fresh mmap.
 * Pages are touched only as the held stack and cache grow. */
static struct lg_thread *lg_thread_alloc(void)
{
    for (struct lg_thread *t = lg_thread_first(); t; t = t->next) {
        int zero = 0;
        if (atomic_load_explicit(&t->alive, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&t->alive, &zero, 1)) {
            t->nheld = t->nsem_held = t->slow = 0;
            t->overflowed = 0;
            t->end_how = 0;
            t->slot = NULL;
            t->py_pending_sem = 0;
            t->py_pending_stack = NULL;
            t->py_end_ns = 0;
            lg_depcache_reset(t);  /* every cached dependency is now stale */
            t->create_seq = 0;
            return t;
        }
    }
    void *m = mmap(NULL, sizeof(struct lg_thread), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    struct lg_thread *t = m;
    t->alive = 1;
    lg_depcache_reset(t);
    struct lg_thread *head = lg_thread_first();
    do
        t->next = head;
    while (!atomic_compare_exchange_weak(&lg_threads, &head, t));
    return t;
}

void lg_thread_start_record(struct lg_thread *t, pid_t creator, struct lg_stackent *st, uint64_t routine,
                            uint64_t when)
{
    struct lg_rec_hdr *h;
    struct lg_rec_thread_start *r = lg_rec_begin(sizeof *r, &h);
    if (!r)
        return;
    r->creator_tid = creator;
    r->create_stack = st ? lg_stack_id(st) : 0;
    r->pthread = t->pthread;
    r->start_routine = routine;
    lg_rec_commit_at(h, LG_REC_THREAD_START, 0, when);
}

/* Attach the calling thread (guard set by the caller). creator < 0: a
 * thread we did not see being created (or the initial thread). */
static struct lg_thread *lg_thread_attach(pid_t creator, struct lg_stackent *st, uint64_t routine, uint64_t when)
{
    struct lg_thread *t = lg_thread_alloc();
    if (!t)
        return NULL;
    t->tid = lg_gettid();
    t->pthread = (uint64_t)pthread_self();
    lg_tls_self = t;
    if (lg_g.pthread_key_ok)
        pthread_setspecific(lg_key, t);
    lg_tt_claim(t);
    lg_thread_start_record(t, creator < 0 ? 0 : creator, st, routine, when);
    return t;
}

LG_HIDDEN struct lg_thread *lg_thread_attach_new(pid_t creator, struct lg_stackent *st, uint64_t routine,
                                                 uint64_t when)
{
    if (lg_tls_guard || atomic_load(&lg_g.state) != LG_ST_ACTIVE)
        return NULL;
    lg_tls_guard = 1;
    struct lg_thread *t = lg_tls_self ? lg_tls_self : lg_thread_attach(creator, st, routine, when);
    if (!t)
        lg_tls_guard = 0;
    return t;
}

void lg_thread_end(struct lg_thread *t, int how)
{
    uint64_t when = t->py_end_ns;
    lg_depcache_flush(t);
    lg_held_drop_released(t);
    struct lg_rec_hdr *h;
    struct lg_rec_thread_exit *r = lg_rec_begin(sizeof *r, &h);
    if (r) {
        r->how = (uint32_t)how;
        r->nheld = t->nheld;
        lg_rec_commit_at(h, LG_REC_THREAD_EXIT, 0, when);
    }
    lg_held_report(t, how);
    lg_tt_free(t);
    lg_tls_self = NULL;
    lg_tls_guard = LG_GUARD_DEAD;    /* later destructors' locks pass straight through */
    atomic_store_explicit(&t->alive, 0, memory_order_release);
}

/* pthread key destructor: runs at the end of every thread we attached,
 * whatever the way out (return, pthread_exit, cancellation). */
static void lg_key_dtor(void *p)
{
    struct lg_thread *t = p;
    if (!t || lg_tls_self != t || (lg_tls_guard & ~1))
        return;
    int e = errno;
    lg_tls_guard = 1;
    lg_thread_end(t, t->end_how ? t->end_how : LG_END_CANCEL);
    errno = e;
}

void lg_proc_end(int how, int status)
{
    /* The other threads' repeats since their last eviction are not added:
     * their caches are theirs to change while they run. */
    if (lg_tls_self)
        lg_depcache_flush(lg_tls_self);
    struct lg_rec_hdr *h;
    struct lg_rec_proc_exit *r = lg_rec_begin(sizeof *r, &h);
    if (r) {
        r->how = (uint32_t)how;
        r->status = status;
        lg_rec_commit(h, LG_REC_PROC_EXIT, 0);
    }
    for (struct lg_thread *t = lg_thread_first(); t; t = t->next)
        if (atomic_load_explicit(&t->alive, memory_order_acquire))
            lg_held_report(t, how);
}

/* ---- fork --------------------------------------------------------------- */

void lg_fork_prepare(void)
{
    lg_fork_ns = lg_now_ns();
    lg_fork_tid = lg_tls_self ? lg_tls_self->tid : lg_gettid();
}

void lg_fork_parent(void) {}

/* In the child, single-threaded: a trace of its own that names the
 * parent; the locks every thread held at the fork are noted (the other
 * threads are gone, their locks stay locked); the caches that point
 * into the parent's trace are dropped. */
void lg_fork_child(void)
{
    if (atomic_load(&lg_g.state) != LG_ST_ACTIVE)
        return;
    int saved_guard = lg_tls_guard;
    lg_tls_guard = 1;
    struct lg_thread *self = lg_tls_self;
    lg_g.pid = getpid();
    lg_g.epoch++;
    lg_trace_drop_for_child();
    lg_tt_child_reset();
    if (lg_trace_open(1, lg_fork_ns, lg_fork_tid) != 0) {
        atomic_store(&lg_g.state, LG_ST_OFF);
        lg_tls_guard = saved_guard;
        return;
    }
    lg_stacks_reset_for_child();
    lg_modules_scan();
    if (self)
        self->tid = lg_gettid();   /* the child's thread holds the forking thread's locks */
    for (struct lg_thread *t = lg_thread_first(); t; t = t->next) {
        t->slot = NULL;
        if (!atomic_load(&t->alive))
            continue;
        lg_held_report(t, LG_END_FORK);
        if (t != self)
            atomic_store(&t->alive, 0);
    }
    if (self) {
        lg_depcache_reset(self);   /* its counts point into the parent's trace */
        self->py_pending_sem = 0;
        self->pthread = (uint64_t)pthread_self();
        lg_tt_claim(self);
        lg_thread_start_record(self, lg_fork_tid, NULL, 0, 0);
    }
    lg_tls_guard = saved_guard;
}

static void lg_atfork_prepare(void)
{
    lg_stacks_fork_prepare();
    if (!lg_tls_guard)
        lg_fork_prepare();
}
static void lg_atfork_parent(void) { lg_stacks_fork_done(); }
static void lg_atfork_child(void)
{
    lg_stacks_fork_done();
    lg_fork_child();
}

/* ---- fatal signals ------------------------------------------------------ */

/* A crash ends the process without exit or _exit: note the locks every
 * thread held (PROC_EXIT how=SIGNAL + HELD_AT) and end the trace cleanly,
 * then let the signal do what it would have done. Installed only where
 * the disposition is still the default (SA_RESETHAND puts it back first
 * thing): a program's own handler is never replaced or chained into. */
static const int lg_fatal_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS};

static void lg_fatal(int sig, siginfo_t *si, void *uc)
{
    static _Atomic int once;
    int e = errno;
    if (!atomic_exchange(&once, 1) && atomic_load(&lg_g.state) == LG_ST_ACTIVE &&
        (pid_t)syscall(SYS_getpid) == lg_g.pid) {
        int g = lg_tls_guard;
        lg_tls_guard = 1;
        if (!lg_proc_exit_written) {
            lg_proc_exit_written = 1;
            lg_proc_end(LG_END_SIGNAL, sig);
        }
        for (struct lg_thread *t = lg_thread_first(); t; t = t->next)
            if (atomic_load(&t->alive))
                lg_tt_free(t);
        lg_trace_finish();
        lg_tls_guard = g;
    }
    errno = e;
    /* A fault returns to the faulting instruction and meets the default
     * action; a signal that was sent (kill, abort's raise) is sent again. */
    if (!si || si->si_code <= 0 || sig == SIGABRT || sig == SIGSYS)
        syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), (pid_t)syscall(SYS_gettid), sig);
    (void)uc;
}

static void lg_fatal_install(void)
{
    for (unsigned i = 0; i < sizeof lg_fatal_sigs / sizeof lg_fatal_sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(lg_fatal_sigs[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
            old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = lg_fatal;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(lg_fatal_sigs[i], &sa, NULL);
    }
}

/* ---- initialisation ----------------------------------------------------- */

/* Contract: called by the first hook of the process (any thread, maybe
 * before our constructor), with the guard set. Leaves state ACTIVE when
 * recording, OFF when LOCKGRAPH_DIR is unset or the trace cannot be made. */
/* An interpreter whose frame layout pyframes.c does not know: say so once
 * per run (the first process to create the marker in the output folder
 * says it; the others of the tree stay quiet). */
static void lg_say_py_unavailable(const char *dir)
{
    const char *v = lg_py_version ? lg_py_version() : NULL;
    char path[4200], msg[200];
    snprintf(path, sizeof path, "%s/.python-lines-unavailable", dir);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    syscall(SYS_close, fd);
    snprintf(msg, sizeof msg,
             "Python %s: Python source lines are unavailable for this version (native stacks only)",
             v ? v : "(unknown version)");
    lg_say(msg);
}

/* "LD_PRELOAD=..." and "LOCKGRAPH_DIR=..." as this image got them, for
 * exec calls that pass an environment without them. */
char lg_env_preload[4200], lg_env_dir[4200];

static void lg_env_keep(char *dst, size_t cap, const char *name)
{
    const char *v = getenv(name);
    size_t nl = strlen(name), vl = v ? strlen(v) : 0;
    if (!v || !*v || nl + vl + 2 > cap)
        return;
    memcpy(dst, name, nl);
    dst[nl] = '=';
    memcpy(dst + nl + 1, v, vl + 1);
}

static void lg_init(void)
{
    int expect = LG_ST_UNINIT;
    if (!atomic_compare_exchange_strong(&lg_g.state, &expect, LG_ST_INITING))
        return;
    lg_real_resolve();
    const char *dir = getenv(LG_ENV_DIR);
    if (!dir || !*dir) {
        atomic_store(&lg_g.state, LG_ST_OFF);
        return;
    }
    lg_g.pid = getpid();
    lg_env_keep(lg_env_preload, sizeof lg_env_preload, "LD_PRELOAD");
    lg_env_keep(lg_env_dir, sizeof lg_env_dir, LG_ENV_DIR);
    dl_iterate_phdr(lg_find_self, (void *)(uintptr_t)&lg_init);
    lg_g.pthread_key_ok = pthread_key_create(&lg_key, lg_key_dtor) == 0;
    pthread_atfork(lg_atfork_prepare, lg_atfork_parent, lg_atfork_child);
    /* A CPython process, whatever its version: its GIL mutexes are kept
     * out and sem_trywait is its acquire. Frames come only from versions
     * pyframes.c knows (lg_py_active). */
    if (lg_py_init) {
        int frames = lg_py_init();
        if (lg_py_runtime_range)
            lg_py_runtime_range(&lg_g.py_lo, &lg_g.py_hi);
        lg_g.py = lg_g.py_hi > lg_g.py_lo;
        lg_g.py_span = lg_g.py ? lg_g.py_hi - lg_g.py_lo : 0;
        if (lg_g.py && frames != 1)
            lg_say_py_unavailable(dir);
        if (lg_g.py && frames == 1 && lg_py_text_range)
            lg_py_text_range(&lg_g.pytext_lo, &lg_g.pytext_hi);
    }
    lg_mutex_selftest();
    lg_locktable_init();
    lg_stacks_init();
    if (lg_trace_open(0, 0, 0) != 0) {
        atomic_store(&lg_g.state, LG_ST_OFF);
        return;
    }
    if (lg_g.py)
        lg_trace_set_flag(LG_TRACE_F_PYTHON);
    lg_tt_open();
    lg_fatal_install();
    atomic_store(&lg_g.state, LG_ST_ACTIVE);
    lg_modules_scan();
}

struct lg_thread *lg_enter_slow(void)
{
    if (lg_tls_guard)
        return NULL;
    int e = errno;
    lg_tls_guard = 1;
    int st = atomic_load_explicit(&lg_g.state, memory_order_acquire);
    if (st == LG_ST_UNINIT) {
        lg_init();
        st = atomic_load(&lg_g.state);
    }
    struct lg_thread *t = NULL;
    if (st == LG_ST_ACTIVE)
        t = lg_thread_attach(-1, NULL, 0, 0);
    if (!t)
        /* Not recording (no LOCKGRAPH_DIR, or no room): this thread's
         * later calls go straight through at the cost of one TLS load. */
        lg_tls_guard = st == LG_ST_OFF ? LG_GUARD_DEAD : 0;
    errno = e;
    return t;
}

/* Programs that never call a hook still get a trace (header, modules). */
__attribute__((constructor)) static void lg_ctor(void)
{
    struct lg_thread *t = lg_enter();
    if (t)
        lg_leave(t);
}

/* Clean end on a normal exit: exit() and return from main run this; the
 * PROC_EXIT record is written by the exit hook (or here, status unknown). */
__attribute__((destructor)) static void lg_dtor(void)
{
    if (atomic_load(&lg_g.state) != LG_ST_ACTIVE || getpid() != lg_g.pid)
        return;
    int e = errno;
    int g = lg_tls_guard;
    lg_tls_guard = 1;
    if (!lg_proc_exit_written) {
        lg_proc_exit_written = 1;
        lg_proc_end(LG_END_RETURN, -1);
    }
    /* The process is going: its slots go too (atexit handlers, which may
     * have blocked and been published, have run by now). */
    for (struct lg_thread *t = lg_thread_first(); t; t = t->next)
        if (atomic_load(&t->alive))
            lg_tt_free(t);
    lg_trace_finish();
    lg_tls_guard = g;
    errno = e;
}
