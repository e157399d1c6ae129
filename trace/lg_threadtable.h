/* SPDX-License-Identifier: MIT */
/*
 * lg_threadtable.h — the shared thread table: a memory-mapped file in the
 * output folder (threads.lgt), created by `lockgraph run` before it starts
 * the target, opened by every shim instance (inherited across fork and
 * exec), read live by the supervisor to detect deadlocks and hangs.
 *
 * One slot per live thread. The shim writes its slot only on the slow
 * path: when the thread starts or ends, just before a call that may block
 * (after a non-blocking attempt failed), and when that call returns. A
 * blocked thread's held-lock snapshot is exact: it cannot change while the
 * thread is blocked. Writers bump `seq` to odd before and to even after an
 * update (a seqlock); the supervisor retries a slot read while seq is odd
 * or changed.
 */
#ifndef LG_THREADTABLE_H
#define LG_THREADTABLE_H

#include <stdint.h>

#define LG_TT_FILE "threads.lgt"
#define LG_TT_MAGIC "LGTHRDS"
#define LG_TT_VERSION 1u
#define LG_TT_SLOTS 4096u
#define LG_TT_MAX_HELD 16u

/* What a blocked thread is blocked in. */
enum lg_block_op {
    LG_BLOCK_NONE = 0,
    LG_BLOCK_MUTEX = 1,
    LG_BLOCK_RWLOCK_RD = 2,
    LG_BLOCK_RWLOCK_WR = 3,
    LG_BLOCK_SPIN = 4,
    LG_BLOCK_SEM = 5,          /* obj: the semaphore */
    LG_BLOCK_COND = 6,         /* obj: the mutex to be retaken; cond address in aux */
    LG_BLOCK_BARRIER = 7,      /* aux: barrier address */
    LG_BLOCK_JOIN = 8,         /* target_tid: the joined thread (0 if unknown), aux: pthread_t */
    LG_BLOCK_WAITPID = 9,      /* target_pid: pid argument (-1: any child) */
    LG_BLOCK_PIPE_READ = 10,   /* obj.ino: pipe inode, target_fd */
    LG_BLOCK_PIPE_WRITE = 11,  /* obj.ino: pipe inode, target_fd, aux: bytes requested */
    LG_BLOCK_FLOCK = 12,       /* obj.dev/ino: the file */
    LG_BLOCK_OTHER = 13,
};

enum lg_tt_flags {
    LG_TT_TIMED = 1u << 0,     /* the wait has a timeout: never "stuck" */
    LG_TT_PYTHON = 1u << 1,    /* stack_id has Python frames */
};

/* A lock (or other object) as the supervisor needs to match it across
 * threads and processes: shared objects by (dev, ino, off), private ones
 * by (pid, id). Matches enum lg_lock_kind for kind when it is a lock. */
struct lg_tt_obj {
    uint32_t kind;             /* enum lg_lock_kind, 0 for non-locks */
    uint32_t shared;           /* 1: dev/ino/off identify it across processes */
    uint64_t id;               /* lock_id in the owning process's trace */
    uint64_t addr;
    uint64_t dev, ino, off;
};

struct lg_tt_slot {
    int32_t tid;               /* 0: free. Claimed with a CAS from 0. */
    int32_t pid;
    uint32_t seq;              /* seqlock, odd while being written */
    uint32_t exec_seq;         /* which trace file of pid (trace-<pid>-<exec_seq>.lgt) */
    uint32_t op;               /* enum lg_block_op; NONE while running */
    uint32_t flags;            /* enum lg_tt_flags */
    uint64_t since_ns;         /* CLOCK_MONOTONIC when the wait began */
    uint64_t progress;         /* bumped on every return from a published wait */
    struct lg_tt_obj obj;      /* what it waits for */
    uint64_t aux;
    int32_t target_tid;
    int32_t target_pid;
    int32_t target_fd;
    uint32_t stack_id;         /* stack of the blocking call, in pid's trace */
    int32_t owner_tid;         /* last known owner of obj in this process, 0 unknown */
    uint32_t nheld;            /* locks this thread held when it blocked (may exceed MAX_HELD) */
    struct lg_tt_obj held[LG_TT_MAX_HELD];
    char name[16];
    uint8_t pad[64];
};

struct lg_tt_header {
    char magic[8];
    uint32_t version;
    uint32_t nslots;
    uint32_t slot_size;        /* sizeof(struct lg_tt_slot) */
    int32_t root_pid;          /* the process `lockgraph run` started */
    uint64_t start_ns;
    uint32_t overflow;         /* set when a thread found no free slot */
    uint32_t pad[29];          /* room to grow */
};

#define LG_TT_SIZE (sizeof(struct lg_tt_header) + (uint64_t)LG_TT_SLOTS * sizeof(struct lg_tt_slot))

#endif /* LG_THREADTABLE_H */
