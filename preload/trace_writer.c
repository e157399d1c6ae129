/* SPDX-License-Identifier: MIT */
/*
 * trace_writer.c — appends records to this process's trace file
 * ($LOCKGRAPH_DIR/trace-<pid>-<n>.lgt, format in trace/lg_trace.h). The
 * file is mapped MAP_SHARED into a virtual range reserved once, so every
 * committed byte is in the page cache and survives SIGKILL or a crash.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lg_shim.h"

#define LG_RESERVE (8ull << 30)      /* virtual only (PROT_NONE): the trace's upper bound */
#define LG_CHUNK_MIN (1ull << 20)
#define LG_CHUNK_MAX (64ull << 20)
#define LG_ZAP_STEP (16ull << 10)     /* power of two */

static struct {
    int fd;
    char *base;                      /* reserved range; file offset 0 at base */
    _Atomic uint64_t off;            /* next free byte */
    _Atomic uint64_t mapped;         /* file length, all of it mapped */
    _Atomic int grow_spin;           /* raw spin flag: never a lock the program sees */
    _Atomic int closed;              /* finished or full: writes are dropped */
    _Atomic int inflight;            /* writers between begin and commit */
    _Atomic int full_said;
    _Atomic int finished;
    _Atomic uint64_t fail_off;       /* lowest reservation that found no room */
} W = { .fd = -1, .fail_off = UINT64_MAX };

static char lg_dir[PATH_MAX];
static char lg_path[PATH_MAX];                /* this trace's file, absolute */
static uint64_t lg_dev, lg_ino;               /* ... and its identity */
static uint64_t lg_trace_max = LG_RESERVE;   /* LOCKGRAPH_OPTIONS=trace_max=BYTES lowers it */
uint32_t lg_trace_exec_seq;

int lg_trace_active(void) { return W.base && !atomic_load_explicit(&W.closed, memory_order_relaxed); }
char *lg_trace_base(void) { return (char *)W.base; }

static struct lg_trace_header *hdr(void) { return (struct lg_trace_header *)W.base; }

void lg_trace_set_flag(uint32_t f)
{
    if (W.base)
        __atomic_fetch_or(&hdr()->flags, f, __ATOMIC_RELAXED);
}

static size_t fmt_u(char *p, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10));
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static ssize_t read_whole(const char *path, char *buf, size_t max)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < max) {
        long n = syscall(SYS_read, fd, buf + got, max - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    syscall(SYS_close, fd);
    return (ssize_t)got;
}

/* Our fd, checked before each use: a daemon that closes every fd, or a
 * shell's `exec 3>file`, may have made its number someone else's file —
 * which we must never truncate. Reopened by path when it is not ours. */
static int lg_trace_fd(void)
{
    struct stat st;
    if (W.fd >= 0 && syscall(SYS_fstat, W.fd, &st) == 0 && (uint64_t)st.st_dev == lg_dev &&
        (uint64_t)st.st_ino == lg_ino)
        return W.fd;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, lg_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    if (syscall(SYS_fstat, fd, &st) != 0 || (uint64_t)st.st_dev != lg_dev || (uint64_t)st.st_ino != lg_ino) {
        syscall(SYS_close, fd);
        return -1;
    }
    /* Far from the low numbers programs and shells use by hand. */
    int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 600);
    if (high >= 0) {
        syscall(SYS_close, fd);
        fd = high;
    }
    W.fd = fd;
    return fd;
}

/* Make file [mapped, need) exist and be mapped. Returns 0 or -1 (no room). */
static int lg_trace_grow(uint64_t need)
{
    if (need > lg_trace_max)
        return -1;
    for (long spins = 0; atomic_load_explicit(&W.mapped, memory_order_acquire) < need; spins++) {
        if (atomic_exchange_explicit(&W.grow_spin, 1, memory_order_acquire)) {
            __builtin_ia32_pause();
            if (spins > 100000000)
                return -1;
            continue;
        }
        uint64_t cur = atomic_load_explicit(&W.mapped, memory_order_relaxed);
        int rc = 0;
        if (cur < need) {
            uint64_t chunk = cur < LG_CHUNK_MIN ? LG_CHUNK_MIN : (cur > LG_CHUNK_MAX ? LG_CHUNK_MAX : cur);
            uint64_t len = cur + chunk;
            while (len < need)
                len += chunk;
            if (len > lg_trace_max)
                len = lg_trace_max;
            int fd = lg_trace_fd();
            if (fd < 0 || syscall(SYS_ftruncate, fd, (long)len) != 0 ||
                mmap(W.base + cur, len - cur, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                     (off_t)cur) == MAP_FAILED)
                rc = -1;
            else
                atomic_store_explicit(&W.mapped, len, memory_order_release);
        }
        atomic_store_explicit(&W.grow_spin, 0, memory_order_release);
        if (rc)
            return -1;
    }
    return 0;
}

static void lg_trace_full(void)
{
    lg_trace_set_flag(LG_TRACE_F_TRUNCATED);
    atomic_store(&W.closed, 1);
    if (!atomic_exchange(&W.full_said, 1))
        lg_say("trace file is full; recording stopped (LG_TRACE_F_TRUNCATED set)");
}

void *lg_rec_begin(uint32_t n, struct lg_rec_hdr **hp)
{
    if (!W.base || atomic_load_explicit(&W.closed, memory_order_relaxed))
        return NULL;
    atomic_fetch_add_explicit(&W.inflight, 1, memory_order_acq_rel);
    if (atomic_load_explicit(&W.closed, memory_order_acquire))
        goto drop;
    uint32_t size = lg_rec_align((uint32_t)sizeof(struct lg_rec_hdr) + n);
    uint64_t off = atomic_fetch_add_explicit(&W.off, size, memory_order_relaxed);
    if (off + size > atomic_load_explicit(&W.mapped, memory_order_acquire) && lg_trace_grow(off + size) != 0) {
        uint64_t f = atomic_load(&W.fail_off);
        while (off < f && !atomic_compare_exchange_weak(&W.fail_off, &f, off))
            ;
        lg_trace_full();
        goto drop;
    }
    /* Each LG_ZAP_STEP of trace written gives back the step before the
     * one just finished (and the few before it, for records finished
     * late): the program's RSS does not grow with its trace, and each call
     * covers a bounded range. */
    if (LG_UNLIKELY((off ^ (off + size)) >= LG_ZAP_STEP)) {
        uint64_t b = (off + size) & ~(uint64_t)(LG_ZAP_STEP - 1);
        if (b >= 2 * LG_ZAP_STEP) {
            uint64_t hi = b - LG_ZAP_STEP, lo = hi > 32 * LG_ZAP_STEP ? hi - 32 * LG_ZAP_STEP : 0;
            madvise(W.base + lo, hi - lo, MADV_DONTNEED);
        }
    }
    struct lg_rec_hdr *h = (struct lg_rec_hdr *)(W.base + off);
    h->size = size;
    memset(h + 1, 0, size - sizeof *h);    /* a reused file range after a failed exec */
    *hp = h;
    return h + 1;
drop:
    atomic_fetch_sub_explicit(&W.inflight, 1, memory_order_release);
    return NULL;
}

void lg_trace_add_count(uint64_t off, uint32_t add)
{
    if (!W.base || off + 4 > atomic_load_explicit(&W.mapped, memory_order_acquire))
        return;
    uint32_t c;
    int fd = lg_trace_fd();
    /* Through the file: the page is not mapped into the program (pread
     * and pwrite see the same page cache as the mapping). */
    if (fd >= 0 && syscall(SYS_pread64, fd, &c, 4, (long)off) == 4) {
        c = lg_sat_add32(c, add);
        if (syscall(SYS_pwrite64, fd, &c, 4, (long)off) == 4)
            return;
    }
    uint32_t *p = (uint32_t *)(void *)(W.base + off);
    *p = lg_sat_add32(*p, add);
}

/* Commit: everything but kind is stored first; kind last with release, so
 * a reader that sees kind sees the whole record. */
void lg_rec_commit(struct lg_rec_hdr *h, int kind, int flags)
{
    lg_rec_commit_at(h, kind, flags, 0);
}

void lg_rec_commit_at(struct lg_rec_hdr *h, int kind, int flags, uint64_t time_ns)
{
    h->flags = (uint16_t)flags;
    struct lg_thread *self = lg_tls_self;
    h->tid = self ? self->tid : lg_gettid();
    h->time_ns = time_ns ? time_ns : lg_now_ns();
    if (self)
        self->py_end_ns = 0;   /* it did something after releasing its sentinel */
    __atomic_store_n(&h->kind, (uint16_t)kind, __ATOMIC_RELEASE);
    atomic_fetch_sub_explicit(&W.inflight, 1, memory_order_release);
}

/* Contract: creates the next free trace-<pid>-<n>.lgt (O_EXCL) and writes
 * its header. 0 on success, -1 when not recording (no LOCKGRAPH_DIR, or
 * the file cannot be made). */
int lg_trace_open(int forked, uint64_t fork_ns, pid_t fork_parent_tid)
{
    if (!lg_dir[0]) {
        const char *d = getenv(LG_ENV_DIR);
        if (!d || !*d || strlen(d) > sizeof lg_dir - 64)
            return -1;
        strcpy(lg_dir, d);
        const char *o = getenv(LG_ENV_OPTIONS), *m = o ? strstr(o, "trace_max=") : NULL;
        if (m) {
            uint64_t v = strtoull(m + 10, NULL, 0);
            if (v >= 2 * LG_TRACE_HEADER_SIZE && v < LG_RESERVE)
                lg_trace_max = v;
        }
    }
    char path[PATH_MAX];
    size_t dl = strlen(lg_dir);
    memcpy(path, lg_dir, dl);
    int fd = -1;
    pid_t pid = getpid();
    uint32_t seq;
    for (seq = 0; seq < 100000; seq++) {
        char *p = path + dl;
        memcpy(p, "/trace-", 7), p += 7;
        p += fmt_u(p, (unsigned long)pid);
        *p++ = '-';
        p += fmt_u(p, seq);
        memcpy(p, ".lgt", 5);
        fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        lg_say("cannot create the trace file in LOCKGRAPH_DIR; not recording");
        return -1;
    }
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    lg_dev = (uint64_t)st.st_dev;
    lg_ino = (uint64_t)st.st_ino;
    snprintf(lg_path, sizeof lg_path, "%s", path);
    int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 600);
    if (high >= 0) {
        syscall(SYS_close, fd);
        fd = high;
    }
    void *base = mmap(NULL, LG_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        syscall(SYS_close, fd);
        return -1;
    }
    W.fd = fd;
    W.base = base;
    atomic_store(&W.mapped, 0);
    atomic_store(&W.off, LG_TRACE_HEADER_SIZE);
    atomic_store(&W.closed, 0);
    atomic_store(&W.finished, 0);
    atomic_store(&W.fail_off, UINT64_MAX);
    atomic_store(&W.inflight, 0);
    atomic_store(&W.grow_spin, 0);
    if (lg_trace_grow(LG_TRACE_HEADER_SIZE) != 0) {
        munmap(base, LG_RESERVE);
        syscall(SYS_close, fd);
        W.base = NULL;
        return -1;
    }
    lg_trace_exec_seq = seq;
    struct lg_trace_header *h = hdr();
    memcpy(h->magic, LG_TRACE_MAGIC, 8);
    h->version = LG_TRACE_VERSION;
    h->header_size = LG_TRACE_HEADER_SIZE;
    h->pid = pid;
    h->ppid = getppid();
    h->exec_seq = seq;
    h->start_ns = lg_now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    if (forked) {
        h->flags |= LG_TRACE_F_FORKED;
        h->fork_ns = fork_ns;
        h->fork_parent_tid = fork_parent_tid;
    }
    long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", h->exe, sizeof h->exe - 1);
    if (n > 0)
        h->exe[n] = 0;
    ssize_t an = read_whole("/proc/self/cmdline", h->args, sizeof h->args - 1);
    uint32_t argc = 0;
    for (ssize_t i = 0; i < an; i++)
        if (!h->args[i])
            argc++;
    if (an > 0 && h->args[an - 1])
        h->args[an] = 0, argc++;
    h->argc = argc;
    return 0;
}

/* Clean end: no write after this one lands; the file is cut to the bytes
 * used. Waits (briefly) for writers already between begin and commit. */
void lg_trace_finish(void)
{
    if (!W.base || atomic_exchange(&W.finished, 1))
        return;
    atomic_store(&W.closed, 1);
    for (long i = 0; i < 10000000 && atomic_load(&W.inflight); i++)
        __builtin_ia32_pause();
    uint64_t used = atomic_load(&W.off);
    uint64_t mapped = atomic_load(&W.mapped);
    uint64_t failed = atomic_load(&W.fail_off);
    if (used > mapped)
        used = mapped;
    if (used > failed)
        used = failed;   /* a full trace ends where the first record did not fit */
    struct lg_trace_header *h = hdr();
    h->end_offset = used;
    h->end_ns = lg_now_ns();
    __atomic_fetch_or(&h->flags, LG_TRACE_F_CLEAN_END, __ATOMIC_RELEASE);
    int fd = lg_trace_fd();
    if (fd >= 0)
        syscall(SYS_ftruncate, fd, (long)used);
    atomic_store(&W.off, used);
}

/* exec failed: the image goes on, so does its trace. */
void lg_trace_unfinish(void)
{
    if (!W.base || (hdr()->flags & LG_TRACE_F_TRUNCATED))
        return;
    struct lg_trace_header *h = hdr();
    int fd = lg_trace_fd();
    if (fd < 0 || syscall(SYS_ftruncate, fd, (long)atomic_load(&W.mapped)) != 0)
        return;
    __atomic_fetch_and(&h->flags, ~(uint32_t)LG_TRACE_F_CLEAN_END, __ATOMIC_RELAXED);
    h->end_offset = 0;
    h->end_ns = 0;
    atomic_store(&W.finished, 0);
    atomic_store(&W.closed, 0);
}

/* Fork child: the inherited mapping is the parent's file; let go of it. */
void lg_trace_drop_for_child(void)
{
    if (W.base) {
        munmap(W.base, LG_RESERVE);
        struct stat st;
        /* only if that number is still our file: never close the program's */
        if (W.fd >= 0 && syscall(SYS_fstat, W.fd, &st) == 0 && (uint64_t)st.st_dev == lg_dev &&
            (uint64_t)st.st_ino == lg_ino)
            syscall(SYS_close, W.fd);
    }
    W.base = NULL;
    W.fd = -1;
    atomic_store(&W.full_said, 0);
}
