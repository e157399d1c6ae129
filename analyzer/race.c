/* SPDX-License-Identifier: MIT */
/*
 * race.c — lock-discipline races on shared files. Reads the FD_OPEN /
 * FILE_ACCESS records that preload/interpose_io.c wrote, plus the
 * ordering records (fork, thread start, join, wait, exits) of every trace
 * in the folder, and reports `lock-discipline-race` when a regular file
 * is written by one actor (thread or process) and read or written by
 * another, concurrently, with no lock held in common. Runs after the
 * loader; adds findings to the model (lg_race.h).
 *
 * The unit of judgement is an actor's use of a file:
 *   RMW   a read followed (next access of that actor to that file) by a
 *         write: the classic lost update; its window is read .. write;
 *   WRITE a write not preceded by its own read;
 *   PEEK  a read not followed by a write.
 * Two units of different actors conflict when at least one writes; the
 * conflict is a race when neither is ordered before the other and no
 * lock excludes them both. Ordering: program order; fork; thread start;
 * join; a wait that reaped the process; and, between threads of one
 * Python process, lifetime (a thread that had ended before the other
 * unit began: CPython joins through a semaphore, not pthread_join),
 * judged at the times of the accesses, not of their sessions (a record
 * spanning its thread's create and join is cut there: split_at_sync).
 * Each finding carries the file's sessions for the diagram and JSON
 * (sessions_fill). Locks: pthread locks and
 * semaphores (by the shim's identity: shared objects across processes),
 * flock, lockf and fcntl locks on any file.
 *
 * Noise kept out: files one actor touched; files never written; writes
 * through O_APPEND sessions (logs); paths under /proc, /sys, /dev, the
 * trace folder and __pycache__. A PEEK against writers that all hold a
 * common lock is a reader looking at a file whose writers are disciplined
 * (a stale read, not a lost update): not reported.
 */
#include "lg_race.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_analyze.h"
#include "lg_trace_read.h"

#define MAX_UNITS_PER_FILE 4000   /* pairs are quadratic: cap the work per file */
#define HB_BUDGET_PER_FILE 200000L /* ordering queries per file, then judge with what is known */
#define HB_CACHE_CELLS (4u << 20)  /* cached arrival times (32 MiB), then the cache starts over */
#define BEST_SCORE 13             /* two overlapping read-modify-writes: nothing beats it */
#define MAX_HELD 32

/* --- collected data -------------------------------------------------------- */

struct rsrc {                     /* one trace file */
    struct lg_trace_file tf;
    char *path;
    int proc;                     /* model process index, -1 */
    int pid;
    unsigned exec_seq;
    struct lg_map stack_off;      /* stack_id -> offset of its STACK record */
    struct lg_map pystack_off;    /* stack_id -> offset of its PYSTACK record */
    struct lg_map lock_off;       /* lock_id -> offset of its LOCK_NEW record */
    struct lg_map session;        /* session -> index in sessions[] */
};

struct rsession {
    int src;
    uint64_t id;
    uint32_t oflags;
    uint32_t open_stack;
    const char *path;             /* interned, may be NULL */
    uint64_t dev, ino;
};

struct raccess {
    int actor;
    int src;
    int file;
    int session;                  /* index in sessions[], -1 for path operations */
    uint32_t op;                  /* enum lg_file_op */
    uint32_t stack;
    uint64_t first, last;
    uint64_t count;               /* calls between first and last, both included */
    struct lg_race_lock *held;
    int nheld;
};

struct ractor {
    int pid, tid;
    int proc;                     /* latest model process of pid */
    int thread;                   /* model thread index, -1 */
    uint64_t end;                 /* known end (thread exit, process exit), 0 unknown */
    bool accessed;                /* has file accesses */
    bool python;                  /* its process runs CPython (joins through a semaphore) */
};

struct redge {                    /* ordering: from@t1 happens before to@t2 */
    int from, to;
    uint64_t t1, t2;
};

struct rheap {
    uint64_t t;
    int actor;
};

struct rfile {
    uint64_t dev, ino;
    const char *path;
    int *acc;                     /* indexes into accesses */
    int nacc, cap;
    bool written;
};

enum unit_kind { U_PEEK = 1, U_WRITE = 2, U_RMW = 3 };

struct runit {
    enum unit_kind kind;
    int actor;
    int read, write;              /* access indexes, -1 */
    uint64_t start, end;
    struct lg_race_lock *held;    /* the unit's lockset */
    int nheld;
};

struct rpending {                 /* a FILE_ACCESS record still to be read */
    int src, off;
};

struct race {
    struct lg_model *m;
    struct rpending *pending;
    int npending, cap_pending;
    struct lg_arena *arena;
    struct lg_strtab *strs;
    struct rsrc *srcs;
    int nsrcs;
    struct rsession *sessions;
    int nsessions, cap_sessions;
    struct raccess *acc;
    int nacc, cap_acc;
    struct ractor *actors;
    int nactors, cap_actors;
    struct lg_map actor_of;       /* pid << 32 | tid -> actor */
    struct redge *edges;
    int nedges, cap_edges;
    struct rfile *files;
    int nfiles, cap_files;
    struct lg_map file_of;        /* mix(dev, ino) -> file */
    struct lg_map pthread_of;     /* mix(pid, pthread_t) -> tid (latest THREAD_START) */
    struct lg_symbolizer *sym;
    bool count_append;            /* LOCKGRAPH_RACE_APPEND=1: O_APPEND writes count */
    /* ordering (order_index) */
    int *out_off;                 /* edges[out_off[a] .. out_off[a+1]) leave actor a, by t1 */
    uint64_t *sync;               /* actor a's synchronisation points: sync[sync_off[a] ..] */
    int *sync_off;
    struct rheap *heap;           /* search scratch */
    int cap_heap;
    uint64_t *arrive;
    struct lg_map reach_of;       /* key2(actor, first edge) -> row of reach */
    uint64_t *reach;              /* cached arrival vectors, nactors each */
    int nreach, cap_reach;
};

/* --- small helpers --------------------------------------------------------- */

static uint64_t key2(uint64_t a, uint64_t b)
{
    uint64_t k = lg_mix64(a * 0x9e3779b97f4a7c15ull ^ lg_mix64(b));
    return k == UINT64_MAX ? k - 1 : k;
}

static uint64_t key4(uint64_t tag, uint64_t a, uint64_t b, uint64_t c)
{
    return key2(key2(tag, a), key2(b, c));
}

static int actor_get(struct race *R, int pid, int tid)
{
    uint64_t k = (uint64_t)(uint32_t)pid << 32 | (uint32_t)tid;
    int idx;
    if (lg_map_get(&R->actor_of, k, &idx))
        return idx;
    if (lg_grow((void **)&R->actors, &R->cap_actors, R->nactors + 1, sizeof(*R->actors)) < 0)
        return -1;
    idx = R->nactors++;
    R->actors[idx] = (struct ractor){ .pid = pid, .tid = tid, .proc = -1, .thread = -1 };
    if (lg_map_put(&R->actor_of, k, idx) < 0)
        return -1;
    return idx;
}

static void edge_add(struct race *R, int from, int to, uint64_t t1, uint64_t t2)
{
    if (from < 0 || to < 0 || from == to)
        return;
    if (lg_grow((void **)&R->edges, &R->cap_edges, R->nedges + 1, sizeof(*R->edges)) < 0)
        return;
    R->edges[R->nedges++] = (struct redge){ from, to, t1, t2 };
}

static bool path_ignored(const struct race *R, const char *p)
{
    if (!p)
        return false;
    static const char *const pre[] = { "/proc/", "/sys/", "/dev/" };
    for (size_t i = 0; i < sizeof(pre) / sizeof(*pre); i++)
        if (strncmp(p, pre[i], strlen(pre[i])) == 0)
            return true;
    if (strstr(p, "/__pycache__/") || strncmp(p, "__pycache__/", 12) == 0)
        return true;
    size_t n = strlen(p);
    if (n > 4 && strcmp(p + n - 4, ".pyc") == 0)
        return true;
    if (n > 4 && strcmp(p + n - 4, ".lgt") == 0)
        return true;
    const char *d = R->m->dir;
    if (d && *d) {
        size_t dl = strlen(d);
        while (dl > 1 && d[dl - 1] == '/')
            dl--;
        if (strncmp(p, d, dl) == 0 && p[dl] == '/')
            return true;
    }
    return false;
}

/* Contract: the file for (dev, ino) under the base name it was opened
 * by (NULL: unknown). The name is part of the identity because tmpfs and
 * ext4 give a deleted file's inode to the next one created: gcc's
 * /tmp/ccXXXXXX.s files, made and removed one after another by make -j2,
 * would otherwise be one file written by every compiler. The base name
 * only, so the same file reached by another relative path stays one. */
static int file_get(struct race *R, uint64_t dev, uint64_t ino, const char *path)
{
    uint64_t name = 0;
    if (path) {
        const char *base = strrchr(path, '/');
        for (const char *p = base ? base + 1 : path; *p; p++)
            name = (name ^ (unsigned char)*p) * 0x100000001b3ull;
    }
    uint64_t k = key2(dev, ino ^ lg_mix64(name));
    int idx;
    if (lg_map_get(&R->file_of, k, &idx))
        return idx;
    if (lg_grow((void **)&R->files, &R->cap_files, R->nfiles + 1, sizeof(*R->files)) < 0)
        return -1;
    idx = R->nfiles++;
    memset(&R->files[idx], 0, sizeof(R->files[idx]));
    R->files[idx].dev = dev;
    R->files[idx].ino = ino;
    if (lg_map_put(&R->file_of, k, idx) < 0)
        return -1;
    return idx;
}

/* Record offsets are kept in ints as multiples of LG_TRACE_ALIGN: traces
 * up to 16 GiB (the writer reserves 8). */
static const void *rec_at(const struct rsrc *s, int off)
{
    return s->tf.base + (size_t)(unsigned)off * LG_TRACE_ALIGN;
}

/* --- lock identity ------------------------------------------------------- */

/* 1 when the innermost Python frame of stack `id` of src s is `func`. */
static bool py_innermost_is(const struct rsrc *s, uint32_t id, const char *func)
{
    int off;
    if (!id || !lg_map_get(&s->pystack_off, id, &off))
        return false;
    const struct lg_rec_hdr *r = rec_at(s, off);
    const struct lg_rec_pystack *pr = lg_rec_payload(r);
    const uint8_t *q = pr->frames, *end = (const uint8_t *)r + r->size;
    if (!pr->nframes || q + 8 > end)
        return false;
    uint16_t flen, fnlen;
    memcpy(&flen, q + 4, 2);
    memcpy(&fnlen, q + 6, 2);
    if (q + 8 + flen + fnlen > end)
        return false;
    return fnlen == strlen(func) && memcmp(q + 8 + flen, func, fnlen) == 0;
}

/* Normalize one held entry of src s. Returns false for locks that never
 * count (the interpreter's own). */
static bool norm_lock(struct race *R, struct rsrc *s, const struct lg_io_held *h,
                      struct lg_race_lock *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = (uint16_t)h->kind;
    out->mode = (uint16_t)h->mode;
    switch (h->kind) {
    case LG_IOL_LOCK: {
        int off;
        if (lg_map_get(&s->lock_off, h->lock_id, &off)) {
            const struct lg_rec_hdr *r = rec_at(s, off);
            const struct lg_rec_lock_new *ln = lg_rec_payload(r);
            if (ln->flags & LG_LOCKF_GIL)
                return false;
            if (ln->flags & LG_LOCKF_SHARED_ID) {
                out->key = key4('S', ln->dev, ln->ino, ln->offset);
                return true;
            }
            /* Held in the parent when it forked (CPython's import lock is
             * one: the child re-creates it and never releases the copy).
             * It still counts among the child's own threads, but it is
             * never common with another process and would only confuse
             * the report. */
            out->inherited = (ln->flags & LG_LOCKF_INHERITED) != 0;
            /* CPython's per-thread "tstate lock": every Python thread
             * holds its own for life (Thread.join waits on it); a fork
             * child's main thread re-takes it in _reset_internal_locks. */
            if (py_innermost_is(s, ln->site_stack, "_set_tstate_lock") ||
                py_innermost_is(s, ln->site_stack, "_reset_internal_locks"))
                out->inherited = true;
        }
        out->key = key4('P', (uint64_t)s->pid, s->exec_seq, h->lock_id);
        return true;
    }
    case LG_IOL_FLOCK:
        out->key = key4('F', h->dev, h->ino, 0);
        return true;
    case LG_IOL_POSIX:
    case LG_IOL_OFD:
        out->key = key4('R', h->dev, h->ino, 0);
        out->start = h->start;
        out->len = h->len;
        return true;
    default:
        return false;
    }
}

static bool ranges_overlap(const struct lg_race_lock *a, const struct lg_race_lock *b)
{
    if (a->start < 0 || b->start < 0)
        return true;
    int64_t ae = a->len ? a->start + a->len : INT64_MAX;
    int64_t be = b->len ? b->start + b->len : INT64_MAX;
    return a->start < be && b->start < ae;
}

bool lg_race_common_lock(const struct lg_race_lock *a, int na, const struct lg_race_lock *b, int nb)
{
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            if (a[i].key != b[j].key)
                continue;
            if (a[i].mode == LG_MODE_READ && b[j].mode == LG_MODE_READ)
                continue;   /* two shared holds exclude nothing */
            if ((a[i].kind == LG_IOL_POSIX || a[i].kind == LG_IOL_OFD) && !ranges_overlap(&a[i], &b[j]))
                continue;
            return true;
        }
    return false;
}

/* a ∩ b (by key), into the arena. */
static int lockset_meet(struct race *R, const struct lg_race_lock *a, int na,
                        const struct lg_race_lock *b, int nb, struct lg_race_lock **out)
{
    struct lg_race_lock *v = na ? lg_arena_alloc(R->arena, (size_t)na * sizeof(*v)) : NULL;
    int n = 0;
    for (int i = 0; i < na && v; i++)
        for (int j = 0; j < nb; j++)
            if (a[i].key == b[j].key) {
                v[n] = a[i];
                if (b[j].mode == LG_MODE_READ)
                    v[n].mode = LG_MODE_READ;
                n++;
                break;
            }
    *out = v;
    return n;
}

/* --- reading ---------------------------------------------------------------- */

static int proc_of(const struct lg_model *m, int pid, unsigned seq)
{
    for (int i = 0; i < m->nprocs; i++)
        if (m->procs[i].pid == pid && m->procs[i].exec_seq == seq)
            return i;
    return -1;
}

static void session_open(struct race *R, int si, const struct lg_rec_hdr *r)
{
    struct rsrc *s = &R->srcs[si];
    const struct lg_rec_fd_open *o = lg_rec_payload(r);
    int idx;
    if (o->type != LG_FD_FILE)
        return;
    if (lg_map_get(&s->session, o->session, &idx)) {
        struct rsession *ss = &R->sessions[idx];
        if (!ss->path && o->path_len && lg_rec_fits(r, sizeof(*o), o->path_len, 1))
            ss->path = lg_intern(R->strs, o->path, o->path_len);
        return;
    }
    if (lg_grow((void **)&R->sessions, &R->cap_sessions, R->nsessions + 1, sizeof(*R->sessions)) < 0)
        return;
    idx = R->nsessions++;
    struct rsession *ss = &R->sessions[idx];
    memset(ss, 0, sizeof(*ss));
    ss->src = si;
    ss->id = o->session;
    ss->oflags = o->oflags;
    ss->open_stack = o->stack_id;
    ss->dev = o->dev;
    ss->ino = o->ino;
    if (o->path_len && lg_rec_fits(r, sizeof(*o), o->path_len, 1))
        ss->path = lg_intern(R->strs, o->path, o->path_len);
    lg_map_put(&s->session, o->session, idx);
}

static void access_add(struct race *R, int si, const struct lg_rec_hdr *r)
{
    struct rsrc *s = &R->srcs[si];
    const struct lg_rec_file_access *a = lg_rec_payload(r);
    if (!lg_rec_fits(r, sizeof(*a), a->nheld, sizeof(struct lg_io_held)))
        return;
    int sess = -1;
    const char *path = NULL;
    if (a->session) {
        if (!lg_map_get(&s->session, a->session, &sess))
            return;             /* not a regular file session */
        path = R->sessions[sess].path;
    } else if (a->path_len &&
               lg_rec_fits(r, sizeof(*a) + a->nheld * sizeof(struct lg_io_held), a->path_len, 1)) {
        path = lg_intern(R->strs, (const char *)(a->held + a->nheld), a->path_len);
    }
    if (path_ignored(R, path))
        return;
    int actor = actor_get(R, s->pid, r->tid);
    int file = file_get(R, a->dev, a->ino, path);
    if (actor < 0 || file < 0)
        return;
    R->actors[actor].accessed = true;
    if (lg_grow((void **)&R->acc, &R->cap_acc, R->nacc + 1, sizeof(*R->acc)) < 0)
        return;
    struct raccess *x = &R->acc[R->nacc];
    memset(x, 0, sizeof(*x));
    x->actor = actor;
    x->src = si;
    x->file = file;
    x->session = sess;
    x->op = a->op;
    x->stack = a->stack_id;
    x->first = r->time_ns;
    x->last = a->last_ns > r->time_ns ? a->last_ns : r->time_ns;
    x->count = a->count ? a->count : 1;
    uint32_t nh = a->nheld > MAX_HELD ? MAX_HELD : a->nheld;
    if (nh) {
        x->held = lg_arena_alloc(R->arena, nh * sizeof(*x->held));
        for (uint32_t i = 0; x->held && i < nh; i++)
            if (norm_lock(R, s, &a->held[i], &x->held[x->nheld]))
                x->nheld++;
    }
    struct rfile *f = &R->files[file];
    if (!f->path || (a->op != LG_FOP_READ && path))
        f->path = f->path && a->op == LG_FOP_READ ? f->path : (path ? path : f->path);
    if (lg_grow((void **)&f->acc, &f->cap, f->nacc + 1, sizeof(int)) < 0)
        return;
    f->acc[f->nacc++] = R->nacc++;
}

/* One pass over one trace: index stacks, locks and sessions, collect the
 * ordering records, and note where the accesses are (judged after every
 * trace has been read). */
static void read_src(struct race *R, int si)
{
    struct rsrc *s = &R->srcs[si];
    const struct lg_rec_hdr *r;
    size_t dropped = 0;
    s->tf.pos = LG_TRACE_HEADER_SIZE;
    s->tf.problem[0] = 0;
    while (lg_trace_next(&s->tf, &r) == 1) {
        lg_trace_drop_behind(s->tf.base, s->tf.pos - r->size, &dropped);
        int off = (int)((size_t)((const uint8_t *)r - s->tf.base) / LG_TRACE_ALIGN);
        switch (r->kind) {
        case LG_REC_FILE_ACCESS:
            /* judged once every FD_OPEN of every trace is known */
            if (lg_grow((void **)&R->pending, &R->cap_pending, R->npending + 1,
                        sizeof(*R->pending)) == 0)
                R->pending[R->npending++] = (struct rpending){ si, off };
            break;
        case LG_REC_STACK: {
            const struct lg_rec_stack *st = lg_rec_payload(r);
            lg_map_put(&s->stack_off, st->stack_id, off);
            break;
        }
        case LG_REC_PYSTACK: {
            const struct lg_rec_pystack *st = lg_rec_payload(r);
            lg_map_put(&s->pystack_off, st->stack_id, off);
            break;
        }
        case LG_REC_LOCK_NEW: {
            const struct lg_rec_lock_new *ln = lg_rec_payload(r);
            if (ln->lock_id != UINT64_MAX)
                lg_map_put(&s->lock_off, ln->lock_id, off);
            break;
        }
        case LG_REC_FD_OPEN:
            session_open(R, si, r);
            break;
        case LG_REC_THREAD_START: {
            const struct lg_rec_thread_start *ts = lg_rec_payload(r);
            int to = actor_get(R, s->pid, r->tid);
            if (ts->pthread)
                lg_map_put(&R->pthread_of, key2((uint64_t)s->pid, ts->pthread), r->tid);
            /* The whole life of the thread follows its creation: t2 = 0. */
            if (ts->creator_tid)
                edge_add(R, actor_get(R, s->pid, ts->creator_tid), to, r->time_ns, 0);
            break;
        }
        case LG_REC_THREAD_EXIT: {
            int a = actor_get(R, s->pid, r->tid);
            const struct lg_rec_thread_exit *te = lg_rec_payload(r);
            if (a >= 0 && te->how != LG_END_EXEC)
                R->actors[a].end = r->time_ns;
            break;
        }
        case LG_REC_JOIN: {
            const struct lg_rec_join *j = lg_rec_payload(r);
            int joined = j->joined_tid;
            if (!joined && j->pthread &&
                !lg_map_get(&R->pthread_of, key2((uint64_t)s->pid, j->pthread), &joined))
                joined = 0;
            if (j->ret == 0 && joined > 0)
                edge_add(R, actor_get(R, s->pid, joined), actor_get(R, s->pid, r->tid),
                         r->time_ns, r->time_ns);
            break;
        }
        case LG_REC_FORK: {
            const struct lg_rec_fork *f = lg_rec_payload(r);
            if (f->child_pid > 0)
                edge_add(R, actor_get(R, s->pid, r->tid), actor_get(R, f->child_pid, f->child_pid),
                         r->time_ns, 0);   /* the child's whole life follows the fork */
            break;
        }
        case LG_REC_WAIT: {
            const struct lg_rec_wait *w = lg_rec_payload(r);
            if (w->ret_pid > 0) {
                /* Every thread of the reaped process ended before this. The
                 * actors of that pid may not be known yet: record the edge
                 * on its main thread and resolve the others later. */
                int waiter = actor_get(R, s->pid, r->tid);
                edge_add(R, actor_get(R, w->ret_pid, w->ret_pid), waiter, r->time_ns, r->time_ns);
                edge_add(R, actor_get(R, w->ret_pid, -1), waiter, r->time_ns, r->time_ns);
            }
            break;
        }
        case LG_REC_PROC_EXIT: {
            const struct lg_rec_proc_exit *pe = lg_rec_payload(r);
            if (pe->how != LG_END_EXEC) {
                int a = actor_get(R, s->pid, -1);   /* "the whole process" */
                if (a >= 0)
                    R->actors[a].end = r->time_ns;
            }
            break;
        }
        default:
            break;
        }
    }
    {
        const struct lg_trace_header *h = s->tf.hdr;
        int main_actor = actor_get(R, s->pid, s->pid);
        if ((h->flags & LG_TRACE_F_FORKED) && h->fork_parent_tid)
            edge_add(R, actor_get(R, h->ppid, h->fork_parent_tid), main_actor, h->fork_ns, 0);
    }
}

/* Process-level facts onto every actor of that pid: a process exit ends
 * all its threads; a reaped process's threads all precede the reaper. */
static void spread_process_facts(struct race *R)
{
    int n = R->nactors;
    for (int i = 0; i < n; i++) {
        struct ractor *pa = &R->actors[i];
        if (pa->tid != -1)
            continue;
        for (int j = 0; j < n; j++) {
            struct ractor *a = &R->actors[j];
            if (j == i || a->pid != pa->pid || a->tid == -1)
                continue;
            if (pa->end && (!a->end || a->end > pa->end))
                a->end = pa->end;
            /* pseudo-actor edges (reaped) become edges of each thread */
            int ne = R->nedges;
            for (int e = 0; e < ne; e++)
                if (R->edges[e].from == i)
                    edge_add(R, j, R->edges[e].to, R->edges[e].t1, R->edges[e].t2);
        }
    }
    for (int i = 0; i < R->nactors; i++) {
        struct ractor *a = &R->actors[i];
        if (a->tid < 0)
            continue;
        /* the model's view of the thread, for names and lifetimes */
        for (int t = 0; t < R->m->nthreads; t++) {
            const struct lg_thread *mt = &R->m->threads[t];
            const struct lg_process *mp = &R->m->procs[mt->process];
            if (mp->pid == a->pid && mt->tid == a->tid) {
                a->thread = t;
                a->proc = mt->process;
                if (mt->end_ns && (!a->end || mt->end_ns < a->end))
                    a->end = mt->end_ns;
            }
        }
        if (a->proc < 0)
            for (int p = 0; p < R->m->nprocs; p++)
                if (R->m->procs[p].pid == a->pid)
                    a->proc = p;
        for (int p = 0; p < R->m->nprocs; p++)
            if (R->m->procs[p].pid == a->pid && R->m->procs[p].python)
                a->python = true;
    }
}

/* --- ordering ---------------------------------------------------------------- */

/* An ordering edge leaves `from` at t1 and reaches `to` at t2 (a join,
 * a wait: t2 = t1); an edge with t2 = 0 (thread start, fork) orders the
 * whole life of `to`, which it reaches at its beginning (a spawned
 * child's first calls can precede its parent's FORK record). Either way
 * the arrival does not depend on when the search got to `from`, only on
 * having got there by t1. Hence one search per (actor, first edge it can
 * still take) answers every query from that actor between two of its own
 * outgoing edges: a vector clock read forwards, cached. */
static uint64_t edge_arrival(const struct redge *d)
{
    return d->t2;
}

static int edge_cmp(const void *x, const void *y)
{
    const struct redge *a = x, *b = y;
    if (a->from != b->from)
        return a->from < b->from ? -1 : 1;
    if (a->t1 != b->t1)
        return a->t1 < b->t1 ? -1 : 1;
    if (a->to != b->to)
        return a->to < b->to ? -1 : 1;
    return a->t2 < b->t2 ? -1 : a->t2 > b->t2;
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Python threads of X's process whose end orders them before X's later
 * work (hb's lifetime rule): their ends are synchronisation points of X.
 * Into out (NULL: only counted); returns how many. Only for actors with
 * accesses. */
static int python_ends(const struct race *R, int x, uint64_t *out)
{
    const struct ractor *a = &R->actors[x];
    int n = 0;
    if (!a->python || !a->accessed || a->tid <= 0)
        return 0;
    for (int y = 0; y < R->nactors; y++) {
        const struct ractor *b = &R->actors[y];
        if (y == x || b->pid != a->pid || b->tid <= 0 || !b->end || !b->python)
            continue;
        if (out)
            out[n] = b->end;
        n++;
    }
    return n;
}

/* After every edge is known: edges sorted by (from, t1) with each actor's
 * range, and each actor's synchronisation points (the times its own
 * edges leave or arrive; in Python, the ends of its process's other
 * threads), sorted. */
static int order_index(struct race *R)
{
    int n = R->nactors;
    if (R->nedges)      /* no edges: edges is NULL, which qsort must not get */
        qsort(R->edges, (size_t)R->nedges, sizeof(*R->edges), edge_cmp);
    R->out_off = calloc((size_t)n + 1, sizeof(int));
    R->sync_off = calloc((size_t)n + 1, sizeof(int));
    if (!R->out_off || !R->sync_off)
        return -ENOMEM;
    for (int e = 0; e < R->nedges; e++) {
        R->out_off[R->edges[e].from + 1]++;
        R->sync_off[R->edges[e].from + 1]++;
        if (R->edges[e].t2)
            R->sync_off[R->edges[e].to + 1]++;
    }
    for (int i = 0; i < n; i++)
        R->sync_off[i + 1] += python_ends(R, i, NULL);
    for (int i = 0; i < n; i++) {
        R->out_off[i + 1] += R->out_off[i];
        R->sync_off[i + 1] += R->sync_off[i];
    }
    R->sync = calloc((size_t)R->sync_off[n] + 1, sizeof(uint64_t));
    int *fill = calloc((size_t)n + 1, sizeof(int));
    if (!R->sync || !fill) {
        free(fill);
        return -ENOMEM;
    }
    for (int e = 0; e < R->nedges; e++) {
        const struct redge *d = &R->edges[e];
        R->sync[R->sync_off[d->from] + fill[d->from]++] = d->t1;
        if (d->t2)
            R->sync[R->sync_off[d->to] + fill[d->to]++] = d->t2;
    }
    for (int i = 0; i < n; i++)
        python_ends(R, i, R->sync + R->sync_off[i] + fill[i]);
    free(fill);
    for (int i = 0; i < n; i++)
        qsort(R->sync + R->sync_off[i], (size_t)(R->sync_off[i + 1] - R->sync_off[i]),
              sizeof(uint64_t), u64_cmp);
    R->arrive = malloc(((size_t)n + 1) * sizeof(*R->arrive));
    return R->arrive ? 0 : -ENOMEM;
}

/* Index of the first outgoing edge of a that leaves at or after t. */
static int first_edge_from(const struct race *R, int a, uint64_t t)
{
    int lo = R->out_off[a], hi = R->out_off[a + 1];
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (R->edges[mid].t1 < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void heap_push(struct race *R, int *n, uint64_t t, int actor)
{
    if (lg_grow((void **)&R->heap, &R->cap_heap, *n + 1, sizeof(*R->heap)) < 0)
        return;         /* out of memory: that path is not followed */
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (R->heap[p].t <= t)
            break;
        R->heap[i] = R->heap[p];
        i = p;
    }
    R->heap[i].t = t;
    R->heap[i].actor = actor;
}

static void heap_pop(struct race *R, int *n)
{
    struct rheap last = R->heap[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && R->heap[c + 1].t < R->heap[c].t)
            c++;
        if (R->heap[c].t >= last.t)
            break;
        R->heap[i] = R->heap[c];
        i = c;
    }
    if (*n)
        R->heap[i] = last;
}

/* The earliest time each actor learns of an event of `a` that can still
 * take a's outgoing edges from index `e0` on (UINT64_MAX: never; 0: its
 * whole life), into out[nactors]: earliest-arrival search over
 * time-respecting paths (an edge is taken when its source was reached by
 * its departure). A whole-life edge can lower an actor already settled,
 * which is then settled again: label-correcting, each actor improves only
 * to a smaller arrival, so it ends. */
static void reach_from(struct race *R, int a, int e0, uint64_t *out)
{
    int n = R->nactors, nh = 0;
    for (int i = 0; i < n; i++)
        out[i] = UINT64_MAX;
    for (int e = e0; e < R->out_off[a + 1]; e++) {
        uint64_t t = edge_arrival(&R->edges[e]);
        if (t < out[R->edges[e].to]) {
            out[R->edges[e].to] = t;
            heap_push(R, &nh, t, R->edges[e].to);
        }
    }
    while (nh > 0) {
        struct rheap top = R->heap[0];
        heap_pop(R, &nh);
        if (top.t != out[top.actor] || top.actor == a)
            continue;   /* stale entry; a itself learns nothing new */
        for (int e = first_edge_from(R, top.actor, top.t); e < R->out_off[top.actor + 1]; e++) {
            const struct redge *d = &R->edges[e];
            uint64_t t = edge_arrival(d);
            if (t < out[d->to]) {
                out[d->to] = t;
                heap_push(R, &nh, t, d->to);
            }
        }
    }
}

/* The cached arrival vector of (a, e0), computed on first use. When the
 * cache would pass HB_CACHE_CELLS it is dropped and refilled. */
static const uint64_t *reach_cached(struct race *R, int a, int e0)
{
    uint64_t k = key2((uint64_t)a, (uint64_t)e0);
    int idx;
    size_t n = (size_t)R->nactors;
    if (lg_map_get(&R->reach_of, k, &idx))
        return R->reach + (size_t)idx * n;
    if ((size_t)(R->nreach + 1) * n > HB_CACHE_CELLS) {
        lg_map_free(&R->reach_of);
        memset(&R->reach_of, 0, sizeof(R->reach_of));
        R->nreach = 0;
    }
    if (lg_grow((void **)&R->reach, &R->cap_reach, (int)((size_t)(R->nreach + 1) * n),
                sizeof(uint64_t)) < 0 ||
        lg_map_put(&R->reach_of, k, R->nreach) < 0) {
        reach_from(R, a, e0, R->arrive);
        return R->arrive;
    }
    idx = R->nreach++;
    reach_from(R, a, e0, R->reach + (size_t)idx * n);
    return R->reach + (size_t)idx * n;
}

/* Does (a, ta) happen before (b, tb)? Program order for one actor, a
 * Python thread's end within its process, else a chain of fork, thread
 * start, join and wait edges that leaves a at or after ta and reaches b
 * by tb. */
static bool hb(struct race *R, int a, uint64_t ta, int b, uint64_t tb)
{
    if (a == b)
        return ta <= tb;
    /* A thread that had ended cannot race with its process's later work
     * (CPython joins threads through a semaphore, not pthread_join). A
     * process's end orders nothing by itself: only a wait does. */
    if (R->actors[a].end && R->actors[a].end <= tb && R->actors[a].pid == R->actors[b].pid &&
        R->actors[a].python)
        return true;
    int e0 = first_edge_from(R, a, ta);
    if (e0 >= R->out_off[a + 1])
        return false;   /* a sends nothing after ta */
    return reach_cached(R, a, e0)[b] <= tb;
}

static bool ordered(struct race *R, const struct runit *u, const struct runit *v)
{
    return hb(R, u->actor, u->end, v->actor, v->start) || hb(R, v->actor, v->end, u->actor, u->start);
}

/* Accesses are records of (thread, session, op, lockset) with the times
 * of their first and last call. A record whose calls stretch over a
 * synchronisation point of its own actor (the file written before
 * pthread_create and again after pthread_join, git index-pack's shape)
 * is judged as two pieces: its first call up to the next point, and from
 * the point before its last call to that call. With two calls the pieces
 * are exact. Known gap: with more, the calls in between are taken to lie
 * in those two pieces; one made between the create and the join of the
 * same record is not seen apart (the trace does not time it). */
static int split_at_sync(struct race *R)
{
    int n0 = R->nacc;
    for (int i = 0; i < n0; i++) {
        struct raccess *x = &R->acc[i];
        if (x->count < 2 || x->last <= x->first)
            continue;
        const uint64_t *s = R->sync + R->sync_off[x->actor];
        int ns = R->sync_off[x->actor + 1] - R->sync_off[x->actor];
        int lo = 0, hi = ns;                 /* first point > first */
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (s[mid] <= x->first)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= ns || s[lo] >= x->last)
            continue;
        uint64_t head_end = s[lo];
        int k = lo;                          /* last point < last */
        while (k + 1 < ns && s[k + 1] < x->last)
            k++;
        uint64_t tail_start = s[k];
        if (lg_grow((void **)&R->acc, &R->cap_acc, R->nacc + 1, sizeof(*R->acc)) < 0)
            return -ENOMEM;
        x = &R->acc[i];
        struct raccess *t = &R->acc[R->nacc];
        *t = *x;
        t->first = x->count == 2 ? x->last : tail_start;
        t->count = 1;
        x->last = x->count == 2 ? x->first : head_end;
        x->count--;
        struct rfile *f = &R->files[x->file];
        if (lg_grow((void **)&f->acc, &f->cap, f->nacc + 1, sizeof(int)) < 0)
            return -ENOMEM;
        f->acc[f->nacc++] = R->nacc++;
    }
    return 0;
}

/* --- stacks ------------------------------------------------------------------ */

static const struct lg_module_map *module_for(const struct lg_image *im, uint64_t pc)
{
    for (int i = 0; i < im->nmods; i++)
        if (im->mods[i].lo <= pc && pc <= im->mods[i].hi)
            return &im->mods[i];
    return NULL;
}

static bool python_user_frame(const struct lg_loc *l)
{
    if (!l->file || l->file[0] == '<')
        return false;
    if (strstr(l->file, "/site-packages/") || strstr(l->file, "/dist-packages/"))
        return true;
    return !strstr(l->file, "/lib/python3");
}

/* A symbolized model stack for stack_id of src si (arena-owned), or NULL. */
static struct lg_stack *stack_build(struct race *R, int si, uint32_t id)
{
    struct rsrc *s = &R->srcs[si];
    struct lg_model_priv *p = R->m->priv;
    int off;
    if (!id)
        return NULL;
    struct lg_stack *st = lg_arena_alloc(R->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->user = -1;
    if (lg_map_get(&s->stack_off, id, &off)) {
        const struct lg_rec_hdr *r = rec_at(s, off);
        const struct lg_rec_stack *sr = lg_rec_payload(r);
        uint32_t n = sr->nframes;
        uint32_t room = (lg_rec_payload_size(r) - (uint32_t)sizeof(*sr)) / 8;
        if (n > room)
            n = room;
        st->frames = n ? lg_arena_alloc(R->arena, n * sizeof(struct lg_loc)) : NULL;
        st->n = st->frames ? n : 0;
        const struct lg_image *im = s->proc >= 0 ? &p->images[s->proc] : NULL;
        for (uint32_t i = 0; i < st->n; i++) {
            struct lg_loc *l = &st->frames[i];
            l->pc = sr->pc[i];
            const struct lg_module_map *mm = im ? module_for(im, l->pc) : NULL;
            if (!mm)
                continue;
            l->module = (char *)mm->path;
            const char *file = NULL, *fn = NULL;
            int line = 0;
            if (R->sym)
                lg_symbolizer_code(R->sym, mm->path, mm->base, l->pc ? l->pc - 1 : 0, &file, &line,
                                   &fn);
            l->file = (char *)file;
            l->line = line;
            l->function = (char *)fn;
            if (st->user < 0 && !mm->system && (file || fn))
                st->user = (int)i;
        }
    }
    if (lg_map_get(&s->pystack_off, id, &off)) {
        const struct lg_rec_hdr *r = rec_at(s, off);
        const struct lg_rec_pystack *pr = lg_rec_payload(r);
        const uint8_t *q = pr->frames, *end = (const uint8_t *)r + r->size;
        uint32_t want = pr->nframes > 256 ? 256 : pr->nframes, n = 0;
        st->py = want ? lg_arena_alloc(R->arena, want * sizeof(struct lg_loc)) : NULL;
        while (st->py && n < want && q + 8 <= end) {
            uint32_t line;
            uint16_t flen, fnlen;
            memcpy(&line, q, 4);
            memcpy(&flen, q + 4, 2);
            memcpy(&fnlen, q + 6, 2);
            if (q + 8 + flen + fnlen > end)
                break;
            struct lg_loc *l = &st->py[n++];
            l->python = true;
            l->line = (int)line;
            const char *file = (const char *)q + 8;
            size_t cl = strlen(p->cwd);
            if (cl && flen > cl && strncmp(file, p->cwd, cl) == 0 && file[cl] == '/')
                l->file = (char *)lg_intern(R->strs, file + cl + 1, flen - cl - 1);
            else
                l->file = (char *)lg_intern(R->strs, file, flen);
            l->function = (char *)lg_intern(R->strs, (const char *)q + 8 + flen, fnlen);
            q += (8 + flen + fnlen + 3) & ~3u;
        }
        st->npy = n;
        if (n) {
            st->user = -1;
            for (uint32_t i = 0; i < n; i++)
                if (python_user_frame(&st->py[i])) {
                    st->user = (int)i;
                    break;
                }
            if (st->user < 0)
                st->user = 0;
        }
    }
    return st;
}

/* --- units and findings ---------------------------------------------------- */

static bool is_write(uint32_t op)
{
    return op == LG_FOP_WRITE || op == LG_FOP_TRUNCATE || op == LG_FOP_RENAME;
}

/* Writes through an O_APPEND session (logs) are left out unless
 * LOCKGRAPH_RACE_APPEND=1 is set where the report is made. */
static bool append_only(const struct race *R, const struct raccess *a)
{
    return !R->count_append && a->op == LG_FOP_WRITE && a->session >= 0 &&
           (R->sessions[a->session].oflags & O_APPEND);
}

static int acc_time_cmp(const void *x, const void *y, void *ctx)
{
    const struct race *R = ctx;
    const struct raccess *a = &R->acc[*(const int *)x], *b = &R->acc[*(const int *)y];
    if (a->actor != b->actor)
        return a->actor < b->actor ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    if (a->op != b->op)
        return a->op < b->op ? -1 : 1;
    return *(const int *)x - *(const int *)y;
}

static const char *actor_name(struct race *R, int a, char *buf, size_t len)
{
    const struct ractor *x = &R->actors[a];
    /* "process P" when only one thread of P touched files */
    int threads_here = 0;
    for (int i = 0; i < R->nactors; i++)
        if (R->actors[i].pid == x->pid && R->actors[i].tid > 0 && R->actors[i].accessed)
            threads_here++;
    const char *tn = x->thread >= 0 ? R->m->threads[x->thread].name : NULL;
    if (x->tid == x->pid && threads_here <= 1)
        snprintf(buf, len, "process %d", x->pid);
    else if (tn)
        snprintf(buf, len, "thread %s (tid %d) of process %d", tn, x->tid, x->pid);
    else
        snprintf(buf, len, "thread %d of process %d", x->tid, x->pid);
    return buf;
}

static char *fmt(struct race *R, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(struct race *R, const char *f, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return lg_arena_strdup(R->arena, buf);
}

static const char *loc_text(const struct lg_loc *l, char *buf, size_t len)
{
    if (!l)
        snprintf(buf, len, "an unknown place");
    else if (l->file)
        snprintf(buf, len, "%s:%d", strrchr(l->file, '/') ? strrchr(l->file, '/') + 1 : l->file,
                 l->line);
    else if (l->function)
        snprintf(buf, len, "%s", l->function);
    else
        snprintf(buf, len, "0x%llx", (unsigned long long)l->pc);
    return buf;
}

/* Name a normalized lock for the report. */
static const char *lock_text(struct race *R, const struct raccess *a, const struct lg_race_lock *l,
                             char *buf, size_t len)
{
    const char *path = R->files[a->file].path;
    for (int f = 0; f < R->nfiles; f++) {
        if (key4('F', R->files[f].dev, R->files[f].ino, 0) == l->key ||
            key4('R', R->files[f].dev, R->files[f].ino, 0) == l->key) {
            path = R->files[f].path;
            break;
        }
    }
    switch (l->kind) {
    case LG_IOL_FLOCK:
        snprintf(buf, len, "flock on %s", path ? path : "a file");
        return buf;
    case LG_IOL_POSIX:
    case LG_IOL_OFD:
        snprintf(buf, len, "fcntl/lockf lock on %s", path ? path : "a file");
        return buf;
    default:
        break;
    }
    /* pthread lock or semaphore: find its model name through LOCK_NEW */
    struct rsrc *s = &R->srcs[a->src];
    struct lg_model_priv *p = R->m->priv;
    for (int i = 0; i < R->m->nlocks; i++) {
        const struct lg_lock *ml = &R->m->locks[i];
        const struct lg_lock_extra *x = &p->lockx[i];
        bool match;
        if (x->flags & LG_LOCKF_SHARED_ID)
            match = key4('S', x->dev, x->ino, x->offset) == l->key;
        else
            match = ml->process == s->proc &&
                    key4('P', (uint64_t)s->pid, s->exec_seq, x->trace_id) == l->key;
        if (match && ml->name) {
            snprintf(buf, len, "%s", ml->name);
            return buf;
        }
    }
    snprintf(buf, len, "a %s", l->kind == LG_IOL_LOCK ? "lock" : "file lock");
    return buf;
}

struct fbuild {
    struct lg_loc *locs;
    int nlocs, cap;
    struct lg_stack **stacks;
    int nstacks, capst;
};

static void loc_add(struct race *R, struct fbuild *b, const struct lg_stack *st)
{
    const struct lg_loc *l = lg_stack_user_loc(st);
    if (!l || (!l->file && !l->function))
        return;
    for (int i = 0; i < b->nlocs; i++)
        if (b->locs[i].line == l->line && b->locs[i].file == l->file &&
            b->locs[i].function == l->function)
            return;
    if (lg_grow((void **)&b->locs, &b->cap, b->nlocs + 1, sizeof(*b->locs)) < 0)
        return;
    b->locs[b->nlocs++] = *l;
    (void)R;
}

static void stack_add(struct fbuild *b, struct lg_stack *st)
{
    if (!st || lg_grow((void **)&b->stacks, &b->capst, b->nstacks + 1, sizeof(*b->stacks)) < 0)
        return;
    b->stacks[b->nstacks++] = st;
}

/* One line for a unit: who, what, where, holding what. */
static char *unit_text(struct race *R, const struct runit *u, struct fbuild *b)
{
    char who[128], l1[256], l2[256], l3[256], held[512];
    const struct raccess *rd = u->read >= 0 ? &R->acc[u->read] : NULL;
    const struct raccess *wr = u->write >= 0 ? &R->acc[u->write] : NULL;
    const struct raccess *any = rd ? rd : wr;
    const struct rfile *f = &R->files[any->file];
    struct lg_stack *rs = rd ? stack_build(R, rd->src, rd->stack) : NULL;
    struct lg_stack *ws = wr ? stack_build(R, wr->src, wr->stack) : NULL;
    const struct raccess *first = rd ? rd : wr;
    struct lg_stack *os = first->session >= 0
                              ? stack_build(R, first->src, R->sessions[first->session].open_stack)
                              : NULL;
    if (rs) loc_add(R, b, rs);
    if (ws) loc_add(R, b, ws);
    if (os) loc_add(R, b, os);
    stack_add(b, rs);
    stack_add(b, ws);
    stack_add(b, os);

    held[0] = 0;
    for (int i = 0; i < u->nheld; i++) {
        char one[160];
        size_t n = strlen(held);
        if (u->held[i].inherited)
            continue;
        snprintf(held + n, sizeof(held) - n, "%s%s", n ? ", " : "",
                 lock_text(R, any, &u->held[i], one, sizeof(one)));
    }
    actor_name(R, u->actor, who, sizeof(who));
    const char *fname = f->path ? f->path : "the file";
    const char *opened = os ? loc_text(lg_stack_user_loc(os), l3, sizeof(l3)) : NULL;
    switch (u->kind) {
    case U_RMW:
        return fmt(R, "%s read %s at %s%s%s%s, then wrote it back at %s, holding %s", who, fname,
                   loc_text(lg_stack_user_loc(rs), l1, sizeof(l1)), opened ? " (opened at " : "",
                   opened ? opened : "", opened ? ")" : "", loc_text(lg_stack_user_loc(ws), l2, sizeof(l2)),
                   held[0] ? held : "no lock");
    case U_WRITE:
        return fmt(R, "%s wrote %s at %s%s%s%s, holding %s", who, fname,
                   loc_text(lg_stack_user_loc(ws), l2, sizeof(l2)), opened ? " (opened at " : "",
                   opened ? opened : "", opened ? ")" : "", held[0] ? held : "no lock");
    default:
        return fmt(R, "%s read %s at %s%s%s%s, holding %s", who, fname,
                   loc_text(lg_stack_user_loc(rs), l1, sizeof(l1)), opened ? " (opened at " : "",
                   opened ? opened : "", opened ? ")" : "", held[0] ? held : "no lock");
    }
}

static bool units_overlap(const struct runit *u, const struct runit *v)
{
    return u->start < v->end && v->start < u->end;
}

/* Which pair of a file leads its report: lost updates first, then
 * pairs that really overlapped in this run. */
static int unit_score(const struct runit *u, const struct runit *v)
{
    int s = 0;
    s += u->kind == U_RMW ? 3 : u->kind == U_WRITE ? 2 : 0;
    s += v->kind == U_RMW ? 3 : v->kind == U_WRITE ? 2 : 0;
    return s * 2 + units_overlap(u, v);
}

static int report(struct race *R, int fi, const struct runit *u, const struct runit *v,
                  int nactors_racing, struct lg_finding **out)
{
    struct lg_model *m = R->m;
    const struct rfile *f = &R->files[fi];
    bool overlap = units_overlap(u, v);
    /* A read that did not overlap the write may have been ordered by a
     * message (pipe, queue, condition) that carries no lock around the
     * file: a warning. Every lost update, and every overlap, is an error. */
    bool peek_only = u->kind == U_PEEK || v->kind == U_PEEK;
    struct lg_finding *fd = lg_finding_add(m, LG_FK_LOCK_DISCIPLINE_RACE,
                                           peek_only && !overlap ? LG_SEV_WARNING : LG_SEV_ERROR);
    if (!fd)
        return -ENOMEM;
    struct fbuild b = {0};
    char *d1 = unit_text(R, u, &b);
    char *d2 = unit_text(R, v, &b);
    char wa[128], wb[128];
    const char *shape = u->kind == U_RMW && v->kind == U_RMW ? "two read-modify-write sequences"
                        : (u->kind == U_RMW && v->kind == U_PEEK) ? "a read-modify-write and a read"
                        : (u->kind == U_RMW || v->kind == U_RMW) ? "a read-modify-write and a write"
                        : (u->kind == U_WRITE && v->kind == U_WRITE) ? "two writes"
                                                                     : "a read and a write";
    fd->message = fmt(R, "lock-discipline race on %s: %s by %s and %s are not ordered and hold no "
                         "lock in common%s",
                      f->path ? f->path : "a file", shape, actor_name(R, u->actor, wa, sizeof(wa)),
                      actor_name(R, v->actor, wb, sizeof(wb)),
                      nactors_racing > 2 ? fmt(R, " (%d actors write it)", nactors_racing) : "");
    fd->ndetails = 3;
    fd->details = lg_arena_alloc(R->arena, 3 * sizeof(char *));
    if (fd->details) {
        fd->details[0] = d1;
        fd->details[1] = d2;
        fd->details[2] = overlap ? fmt(R, "the two overlapped in time in this run: a lost update "
                                          "(last write wins) or a torn read is possible")
                                 : peek_only
                                       ? fmt(R, "they did not overlap in this run and nothing lockgraph "
                                                "sees orders them; if a message (pipe, queue, "
                                                "condition) hands the file over, this is ordered; "
                                                "otherwise the reader can see a half-written file")
                                       : fmt(R, "they did not overlap in this run, but nothing orders "
                                                "them (no fork, join, wait or common lock between them)");
    } else {
        fd->ndetails = 0;
    }
    fd->locations = lg_arena_alloc(R->arena, (size_t)(b.nlocs ? b.nlocs : 1) * sizeof(*fd->locations));
    if (fd->locations) {
        if (b.nlocs)
            memcpy(fd->locations, b.locs, (size_t)b.nlocs * sizeof(*b.locs));
        fd->nloc = b.nlocs;
    }
    fd->stacks = lg_arena_alloc(R->arena, (size_t)(b.nstacks ? b.nstacks : 1) * sizeof(*fd->stacks));
    if (fd->stacks) {
        if (b.nstacks)
            memcpy(fd->stacks, b.stacks, (size_t)b.nstacks * sizeof(*b.stacks));
        fd->nstacks = b.nstacks;
    }
    int th[2] = { R->actors[u->actor].thread, R->actors[v->actor].thread };
    fd->threads = lg_arena_alloc(R->arena, 2 * sizeof(int));
    if (fd->threads) {
        for (int i = 0; i < 2; i++)
            if (th[i] >= 0)
                fd->threads[fd->nthreads++] = th[i];
    }
    int pa = R->actors[u->actor].proc, pb = R->actors[v->actor].proc;
    fd->process = pa == pb ? pa : -1;
    free(b.locs);
    free(b.stacks);
    *out = fd;
    return 0;
}

/* --- the file's sessions, for the diagram ------------------------------------ */

#define MAX_DIAGRAM_SESSIONS 24     /* boxes in one race diagram */
#define RACING_BUDGET 50000L        /* ordering queries to mark the racing sessions */

/* Synchronisation points of actor a at or before t: a session's pieces
 * on either side of a create or join are drawn apart. */
static int sync_segment(const struct race *R, int a, uint64_t t)
{
    int lo = R->sync_off[a], hi = R->sync_off[a + 1], base = lo;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (R->sync[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - base;
}

struct rgroup {                    /* one drawn session */
    int actor;
    int first_acc;                 /* its earliest access */
    uint64_t start, end;
    int nreads, nwrites;
    struct lg_race_lock *held;
    int nheld;
    bool racing;
    bool chosen;
};

/* Whether two units of different actors race: one writes, no common
 * lock, not ordered (the pair test of judge_file). */
static bool units_race(struct race *R, const struct runit *u, const struct runit *v,
                       bool disciplined)
{
    if (u->actor == v->actor || (u->kind == U_PEEK && v->kind == U_PEEK))
        return false;
    if ((u->kind == U_PEEK || v->kind == U_PEEK) && disciplined)
        return false;
    if (lg_race_common_lock(u->held, u->nheld, v->held, v->nheld))
        return false;
    return !ordered(R, u, v);
}

static int group_start_cmp(const void *x, const void *y)
{
    const struct rgroup *a = *(struct rgroup *const *)x, *b = *(struct rgroup *const *)y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->actor < b->actor ? -1 : a->actor > b->actor;
}

/* Fill fd->sessions with the uses of file fi: one per (actor, session,
 * stretch between its synchronisation points), the two reported units'
 * first, then the earliest, at most MAX_DIAGRAM_SESSIONS, by start time;
 * a session is `overlapping` when one of its units races with another
 * actor's unit. Returns 0 or -ENOMEM. */
static int sessions_fill(struct race *R, int fi, struct lg_finding *fd, const struct runit *units,
                         int nu, const struct runit *ru, const struct runit *rv, bool disciplined)
{
    const struct rfile *f = &R->files[fi];
    struct lg_map group_of = {0};
    struct rgroup *g = calloc((size_t)f->nacc + 1, sizeof(*g));
    struct rgroup **pick = calloc((size_t)f->nacc + 1, sizeof(*pick));
    int *acc_group = malloc(((size_t)R->nacc + 1) * sizeof(int));
    int ng = 0, npick = 0, rc = -ENOMEM;
    if (!g || !pick || !acc_group)
        goto out;
    for (int i = 0; i < f->nacc; i++) {
        int ai = f->acc[i];
        const struct raccess *a = &R->acc[ai];
        acc_group[ai] = -1;
        if (append_only(R, a))
            continue;
        uint64_t k = key4('G', (uint64_t)a->actor, (uint64_t)(a->session + 1),
                          (uint64_t)sync_segment(R, a->actor, a->first));
        int gi;
        if (lg_map_upsert(&group_of, k, ng, &gi) < 0)
            goto out;
        struct rgroup *x = &g[gi];
        if (gi == ng) {
            ng++;
            x->actor = a->actor;
            x->first_acc = ai;
            x->start = a->first;
            x->end = a->last;
            x->held = a->held;
            x->nheld = a->nheld;
        } else {
            if (a->first < x->start) {
                x->start = a->first;
                x->first_acc = ai;
            }
            if (a->last > x->end)
                x->end = a->last;
            x->nheld = lockset_meet(R, x->held, x->nheld, a->held, a->nheld, &x->held);
        }
        if (a->op == LG_FOP_READ)
            x->nreads += (int)a->count;
        else
            x->nwrites += (int)a->count;
        acc_group[ai] = gi;
    }

    /* racing units mark their sessions */
    long budget = RACING_BUDGET;
    for (int i = 0; i < nu; i++) {
        const struct runit *u = &units[i];
        bool racing = u == ru || u == rv;
        for (int j = 0; j < nu && !racing && budget > 0; j++, budget--)
            racing = units_race(R, u, &units[j], disciplined);
        if (!racing)
            continue;
        if (u->read >= 0 && acc_group[u->read] >= 0)
            g[acc_group[u->read]].racing = true;
        if (u->write >= 0 && acc_group[u->write] >= 0)
            g[acc_group[u->write]].racing = true;
    }

    /* the reported pair's sessions first, then the earliest */
    const struct runit *rep[2] = { ru, rv };
    for (int r = 0; r < 2; r++) {
        int acc[2] = { rep[r]->read, rep[r]->write };
        for (int k = 0; k < 2; k++)
            if (acc[k] >= 0 && acc_group[acc[k]] >= 0 && !g[acc_group[acc[k]]].chosen) {
                g[acc_group[acc[k]]].chosen = true;
                pick[npick++] = &g[acc_group[acc[k]]];
            }
    }
    struct rgroup **rest = calloc((size_t)ng + 1, sizeof(*rest));
    if (!rest)
        goto out;
    int nrest = 0;
    for (int i = 0; i < ng; i++)
        if (!g[i].chosen)
            rest[nrest++] = &g[i];
    qsort(rest, (size_t)nrest, sizeof(*rest), group_start_cmp);
    for (int i = 0; i < nrest && npick < MAX_DIAGRAM_SESSIONS; i++)
        pick[npick++] = rest[i];
    free(rest);
    qsort(pick, (size_t)npick, sizeof(*pick), group_start_cmp);

    fd->sessions = lg_arena_alloc(R->arena, (size_t)(npick ? npick : 1) * sizeof(*fd->sessions));
    if (!fd->sessions)
        goto out;
    for (int i = 0; i < npick; i++) {
        const struct rgroup *x = pick[i];
        const struct raccess *a = &R->acc[x->first_acc];
        struct lg_race_session *s = &fd->sessions[i];
        memset(s, 0, sizeof(*s));
        s->thread = R->actors[x->actor].thread;
        s->process = R->actors[x->actor].proc;
        s->start_ns = x->start;
        s->end_ns = x->end;
        s->nreads = x->nreads;
        s->nwrites = x->nwrites;
        s->overlapping = x->racing;
        char held[512], one[160];
        held[0] = 0;
        for (int h = 0; h < x->nheld; h++) {
            size_t n = strlen(held);
            if (!x->held[h].inherited)
                snprintf(held + n, sizeof(held) - n, "%s%s", n ? ", " : "",
                         lock_text(R, a, &x->held[h], one, sizeof(one)));
        }
        s->held = held[0] ? lg_arena_strdup(R->arena, held) : NULL;
        const struct lg_loc *l = lg_stack_user_loc(stack_build(R, a->src, a->stack));
        if (l)
            s->access_at = *l;
        if (a->session >= 0) {
            l = lg_stack_user_loc(stack_build(R, a->src, R->sessions[a->session].open_stack));
            if (l)
                s->open_at = *l;
        }
    }
    fd->nsessions = npick;
    fd->race_file = f->path ? lg_arena_strdup(R->arena, f->path) : NULL;
    rc = 0;
out:
    lg_map_free(&group_of);
    free(g);
    free(pick);
    free(acc_group);
    return rc;
}

/* Units of one file, then the best racing pair. */
static int judge_file(struct race *R, int fi)
{
    struct rfile *f = &R->files[fi];
    int n = f->nacc;
    if (n < 2)
        return 0;
    qsort_r(f->acc, (size_t)n, sizeof(int), acc_time_cmp, R);
    /* one actor only, or never written (append-only writes do not count) */
    bool written = false, several = false;
    for (int i = 0; i < n; i++) {
        const struct raccess *a = &R->acc[f->acc[i]];
        if (is_write(a->op) && !append_only(R, a))
            written = true;
        if (a->actor != R->acc[f->acc[0]].actor)
            several = true;
    }
    if (!written || !several)
        return 0;

    /* Every actor gets its share of the units (its earliest ones), so a
     * busy file still compares all its actors. */
    int nact = 1;
    for (int i = 1; i < n; i++)
        nact += R->acc[f->acc[i]].actor != R->acc[f->acc[i - 1]].actor;
    int per_actor = MAX_UNITS_PER_FILE / nact;
    if (per_actor < 8)
        per_actor = 8;
    struct runit *units = calloc((size_t)n, sizeof(*units));
    int nu = 0, mine = 0;
    if (!units)
        return -ENOMEM;
    for (int i = 0; i < n && nu < MAX_UNITS_PER_FILE; i++) {
        int ai = f->acc[i];
        const struct raccess *a = &R->acc[ai];
        if (i > 0 && a->actor != R->acc[f->acc[i - 1]].actor)
            mine = 0;
        if (append_only(R, a) || mine >= per_actor)
            continue;
        mine++;
        struct runit *u = &units[nu];
        u->actor = a->actor;
        u->read = u->write = -1;
        if (a->op == LG_FOP_READ) {
            /* the actor's next (non-append) access to this file */
            int nj = -1;
            for (int j = i + 1; j < n; j++) {
                const struct raccess *b = &R->acc[f->acc[j]];
                if (b->actor != a->actor)
                    break;
                if (append_only(R, b))
                    continue;
                nj = j;
                break;
            }
            if (nj >= 0 && is_write(R->acc[f->acc[nj]].op)) {
                const struct raccess *w = &R->acc[f->acc[nj]];
                u->kind = U_RMW;
                u->read = ai;
                u->write = f->acc[nj];
                u->start = a->first;
                u->end = w->last > a->last ? w->last : a->last;
                u->nheld = lockset_meet(R, a->held, a->nheld, w->held, w->nheld, &u->held);
                i = nj;
            } else {
                u->kind = U_PEEK;
                u->read = ai;
                u->start = a->first;
                u->end = a->last;
                u->held = a->held;
                u->nheld = a->nheld;
            }
        } else {
            u->kind = U_WRITE;
            u->write = ai;
            u->start = a->first;
            u->end = a->last;
            u->held = a->held;
            u->nheld = a->nheld;
        }
        nu++;
    }

    /* The writers' discipline: the locks every write held that could run
     * at the same time as another actor's use of the file (a setup write
     * before the fork, a final one after the joins, do not count). */
    struct lg_race_lock *disc = NULL;
    int ndisc = -1;
    long budget = HB_BUDGET_PER_FILE / 2;
    for (int i = 0; i < nu; i++) {
        if (units[i].kind == U_PEEK)
            continue;
        bool contended = false;
        for (int j = 0; j < nu && !contended && budget > 0; j++) {
            if (units[j].actor == units[i].actor)
                continue;
            budget--;
            contended = !ordered(R, &units[i], &units[j]);
        }
        if (!contended)
            continue;
        if (ndisc < 0) {
            disc = units[i].held;
            ndisc = units[i].nheld;
        } else {
            ndisc = lockset_meet(R, disc, ndisc, units[i].held, units[i].nheld, &disc);
        }
    }
    bool disciplined = ndisc > 0;

    int best_u = -1, best_v = -1, best_score = -1;
    bool *racing = calloc((size_t)R->nactors, sizeof(bool));
    int nracing = 0;
    budget = HB_BUDGET_PER_FILE;
    for (int i = 0; i < nu && best_score < BEST_SCORE && budget > 0; i++) {
        for (int j = i + 1; j < nu && best_score < BEST_SCORE && budget > 0; j++) {
            const struct runit *u = &units[i], *v = &units[j];
            if (u->actor == v->actor)
                continue;
            if (unit_score(u, v) <= best_score)
                continue;   /* cannot lead the report: skip the ordering query */
            if (u->kind == U_PEEK && v->kind == U_PEEK)
                continue;
            if ((u->kind == U_PEEK || v->kind == U_PEEK) && disciplined)
                continue;
            if (lg_race_common_lock(u->held, u->nheld, v->held, v->nheld))
                continue;
            budget--;
            if (ordered(R, u, v))
                continue;
            int sc = unit_score(u, v);
            if (sc > best_score) {
                best_score = sc;
                best_u = i;
                best_v = j;
            }
        }
    }
    for (int i = 0; racing && i < nu; i++)
        if (units[i].kind != U_PEEK && !racing[units[i].actor]) {
            racing[units[i].actor] = true;
            nracing++;
        }
    int rc = 0;
    if (best_u >= 0) {
        /* the unit that wrote first (or the RMW) leads the report */
        struct runit *u = &units[best_u], *v = &units[best_v];
        if (v->kind > u->kind || (v->kind == u->kind && v->start < u->start)) {
            struct runit *t = u;
            u = v;
            v = t;
        }
        struct lg_finding *fd = NULL;
        rc = report(R, fi, u, v, nracing, &fd);
        if (rc == 0)
            rc = sessions_fill(R, fi, fd, units, nu, u, v, disciplined);
    }
    free(racing);
    free(units);
    return rc;
}

/* --- entry ----------------------------------------------------------------- */

static int is_trace_name(const char *n)
{
    size_t l = strlen(n);
    return strncmp(n, "trace-", 6) == 0 && l > 4 && strcmp(n + l - 4, ".lgt") == 0;
}

static int src_cmp(const void *x, const void *y)
{
    const struct rsrc *a = x, *b = y;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    return a->exec_seq < b->exec_seq ? -1 : a->exec_seq > b->exec_seq;
}

int lg_analyze_races(struct lg_model *m)
{
    struct race R;
    int rc = 0;
    memset(&R, 0, sizeof(R));
    if (!m || !m->dir || !m->priv)
        return 0;
    const char *off = getenv("LOCKGRAPH_RACE");
    if (off && strcmp(off, "0") == 0)
        return 0;               /* the race check turned off */
    R.m = m;
    const char *ap = getenv("LOCKGRAPH_RACE_APPEND");
    R.count_append = ap && strcmp(ap, "1") == 0;
    R.arena = &m->priv->arena;
    R.strs = &m->priv->strs;

    DIR *d = opendir(m->dir);
    if (!d)
        return 0;
    struct dirent *de;
    int cap = 0;
    while ((de = readdir(d))) {
        if (!is_trace_name(de->d_name))
            continue;
        if (lg_grow((void **)&R.srcs, &cap, R.nsrcs + 1, sizeof(*R.srcs)) < 0) {
            rc = -ENOMEM;
            break;
        }
        struct rsrc *s = &R.srcs[R.nsrcs];
        memset(s, 0, sizeof(*s));
        size_t pl = strlen(m->dir) + strlen(de->d_name) + 2;
        s->path = malloc(pl);
        if (!s->path) {
            rc = -ENOMEM;
            break;
        }
        snprintf(s->path, pl, "%s/%s", m->dir, de->d_name);
        const char *why;
        if (lg_trace_open(s->path, &s->tf, &why) < 0) {
            free(s->path);
            continue;
        }
        s->pid = s->tf.hdr->pid;
        s->exec_seq = s->tf.hdr->exec_seq;
        s->proc = proc_of(m, s->pid, s->exec_seq);
        R.nsrcs++;
    }
    closedir(d);
    if (R.nsrcs)
        qsort(R.srcs, (size_t)R.nsrcs, sizeof(*R.srcs), src_cmp);

    /* Cheap exit: no file accesses anywhere, nothing to do. */
    if (rc == 0) {
        for (int i = 0; i < R.nsrcs; i++)
            read_src(&R, i);
        for (int i = 0; i < R.npending; i++)
            access_add(&R, R.pending[i].src, rec_at(&R.srcs[R.pending[i].src], R.pending[i].off));
    }
    if (rc == 0 && R.nacc > 1) {
        spread_process_facts(&R);
        rc = order_index(&R);
        if (rc == 0)
            rc = split_at_sync(&R);
        /* A probe resolves nothing and stops at the first race
         * (lg_model_load_opts). */
        R.sym = m->priv->probe ? NULL : lg_model_symbolizer(m);
        int before = m->nfindings;
        /* Deterministic order: files by first path, then identity. */
        for (int fi = 0; rc == 0 && fi < R.nfiles; fi++) {
            rc = judge_file(&R, fi);
            if (m->priv->probe && m->nfindings > before)
                break;
        }
        lg_model_symbolizer_free(m);
    }

    for (int i = 0; i < R.nsrcs; i++) {
        lg_trace_close(&R.srcs[i].tf);
        free(R.srcs[i].path);
        lg_map_free(&R.srcs[i].stack_off);
        lg_map_free(&R.srcs[i].pystack_off);
        lg_map_free(&R.srcs[i].lock_off);
        lg_map_free(&R.srcs[i].session);
    }
    for (int i = 0; i < R.nfiles; i++)
        free(R.files[i].acc);
    free(R.srcs);
    free(R.pending);
    free(R.sessions);
    free(R.acc);
    free(R.actors);
    free(R.edges);
    free(R.files);
    free(R.arrive);
    free(R.out_off);
    free(R.sync);
    free(R.sync_off);
    free(R.heap);
    free(R.reach);
    lg_map_free(&R.reach_of);
    lg_map_free(&R.actor_of);
    lg_map_free(&R.file_of);
    lg_map_free(&R.pthread_of);
    return rc;
}
