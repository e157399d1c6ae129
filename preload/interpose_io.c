/* SPDX-License-Identifier: MIT */
/*
 * interpose_io.c — owns ALL fd I/O interposition of the shim: files
 * (open/creat/openat, the stdio family, read/write/pread/pwrite/readv/
 * writev, ftruncate/truncate, rename), pipes, FIFOs and socketpairs
 * (pipe/pipe2/socketpair/dup/close), and file locks (flock, lockf, fcntl
 * F_SETLK/F_SETLKW/F_OFD_*). It writes the records of kinds 40-49
 * (trace/lg_trace.h) for analyzer/race.c and analyzer/hang.c, and
 * publishes LG_BLOCK_PIPE_READ/PIPE_WRITE/FLOCK in the thread table
 * before a call that may block, for the supervisor.
 *
 * Hot path: read/write are hot in real programs (sort, xz), so no fstat
 * per call: a per-process fd table (fd -> type, dev, ino, flags, session)
 * is filled at open/pipe/dup and lazily by one fstat on the first use of
 * an unknown fd, and invalidated at close/dup2 (without the guard, so a
 * close the shim did not record can never leave a stale identity behind).
 * Ignored fds (standard streams unless they are pipes, terminals, other
 * devices, directories, sockets other than socketpairs, /proc, /sys, /dev,
 * the tool's own output folder) cost one array load. A tracked file costs, after its
 * first access per (thread, session, op), a few relaxed atomic adds and a
 * vDSO clock read: the FILE_ACCESS / PIPE_IO record is bumped in place.
 *
 * stdio: glibc's fopen, fread, fprintf... reach open/read/write through
 * internal aliases that LD_PRELOAD cannot see, so the stdio calls that
 * move data through an explicit FILE* are wrapped too, and attributed to
 * the session of fileno(FILE) with the stack of the stdio call the
 * program made. Data still buffered at fclose is recorded as a write at
 * the fclose. printf/puts/scanf go to the standard streams: ignored.
 *
 * Known gaps: memory-mapped file writes, sendfile/splice/copy_file_range,
 * io_uring and raw syscall(2) are not seen; O_NONBLOCK set by ioctl
 * (FIONBIO) is not noticed (a published non-blocking call returns at once
 * and is unpublished: harmless); a thread cancelled inside a blocking
 * read/write keeps its slot published until the shim frees it at thread
 * end; fds at or above IO_MAX_FD are passed through untracked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lg_shim.h"

/* ---- real functions --------------------------------------------------
 * Our own table, resolved like real.c (default version by dlvsym, once,
 * lazily: hooks run before any constructor). Kept here so the I/O family
 * does not touch the core table; the versions are those of x86_64 glibc
 * 2.36 (objdump -T libc.so.6). */
#define LG_IO_REALS(X)                                                   \
    X(open, "GLIBC_2.2.5") X(open64, "GLIBC_2.2.5")                      \
    X(openat, "GLIBC_2.4") X(openat64, "GLIBC_2.4")                      \
    X(__open_2, "GLIBC_2.7") X(__open64_2, "GLIBC_2.7")                  \
    X(__openat_2, "GLIBC_2.7") X(__openat64_2, "GLIBC_2.7")              \
    X(creat, "GLIBC_2.2.5") X(creat64, "GLIBC_2.2.5")                    \
    X(fopen, "GLIBC_2.2.5") X(fopen64, "GLIBC_2.2.5")                    \
    X(fclose, "GLIBC_2.2.5") X(pclose, "GLIBC_2.2.5")                    \
    X(freopen, "GLIBC_2.2.5") X(freopen64, "GLIBC_2.2.5")                \
    X(close_range, "GLIBC_2.34") X(closefrom, "GLIBC_2.34")              \
    X(read, "GLIBC_2.2.5") X(write, "GLIBC_2.2.5")                       \
    X(pread, "GLIBC_2.2.5") X(pread64, "GLIBC_2.2.5")                    \
    X(pwrite, "GLIBC_2.2.5") X(pwrite64, "GLIBC_2.2.5")                  \
    X(readv, "GLIBC_2.2.5") X(writev, "GLIBC_2.2.5")                     \
    X(ftruncate, "GLIBC_2.2.5") X(ftruncate64, "GLIBC_2.2.5")            \
    X(truncate, "GLIBC_2.2.5")                                           \
    X(rename, "GLIBC_2.2.5") X(renameat, "GLIBC_2.4")                    \
    X(close, "GLIBC_2.2.5")                                              \
    X(dup, "GLIBC_2.2.5") X(dup2, "GLIBC_2.2.5") X(dup3, "GLIBC_2.9")    \
    X(pipe, "GLIBC_2.2.5") X(pipe2, "GLIBC_2.9")                         \
    X(socketpair, "GLIBC_2.2.5")                                         \
    X(flock, "GLIBC_2.2.5")                                              \
    X(lockf, "GLIBC_2.2.5") X(lockf64, "GLIBC_2.2.5")                    \
    X(fcntl, "GLIBC_2.2.5") X(fcntl64, "GLIBC_2.28")                     \
    X(fread, "GLIBC_2.2.5") X(fwrite, "GLIBC_2.2.5")                     \
    X(fgets, "GLIBC_2.2.5") X(fputs, "GLIBC_2.2.5")                      \
    X(fgetc, "GLIBC_2.2.5") X(fputc, "GLIBC_2.2.5")                      \
    X(getc, "GLIBC_2.2.5") X(putc, "GLIBC_2.2.5")                        \
    X(vfprintf, "GLIBC_2.2.5") X(vfscanf, "GLIBC_2.2.5")                 \
    X(__isoc99_vfscanf, "GLIBC_2.7")                                     \
    X(__vfprintf_chk, "GLIBC_2.3.4")                                     \
    X(__fgets_chk, "GLIBC_2.4") X(__fread_chk, "GLIBC_2.7")              \
    X(getline, "GLIBC_2.2.5") X(getdelim, "GLIBC_2.2.5")

/* Declarations glibc's headers do not give (or give under other names). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __isoc99_vfscanf(FILE *fp, const char *fmt, va_list ap);
int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap);
char *__fgets_chk(char *buf, size_t size, int n, FILE *fp);
size_t __fread_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp);
int fcntl64(int fd, int cmd, ...);

#define IO_REAL_DEF(name, ver) static __typeof__(name) *io_real_##name;
LG_IO_REALS(IO_REAL_DEF)

/* Contract: after return every io_real_* pointer is set (NULL only when
 * libc lacks the symbol). A failed dlvsym allocates and every lookup
 * takes the loader lock: this runs once, never on a hot path. */
static void io_real_resolve(void)
{
    static _Atomic int done;
    if (atomic_load_explicit(&done, memory_order_acquire))
        return;
    void *p;
#define IO_REAL_RESOLVE(name, ver)                 \
    p = dlvsym(RTLD_NEXT, #name, ver);             \
    if (!p)                                        \
        p = dlsym(RTLD_NEXT, #name);               \
    __atomic_store_n((void **)&io_real_##name, p, __ATOMIC_RELAXED);
    LG_IO_REALS(IO_REAL_RESOLVE)
    atomic_store_explicit(&done, 1, memory_order_release);
}

#define IO_REAL(name) \
    (LG_LIKELY(io_real_##name != 0) ? io_real_##name : (io_real_resolve(), io_real_##name))

/* ---- the fd table ---------------------------------------------------- */

#define IO_MAX_FD 8192
#define IO_SLOTS 4             /* (thread, op) record pointers kept per fd */
#define IO_MAX_FLOCKS 256      /* file locks held at once, whole process */
#define IO_MAX_ACCESS_RECS 200000u /* FILE_ACCESS + PIPE_IO per image, then stop */
#define IO_MAX_OPEN_RECS 200000u   /* FD_OPEN per image, then stop */
#define IO_MAX_LOCK_RECS 100000u   /* FILE_LOCK per image, then stop */
#define IO_MAX_HELD_REC 32u        /* locks listed in one FILE_ACCESS */

enum io_state { IO_UNKNOWN = 0, IO_IGNORED = 1, IO_TRACKED = 2, IO_BUSY = 3 };

/* Slot ops: file ops (enum lg_file_op) and pipe directions (+8). */
#define IO_OP_PIPE(dir) (8 + (dir))

struct io_slot {
    _Atomic uint64_t key;      /* epoch<<48 | tid<<8 | op; 0 empty */
    _Atomic uint64_t fp;       /* fingerprint of the held set the record was made with */
    void *_Atomic rec;         /* lg_rec_file_access or lg_rec_pipe_io payload */
    struct lg_stackent *_Atomic stack;  /* stack of the first call (pipes: reused to publish) */
};

struct io_fd {
    _Atomic uint32_t state;    /* enum io_state */
    uint16_t epoch;            /* lg_g.epoch when filled: a fork child re-announces */
    uint16_t type;             /* enum lg_fd_type */
    _Atomic uint32_t oflags;   /* open flags; O_NONBLOCK kept current by fcntl(F_SETFL) */
    uint32_t fdo;              /* enum lg_fd_open_flags */
    uint64_t dev, ino, peer_ino;
    uint64_t session;
    _Atomic uint32_t next_slot;
    struct io_slot slot[IO_SLOTS];
};

static struct io_fd io_fds[IO_MAX_FD];
static _Atomic uint64_t io_next_session = 1;
static _Atomic uint32_t io_nrec_access, io_nrec_open, io_nrec_lock;
static _Atomic int io_said_full;

/* One file lock a thread of this process holds. flock locks belong to
 * the open file description (session), POSIX locks to the process; both
 * are credited to the thread that took them, which is what a race report
 * needs ("what did this actor hold when it wrote"). */
struct io_flock {
    _Atomic int32_t tid;       /* 0: free */
    uint16_t kind, mode;       /* enum lg_io_lock_kind, enum lg_acq_mode */
    uint16_t epoch;
    int32_t fd;
    uint64_t session, dev, ino;
    int64_t start, len;
};
static struct io_flock io_flocks[IO_MAX_FLOCKS];

static inline struct io_fd *io_fd_at(int fd)
{
    return (unsigned)fd < IO_MAX_FD ? &io_fds[fd] : NULL;
}

/* Forget what we knew about fd (close, dup2 target, an open we could not
 * record). No guard needed: one atomic store; the next use rediscovers it. */
static inline void io_fd_forget(int fd)
{
    struct io_fd *e = io_fd_at(fd);
    if (e)
        atomic_store_explicit(&e->state, IO_UNKNOWN, memory_order_release);
}

static void io_say_full(const char *what)
{
    if (!atomic_exchange(&io_said_full, 1))
        lg_say(what);
}

/* ---- ignore rules ---------------------------------------------------- */

static char io_outdir[PATH_MAX];
static size_t io_outdir_len;
static _Atomic int io_outdir_done;

static void io_outdir_init(void)
{
    if (atomic_load_explicit(&io_outdir_done, memory_order_acquire))
        return;
    const char *d = getenv(LG_ENV_DIR);
    if (d && *d) {
        size_t n = strlen(d);
        if (n < sizeof(io_outdir) - 1) {
            memcpy(io_outdir, d, n);
            while (n > 1 && io_outdir[n - 1] == '/')
                n--;
            io_outdir[n] = 0;
            io_outdir_len = n;
        }
    }
    atomic_store_explicit(&io_outdir_done, 1, memory_order_release);
}

static int io_has_prefix(const char *path, const char *dir, size_t n)
{
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* 1 when a path names something a race report must never mention. Only
 * absolute paths can be judged by name; relative ones are judged by type. */
static int io_path_ignored(const char *path)
{
    if (!path || path[0] != '/')
        return 0;
    if (io_has_prefix(path, "/proc", 5) || io_has_prefix(path, "/sys", 4) ||
        io_has_prefix(path, "/dev", 4))
        return 1;
    io_outdir_init();
    return io_outdir_len && io_has_prefix(path, io_outdir, io_outdir_len);
}

/* ---- records ----------------------------------------------------------- */

static uint32_t io_stack_id(struct lg_stackent *s)
{
    return s ? lg_stack_id(s) : 0;
}

/* FD_OPEN for a filled entry. Guard set. */
static void io_rec_open(struct lg_thread *t, int fd, const struct io_fd *e, uint32_t fdo,
                        uint64_t parent, const char *path, struct lg_stackent *st)
{
    if (atomic_fetch_add_explicit(&io_nrec_open, 1, memory_order_relaxed) >= IO_MAX_OPEN_RECS) {
        io_say_full("lockgraph: too many file opens; file and pipe records stop here");
        return;
    }
    size_t plen = path ? strnlen(path, PATH_MAX - 1) : 0;
    struct lg_rec_hdr *h;
    struct lg_rec_fd_open *r = lg_rec_begin((uint32_t)(sizeof(*r) + plen + 1), &h);
    if (!r)
        return;
    r->session = e->session;
    r->parent_session = parent;
    r->dev = e->dev;
    r->ino = e->ino;
    r->peer_ino = e->peer_ino;
    r->fd = fd;
    r->type = e->type;
    r->oflags = atomic_load_explicit(&((struct io_fd *)e)->oflags, memory_order_relaxed);
    r->stack_id = io_stack_id(st);
    r->path_len = (uint32_t)plen;
    if (plen)
        memcpy(r->path, path, plen);
    lg_rec_commit(h, LG_REC_FD_OPEN, (int)fdo);
    (void)t;
}

static void io_rec_close(int fd, const struct io_fd *e)
{
    struct lg_rec_hdr *h;
    struct lg_rec_fd_close *r = lg_rec_begin(sizeof(*r), &h);
    if (!r)
        return;
    r->session = e->session;
    r->fd = fd;
    lg_rec_commit(h, LG_REC_FD_CLOSE, 0);
}

/* The locks t holds now: the shim's (pthread, semaphores) then this
 * thread's file locks. Guard set. Returns how many were stored. */
static uint32_t io_held_snapshot(struct lg_thread *t, struct lg_io_held *out, uint32_t max)
{
    uint32_t n = 0;
    uint32_t nheld = t->nheld < LG_MAX_HELD ? t->nheld : LG_MAX_HELD;
    for (uint32_t i = 0; i < nheld && n < max; i++) {
        struct lg_held_ent *h = &t->held[i];
        if (h->cond_waiting || !h->lock)
            continue;
        uint64_t id = lg_lock_announce(h->lock);
        if (!id)
            continue;
        out[n].lock_id = id;
        out[n].kind = LG_IOL_LOCK;
        out[n].mode = h->mode;
        n++;
    }
    for (int i = 0; i < IO_MAX_FLOCKS && n < max; i++) {
        struct io_flock *f = &io_flocks[i];
        if (atomic_load_explicit(&f->tid, memory_order_acquire) != t->tid || f->epoch != lg_g.epoch)
            continue;
        out[n].dev = f->dev;
        out[n].ino = f->ino;
        out[n].start = f->start;
        out[n].len = f->len;
        out[n].kind = f->kind;
        out[n].mode = f->mode;
        n++;
    }
    return n;
}

/* Find this thread's record for (op, held-set fingerprint) in the
 * entry, or NULL. */
static inline void *io_slot_find(struct io_fd *e, uint64_t key, uint64_t fp,
                                 struct lg_stackent **stack)
{
    for (int i = 0; i < IO_SLOTS; i++) {
        struct io_slot *s = &e->slot[i];
        if (atomic_load_explicit(&s->key, memory_order_acquire) != key ||
            atomic_load_explicit(&s->fp, memory_order_relaxed) != fp)
            continue;
        void *rec = atomic_load_explicit(&s->rec, memory_order_acquire);
        if (stack)
            *stack = atomic_load_explicit(&s->stack, memory_order_relaxed);
        if (atomic_load_explicit(&s->key, memory_order_acquire) == key)
            return rec;
    }
    return NULL;
}

static void io_slot_put(struct io_fd *e, uint64_t key, uint64_t fp, void *rec,
                        struct lg_stackent *st)
{
    uint32_t i = atomic_fetch_add_explicit(&e->next_slot, 1, memory_order_relaxed) % IO_SLOTS;
    struct io_slot *s = &e->slot[i];
    atomic_store_explicit(&s->key, 0, memory_order_release);
    atomic_store_explicit(&s->fp, fp, memory_order_relaxed);
    atomic_store_explicit(&s->rec, rec, memory_order_release);
    atomic_store_explicit(&s->stack, st, memory_order_relaxed);
    atomic_store_explicit(&s->key, key, memory_order_release);
}

static inline uint64_t io_key(struct lg_thread *t, int op)
{
    return ((uint64_t)lg_g.epoch << 48) | ((uint64_t)(uint32_t)t->tid << 8) | (uint64_t)op;
}

/* Bumped whenever a file lock is taken or released in this process. */
static _Atomic uint64_t io_flock_version;

/* A cheap fingerprint of what t holds now: a new FILE_ACCESS record is
 * written when a session is used under a different held set than its
 * record says (first write unlocked, later ones under a lock, or the
 * reverse), so the analyzer sees each lockset; alternating sets stay in
 * the per-fd slots and only bump counts. */
static inline uint64_t io_held_fp(const struct lg_thread *t)
{
    uint32_t n = t->nheld < LG_MAX_HELD ? t->nheld : LG_MAX_HELD;
    uint64_t top = n ? t->held[n - 1].lock_id : 0;
    uint64_t v = atomic_load_explicit(&io_flock_version, memory_order_relaxed);
    return ((uint64_t)n * 0x9e3779b97f4a7c15ull) ^ (top * 0xbf58476d1ce4e5b9ull) ^ v;
}

static void io_slots_clear(struct io_fd *e)
{
    for (int i = 0; i < IO_SLOTS; i++)
        atomic_store_explicit(&e->slot[i].key, 0, memory_order_relaxed);
}

/* FILE_ACCESS: new record the first time (thread, session, op) is seen,
 * else bump the existing one in place. Guard set. */
static void io_file_access(struct lg_thread *t, int fd, struct io_fd *e, int op, uint64_t bytes,
                           struct lg_stackent *known)
{
    uint64_t key = io_key(t, op);
    uint64_t fp = io_held_fp(t);
    struct lg_rec_file_access *r = io_slot_find(e, key, fp, NULL);
    uint64_t now = lg_now_ns();
    t->py_end_ns = 0;   /* traced work after the sentinel's post: the end is now */
    if (r) {
        if (!lg_trace_active())
            return;
        __atomic_fetch_add(&r->count, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&r->bytes, bytes, __ATOMIC_RELAXED);
        __atomic_store_n(&r->last_ns, now, __ATOMIC_RELAXED);
        return;
    }
    if (atomic_fetch_add_explicit(&io_nrec_access, 1, memory_order_relaxed) >= IO_MAX_ACCESS_RECS) {
        io_say_full("lockgraph: too many file accesses; file and pipe records stop here");
        return;
    }
    struct lg_io_held held[IO_MAX_HELD_REC];
    uint32_t nheld = io_held_snapshot(t, held, IO_MAX_HELD_REC);
    struct lg_stackent *st = known ? known : lg_stack_capture(t, 0);
    uint32_t stack_id = io_stack_id(st);
    struct lg_rec_hdr *h;
    r = lg_rec_begin((uint32_t)(sizeof(*r) + nheld * sizeof(held[0])), &h);
    if (!r)
        return;
    r->session = e->session;
    r->dev = e->dev;
    r->ino = e->ino;
    r->count = 1;
    r->bytes = bytes;
    r->last_ns = now;
    r->fd = fd;
    r->op = (uint32_t)op;
    r->stack_id = stack_id;
    r->nheld = nheld;
    memcpy(r->held, held, nheld * sizeof(held[0]));
    lg_rec_commit(h, LG_REC_FILE_ACCESS, 0);
    io_slot_put(e, key, fp, r, st);
}

/* A path operation (rename onto, truncate by name): FILE_ACCESS with
 * session 0, every time (they are rare). Guard set. */
static void io_path_access(struct lg_thread *t, int op, const struct stat *target,
                           uint64_t aux_ino, const char *path)
{
    if (atomic_fetch_add_explicit(&io_nrec_access, 1, memory_order_relaxed) >= IO_MAX_ACCESS_RECS)
        return;
    struct lg_io_held held[IO_MAX_HELD_REC];
    uint32_t nheld = io_held_snapshot(t, held, IO_MAX_HELD_REC);
    uint32_t stack_id = io_stack_id(lg_stack_capture(t, 0));
    size_t plen = path ? strnlen(path, PATH_MAX - 1) : 0;
    struct lg_rec_hdr *h;
    struct lg_rec_file_access *r =
        lg_rec_begin((uint32_t)(sizeof(*r) + nheld * sizeof(held[0]) + plen + 1), &h);
    if (!r)
        return;
    r->dev = target->st_dev;
    r->ino = target->st_ino;
    r->aux_ino = aux_ino;
    r->count = 1;
    r->last_ns = lg_now_ns();
    r->fd = -1;
    r->op = (uint32_t)op;
    r->stack_id = stack_id;
    r->nheld = nheld;
    r->path_len = (uint32_t)plen;
    memcpy(r->held, held, nheld * sizeof(held[0]));
    if (plen)
        memcpy((char *)(r->held + nheld), path, plen);
    lg_rec_commit(h, LG_REC_FILE_ACCESS, 0);
}

/* PIPE_IO: first call per (thread, pipe end, direction), then in place. */
static void io_pipe_traffic(struct lg_thread *t, int fd, struct io_fd *e, int dir, uint64_t bytes,
                            struct lg_stackent *known)
{
    uint64_t key = io_key(t, IO_OP_PIPE(dir));
    struct lg_rec_pipe_io *r = io_slot_find(e, key, 0, NULL);
    uint64_t now = lg_now_ns();
    t->py_end_ns = 0;
    if (r) {
        if (!lg_trace_active())
            return;
        __atomic_fetch_add(&r->bytes, bytes, __ATOMIC_RELAXED);
        __atomic_fetch_add(&r->calls, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&r->last_ns, now, __ATOMIC_RELAXED);
        return;
    }
    if (atomic_fetch_add_explicit(&io_nrec_access, 1, memory_order_relaxed) >= IO_MAX_ACCESS_RECS) {
        io_say_full("lockgraph: too many file accesses; file and pipe records stop here");
        return;
    }
    struct lg_stackent *st = known ? known : lg_stack_capture(t, 0);
    struct lg_rec_hdr *h;
    r = lg_rec_begin(sizeof(*r), &h);
    if (!r)
        return;
    r->ino = e->ino;
    r->peer_ino = e->peer_ino;
    r->session = e->session;
    r->bytes = bytes;
    r->calls = 1;
    r->last_ns = now;
    r->first_bytes = bytes;
    r->fd = fd;
    r->dir = (uint32_t)dir;
    r->type = e->type;
    r->stack_id = io_stack_id(st);
    lg_rec_commit(h, LG_REC_PIPE_IO, 0);
    io_slot_put(e, key, 0, r, st);
}

/* ---- filling entries --------------------------------------------------- */

/* Classify an fd by fstat. Returns an enum lg_fd_type, or 0 to ignore. */
static int io_classify(int fd, const struct stat *sb, int from_pipe)
{
    if (fd <= 2)                /* standard streams: never a file race, but a pipe */
        return S_ISFIFO(sb->st_mode) ? LG_FD_PIPE : 0;  /* there still forms wait-for edges */
    if (S_ISREG(sb->st_mode))
        return LG_FD_FILE;
    if (S_ISFIFO(sb->st_mode))
        return from_pipe ? LG_FD_PIPE : LG_FD_FIFO;
    return 0;                   /* sockets (socketpair() says so itself), devices, dirs */
}

/* Fill fd's entry as a new session and write FD_OPEN. Guard set.
 * type 0: classify by fstat. Returns the entry if tracked, else NULL. */
static struct io_fd *io_fill(struct lg_thread *t, int fd, int type, const char *path, int oflags,
                             uint32_t fdo, uint64_t peer_ino, struct lg_stackent *st)
{
    struct io_fd *e = io_fd_at(fd);
    if (!e)
        return NULL;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        atomic_store_explicit(&e->state, IO_UNKNOWN, memory_order_release);
        return NULL;
    }
    if (!type)
        type = io_classify(fd, &sb, (fdo & LG_FDO_LAZY) != 0);
    if (type == LG_FD_FILE && io_path_ignored(path))
        type = 0;
    if (!type || (fd <= 2 && type == LG_FD_FILE)) {
        e->epoch = lg_g.epoch;
        atomic_store_explicit(&e->state, IO_IGNORED, memory_order_release);
        return NULL;
    }
    atomic_store_explicit(&e->state, IO_BUSY, memory_order_relaxed);
    e->epoch = lg_g.epoch;
    e->type = (uint16_t)type;
    atomic_store_explicit(&e->oflags, (uint32_t)oflags, memory_order_relaxed);
    e->fdo = fdo;
    e->dev = type == LG_FD_FILE || type == LG_FD_FIFO ? (uint64_t)sb.st_dev : 0;
    e->ino = sb.st_ino;
    e->peer_ino = peer_ino;
    e->session = atomic_fetch_add_explicit(&io_next_session, 1, memory_order_relaxed);
    io_slots_clear(e);
    if (!st && type != LG_FD_FILE && !(fdo & (LG_FDO_LAZY | LG_FDO_INHERITED)))
        st = lg_stack_capture(t, 0);
    else if (!st && type == LG_FD_FILE && !(fdo & (LG_FDO_LAZY | LG_FDO_INHERITED)))
        st = lg_stack_capture(t, 0);
    io_rec_open(t, fd, e, fdo, 0, path, st);
    atomic_store_explicit(&e->state, IO_TRACKED, memory_order_release);
    return e;
}

/* An fd met for the first time in this image (opened where we could not
 * see, or inherited): one fstat, one F_GETFL, one readlink. Guard set. */
static struct io_fd *io_discover(struct lg_thread *t, int fd, uint32_t fdo)
{
    char path[PATH_MAX], link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = 0;
    if (n > 0 && path[0] != '/') {
        /* pipe:[123], socket:[456], anon_inode:...: pipes classify by
         * fstat below; sockets we did not create are ignored. */
        path[0] = 0;
    }
    int fl = IO_REAL(fcntl)(fd, F_GETFL);
    return io_fill(t, fd, 0, path[0] ? path : NULL, fl < 0 ? 0 : fl, fdo | LG_FDO_LAZY, 0, NULL);
}

/* The tracked entry for fd, discovering or re-announcing it as needed;
 * NULL when fd is ignored or out of range. Guard set. */
static struct io_fd *io_resolve(struct lg_thread *t, int fd)
{
    struct io_fd *e = io_fd_at(fd);
    if (!e)
        return NULL;
    uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
    if (st == IO_TRACKED && e->epoch == lg_g.epoch)
        return e;
    if (st == IO_IGNORED)
        return NULL;
    if (st == IO_BUSY)
        return NULL;            /* another thread is filling it: skip this one call */
    if (st == IO_TRACKED) {
        /* Filled by the parent before fork: same file, new session in our trace. */
        return io_discover(t, fd, LG_FDO_INHERITED);
    }
    return io_discover(t, fd, 0);
}

/* ---- one I/O call -------------------------------------------------------- */

struct io_call {
    struct lg_thread *t;
    struct io_fd *e;
    struct lg_stackent *stack; /* pipes: stack to publish and record */
    int fd;
    int published;
};

/* Before the real call. Returns 0 when the call goes straight through
 * (ignored fd, reentered, shim not active); 1 when io_end must follow.
 * Publishes "about to block" for a pipe-like fd that may block. */
static inline int io_begin(struct io_call *c, int fd, int dir, uint64_t requested)
{
    struct io_fd *e = io_fd_at(fd);
    if (!e || (atomic_load_explicit(&e->state, memory_order_relaxed) == IO_IGNORED &&
               e->epoch == lg_g.epoch))
        return 0;
    struct lg_thread *t = lg_enter();
    if (!t)
        return 0;
    int saved = errno;
    e = io_resolve(t, fd);
    if (!e) {
        errno = saved;
        lg_leave(t);
        return 0;
    }
    c->t = t;
    c->e = e;
    c->fd = fd;
    c->published = 0;
    c->stack = NULL;
    if (e->type != LG_FD_FILE && dir >= 0) {
        struct lg_stackent *st = NULL;
        void *rec = io_slot_find(e, io_key(t, IO_OP_PIPE(dir)), 0, &st);
        if (!rec || !st)
            st = lg_stack_capture(t, 0);
        c->stack = st;
        if (!(atomic_load_explicit(&e->oflags, memory_order_relaxed) & O_NONBLOCK)) {
            struct lg_publish p = {0};
            p.op = dir == LG_PIPE_READ ? LG_BLOCK_PIPE_READ : LG_BLOCK_PIPE_WRITE;
            p.aux = requested;
            p.target_fd = fd;
            p.target_tid = 0;
            p.target_pid = 0;
            p.dev = e->dev;
            p.ino = e->ino;
            p.addr = (const void *)(uintptr_t)e->peer_ino;  /* socketpair: the other end */
            p.stack = st;
            lg_tt_publish(t, &p);
            c->published = 1;
        }
    }
    errno = saved;
    lg_leave(t);
    return 1;
}

/* After the real call: unpublish, then account the bytes moved. errno is
 * preserved. op: enum lg_file_op for files; dir picks the pipe direction. */
static inline void io_end(struct io_call *c, int op, int dir, ssize_t r)
{
    int saved = errno;
    lg_reenter(c->t);
    if (c->published)
        lg_tt_done(c->t);
    if (r >= 0) {
        if (c->e->type == LG_FD_FILE)
            io_file_access(c->t, c->fd, c->e, op, (uint64_t)r, NULL);
        else if (r > 0 && dir >= 0 && c->fd > 2)
            /* Standard streams that are pipes are published while blocked
             * (a subprocess stuck writing its stdout=PIPE) but their
             * traffic is not recorded: shells reap command substitutions
             * from SIGCHLD (waitpid WNOHANG) while still reading them,
             * which the join-before-drain-risk check would take for a
             * join before the drain. */
            io_pipe_traffic(c->t, c->fd, c->e, dir, (uint64_t)r, c->stack);
    }
    lg_leave(c->t);
    errno = saved;
}

/* ---- open family ---------------------------------------------------- */

/* After a successful open-like call returned fd. */
static void io_opened(int fd, const char *path, int oflags, uint32_t fdo)
{
    if (fd < 0)
        return;
    struct lg_thread *t = lg_enter();
    if (!t) {
        io_fd_forget(fd);
        return;
    }
    int saved = errno;
    io_fill(t, fd, 0, path, oflags, fdo, 0, NULL);
    errno = saved;
    lg_leave(t);
}

static inline int io_open_has_mode(int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define IO_OPEN_WRAPPER(name)                                  \
    LG_EXPORT int name(const char *path, int flags, ...)       \
    {                                                          \
        mode_t mode = 0;                                       \
        if (io_open_has_mode(flags)) {                         \
            va_list ap;                                        \
            va_start(ap, flags);                               \
            mode = (mode_t)va_arg(ap, int);                    \
            va_end(ap);                                        \
        }                                                      \
        int fd = IO_REAL(name)(path, flags, mode);             \
        io_opened(fd, path, flags, 0);                         \
        return fd;                                             \
    }
IO_OPEN_WRAPPER(open)
IO_OPEN_WRAPPER(open64)

#define IO_OPENAT_WRAPPER(name)                                        \
    LG_EXPORT int name(int dirfd, const char *path, int flags, ...)    \
    {                                                                  \
        mode_t mode = 0;                                               \
        if (io_open_has_mode(flags)) {                                 \
            va_list ap;                                                \
            va_start(ap, flags);                                       \
            mode = (mode_t)va_arg(ap, int);                            \
            va_end(ap);                                                \
        }                                                              \
        int fd = IO_REAL(name)(dirfd, path, flags, mode);              \
        io_opened(fd, path, flags, 0);                                 \
        return fd;                                                     \
    }
IO_OPENAT_WRAPPER(openat)
IO_OPENAT_WRAPPER(openat64)

/* _FORTIFY_SOURCE forms of open without a mode. */
LG_EXPORT int __open_2(const char *path, int flags)
{
    int fd = IO_REAL(__open_2)(path, flags);
    io_opened(fd, path, flags, 0);
    return fd;
}
LG_EXPORT int __open64_2(const char *path, int flags)
{
    int fd = IO_REAL(__open64_2)(path, flags);
    io_opened(fd, path, flags, 0);
    return fd;
}
LG_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    int fd = IO_REAL(__openat_2)(dirfd, path, flags);
    io_opened(fd, path, flags, 0);
    return fd;
}
LG_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    int fd = IO_REAL(__openat64_2)(dirfd, path, flags);
    io_opened(fd, path, flags, 0);
    return fd;
}

LG_EXPORT int creat(const char *path, mode_t mode)
{
    int fd = IO_REAL(creat)(path, mode);
    io_opened(fd, path, O_CREAT | O_WRONLY | O_TRUNC, 0);
    return fd;
}
LG_EXPORT int creat64(const char *path, mode_t mode)
{
    int fd = IO_REAL(creat64)(path, mode);
    io_opened(fd, path, O_CREAT | O_WRONLY | O_TRUNC, 0);
    return fd;
}

/* fopen's mode string as open(2) flags. */
static int io_mode_flags(const char *mode)
{
    int fl;
    switch (mode ? mode[0] : 'r') {
    case 'w': fl = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': fl = O_WRONLY | O_CREAT | O_APPEND; break;
    default: fl = O_RDONLY; break;
    }
    if (mode && strchr(mode, '+'))
        fl = (fl & ~O_ACCMODE) | O_RDWR;
    return fl;
}

LG_EXPORT FILE *fopen(const char *path, const char *mode)
{
    FILE *fp = IO_REAL(fopen)(path, mode);
    if (fp)
        io_opened(fp->_fileno, path, io_mode_flags(mode), LG_FDO_STDIO);
    return fp;
}
LG_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    FILE *fp = IO_REAL(fopen64)(path, mode);
    if (fp)
        io_opened(fp->_fileno, path, io_mode_flags(mode), LG_FDO_STDIO);
    return fp;
}

/* ---- close, dup ---------------------------------------------------- */

/* Release what a close releases: flock locks of this session (the last
 * fd of the open file description, approximately), and every POSIX lock
 * of this process on the file (POSIX: any close of any fd does that). */
static void io_locks_closed(const struct io_fd *e)
{
    for (int i = 0; i < IO_MAX_FLOCKS; i++) {
        struct io_flock *f = &io_flocks[i];
        if (!atomic_load_explicit(&f->tid, memory_order_acquire))
            continue;
        if ((f->kind == LG_IOL_FLOCK || f->kind == LG_IOL_OFD) && f->session == e->session)
            atomic_store_explicit(&f->tid, 0, memory_order_release);
        else if (f->kind == LG_IOL_POSIX && f->dev == e->dev && f->ino == e->ino)
            atomic_store_explicit(&f->tid, 0, memory_order_release);
        else
            continue;
        atomic_fetch_add_explicit(&io_flock_version, 1, memory_order_relaxed);
    }
}

/* fd is about to be closed (or replaced by dup2): forget it, and record
 * FD_CLOSE when it was a tracked session of this image. */
static void io_closing(int fd)
{
    struct io_fd *e = io_fd_at(fd);
    if (!e)
        return;
    uint32_t st = atomic_exchange_explicit(&e->state, IO_UNKNOWN, memory_order_acq_rel);
    if (st != IO_TRACKED || e->epoch != lg_g.epoch)
        return;
    struct lg_thread *t = lg_enter();
    if (!t)
        return;
    int saved = errno;
    io_rec_close(fd, e);
    io_locks_closed(e);
    errno = saved;
    lg_leave(t);
}

LG_EXPORT int close(int fd)
{
    io_closing(fd);
    return IO_REAL(close)(fd);
}

/* close_range/closefrom close what the table knows without close(2):
 * forget the range, or a later fd of that number inherits a stale name.
 * CLOSE_RANGE_CLOEXEC only marks them. */
static void io_closing_range(unsigned first, unsigned last)
{
    for (unsigned fd = first; fd <= last && fd < IO_MAX_FD; fd++)
        if (atomic_load_explicit(&io_fds[fd].state, memory_order_relaxed) != IO_UNKNOWN)
            io_closing((int)fd);
}

LG_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    if (!(flags & CLOSE_RANGE_CLOEXEC))
        io_closing_range(first, last);
    return IO_REAL(close_range)(first, last, flags);
}

LG_EXPORT void closefrom(int lowfd)
{
    io_closing_range(lowfd < 0 ? 0 : (unsigned)lowfd, ~0u);
    IO_REAL(closefrom)(lowfd);
}

/* newfd now shares oldfd's session. */
static void io_duped(int oldfd, int newfd)
{
    if (newfd < 0)
        return;
    io_fd_forget(newfd);
    struct io_fd *src = io_fd_at(oldfd), *dst = io_fd_at(newfd);
    if (!dst)
        return;
    struct lg_thread *t = lg_enter();
    if (!t)
        return;
    int saved = errno;
    if (src && io_resolve(t, oldfd)) {
        atomic_store_explicit(&dst->state, IO_BUSY, memory_order_relaxed);
        dst->epoch = src->epoch;
        dst->type = src->type;
        atomic_store_explicit(&dst->oflags, atomic_load(&src->oflags), memory_order_relaxed);
        dst->fdo = src->fdo;
        dst->dev = src->dev;
        dst->ino = src->ino;
        dst->peer_ino = src->peer_ino;
        dst->session = src->session;
        io_slots_clear(dst);
        uint32_t fdo = src->fdo & (LG_FDO_READ_END | LG_FDO_WRITE_END | LG_FDO_STDIO);
        io_rec_open(t, newfd, dst, fdo | LG_FDO_DUP, src->session, NULL, NULL);
        atomic_store_explicit(&dst->state, newfd <= 2 && dst->type == LG_FD_FILE ? IO_IGNORED : IO_TRACKED,
                              memory_order_release);
    }
    errno = saved;
    lg_leave(t);
}

LG_EXPORT int dup(int oldfd)
{
    int fd = IO_REAL(dup)(oldfd);
    io_duped(oldfd, fd);
    return fd;
}

LG_EXPORT int dup2(int oldfd, int newfd)
{
    if (oldfd != newfd)
        io_closing(newfd);
    int fd = IO_REAL(dup2)(oldfd, newfd);
    if (fd >= 0 && oldfd != newfd)
        io_duped(oldfd, fd);
    return fd;
}

LG_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (oldfd != newfd)
        io_closing(newfd);
    int fd = IO_REAL(dup3)(oldfd, newfd, flags);
    io_duped(oldfd, fd);
    return fd;
}

/* ---- pipes and socketpairs ----------------------------------------- */

static void io_pipe_made(const int fds[2], int flags)
{
    io_fd_forget(fds[0]);
    io_fd_forget(fds[1]);
    struct lg_thread *t = lg_enter();
    if (!t)
        return;
    int saved = errno;
    struct lg_stackent *st = lg_stack_capture(t, 0);
    io_fill(t, fds[0], LG_FD_PIPE, NULL, O_RDONLY | (flags & O_NONBLOCK), LG_FDO_READ_END, 0, st);
    io_fill(t, fds[1], LG_FD_PIPE, NULL, O_WRONLY | (flags & O_NONBLOCK), LG_FDO_WRITE_END, 0, st);
    errno = saved;
    lg_leave(t);
}

LG_EXPORT int pipe(int fds[2])
{
    int r = IO_REAL(pipe)(fds);
    if (r == 0)
        io_pipe_made(fds, 0);
    return r;
}

LG_EXPORT int pipe2(int fds[2], int flags)
{
    int r = IO_REAL(pipe2)(fds, flags);
    if (r == 0)
        io_pipe_made(fds, flags);
    return r;
}

LG_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    int r = IO_REAL(socketpair)(domain, type, protocol, sv);
    if (r != 0)
        return r;
    io_fd_forget(sv[0]);
    io_fd_forget(sv[1]);
    struct lg_thread *t = lg_enter();
    if (!t)
        return r;
    int saved = errno;
    struct stat s0, s1;
    if (fstat(sv[0], &s0) == 0 && fstat(sv[1], &s1) == 0) {
        struct lg_stackent *st = lg_stack_capture(t, 0);
        int fl = O_RDWR | ((type & SOCK_NONBLOCK) ? O_NONBLOCK : 0);
        io_fill(t, sv[0], LG_FD_SOCKPAIR, NULL, fl, 0, s1.st_ino, st);
        io_fill(t, sv[1], LG_FD_SOCKPAIR, NULL, fl, 0, s0.st_ino, st);
    }
    errno = saved;
    lg_leave(t);
    return r;
}

/* ---- read / write --------------------------------------------------- */

static inline uint64_t io_iov_len(const struct iovec *iov, int n)
{
    uint64_t s = 0;
    for (int i = 0; i < n && iov; i++)
        s += iov[i].iov_len;
    return s;
}

#define IO_RW(ret, call, fd, dir, op, req)                    \
    do {                                                      \
        struct io_call c_;                                    \
        if (!io_begin(&c_, (fd), (dir), (req)))               \
            return call;                                      \
        ret r_ = call;                                        \
        io_end(&c_, (op), (dir), (ssize_t)r_);                \
        return r_;                                            \
    } while (0)

LG_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    IO_RW(ssize_t, IO_REAL(read)(fd, buf, n), fd, LG_PIPE_READ, LG_FOP_READ, n);
}
LG_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    IO_RW(ssize_t, IO_REAL(write)(fd, buf, n), fd, LG_PIPE_WRITE, LG_FOP_WRITE, n);
}
LG_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    IO_RW(ssize_t, IO_REAL(pread)(fd, buf, n, off), fd, LG_PIPE_READ, LG_FOP_READ, n);
}
LG_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    IO_RW(ssize_t, IO_REAL(pread64)(fd, buf, n, off), fd, LG_PIPE_READ, LG_FOP_READ, n);
}
LG_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    IO_RW(ssize_t, IO_REAL(pwrite)(fd, buf, n, off), fd, LG_PIPE_WRITE, LG_FOP_WRITE, n);
}
LG_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    IO_RW(ssize_t, IO_REAL(pwrite64)(fd, buf, n, off), fd, LG_PIPE_WRITE, LG_FOP_WRITE, n);
}
LG_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    IO_RW(ssize_t, IO_REAL(readv)(fd, iov, n), fd, LG_PIPE_READ, LG_FOP_READ, io_iov_len(iov, n));
}
LG_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    IO_RW(ssize_t, IO_REAL(writev)(fd, iov, n), fd, LG_PIPE_WRITE, LG_FOP_WRITE,
          io_iov_len(iov, n));
}
LG_EXPORT int ftruncate(int fd, off_t len)
{
    IO_RW(int, IO_REAL(ftruncate)(fd, len), fd, -1, LG_FOP_TRUNCATE, 0);
}
LG_EXPORT int ftruncate64(int fd, off64_t len)
{
    IO_RW(int, IO_REAL(ftruncate64)(fd, len), fd, -1, LG_FOP_TRUNCATE, 0);
}

/* ---- path operations: truncate, rename ------------------------------ */

LG_EXPORT int truncate(const char *path, off_t len)
{
    int r = IO_REAL(truncate)(path, len);
    if (r != 0 || io_path_ignored(path))
        return r;
    struct lg_thread *t = lg_enter();
    if (!t)
        return r;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        io_path_access(t, LG_FOP_TRUNCATE, &sb, 0, path);
    lg_leave(t);
    return r;
}

/* rename onto an existing file replaces its content for every later
 * opener: a write to the replaced file (dev/ino before), linked to the
 * inode moved in (aux_ino) so the analyzer can follow the file. */
static int io_rename(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                     int at)
{
    struct lg_thread *t = io_path_ignored(newpath) ? NULL : lg_enter();
    struct stat before, moved;
    int have_before = 0, have_moved = 0;
    if (t) {
        have_before = fstatat(newdirfd, newpath, &before, 0) == 0 && S_ISREG(before.st_mode);
        have_moved = fstatat(olddirfd, oldpath, &moved, 0) == 0 && S_ISREG(moved.st_mode);
        lg_leave(t);
    }
    int r = at ? IO_REAL(renameat)(olddirfd, oldpath, newdirfd, newpath)
               : IO_REAL(rename)(oldpath, newpath);
    if (t && r == 0 && (have_before || have_moved)) {
        int saved = errno;
        lg_reenter(t);
        io_path_access(t, LG_FOP_RENAME, have_before ? &before : &moved,
                       have_moved ? (uint64_t)moved.st_ino : 0, newpath);
        lg_leave(t);
        errno = saved;
    }
    return r;
}

LG_EXPORT int rename(const char *oldpath, const char *newpath)
{
    return io_rename(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}
LG_EXPORT int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    return io_rename(olddirfd, oldpath, newdirfd, newpath, 1);
}

/* ---- stdio ------------------------------------------------------------ */

/* The stdio calls reach read/write internally: attribute them here, to
 * the FILE's fd, with the stack of the call the program made. */
/* glibc declares the FILE* arguments nonnull, so a plain NULL test may be
 * optimised away; a program passing NULL must still crash in libc, not
 * here: hide the pointer from the optimiser. */
static inline int io_fp_fd(FILE *fp)
{
    uintptr_t u = (uintptr_t)fp;
    __asm__("" : "+r"(u));
    return u ? ((FILE *)u)->_fileno : -1;
}

#define IO_STDIO(ret, call, fp, dir, op, req, bytes_expr)          \
    do {                                                           \
        struct io_call c_;                                         \
        if (!io_begin(&c_, io_fp_fd(fp), (dir), (req)))            \
            return call;                                           \
        ret r_ = call;                                             \
        ssize_t b_ = (bytes_expr);                                 \
        io_end(&c_, (op), (dir), b_);                              \
        return r_;                                                 \
    } while (0)

LG_EXPORT size_t fread(void *ptr, size_t size, size_t n, FILE *fp)
{
    IO_STDIO(size_t, IO_REAL(fread)(ptr, size, n, fp), fp, LG_PIPE_READ, LG_FOP_READ, size * n,
             (ssize_t)(r_ * size));
}
LG_EXPORT size_t __fread_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp)
{
    IO_STDIO(size_t, IO_REAL(__fread_chk)(ptr, ptrlen, size, n, fp), fp, LG_PIPE_READ,
             LG_FOP_READ, size * n, (ssize_t)(r_ * size));
}
LG_EXPORT size_t fwrite(const void *ptr, size_t size, size_t n, FILE *fp)
{
    IO_STDIO(size_t, IO_REAL(fwrite)(ptr, size, n, fp), fp, LG_PIPE_WRITE, LG_FOP_WRITE, size * n,
             (ssize_t)(r_ * size));
}
LG_EXPORT char *fgets(char *s, int n, FILE *fp)
{
    IO_STDIO(char *, IO_REAL(fgets)(s, n, fp), fp, LG_PIPE_READ, LG_FOP_READ, (uint64_t)n,
             r_ ? (ssize_t)strlen(r_) : 0);
}
LG_EXPORT char *__fgets_chk(char *s, size_t size, int n, FILE *fp)
{
    IO_STDIO(char *, IO_REAL(__fgets_chk)(s, size, n, fp), fp, LG_PIPE_READ, LG_FOP_READ,
             (uint64_t)n, r_ ? (ssize_t)strlen(r_) : 0);
}
LG_EXPORT int fputs(const char *s, FILE *fp)
{
    IO_STDIO(int, IO_REAL(fputs)(s, fp), fp, LG_PIPE_WRITE, LG_FOP_WRITE, strlen(s),
             r_ >= 0 ? (ssize_t)strlen(s) : -1);
}
LG_EXPORT int fgetc(FILE *fp)
{
    IO_STDIO(int, IO_REAL(fgetc)(fp), fp, LG_PIPE_READ, LG_FOP_READ, 1, r_ == EOF ? 0 : 1);
}
LG_EXPORT int getc(FILE *fp)
{
    IO_STDIO(int, IO_REAL(getc)(fp), fp, LG_PIPE_READ, LG_FOP_READ, 1, r_ == EOF ? 0 : 1);
}
LG_EXPORT int fputc(int ch, FILE *fp)
{
    IO_STDIO(int, IO_REAL(fputc)(ch, fp), fp, LG_PIPE_WRITE, LG_FOP_WRITE, 1, r_ == EOF ? -1 : 1);
}
LG_EXPORT int putc(int ch, FILE *fp)
{
    IO_STDIO(int, IO_REAL(putc)(ch, fp), fp, LG_PIPE_WRITE, LG_FOP_WRITE, 1, r_ == EOF ? -1 : 1);
}
LG_EXPORT ssize_t getline(char **line, size_t *n, FILE *fp)
{
    IO_STDIO(ssize_t, IO_REAL(getline)(line, n, fp), fp, LG_PIPE_READ, LG_FOP_READ, 1,
             r_ < 0 ? 0 : r_);
}
LG_EXPORT ssize_t getdelim(char **line, size_t *n, int delim, FILE *fp)
{
    IO_STDIO(ssize_t, IO_REAL(getdelim)(line, n, delim, fp), fp, LG_PIPE_READ, LG_FOP_READ, 1,
             r_ < 0 ? 0 : r_);
}
LG_EXPORT int vfprintf(FILE *fp, const char *fmt, va_list ap)
{
    IO_STDIO(int, IO_REAL(vfprintf)(fp, fmt, ap), fp, LG_PIPE_WRITE, LG_FOP_WRITE, 0, r_);
}
LG_EXPORT int fprintf(FILE *fp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct io_call c;
    int tracked = io_begin(&c, io_fp_fd(fp), LG_PIPE_WRITE, 0);
    int r = IO_REAL(vfprintf)(fp, fmt, ap);
    va_end(ap);
    if (tracked)
        io_end(&c, LG_FOP_WRITE, LG_PIPE_WRITE, r);
    return r;
}
LG_EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
    IO_STDIO(int, IO_REAL(__vfprintf_chk)(fp, flag, fmt, ap), fp, LG_PIPE_WRITE, LG_FOP_WRITE, 0,
             r_);
}
LG_EXPORT int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct io_call c;
    int tracked = io_begin(&c, io_fp_fd(fp), LG_PIPE_WRITE, 0);
    int r = IO_REAL(__vfprintf_chk)(fp, flag, fmt, ap);
    va_end(ap);
    if (tracked)
        io_end(&c, LG_FOP_WRITE, LG_PIPE_WRITE, r);
    return r;
}

/* The scanf family: a return of EOF before any conversion moved nothing;
 * anything else read something. */
#define IO_SCANF_BODY(vreal)                                            \
    va_list ap;                                                         \
    va_start(ap, fmt);                                                  \
    struct io_call c;                                                   \
    int tracked = io_begin(&c, io_fp_fd(fp), LG_PIPE_READ, 0);     \
    int r = IO_REAL(vreal)(fp, fmt, ap);                                \
    va_end(ap);                                                         \
    if (tracked)                                                        \
        io_end(&c, LG_FOP_READ, LG_PIPE_READ, r == EOF ? 0 : 1);        \
    return r;

/* <stdio.h> renames fscanf/vfscanf to their __isoc99_ forms under
 * _GNU_SOURCE; the old symbols still exist for old binaries: define them
 * under their plain names explicitly. */
int lg_io_fscanf(FILE *fp, const char *fmt, ...) __asm__("fscanf");
int lg_io_vfscanf(FILE *fp, const char *fmt, va_list ap) __asm__("vfscanf");

LG_EXPORT int lg_io_fscanf(FILE *fp, const char *fmt, ...) { IO_SCANF_BODY(vfscanf) }
LG_EXPORT int __isoc99_fscanf(FILE *fp, const char *fmt, ...) { IO_SCANF_BODY(__isoc99_vfscanf) }
LG_EXPORT int lg_io_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
    IO_STDIO(int, IO_REAL(vfscanf)(fp, fmt, ap), fp, LG_PIPE_READ, LG_FOP_READ, 0,
             r_ == EOF ? 0 : 1);
}
LG_EXPORT int __isoc99_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
    IO_STDIO(int, IO_REAL(__isoc99_vfscanf)(fp, fmt, ap), fp, LG_PIPE_READ, LG_FOP_READ, 0,
             r_ == EOF ? 0 : 1);
}

/* fclose: data still in the buffer is written now, by the internal write
 * we cannot see: record it as a write at the fclose. Then the close. */
LG_EXPORT int fclose(FILE *fp)
{
    int fd = io_fp_fd(fp);
    if (fd < 0)
        return IO_REAL(fclose)(fp);
    ssize_t pending = fp->_IO_write_ptr > fp->_IO_write_base
                          ? (ssize_t)(fp->_IO_write_ptr - fp->_IO_write_base) : 0;
    struct io_call c;
    int tracked = pending > 0 && io_begin(&c, fd, LG_PIPE_WRITE, (uint64_t)pending);
    if (tracked && c.e->type == LG_FD_FILE) {
        io_end(&c, LG_FOP_WRITE, LG_PIPE_WRITE, pending);
        tracked = 0;
    }
    /* Pipes: the flush may block; the publication from io_begin covers it. */
    io_closing(fd);
    int r = IO_REAL(fclose)(fp);
    if (tracked)
        io_end(&c, LG_FOP_WRITE, LG_PIPE_WRITE, r == 0 ? pending : -1);
    return r;
}

/* pclose closes the pipe end through an internal close. */
LG_EXPORT int pclose(FILE *fp)
{
    int fd = io_fp_fd(fp);
    if (fd >= 0)
        io_closing(fd);
    return IO_REAL(pclose)(fp);
}

/* freopen closes the stream's fd and opens path, usually on the same
 * number, through internal calls. */
#define IO_FREOPEN_WRAPPER(name)                                               \
    LG_EXPORT FILE *name(const char *path, const char *mode, FILE *fp)         \
    {                                                                          \
        int fd = io_fp_fd(fp);                                                 \
        if (fd >= 0)                                                           \
            io_closing(fd);                                                    \
        FILE *r = IO_REAL(name)(path, mode, fp);                               \
        if (r && path)                                                         \
            io_opened(r->_fileno, path, io_mode_flags(mode), LG_FDO_STDIO);    \
        else if (r)                                                            \
            io_fd_forget(r->_fileno);                                          \
        return r;                                                              \
    }
IO_FREOPEN_WRAPPER(freopen)
IO_FREOPEN_WRAPPER(freopen64)

/* ---- file locks ----------------------------------------------------------- */

static void io_flock_add(struct lg_thread *t, const struct io_fd *e, int fd, int kind, int mode,
                         int64_t start, int64_t len)
{
    /* Re-locking converts (flock) or merges (POSIX): replace an entry of
     * the same owner and range instead of adding one. */
    for (int i = 0; i < IO_MAX_FLOCKS; i++) {
        struct io_flock *f = &io_flocks[i];
        if (atomic_load_explicit(&f->tid, memory_order_acquire) == t->tid && f->kind == kind &&
            f->dev == e->dev && f->ino == e->ino && f->start == start && f->len == len &&
            f->epoch == lg_g.epoch) {
            f->mode = (uint16_t)mode;
            return;
        }
    }
    for (int i = 0; i < IO_MAX_FLOCKS; i++) {
        struct io_flock *f = &io_flocks[i];
        int32_t zero = 0;
        int32_t cur = atomic_load_explicit(&f->tid, memory_order_relaxed);
        /* Entries of an earlier epoch (before fork) are free here. */
        if (cur && f->epoch == lg_g.epoch)
            continue;
        if (cur && !atomic_compare_exchange_strong(&f->tid, &cur, 0))
            continue;
        f->kind = (uint16_t)kind;
        f->mode = (uint16_t)mode;
        f->epoch = lg_g.epoch;
        f->fd = fd;
        f->session = e->session;
        f->dev = e->dev;
        f->ino = e->ino;
        f->start = start;
        f->len = len;
        if (atomic_compare_exchange_strong(&f->tid, &zero, t->tid)) {
            atomic_fetch_add_explicit(&io_flock_version, 1, memory_order_relaxed);
            return;
        }
    }
    io_say_full("lockgraph: too many file locks held at once; some are not tracked");
}

/* Remove the file locks an unlock releases: flock by session, POSIX/OFD
 * those of the file that overlap the range (len 0: to the end). */
static void io_flock_remove(const struct io_fd *e, int kind, int64_t start, int64_t len)
{
    for (int i = 0; i < IO_MAX_FLOCKS; i++) {
        struct io_flock *f = &io_flocks[i];
        if (!atomic_load_explicit(&f->tid, memory_order_acquire) || f->kind != kind)
            continue;
        if (kind == LG_IOL_FLOCK) {
            if (f->session != e->session)
                continue;
        } else {
            if (f->dev != e->dev || f->ino != e->ino)
                continue;
            int64_t fe = f->len ? f->start + f->len : INT64_MAX;
            int64_t ue = len ? start + len : INT64_MAX;
            if (start >= 0 && f->start >= 0 && (f->start >= ue || start >= fe))
                continue;
        }
        atomic_store_explicit(&f->tid, 0, memory_order_release);
        atomic_fetch_add_explicit(&io_flock_version, 1, memory_order_relaxed);
    }
}

static void io_rec_flock(const struct io_fd *e, int fd, int kind, int op, int mode, int flags,
                         int64_t start, int64_t len, struct lg_stackent *st, int err)
{
    if (atomic_fetch_add_explicit(&io_nrec_lock, 1, memory_order_relaxed) >= IO_MAX_LOCK_RECS)
        return;
    struct lg_rec_hdr *h;
    struct lg_rec_file_lock *r = lg_rec_begin(sizeof(*r), &h);
    if (!r)
        return;
    r->dev = e->dev;
    r->ino = e->ino;
    r->start = start;
    r->len = len;
    r->session = e->session;
    r->fd = fd;
    r->lock_kind = (uint16_t)kind;
    r->op = (uint16_t)op;
    r->mode = (uint16_t)mode;
    r->flags = (uint16_t)flags;
    r->stack_id = io_stack_id(st);
    r->err = err;
    lg_rec_commit(h, LG_REC_FILE_LOCK, 0);
}

/* A file-lock call. `call` is the real call as a closure: the macro form
 * below keeps the real call in the wrapper's own frame. */
struct io_lockop {
    struct lg_thread *t;
    struct io_fd *e;
    struct lg_stackent *st;
    int fd, kind, mode, unlock, blocking, published;
    int64_t start, len;
};

static int io_lock_begin(struct io_lockop *o, int fd, int kind, int mode, int unlock, int blocking,
                         int64_t start, int64_t len)
{
    struct lg_thread *t = lg_enter();
    if (!t)
        return 0;
    int saved = errno;
    struct io_fd *e = io_resolve(t, fd);
    if (!e || e->type != LG_FD_FILE) {
        errno = saved;
        lg_leave(t);
        return 0;
    }
    o->t = t;
    o->e = e;
    o->fd = fd;
    o->kind = kind;
    o->mode = mode;
    o->unlock = unlock;
    o->blocking = blocking;
    o->start = start;
    o->len = len;
    o->published = 0;
    o->st = unlock ? NULL : lg_stack_capture(t, 0);
    if (blocking && !unlock) {
        struct lg_publish p = {0};
        p.op = LG_BLOCK_FLOCK;
        p.dev = e->dev;
        p.ino = e->ino;
        p.target_fd = fd;
        p.aux = ((uint64_t)kind << 32) | (uint64_t)mode;  /* enum lg_io_lock_kind, lg_acq_mode */
        p.stack = o->st;
        lg_tt_publish(t, &p);
        o->published = 1;
    }
    errno = saved;
    lg_leave(t);
    return 1;
}

static void io_lock_end(struct io_lockop *o, int r)
{
    int saved = errno;
    lg_reenter(o->t);
    if (o->published)
        lg_tt_done(o->t);
    int flags = o->blocking ? 0 : LG_ACQ_TRY;
    if (o->unlock) {
        if (r == 0) {
            io_flock_remove(o->e, o->kind, o->start, o->len);
            io_rec_flock(o->e, o->fd, o->kind, LG_FLOP_RELEASE, o->mode, 0, o->start, o->len,
                         NULL, 0);
        }
    } else if (r == 0) {
        io_flock_add(o->t, o->e, o->fd, o->kind, o->mode, o->start, o->len);
        io_rec_flock(o->e, o->fd, o->kind, LG_FLOP_ACQUIRE, o->mode, flags, o->start, o->len,
                     o->st, 0);
    } else if (saved == EWOULDBLOCK || saved == EAGAIN || saved == EACCES) {
        io_rec_flock(o->e, o->fd, o->kind, LG_FLOP_BUSY, o->mode, flags, o->start, o->len, o->st,
                     saved);
    }
    lg_leave(o->t);
    errno = saved;
}

LG_EXPORT int flock(int fd, int op)
{
    struct io_lockop o;
    int base = op & ~LOCK_NB;
    if (base != LOCK_SH && base != LOCK_EX && base != LOCK_UN)
        return IO_REAL(flock)(fd, op);
    if (!io_lock_begin(&o, fd, LG_IOL_FLOCK, base == LOCK_SH ? LG_MODE_READ : LG_MODE_WRITE,
                       base == LOCK_UN, !(op & LOCK_NB), 0, 0))
        return IO_REAL(flock)(fd, op);
    int r = IO_REAL(flock)(fd, op);
    io_lock_end(&o, r);
    return r;
}

/* lockf's range starts at the current offset; a negative len reaches back. */
static void io_lockf_range(int fd, off64_t len, int64_t *start, int64_t *rlen)
{
    off64_t cur = lseek64(fd, 0, SEEK_CUR);
    if (cur < 0)
        cur = 0;
    if (len < 0) {
        *start = cur + len;
        *rlen = -len;
    } else {
        *start = cur;
        *rlen = len;
    }
}

static int io_lockf(int fd, int cmd, off64_t len, int is64)
{
    struct io_lockop o;
    int64_t start = 0, rlen = 0;
    int tracked = 0;
    if (cmd == F_LOCK || cmd == F_TLOCK || cmd == F_ULOCK) {
        io_lockf_range(fd, len, &start, &rlen);
        tracked = io_lock_begin(&o, fd, LG_IOL_POSIX, LG_MODE_WRITE, cmd == F_ULOCK,
                                cmd == F_LOCK, start, rlen);
    }
    int r = is64 ? IO_REAL(lockf64)(fd, cmd, len) : IO_REAL(lockf)(fd, cmd, (off_t)len);
    if (tracked)
        io_lock_end(&o, r);
    return r;
}

LG_EXPORT int lockf(int fd, int cmd, off_t len) { return io_lockf(fd, cmd, len, 0); }
LG_EXPORT int lockf64(int fd, int cmd, off64_t len) { return io_lockf(fd, cmd, len, 1); }

/* fcntl is variadic; every command takes at most one argument, an int or
 * a pointer, passed in a register on x86_64: read it as unsigned long and
 * forward it as such (the int commands ignore the upper half). */
static int io_fcntl(int fd, int cmd, unsigned long arg, int is64)
{
#define IO_FCNTL_REAL() \
    (is64 && IO_REAL(fcntl64) ? IO_REAL(fcntl64)(fd, cmd, arg) : IO_REAL(fcntl)(fd, cmd, arg))
    switch (cmd) {
    case F_SETLK: case F_SETLKW: case F_OFD_SETLK: case F_OFD_SETLKW: {
        struct flock *fl = (struct flock *)arg;
        if (!fl)
            return IO_FCNTL_REAL();
        int kind = (cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW) ? LG_IOL_OFD : LG_IOL_POSIX;
        int blocking = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
        int64_t start = fl->l_start, len = fl->l_len;
        if (fl->l_whence == SEEK_CUR) {
            off64_t cur = lseek64(fd, 0, SEEK_CUR);
            start = cur < 0 ? -1 : cur + fl->l_start;
        } else if (fl->l_whence == SEEK_END) {
            start = -1;         /* unknown: treated as overlapping everything */
        }
        if (len < 0 && start >= 0) {
            start += len;
            len = -len;
        }
        struct io_lockop o;
        int tracked = io_lock_begin(&o, fd, kind, fl->l_type == F_RDLCK ? LG_MODE_READ : LG_MODE_WRITE,
                                    fl->l_type == F_UNLCK, blocking, start, len);
        int r = IO_FCNTL_REAL();
        if (tracked)
            io_lock_end(&o, r);
        return r;
    }
    case F_DUPFD: case F_DUPFD_CLOEXEC: {
        int r = IO_FCNTL_REAL();
        io_duped(fd, r);
        return r;
    }
    case F_SETFL: {
        int r = IO_FCNTL_REAL();
        struct io_fd *e = io_fd_at(fd);
        if (r == 0 && e) {
            uint32_t o = atomic_load_explicit(&e->oflags, memory_order_relaxed);
            o = (o & ~(uint32_t)O_NONBLOCK) | ((uint32_t)arg & O_NONBLOCK);
            atomic_store_explicit(&e->oflags, o, memory_order_relaxed);
        }
        return r;
    }
    default:
        return IO_FCNTL_REAL();
    }
#undef IO_FCNTL_REAL
}

LG_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return io_fcntl(fd, cmd, arg, 0);
}

LG_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return io_fcntl(fd, cmd, arg, 1);
}
