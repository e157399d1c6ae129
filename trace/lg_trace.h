/* SPDX-License-Identifier: MIT */
/*
 * lg_trace.h — the trace format, shared by the writer (preload/) and the
 * reader (trace/lg_trace_read.c, used by analyzer/). One file per process
 * image in the output folder; see trace/FORMAT.md for the prose version.
 * Every record kind is defined once, in LG_RECORD_KINDS below.
 */
#ifndef LG_TRACE_H
#define LG_TRACE_H

#include <stdint.h>

#define LG_TRACE_MAGIC "LGTRACE"     /* 7 chars + NUL = 8 bytes */
#define LG_TRACE_VERSION 1u
#define LG_TRACE_HEADER_SIZE 4096u   /* records start at this offset */
#define LG_TRACE_ALIGN 8u            /* every record size is a multiple */

/* File name inside the output folder: trace-<pid>-<exec_seq>.lgt, where
 * exec_seq counts the images this pid has run (0 for the first one). */
#define LG_TRACE_FILE_FMT "trace-%d-%u.lgt"

/* Environment passed from `lockgraph run` to the shim. */
#define LG_ENV_DIR "LOCKGRAPH_DIR"         /* output folder, absolute */
#define LG_ENV_OPTIONS "LOCKGRAPH_OPTIONS" /* reserved: comma list */

/* --- header --------------------------------------------------------- */

enum lg_trace_flags {
    LG_TRACE_F_FORKED = 1u << 0,     /* image began as a fork child (no exec) */
    LG_TRACE_F_CLEAN_END = 1u << 1,  /* writer reached exit/_exit/exec and flushed */
    LG_TRACE_F_TRUNCATED = 1u << 2,  /* writer ran out of room; records were dropped */
    LG_TRACE_F_PYTHON = 1u << 3,     /* a CPython interpreter was found in the image */
};

struct lg_trace_header {
    char magic[8];            /* LG_TRACE_MAGIC */
    uint32_t version;         /* LG_TRACE_VERSION */
    uint32_t header_size;     /* LG_TRACE_HEADER_SIZE */
    int32_t pid;
    int32_t ppid;
    uint32_t exec_seq;        /* 0 for the first image of this pid */
    uint32_t flags;           /* enum lg_trace_flags */
    uint64_t start_ns;        /* CLOCK_MONOTONIC when the trace was opened */
    uint64_t start_realtime_ns;
    uint64_t fork_ns;         /* forked child: parent's fork time; else 0 */
    int32_t fork_parent_tid;  /* forked child: the parent thread that forked */
    uint32_t argc;
    uint64_t end_offset;      /* committed length at a clean end, else 0 (scan) */
    uint64_t end_ns;          /* CLOCK_MONOTONIC at a clean end, else 0 */
    char exe[512];            /* readlink /proc/self/exe, NUL-terminated */
    char args[2048];          /* argv, NUL-separated, truncated to fit */
};

/* --- records --------------------------------------------------------- */

/*
 * Every record starts with this header. A writer reserves `size` bytes,
 * stores size, the payload and the rest of the header, and stores `kind`
 * last (release). A reader that finds kind == 0 has reached the end of
 * what was committed (or a hole left by a thread that died mid-record:
 * if size is plausible and non-zero data follows, it may skip it).
 */
struct lg_rec_hdr {
    uint32_t size;            /* whole record, header included, multiple of 8 */
    uint16_t kind;            /* enum lg_rec_kind, written last */
    uint16_t flags;           /* per-kind */
    int32_t tid;              /* thread that wrote it (kernel tid) */
    uint32_t reserved;
    uint64_t time_ns;         /* CLOCK_MONOTONIC */
};

/* Lock kinds (struct lg_rec_lock_new.lock_kind). */
enum lg_lock_kind {
    LG_LOCK_MUTEX = 1,
    LG_LOCK_RWLOCK = 2,
    LG_LOCK_SPIN = 3,
    LG_LOCK_SEM = 4,          /* unnamed POSIX semaphore (sem_init) */
    LG_LOCK_NAMED_SEM = 5,    /* sem_open */
};

/* Mutex subtype bits (struct lg_rec_lock_new.subtype). */
enum lg_lock_subtype {
    LG_MUTEX_NORMAL = 0,      /* also PTHREAD_MUTEX_DEFAULT */
    LG_MUTEX_RECURSIVE = 1,
    LG_MUTEX_ERRORCHECK = 2,
    LG_MUTEX_TYPE_MASK = 3,
    LG_LOCK_ROBUST = 1u << 4,
    LG_LOCK_PSHARED = 1u << 5,
};

/* struct lg_rec_lock_new.flags */
enum lg_lock_new_flags {
    LG_LOCKF_FIRST_USE = 1u << 0,  /* never init'ed (static initializer): site is first use */
    LG_LOCKF_INHERITED = 1u << 1,  /* created before a fork, re-announced in the child */
    LG_LOCKF_SHARED_ID = 1u << 2,  /* dev/ino/offset below identify it across processes */
    LG_LOCKF_GIL = 1u << 3,        /* interpreter-internal; never in a finding (normally not recorded at all) */
};

/* Acquisition modes and flags (deps, held entries). */
enum lg_acq_mode { LG_MODE_WRITE = 0, LG_MODE_READ = 1 };
enum lg_acq_flags {
    LG_ACQ_TRY = 1u << 0,     /* succeeded through a trylock: never waited */
    LG_ACQ_TIMED = 1u << 1,   /* timedlock/clocklock/timedwait: waits, but gives up */
    LG_ACQ_COND = 1u << 2,    /* re-acquired on return from a condition wait */
};

/* Misuse kinds (struct lg_rec_misuse.misuse_kind). */
enum lg_misuse_kind {
    LG_MISUSE_UNLOCK_NOT_OWNER = 1,  /* other = owner tid (0 if unknown) */
    LG_MISUSE_UNLOCK_UNLOCKED = 2,
    LG_MISUSE_SELF_DEADLOCK = 3,     /* owner relocks non-recursive; err = EDEADLK or 0 (would hang) */
    LG_MISUSE_DESTROY_LOCKED = 4,    /* other = owner tid */
    LG_MISUSE_COND_NO_MUTEX = 5,     /* cond wait without holding the mutex; other = cond address */
    LG_MISUSE_COND_TWO_MUTEXES = 6,  /* other = the first mutex's lock_id; cond address in extra */
    LG_MISUSE_SEM_OVERPOST = 7,      /* sem with initial value 1 posted above 1; extra = value after */
};

/* Why a thread or process ended / where held locks were noticed. */
enum lg_end_how {
    LG_END_RETURN = 1,        /* start routine / main returned */
    LG_END_PTHREAD_EXIT = 2,
    LG_END_CANCEL = 3,
    LG_END_EXIT = 4,          /* exit() */
    LG_END__EXIT = 5,         /* _exit()/_Exit() */
    LG_END_EXEC = 6,          /* image replaced */
    LG_END_SIGNAL = 7,        /* fatal signal seen by the shim */
    LG_END_FORK = 8,          /* HELD_AT: locks held across fork (noted in the child) */
    LG_END_DESTROY = 9,       /* HELD_AT: lock destroyed while held (a semaphore: by another thread than its holder) */
};

/* One held lock, as carried inside a DEP record. */
struct lg_held {
    uint64_t lock_id;
    uint64_t pc;              /* return address of the acquiring call (cheap site) */
    uint32_t stack_id;        /* full stack of that acquisition if one was captured, else 0 */
    uint16_t mode;            /* enum lg_acq_mode */
    uint16_t flags;           /* enum lg_acq_flags */
};

struct lg_rec_module {        /* a loaded object, for symbolization */
    uint64_t base;            /* load bias (dl_phdr_info.dlpi_addr) */
    uint64_t lo, hi;          /* lowest and highest address of its PT_LOAD segments */
    uint32_t build_id_len;    /* 0 if none */
    uint8_t build_id[20];
    uint32_t path_len;        /* bytes of path, without NUL */
    char path[];              /* NUL-terminated, padded */
};

struct lg_rec_stack {         /* interned native stack; ids start at 1 */
    uint32_t stack_id;
    uint32_t nframes;
    uint64_t pc[];            /* innermost first, the shim's own frames removed */
};

/* Python frames for a stack id (issue: Python lines). Frames innermost
 * first, each: uint32_t line, uint16_t file_len, uint16_t func_len, then
 * file and func bytes (no NUL), then padding to 4 bytes. */
struct lg_rec_pystack {
    uint32_t stack_id;        /* same id space as lg_rec_stack */
    uint32_t nframes;
    uint8_t frames[];
};

struct lg_rec_lock_new {
    uint64_t lock_id;         /* unique within this trace file; never reused */
    uint64_t addr;
    uint32_t lock_kind;       /* enum lg_lock_kind */
    uint32_t subtype;         /* enum lg_lock_subtype bits */
    int32_t sem_value;        /* initial value for semaphores */
    uint32_t site_stack;      /* init site (or first use), 0 if unknown */
    uint32_t flags;           /* enum lg_lock_new_flags */
    uint32_t name_len;        /* named semaphore name length, 0 if none */
    uint64_t dev, ino, offset;/* backing object when LG_LOCKF_SHARED_ID */
    char name[];              /* NUL-terminated, padded */
};

struct lg_rec_lock_destroy {
    uint64_t lock_id;
    uint32_t stack_id;        /* 0: the shim captures none (nothing reads it) */
    uint32_t pad;
};

struct lg_rec_dep {           /* first time (thread, held set, lock) is seen */
    uint64_t lock_id;         /* the lock acquired */
    uint32_t stack_id;        /* stack of this acquisition */
    uint16_t mode;            /* enum lg_acq_mode */
    uint16_t flags;           /* enum lg_acq_flags */
    uint32_t count;           /* times seen; the writer may bump it in place */
    uint32_t nheld;
    struct lg_held held[];    /* outermost first */
};

struct lg_rec_misuse {
    uint32_t misuse_kind;     /* enum lg_misuse_kind */
    uint32_t stack_id;
    uint64_t lock_id;
    uint64_t other;           /* see enum lg_misuse_kind */
    int64_t extra;
    int32_t err;              /* errno the real call returned, 0 if none */
    uint32_t pad;
};

struct lg_rec_thread_start {  /* written by the new thread itself; time_ns = the creator's pthread_create call */
    int32_t creator_tid;      /* 0 for the initial thread */
    uint32_t create_stack;    /* creator's stack at pthread_create */
    uint64_t pthread;         /* pthread_t value */
    uint64_t start_routine;
};

struct lg_rec_thread_exit {
    uint32_t how;             /* enum lg_end_how */
    uint32_t nheld;           /* locks still held (HELD_AT records follow) */
};

struct lg_rec_held_at {       /* a lock still held at an end (thread/process exit, fork, exec, destroy) */
    uint64_t lock_id;
    uint64_t pc;
    uint32_t stack_id;
    uint16_t mode;
    uint16_t how;             /* enum lg_end_how */
    int32_t holder_tid;       /* thread that holds it */
    uint32_t pad;
};

struct lg_rec_join {
    int32_t joined_tid;       /* 0 if the joined thread was never seen */
    int32_t ret;              /* return value of pthread_join */
    uint64_t pthread;
    uint32_t stack_id;
    uint32_t flags;           /* LG_ACQ_TRY / LG_ACQ_TIMED for tryjoin/timedjoin */
};

struct lg_rec_detach {
    uint64_t pthread;
    int32_t ret;
    uint32_t pad;
};

struct lg_rec_fork {          /* in the parent, after fork returned */
    int32_t child_pid;        /* -1 on failure */
    uint32_t stack_id;
    uint32_t nheld;           /* locks the forking thread held */
    uint32_t vfork;           /* 1 if posix_spawn/vfork/system path */
};

struct lg_rec_exec {          /* before the image is replaced (and after a failed exec) */
    int32_t err;              /* 0 before the call; errno if it returned */
    uint32_t stack_id;
    uint32_t path_len;
    uint32_t pad;
    char path[];
};

struct lg_rec_wait {          /* wait/waitpid/wait4/waitid returned */
    int32_t arg_pid;          /* pid argument (-1 any child) */
    int32_t ret_pid;          /* pid reaped, 0 (WNOHANG), -1 error */
    int32_t status;           /* raw wait status */
    uint32_t stack_id;
    uint32_t options;
    uint32_t pad;
};

struct lg_rec_proc_exit {
    uint32_t how;             /* enum lg_end_how */
    int32_t status;           /* exit status or signal number; -1 unknown (main returned) */
};

struct lg_rec_cond_use {      /* first (cond, mutex) pair seen by a wait */
    uint64_t cond_addr;
    uint64_t mutex_id;
    uint32_t stack_id;
    uint32_t pad;
};

struct lg_rec_note {          /* shim diagnostics: a table filled up, etc. */
    uint32_t code;
    uint32_t text_len;
    char text[];
};

/* --- hang.lgt: what the supervisor saw (kinds 30-39) ------------------
 * Written once by `lockgraph run` (cli/supervise.c) into the output folder
 * when it stops a deadlocked or hung tree, as a trace file of its own
 * (header pid = the supervisor, ppid = the root process); read by
 * analyzer/hang.c. Order: HANG, then WF_NODE records (node numbers are
 * their order, from 0), WF_EDGE records, then HANG_CYCLE and HANG_JBD if
 * any. A thread node's stack is stack_id in trace-<pid>-<exec_seq>.lgt. */
enum lg_hang_verdict {
    LG_HANG_DEADLOCK = 1,            /* a cycle through owned locks / joins */
    LG_HANG_HANG = 2,                /* every thread still in an untimed wait */
    LG_HANG_JOIN_BEFORE_DRAIN = 3,   /* a hang whose chain is a join/waitpid before a pipe drain */
};

struct lg_rec_hang {
    uint32_t verdict;         /* enum lg_hang_verdict */
    uint32_t nnodes, nedges;
    int32_t root_pid;
    uint64_t still_ns;        /* how long the tree (deadlock: the cycle) had been still */
    uint64_t timeout_ns;      /* --hang-timeout */
    uint64_t detected_ns;     /* CLOCK_MONOTONIC */
    uint64_t start_ns;        /* thread table start_ns */
};

enum lg_wf_rec_node_kind {
    LG_WFN_THREAD = 1, LG_WFN_PROCESS = 2, LG_WFN_LOCK = 3, LG_WFN_PIPE = 4, LG_WFN_OTHER = 5,
};
enum lg_wf_rec_flags {
    LG_WFN_ON_CYCLE = 1u << 0,  /* node/edge is on the reported cycle */
    LG_WFN_FROM_TABLE = 1u << 1,/* thread: its wait came from the shim's slot (else /proc) */
    LG_WFN_CERTAIN = 1u << 2,   /* edge: known exactly (held snapshot, join, mutex owner word) */
    LG_WFN_SELF_WAIT = 1u << 3, /* thread: waits for a lock (mutex, rwlock, spinlock,
                                   semaphore) its own held snapshot contains */
};

struct lg_rec_wf_node {
    uint32_t node;            /* number, = index in record order */
    uint16_t node_kind;       /* enum lg_wf_rec_node_kind */
    uint16_t flags;           /* enum lg_wf_rec_flags */
    int32_t pid, tid;         /* thread: both; process: pid; private lock: owning pid */
    uint32_t exec_seq;        /* thread: which trace of pid holds stack_id */
    uint32_t stack_id;        /* thread: stack of the blocking call, 0 unknown */
    uint32_t op;              /* thread: enum lg_block_op (0: not blocked / unknown) */
    int32_t sysno;            /* thread: system call seen in /proc, -1 none */
    uint64_t lock_id;         /* lock: id in pid's trace, 0 unknown */
    uint64_t addr;            /* lock: address; thread: the object it waits on */
    uint64_t dev, ino, off;   /* shared lock identity; pipe: ino */
    uint32_t lock_kind;       /* lock: enum lg_lock_kind, 0 unknown */
    int32_t fd;               /* thread: fd of a blocked pipe call, -1 */
    int64_t queued;           /* pipe: bytes in it, -1 unknown */
    int64_t capacity;         /* pipe: F_GETPIPE_SZ, -1 unknown */
    int64_t requested;        /* pipe: bytes the blocked writer asked for, -1 unknown */
    char state;               /* thread: /proc state letter */
    char pad[7];
    char name[16];            /* thread name or comm */
    char wchan[32];
};

enum lg_wf_rec_edge_kind {
    LG_WFE_WAITS = 1,         /* thread -> lock or other object */
    LG_WFE_HOLDS = 2,         /* lock -> owning thread */
    LG_WFE_JOINS = 3,         /* thread -> joined thread */
    LG_WFE_WAITPID = 4,       /* thread -> child process */
    LG_WFE_THREAD_OF = 5,     /* process -> its thread (it ends when they do) */
    LG_WFE_PIPE_WRITE = 6,    /* thread -> pipe it is blocked writing into */
    LG_WFE_PIPE_READ = 7,     /* thread -> pipe it is blocked reading from */
    LG_WFE_READ_END = 8,      /* pipe -> process holding its read end */
    LG_WFE_WRITE_END = 9,     /* pipe -> process holding its write end */
};

struct lg_rec_wf_edge {
    uint32_t from, to;        /* node numbers */
    uint16_t edge_kind;       /* enum lg_wf_rec_edge_kind */
    uint16_t flags;           /* LG_WFN_ON_CYCLE, LG_WFN_CERTAIN */
    int32_t fd;               /* READ_END/WRITE_END: the holder's fd, else -1 */
};

struct lg_rec_hang_cycle {
    uint32_t n;
    uint32_t node[];          /* node numbers, in wait-for order */
};

struct lg_rec_hang_jbd {      /* join-before-drain, by node number */
    uint32_t waiter;          /* thread blocked in join/waitpid */
    uint32_t target;          /* the thread or process it waits for */
    uint32_t writer;          /* thread blocked writing into the pipe */
    uint32_t pipe;            /* the pipe only the waiter's process would read */
};

/* One frame of a blocked thread's stack as the supervisor unwound it from
 * outside (libdwfl over ptrace), for threads the shim gave no stack
 * (static binaries, calls it does not interpose: poll, select, raw system
 * calls). Already symbolized: the live process is gone by analysis time.
 * text holds file, then function, then module, without NULs. */
struct lg_rec_hang_frame {
    uint32_t node;            /* thread node number */
    uint32_t index;           /* 0 innermost */
    uint64_t pc;              /* return address (pc of the call + 1), or the pc of frame 0 */
    int32_t line;             /* 0 unknown */
    uint16_t file_len, func_len, module_len;
    uint16_t flags;           /* LG_HFR_SYSTEM: libc, the loader, the shim, the interpreter */
    char text[];
};
enum lg_hang_frame_flags { LG_HFR_SYSTEM = 1u << 0 };

/* --- file and pipe I/O, file locks (kinds 40-49) ----------------------
 * Written by preload/interpose_io.c, read by analyzer/race.c (races on
 * shared files) and analyzer/hang.c (pipe traffic before a join/wait).
 * A "session" is one open file description as this process image sees it:
 * it starts at open/creat/fopen/pipe/socketpair (or at the first use of an
 * fd the image inherited or could not see being opened) and ends with the
 * last FD_CLOSE of its id; dup'ed fds share their session. Ids are unique
 * within one trace file. Records marked "in place" are updated after
 * commit (relaxed stores): a reader sees the latest totals. */
enum lg_fd_type {
    LG_FD_FILE = 1,           /* regular file */
    LG_FD_PIPE = 2,           /* pipe()/pipe2() or an anonymous pipe found in use */
    LG_FD_FIFO = 3,           /* named FIFO opened by path */
    LG_FD_SOCKPAIR = 4,       /* one end of a socketpair() */
};

enum lg_fd_open_flags {
    LG_FDO_DUP = 1u << 0,       /* dup/dup2/dup3/F_DUPFD: same session as parent_session */
    LG_FDO_INHERITED = 1u << 1, /* open before this image (fork child, exec): first use */
    LG_FDO_LAZY = 1u << 2,      /* opening not seen (internal libc open): found at first use */
    LG_FDO_STDIO = 1u << 3,     /* opened through fopen/fdopen/freopen */
    LG_FDO_READ_END = 1u << 4,  /* pipe: this fd is the read end */
    LG_FDO_WRITE_END = 1u << 5, /* pipe: this fd is the write end */
};

struct lg_rec_fd_open {
    uint64_t session;
    uint64_t parent_session;  /* LG_FDO_DUP: the session duplicated (== session) */
    uint64_t dev, ino;        /* pipes and sockets: ino only (pipefs/sockfs) */
    uint64_t peer_ino;        /* socketpair: the other end's inode; else 0 */
    int32_t fd;
    uint32_t type;            /* enum lg_fd_type */
    uint32_t oflags;          /* open(2) flags: O_ACCMODE, O_APPEND, O_TRUNC, O_CREAT, O_NONBLOCK */
    uint32_t stack_id;        /* the open call, 0 when not seen */
    uint32_t path_len;        /* bytes of path without NUL; 0 for pipes/sockets */
    uint32_t pad;
    char path[];              /* as the program passed it (absolute from /proc when lazy) */
};

struct lg_rec_fd_close {
    uint64_t session;
    int32_t fd;
    uint32_t stack_id;        /* 0: not captured */
};

enum lg_file_op {
    LG_FOP_READ = 1,          /* read, pread, readv, fread, fgets, fscanf, ... */
    LG_FOP_WRITE = 2,         /* write, pwrite, writev, fwrite, fprintf, ... (or a stdio flush at fclose) */
    LG_FOP_TRUNCATE = 3,      /* ftruncate/truncate (a write) */
    LG_FOP_RENAME = 4,        /* rename onto the file (a write); aux_ino: the inode moved in */
};

enum lg_io_lock_kind {
    LG_IOL_LOCK = 1,          /* a lock of the shim (pthread, semaphore): lock_id in this trace */
    LG_IOL_FLOCK = 2,         /* flock(2) on dev/ino */
    LG_IOL_POSIX = 3,         /* fcntl F_SETLK(W) / lockf record lock on dev/ino, range */
    LG_IOL_OFD = 4,           /* fcntl F_OFD_SETLK(W) */
};

struct lg_io_held {           /* one lock held at a file access */
    uint64_t lock_id;         /* LG_IOL_LOCK: lock_id (LOCK_NEW) in this trace; else 0 */
    uint64_t dev, ino;        /* file locks: the locked file */
    int64_t start, len;       /* POSIX/OFD: byte range (len 0: to the end of file); flock: 0, 0 */
    uint32_t kind;            /* enum lg_io_lock_kind */
    uint32_t mode;            /* enum lg_acq_mode */
};

/* First access of one kind by one thread within one session; repeats bump
 * count/bytes/last_ns in place. Session 0: a path operation (rename,
 * truncate) with no fd; path then follows the held array. */
struct lg_rec_file_access {
    uint64_t session;
    uint64_t dev, ino;
    uint64_t aux_ino;         /* LG_FOP_RENAME: inode of the file renamed onto this one */
    uint64_t count;           /* in place: calls */
    uint64_t bytes;           /* in place: bytes moved (reads/writes) */
    uint64_t last_ns;         /* in place: time of the latest call */
    int32_t fd;
    uint32_t op;              /* enum lg_file_op */
    uint32_t stack_id;        /* the first call's stack */
    uint32_t nheld;           /* locks held at the first call */
    uint32_t path_len;        /* session 0 only */
    uint32_t pad;
    struct lg_io_held held[]; /* then path (NUL-terminated, padded) */
};

enum lg_pipe_dir { LG_PIPE_READ = 0, LG_PIPE_WRITE = 1 };

/* Traffic of one thread through one pipe (or FIFO, or socketpair end) in
 * one direction: written at the first call, totals kept in place, so at
 * any time (a join, a waitpid, a kill) the file says how much went through
 * and when the thread last moved data. */
struct lg_rec_pipe_io {
    uint64_t ino;             /* the pipe's inode (both ends share it); socketpair: this end's */
    uint64_t peer_ino;        /* socketpair: the other end's inode; else 0 */
    uint64_t session;
    uint64_t bytes;           /* in place: bytes moved (successful calls) */
    uint64_t calls;           /* in place */
    uint64_t last_ns;         /* in place: end of the latest call */
    uint64_t first_bytes;     /* bytes moved by the first call */
    int32_t fd;
    uint32_t dir;             /* enum lg_pipe_dir */
    uint32_t type;            /* enum lg_fd_type */
    uint32_t stack_id;        /* the first call */
};

enum lg_flock_op {
    LG_FLOP_ACQUIRE = 1,      /* the lock was granted */
    LG_FLOP_RELEASE = 2,      /* explicit unlock (LOCK_UN, F_UNLCK, F_ULOCK) */
    LG_FLOP_BUSY = 3,         /* a non-blocking attempt failed (EWOULDBLOCK/EAGAIN/EACCES) */
    LG_FLOP_CLOSE = 4,        /* released by close of the fd (flock) or of any fd of the file (POSIX) */
};

struct lg_rec_file_lock {
    uint64_t dev, ino;
    int64_t start, len;       /* POSIX/OFD range, absolute when whence allowed it; flock 0, 0 */
    uint64_t session;
    int32_t fd;
    uint16_t lock_kind;       /* enum lg_io_lock_kind (FLOCK, POSIX, OFD) */
    uint16_t op;              /* enum lg_flock_op */
    uint16_t mode;            /* enum lg_acq_mode */
    uint16_t flags;           /* LG_ACQ_TRY for non-blocking attempts */
    uint32_t stack_id;
    int32_t err;              /* errno of a failed call, else 0 */
    uint32_t pad;
};

/*
 * The one list of record kinds: X(NAME, number, payload struct).
 * Numbers are part of the format: never renumber, only append.
 * Number ranges, so that parallel work never collides:
 *   19-29  shim (preload/) additions
 *   30-39  supervisor / hang analysis (hang.lgt: wait-for nodes, edges, verdict)
 *   40-49  file and pipe I/O, file locks (preload/interpose_io.c, analyzer/race.c)
 */
#define LG_RECORD_KINDS(X)                                   \
    X(MODULE,       1, struct lg_rec_module)                 \
    X(STACK,        2, struct lg_rec_stack)                  \
    X(PYSTACK,      3, struct lg_rec_pystack)                \
    X(LOCK_NEW,     4, struct lg_rec_lock_new)               \
    X(LOCK_DESTROY, 5, struct lg_rec_lock_destroy)           \
    X(DEP,          6, struct lg_rec_dep)                    \
    X(MISUSE,       7, struct lg_rec_misuse)                 \
    X(THREAD_START, 8, struct lg_rec_thread_start)           \
    X(THREAD_EXIT,  9, struct lg_rec_thread_exit)            \
    X(HELD_AT,     10, struct lg_rec_held_at)                \
    X(JOIN,        11, struct lg_rec_join)                   \
    X(DETACH,      12, struct lg_rec_detach)                 \
    X(FORK,        13, struct lg_rec_fork)                   \
    X(EXEC,        14, struct lg_rec_exec)                   \
    X(WAIT,        15, struct lg_rec_wait)                   \
    X(PROC_EXIT,   16, struct lg_rec_proc_exit)              \
    X(COND_USE,    17, struct lg_rec_cond_use)               \
    X(NOTE,        18, struct lg_rec_note)                  \
    X(HANG,        30, struct lg_rec_hang)                  \
    X(WF_NODE,     31, struct lg_rec_wf_node)               \
    X(WF_EDGE,     32, struct lg_rec_wf_edge)               \
    X(HANG_CYCLE,  33, struct lg_rec_hang_cycle)            \
    X(HANG_JBD,    34, struct lg_rec_hang_jbd)                \
    X(HANG_FRAME,  35, struct lg_rec_hang_frame)              \
    X(FD_OPEN,     40, struct lg_rec_fd_open)                 \
    X(FD_CLOSE,    41, struct lg_rec_fd_close)                \
    X(FILE_ACCESS, 42, struct lg_rec_file_access)             \
    X(PIPE_IO,     43, struct lg_rec_pipe_io)                 \
    X(FILE_LOCK,   44, struct lg_rec_file_lock)

enum lg_rec_kind {
#define LG_X_ENUM(name, num, type) LG_REC_##name = num,
    LG_RECORD_KINDS(LG_X_ENUM)
#undef LG_X_ENUM
    LG_REC_KIND_MAX
};

/* Size of the fixed part of a record of each kind (header + payload head). */
#define LG_REC_FIXED_SIZE(type) (sizeof(struct lg_rec_hdr) + sizeof(type))

static inline uint32_t lg_rec_align(uint32_t n)
{
    return (n + LG_TRACE_ALIGN - 1) & ~(LG_TRACE_ALIGN - 1);
}

#endif /* LG_TRACE_H */
