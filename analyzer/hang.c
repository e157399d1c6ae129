/* SPDX-License-Identifier: MIT */
/*
 * hang.c — deadlock, hang and join-before-drain findings from what the
 * supervisor saw (outdir/hang.lgt, written by cli/supervise.c), and the
 * wait-for graph for viz (m->waitfor). Runs at the end of lg_model_load,
 * after symbolization: a blocked thread's stack is found again among the
 * model's symbolized stacks through its (pid, exec_seq, stack_id).
 */
#include "lg_analyze.h"
#include "lg_hang.h"
#include "lg_threadtable.h"
#include "lg_trace_read.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hnode {
    struct lg_rec_wf_node r;
    int proc, thread, lock;          /* model indexes, -1 */
    struct lg_stack *stack;          /* blocking call (threads), NULL */
    const struct lg_loc *loc;        /* its user frame, NULL */
};

struct hframe {                      /* a HANG_FRAME record, strings interned */
    uint32_t node, index;
    uint64_t pc;
    int line;
    const char *file, *function, *module;
    bool system;
};

struct hang {
    struct hframe *fr;
    int nfr, capfr;
    struct lg_rec_hang h;
    struct hnode *n;
    int nn;
    struct lg_rec_wf_edge *e;
    int ne;
    uint32_t cycle[256];
    int ncycle;
    struct lg_rec_hang_jbd jbd;
    bool has_jbd;
};

/* --- finding the model's objects ---------------------------------------- */

static int proc_of(const struct lg_model *m, int pid, uint32_t exec_seq, bool exact)
{
    int best = -1;
    for (int i = 0; i < m->nprocs; i++) {
        if (m->procs[i].pid != pid)
            continue;
        if (exact && m->procs[i].exec_seq == exec_seq)
            return i;
        if (best < 0 || m->procs[i].exec_seq > m->procs[best].exec_seq)
            best = i;
    }
    return best;
}

static int thread_of(const struct lg_model *m, int proc, int tid)
{
    for (int i = 0; i < m->nthreads; i++)
        if (m->threads[i].process == proc && m->threads[i].tid == tid)
            return i;
    return -1;
}

/* The model lock behind a lock node: by its trace id in the owner's
 * trace when known (addresses are reused: CPython recycles semaphores),
 * by shared identity, else the newest lock at that address. */
static int lock_of(const struct lg_model *m, const struct lg_rec_wf_node *r)
{
    const struct lg_model_priv *p = m->priv;
    int by_addr = -1;
    for (int i = 0; i < m->nlocks; i++) {
        const struct lg_lock *lk = &m->locks[i];
        int fp = p->lockx ? p->lockx[i].first_proc : lk->process;
        bool pid_ok = r->pid == 0 || (fp >= 0 && m->procs[fp].pid == r->pid) ||
                      (lk->process >= 0 && m->procs[lk->process].pid == r->pid);
        if (r->lock_id && p->lockx && p->lockx[i].trace_id == r->lock_id && pid_ok && r->pid != 0)
            return i;
        if (r->pid == 0 && r->ino && p->lockx && p->lockx[i].ino == r->ino && p->lockx[i].dev == r->dev &&
            p->lockx[i].offset == r->off)
            return i;
        if (r->addr && lk->addr == r->addr && pid_ok)
            by_addr = i;
    }
    return by_addr;
}

/* The stack stack_id of trace-<pid>-<exec_seq>.lgt, as the model holds it
 * (symbolized): read the ids' frames from the trace and find the model
 * stack of that process with the same frames. NULL when not found. */
static struct lg_stack *stack_of(const struct lg_model *m, int proc, int pid, uint32_t exec_seq,
                                 uint32_t stack_id)
{
    if (!stack_id || proc < 0)
        return NULL;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" LG_TRACE_FILE_FMT, m->dir, pid, exec_seq);
    struct lg_trace_file tf;
    const char *why;
    if (lg_trace_open(path, &tf, &why) < 0)
        return NULL;
    const struct lg_rec_stack *sr = NULL;
    uint32_t npy = 0, py_lines[64];
    int nlines = 0;
    const struct lg_rec_hdr *r;
    while (lg_trace_next(&tf, &r) == 1) {
        if (r->kind == LG_REC_STACK) {
            const struct lg_rec_stack *s = lg_rec_payload(r);
            if (s->stack_id == stack_id && !sr)
                sr = s;
        } else if (r->kind == LG_REC_PYSTACK) {
            const struct lg_rec_pystack *ps = lg_rec_payload(r);
            if (ps->stack_id != stack_id || npy)
                continue;
            npy = ps->nframes;
            /* Every frame's line: stacks that differ only in an outer
             * Python frame (the same `with` helper) must not be confused. */
            const uint8_t *p = ps->frames, *end = (const uint8_t *)r + r->size;
            for (uint32_t k = 0; k < npy && nlines < 64 && p + 8 <= end; k++) {
                uint32_t line;
                uint16_t fl, nl;
                memcpy(&line, p, 4);
                memcpy(&fl, p + 4, 2);
                memcpy(&nl, p + 6, 2);
                py_lines[nlines++] = line;
                p += (8u + fl + nl + 3u) & ~3u;
            }
        }
    }
    struct lg_stack *found = NULL;
    const struct lg_model_priv *p = m->priv;
    for (int i = 0; i < p->nstacks && !found; i++) {
        struct lg_stack *st = p->stacks[i];
        if (p->stack_proc[i] != proc)
            continue;
        if (sr) {
            if (st->n != sr->nframes)
                continue;
            bool same = true;
            for (uint32_t k = 0; k < st->n && same; k++)
                same = st->frames[k].pc == sr->pc[k];
            if (!same)
                continue;
        } else if (st->n != 0) {
            continue;
        }
        if (st->npy != npy)
            continue;
        bool same_py = true;
        for (int k = 0; k < nlines && k < (int)st->npy && same_py; k++)
            same_py = st->py[k].line == (int)py_lines[k];
        if (!same_py)
            continue;
        if (!sr && !npy)
            continue;
        found = st;
    }
    lg_trace_close(&tf);
    return found;
}

/* A stack made of the frames the supervisor unwound for node `node`
 * (threads the shim gave no stack), NULL if there are none. Files inside
 * the analysis's working folder are shown relative to it, as elsewhere. */
static struct lg_stack *stack_from_frames(struct lg_model *m, const struct hang *H, uint32_t node)
{
    int n = 0;
    for (int i = 0; i < H->nfr; i++)
        n += H->fr[i].node == node;
    if (!n)
        return NULL;
    struct lg_arena *a = &m->priv->arena;
    struct lg_stack *st = lg_arena_alloc(a, sizeof *st);
    if (!st || !(st->frames = lg_arena_alloc(a, (size_t)n * sizeof *st->frames)))
        return NULL;
    st->user = -1;
    const char *cwd = m->priv->cwd;
    size_t cl = strlen(cwd);
    for (int i = 0; i < H->nfr; i++) {
        const struct hframe *f = &H->fr[i];
        if (f->node != node || f->index >= (uint32_t)n)
            continue;
        struct lg_loc *l = &st->frames[f->index];
        l->pc = f->pc;
        l->line = f->line;
        l->file = (char *)f->file;
        if (l->file && cl && strncmp(l->file, cwd, cl) == 0 && l->file[cl] == '/')
            l->file = (char *)lg_intern_str(&m->priv->strs, l->file + cl + 1);
        l->function = (char *)f->function;
        l->module = (char *)f->module;
        if (f->index + 1 > st->n)
            st->n = f->index + 1;
    }
    /* The user frame: the first outside the system's modules with a source
     * line, else with a name. In a static program the C library is part of
     * the program's own module, but it has no line information. */
    for (int pass = 0; pass < 2 && st->user < 0; pass++)
        for (uint32_t i = 0; i < st->n && st->user < 0; i++)
            for (int k = 0; k < H->nfr; k++)
                if (H->fr[k].node == node && H->fr[k].index == i && !H->fr[k].system &&
                    (pass ? st->frames[i].file || st->frames[i].function
                          : st->frames[i].file && st->frames[i].line > 0))
                    st->user = (int)i;
    return st;
}

/* --- reading hang.lgt ------------------------------------------------------ */

static int hang_read(struct lg_model *m, const char *path, struct hang *H)
{
    struct lg_trace_file tf;
    const char *why;
    int rc = lg_trace_open(path, &tf, &why);
    if (rc < 0)
        return rc;
    bool have = false;
    const struct lg_rec_hdr *r;
    while (lg_trace_next(&tf, &r) == 1) {
        const void *p = lg_rec_payload(r);
        switch (r->kind) {
        case LG_REC_HANG:
            memcpy(&H->h, p, sizeof H->h);
            have = true;
            /* Counts from a garbled file: never more than the file can hold. */
            if (H->h.nnodes > tf.size / sizeof(struct lg_rec_wf_node))
                H->h.nnodes = (uint32_t)(tf.size / sizeof(struct lg_rec_wf_node));
            if (H->h.nedges > tf.size / sizeof(struct lg_rec_wf_edge))
                H->h.nedges = (uint32_t)(tf.size / sizeof(struct lg_rec_wf_edge));
            free(H->n);
            free(H->e);
            H->n = calloc(H->h.nnodes + 1, sizeof *H->n);
            H->e = calloc(H->h.nedges + 1, sizeof *H->e);
            H->nn = H->ne = 0;
            if (!H->n || !H->e) {
                rc = -ENOMEM;
                goto out;
            }
            break;
        case LG_REC_WF_NODE:
            if (have && H->nn < (int)H->h.nnodes) {
                memcpy(&H->n[H->nn].r, p, sizeof(struct lg_rec_wf_node));
                H->n[H->nn].r.name[sizeof H->n[0].r.name - 1] = 0;
                H->n[H->nn].r.wchan[sizeof H->n[0].r.wchan - 1] = 0;
                H->nn++;
            }
            break;
        case LG_REC_WF_EDGE:
            if (have && H->ne < (int)H->h.nedges)
                memcpy(&H->e[H->ne++], p, sizeof(struct lg_rec_wf_edge));
            break;
        case LG_REC_HANG_CYCLE: {
            const struct lg_rec_hang_cycle *c = p;
            uint32_t room = (lg_rec_payload_size(r) - (uint32_t)sizeof *c) / 4;
            H->ncycle = 0;
            for (uint32_t i = 0; i < c->n && i < room && i < 256; i++)
                H->cycle[H->ncycle++] = c->node[i];
            break;
        }
        case LG_REC_HANG_JBD:
            memcpy(&H->jbd, p, sizeof H->jbd);
            H->has_jbd = true;
            break;
        case LG_REC_HANG_FRAME: {
            const struct lg_rec_hang_frame *f = p;
            uint32_t room = lg_rec_payload_size(r) - (uint32_t)sizeof *f;
            if ((uint32_t)f->file_len + f->func_len + f->module_len > room)
                break;
            if (lg_grow((void **)&H->fr, &H->capfr, H->nfr + 1, sizeof *H->fr) < 0)
                break;
            struct lg_strtab *st = &m->priv->strs;
            struct hframe *x = &H->fr[H->nfr++];
            x->node = f->node;
            x->index = f->index;
            x->pc = f->pc;
            x->line = f->line;
            x->file = f->file_len ? lg_intern(st, f->text, f->file_len) : NULL;
            x->function = f->func_len ? lg_intern(st, f->text + f->file_len, f->func_len) : NULL;
            x->function = lg_demangle(st, x->function);   /* the supervisor writes symbol names raw */
            x->module = f->module_len ? lg_intern(st, f->text + f->file_len + f->func_len, f->module_len) : NULL;
            x->system = (f->flags & LG_HFR_SYSTEM) != 0;
            break;
        }
        default:
            break;
        }
    }
    rc = have ? 0 : -EINVAL;
    /* Edges and the cycle name nodes by number: drop any that point past
     * the nodes actually read (a cut or garbled file). */
    int ne = 0;
    for (int i = 0; i < H->ne; i++)
        if (H->e[i].from < (uint32_t)H->nn && H->e[i].to < (uint32_t)H->nn)
            H->e[ne++] = H->e[i];
    H->ne = ne;
    for (int i = 0; i < H->ncycle; i++)
        if (H->cycle[i] >= (uint32_t)H->nn)
            H->ncycle = 0;
out:
    lg_trace_close(&tf);
    return rc;
}

/* --- wording ----------------------------------------------------------------- */

static const char *op_word(uint32_t op, int sysno)
{
    switch (op) {
    case LG_BLOCK_MUTEX: return "pthread_mutex_lock";
    case LG_BLOCK_RWLOCK_RD: return "pthread_rwlock_rdlock";
    case LG_BLOCK_RWLOCK_WR: return "pthread_rwlock_wrlock";
    case LG_BLOCK_SPIN: return "pthread_spin_lock";
    case LG_BLOCK_SEM: return "sem_wait";
    case LG_BLOCK_COND: return "pthread_cond_wait";
    case LG_BLOCK_BARRIER: return "pthread_barrier_wait";
    case LG_BLOCK_JOIN: return "pthread_join";
    case LG_BLOCK_WAITPID: return "waitpid";
    case LG_BLOCK_PIPE_READ: return "read";
    case LG_BLOCK_PIPE_WRITE: return "write";
    case LG_BLOCK_FLOCK: return "file lock";
    default: break;
    }
    switch (sysno) {
    case 0: return "read";
    case 1: return "write";
    case 7: return "poll";
    case 23: return "select";
    case 34: return "pause";
    case 61: return "wait4";
    case 202: return "futex wait";
    case 232: case 281: case 441: return "epoll_wait";
    case 271: return "ppoll";
    default: return "a blocking call";
    }
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

/* "file:line", or "function", or NULL. */
static const char *loc_text(struct lg_model *m, const struct lg_loc *l)
{
    char buf[512];
    if (!l)
        return NULL;
    if (l->file && l->line)
        snprintf(buf, sizeof buf, "%s:%d", l->python ? base_name(l->file) : l->file, l->line);
    else if (l->function)
        snprintf(buf, sizeof buf, "%s", l->function);
    else
        return NULL;
    return lg_arena_strdup(&m->priv->arena, buf);
}

static const char *thread_name(struct lg_model *m, const struct hnode *n)
{
    char buf[128];
    if (n->thread >= 0 && m->threads[n->thread].name)
        snprintf(buf, sizeof buf, "thread %s (tid %d)", m->threads[n->thread].name, n->r.tid);
    else
        snprintf(buf, sizeof buf, "thread %d of process %d", n->r.tid, n->r.pid);
    return lg_arena_strdup(&m->priv->arena, buf);
}

static const char *lock_name(struct lg_model *m, const struct hnode *n)
{
    char buf[160];
    if (n->lock >= 0 && m->locks[n->lock].name)
        return m->locks[n->lock].name;
    if (!n->r.addr && n->r.ino) {          /* a file lock (flock, fcntl, lockf) */
        if (n->r.name[0])
            snprintf(buf, sizeof buf, "file lock on %s", n->r.name);
        else
            snprintf(buf, sizeof buf, "file lock on inode %llu", (unsigned long long)n->r.ino);
        return lg_arena_strdup(&m->priv->arena, buf);
    }
    snprintf(buf, sizeof buf, "%s 0x%llx", n->r.lock_kind ? lg_lock_kind_name((int)n->r.lock_kind) : "lock",
             (unsigned long long)n->r.addr);
    return lg_arena_strdup(&m->priv->arena, buf);
}

static const char *node_label(struct lg_model *m, const struct hnode *n)
{
    char buf[256];
    switch (n->r.node_kind) {
    case LG_WFN_THREAD:
        return thread_name(m, n);
    case LG_WFN_PROCESS:
        snprintf(buf, sizeof buf, "process %d (%s)", n->r.pid, n->r.name[0] ? n->r.name : "?");
        break;
    case LG_WFN_LOCK:
        return lock_name(m, n);
    case LG_WFN_PIPE:
        if (n->r.capacity > 0)
            snprintf(buf, sizeof buf, "pipe %llu (%lld of %lld bytes queued)", (unsigned long long)n->r.ino,
                     (long long)n->r.queued, (long long)n->r.capacity);
        else
            snprintf(buf, sizeof buf, "pipe %llu", (unsigned long long)n->r.ino);
        break;
    default:
        snprintf(buf, sizeof buf, "condition or barrier 0x%llx", (unsigned long long)n->r.addr);
        break;
    }
    return lg_arena_strdup(&m->priv->arena, buf);
}

/* "write at f.c:20", "write in head" (no user frame: a program without
 * debug information), or "write". */
static const char *call_at(struct lg_model *m, const struct hnode *n)
{
    char buf[600];
    const char *where = n->stack && n->stack->user >= 0 ? loc_text(m, n->loc) : NULL;
    const char *op = op_word(n->r.op, n->r.sysno);
    /* Python's own waits, named as the program wrote them. */
    for (uint32_t k = 0; n->stack && k < n->stack->npy; k++) {
        const struct lg_loc *l = &n->stack->py[k];
        const char *b = base_name(l->file);
        if (!b || !l->function || strcmp(l->function, "join") != 0)
            continue;
        if (strcmp(b, "threading.py") == 0)
            op = "Thread.join";
        else if (strcmp(b, "process.py") == 0)
            op = "Process.join";
        else
            continue;
        break;
    }
    const char *exe = n->proc >= 0 ? m->procs[n->proc].exe : NULL;
    if (where)
        snprintf(buf, sizeof buf, "%s at %s", op, where);
    else if (exe && *exe)
        snprintf(buf, sizeof buf, "%s in %s", op, base_name(exe));
    else if (n->loc && (where = loc_text(m, n->loc)) != NULL)
        snprintf(buf, sizeof buf, "%s at %s", op, where);
    else
        snprintf(buf, sizeof buf, "%s", op);
    return lg_arena_strdup(&m->priv->arena, buf);
}

static char *fmt(struct lg_model *m, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(struct lg_model *m, const char *f, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return lg_arena_strdup(&m->priv->arena, buf);
}

/* --- findings ------------------------------------------------------------------ */

/* Add the thread node's location and stack to a finding under construction. */
static void add_thread_evidence(struct lg_model *m, struct lg_finding *f, const struct hnode *n, int cap)
{
    /* A stack with no user frame (no debug information) has no line worth
     * citing: its innermost frame is inside the C library. */
    if (n->loc && n->stack && n->stack->user >= 0 && f->nloc < cap) {
        bool dup = false;
        for (int i = 0; i < f->nloc; i++)
            dup |= f->locations[i].file == n->loc->file && f->locations[i].line == n->loc->line;
        if (!dup)
            f->locations[f->nloc++] = *n->loc;
    }
    if (n->stack && f->nstacks < cap)
        f->stacks[f->nstacks++] = n->stack;
    if (n->thread >= 0 && f->nthreads < cap)
        f->threads[f->nthreads++] = n->thread;
}

static struct lg_finding *new_finding(struct lg_model *m, enum lg_finding_kind k, int cap)
{
    struct lg_finding *f = lg_finding_add(m, k, LG_SEV_ERROR);
    if (!f)
        return NULL;
    struct lg_arena *a = &m->priv->arena;
    f->locations = lg_arena_alloc(a, (size_t)cap * sizeof *f->locations);
    f->stacks = lg_arena_alloc(a, (size_t)cap * sizeof *f->stacks);
    f->threads = lg_arena_alloc(a, (size_t)cap * sizeof *f->threads);
    f->details = lg_arena_alloc(a, (size_t)cap * sizeof *f->details);
    f->steps = lg_arena_alloc(a, (size_t)cap * sizeof *f->steps);
    if (!f->locations || !f->stacks || !f->threads || !f->details || !f->steps)
        return NULL;
    return f;
}

/* One line per blocked thread: who waits for what, where. */
static const char *wait_line(struct lg_model *m, const struct hang *H, int i)
{
    const struct hnode *n = &H->n[i];
    char buf[1024];
    int len = snprintf(buf, sizeof buf, "%s blocked in %s", thread_name(m, n), call_at(m, n));
    for (int k = 0; k < H->ne && len < (int)sizeof buf - 200; k++) {
        const struct lg_rec_wf_edge *e = &H->e[k];
        if ((int)e->from != i)
            continue;
        const struct hnode *t = &H->n[e->to];
        switch (e->edge_kind) {
        case LG_WFE_WAITS: {
            if (t->r.node_kind != LG_WFN_LOCK) {
                len += snprintf(buf + len, sizeof buf - (size_t)len, ", waiting for a signal on %s",
                                node_label(m, t));
                break;
            }
            len += snprintf(buf + len, sizeof buf - (size_t)len, ", waiting for %s", lock_name(m, t));
            for (int h = 0; h < H->ne; h++) {
                if (H->e[h].from != e->to || H->e[h].edge_kind != LG_WFE_HOLDS)
                    continue;
                const struct hnode *o = &H->n[H->e[h].to];
                if (o->r.node_kind == LG_WFN_PROCESS)
                    len += snprintf(buf + len, sizeof buf - (size_t)len, " held by process %d", o->r.pid);
                else
                    len += snprintf(buf + len, sizeof buf - (size_t)len, " held by %s", thread_name(m, o));
            }
            break;
        }
        case LG_WFE_JOINS:
            len += snprintf(buf + len, sizeof buf - (size_t)len, ", joining %s", thread_name(m, t));
            break;
        case LG_WFE_WAITPID:
            len += snprintf(buf + len, sizeof buf - (size_t)len, ", waiting for child process %d", t->r.pid);
            break;
        case LG_WFE_PIPE_WRITE:
        case LG_WFE_PIPE_READ: {
            bool wr = e->edge_kind == LG_WFE_PIPE_WRITE;
            len += snprintf(buf + len, sizeof buf - (size_t)len, ", %s %s", wr ? "writing into" : "reading from",
                            node_label(m, t));
            /* Who could unblock it: the holders of the other end. */
            int nh = 0;
            for (int h = 0; h < H->ne && len < (int)sizeof buf - 64; h++) {
                const struct lg_rec_wf_edge *x = &H->e[h];
                if (x->from != e->to || x->edge_kind != (wr ? LG_WFE_READ_END : LG_WFE_WRITE_END))
                    continue;
                len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%d", nh ? ", " : wr ? "; read end held by process " : "; write end held by process ", H->n[x->to].r.pid);
                nh++;
            }
            break;
        }
        default:
            break;
        }
    }
    return lg_arena_strdup(&m->priv->arena, buf);
}

static int finding_deadlock(struct lg_model *m, const struct hang *H)
{
    int cap = H->ncycle + H->nn + 4;
    struct lg_finding *f = new_finding(m, LG_FK_DEADLOCK, cap);
    if (!f)
        return -ENOMEM;
    char msg[2048];
    int len = snprintf(msg, sizeof msg, "deadlock:");
    int nthreads = 0;
    for (int i = 0; i < H->ncycle; i++) {
        int t = (int)H->cycle[i];
        if (t >= H->nn || H->n[t].r.node_kind != LG_WFN_THREAD)
            continue;
        const struct hnode *n = &H->n[t];
        int next = (int)H->cycle[(i + 1) % H->ncycle];
        int after = (int)H->cycle[(i + 2) % H->ncycle];
        const char *what = next < H->nn ? node_label(m, &H->n[next]) : "?";
        int nk = next < H->nn ? (int)H->n[next].r.node_kind : 0;
        if (nk == LG_WFN_THREAD) {
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s %s joins %s (%s)", nthreads ? ";" : "",
                            thread_name(m, n), what, call_at(m, n));
        } else if (nk == LG_WFN_PROCESS) {
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s %s waits for child process %d (%s)",
                            nthreads ? ";" : "", thread_name(m, n), H->n[next].r.pid, call_at(m, n));
        } else {
            /* "... held by X": the cycle's next node after the lock. */
            char holder[160] = "";
            if (after < H->nn && after != t && H->n[after].r.node_kind == LG_WFN_THREAD)
                snprintf(holder, sizeof holder, " held by %s", thread_name(m, &H->n[after]));
            else if (after < H->nn && H->n[after].r.node_kind == LG_WFN_PROCESS)
                snprintf(holder, sizeof holder, " held by process %d", H->n[after].r.pid);
            else if (after == t)
                snprintf(holder, sizeof holder, " it holds itself");
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s %s waits for %s (%s)%s",
                            nthreads ? ";" : "", thread_name(m, n), what, call_at(m, n), holder);
        }
        if (len >= (int)sizeof msg)
            len = (int)sizeof msg - 1;
        /* The step: this thread, and the lock it waits for. */
        f->steps[f->nsteps].thread = n->thread;
        f->steps[f->nsteps].lock = next < H->nn ? H->n[next].lock : -1;
        f->steps[f->nsteps].edge = -1;
        f->steps[f->nsteps].witness = -1;
        f->nsteps++;
        add_thread_evidence(m, f, n, cap);
        f->details[f->ndetails++] = (char *)wait_line(m, H, t);
        nthreads++;
    }
    /* The other blocked threads too (a main thread joining one of them...):
     * the report carries the stack of every blocked thread. */
    for (int i = 0; i < H->nn; i++) {
        const struct hnode *n = &H->n[i];
        if (n->r.node_kind != LG_WFN_THREAD || !n->r.op || (n->r.flags & LG_WFN_ON_CYCLE) ||
            f->ndetails >= cap)
            continue;
        f->details[f->ndetails++] = fmt(m, "also blocked: %s", wait_line(m, H, i));
        if (n->stack && f->nstacks < cap)
            f->stacks[f->nstacks++] = n->stack;
    }
    snprintf(msg + len, sizeof msg - (size_t)len, " — %d thread%s wait for each other in a cycle",
             nthreads, nthreads == 1 ? "" : "s");
    f->message = lg_arena_strdup(&m->priv->arena, msg);
    f->process = -1;
    return f->message ? 0 : -ENOMEM;
}

static int finding_jbd(struct lg_model *m, const struct hang *H)
{
    const struct lg_rec_hang_jbd *j = &H->jbd;
    if (j->waiter >= (uint32_t)H->nn || j->target >= (uint32_t)H->nn || j->writer >= (uint32_t)H->nn ||
        j->pipe >= (uint32_t)H->nn)
        return 0;
    const struct hnode *w = &H->n[j->waiter], *t = &H->n[j->target], *wr = &H->n[j->writer],
                       *p = &H->n[j->pipe];
    int cap = H->nn + 4;
    struct lg_finding *f = new_finding(m, LG_FK_JOIN_BEFORE_DRAIN, cap);
    if (!f)
        return -ENOMEM;
    char fill[256] = "";
    if (p->r.queued >= 0 && p->r.capacity > 0) {
        /* The writer is blocked in write(): the kernel found no room, so the
         * pipe is full even when a partly used page keeps FIONREAD below
         * its capacity. */
        const char *full = ", pipe full";
        if (p->r.requested > p->r.queued)
            snprintf(fill, sizeof fill, ", %lld of %lld bytes sent%s", (long long)p->r.queued,
                     (long long)p->r.requested, full);
        else if (p->r.requested > 0)   /* earlier writes filled it; this one waits whole */
            snprintf(fill, sizeof fill, ", %lld bytes in the pipe%s, a write of %lld more waiting",
                     (long long)p->r.queued, full, (long long)p->r.requested);
        else
            snprintf(fill, sizeof fill, ", %lld bytes in the pipe%s", (long long)p->r.queued, full);
    }
    const char *who = t->r.node_kind == LG_WFN_PROCESS ? "the child" : thread_name(m, t);
    if (t->r.node_kind == LG_WFN_PROCESS)
        f->message = fmt(m, "join-before-drain: process %d waits for child %d (%s) before reading the pipe "
                            "the child is blocked writing into (%s%s)",
                         w->r.pid, t->r.pid, call_at(m, w), call_at(m, wr), fill);
    else
        f->message = fmt(m, "join-before-drain: %s joins %s (%s) before reading the pipe %s is blocked "
                            "writing into (%s%s)",
                         thread_name(m, w), who, call_at(m, w), who, call_at(m, wr), fill);
    add_thread_evidence(m, f, w, cap);
    add_thread_evidence(m, f, wr, cap);
    f->process = w->proc;
    for (int i = 0; i < H->nn; i++)
        if (H->n[i].r.node_kind == LG_WFN_THREAD && H->n[i].r.op) {
            f->details[f->ndetails++] = (char *)wait_line(m, H, i);
            if ((uint32_t)i != j->waiter && (uint32_t)i != j->writer && (H->n[i].r.flags & LG_WFN_ON_CYCLE))
                add_thread_evidence(m, f, &H->n[i], cap);
        }
    f->details[f->ndetails++] = fmt(m, "fix: read (drain) the pipe before waiting for its writer, "
                                       "or read it from another thread");
    return f->message ? 0 : -ENOMEM;
}

static int finding_hang(struct lg_model *m, const struct hang *H)
{
    int cap = H->nn + 4;
    struct lg_finding *f = new_finding(m, LG_FK_HANG, cap);
    if (!f)
        return -ENOMEM;
    int nthreads = 0;
    for (int i = 0; i < H->nn; i++)
        nthreads += H->n[i].r.node_kind == LG_WFN_THREAD;
    f->message = fmt(m, "hang: all %d thread%s of the program waited for %.1f s with no progress%s", nthreads,
                     nthreads == 1 ? "" : "s", (double)H->h.still_ns / 1e9,
                     H->ncycle ? ", in a cycle of waits" : "");
    /* Cycle members first, then the others. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < H->nn; i++) {
            const struct hnode *n = &H->n[i];
            if (n->r.node_kind != LG_WFN_THREAD || !!(n->r.flags & LG_WFN_ON_CYCLE) != (pass == 0))
                continue;
            add_thread_evidence(m, f, n, cap);
            f->details[f->ndetails++] = (char *)wait_line(m, H, i);
        }
    return f->message ? 0 : -ENOMEM;
}

/* The lock node thread node i waits for, and whether it holds that lock
 * itself: the supervisor saw it in the thread's own held snapshot, or the
 * graph has the lock held by the thread (a mutex's owner word). -1: no. */
static int self_wait_lock(const struct hang *H, int i)
{
    const struct hnode *n = &H->n[i];
    if (n->r.node_kind != LG_WFN_THREAD || !n->r.op)
        return -1;
    for (int k = 0; k < H->ne; k++) {
        const struct lg_rec_wf_edge *e = &H->e[k];
        if ((int)e->from != i || e->edge_kind != LG_WFE_WAITS || e->to >= (uint32_t)H->nn ||
            H->n[e->to].r.node_kind != LG_WFN_LOCK)
            continue;
        if (n->r.flags & LG_WFN_SELF_WAIT)
            return (int)e->to;
        for (int h = 0; h < H->ne; h++)
            if (H->e[h].from == e->to && H->e[h].edge_kind == LG_WFE_HOLDS && (int)H->e[h].to == i)
                return (int)e->to;
    }
    return -1;
}

/* Where thread t last took lock l, from the lock-order witnesses (a lock
 * taken with nothing else held leaves none): NULL when unknown. */
static const struct lg_loc *taken_at(const struct lg_model *m, int t, int l, const struct lg_loc *not)
{
    const struct lg_loc *best = NULL;
    uint64_t best_ns = 0;
    if (t < 0 || l < 0)
        return NULL;
    for (int e = 0; e < m->nedges; e++) {
        const struct lg_edge *ed = &m->edges[e];
        if (ed->from != l && ed->to != l)
            continue;
        for (int k = 0; k < ed->nw; k++) {
            const struct lg_witness *w = &ed->w[k];
            if (w->thread != t)
                continue;
            const struct lg_loc *loc = lg_stack_user_loc(ed->to == l ? w->acquired_at : w->held_at);
            if (!loc || !loc->file || !loc->line ||
                (not && not->file && loc->line == not->line && strcmp(loc->file, not->file) == 0))
                continue;
            if (!best || w->time_ns >= best_ns) {
                best = loc;
                best_ns = w->time_ns;
            }
        }
    }
    return best;
}

/* Self-deadlock: a thread waits for a lock it holds itself, and that is
 * the only reason the tree is stuck (a deadlock cycle of that one thread,
 * or a hang with no cycle between threads). A condition's waiter lock,
 * which Python's Condition.wait takes twice on purpose, is not one: the
 * blocking acquire must be the program's own code. Replaces the shim's
 * MISUSE finding for the same thread (one report, with both lines).
 * Returns the number of findings made, or -ENOMEM. */
static int finding_self_deadlock(struct lg_model *m, const struct hang *H)
{
    int made = 0;
    if (H->h.verdict == LG_HANG_JOIN_BEFORE_DRAIN)
        return 0;
    int cycle_threads = 0, cycle_self = -1;
    for (int i = 0; i < H->ncycle; i++) {
        uint32_t c = H->cycle[i];
        if (c < (uint32_t)H->nn && H->n[c].r.node_kind == LG_WFN_THREAD) {
            cycle_threads++;
            cycle_self = (int)c;
        }
    }
    if (cycle_threads > 1)
        return 0;   /* threads waiting for each other: a deadlock */
    for (int i = 0; i < H->nn; i++) {
        if (cycle_threads == 1 && i != cycle_self)
            continue;
        int ln = self_wait_lock(H, i);
        if (ln < 0)
            continue;
        const struct hnode *n = &H->n[i];
        if (n->stack && n->stack->npy && !lg_loc_python_user(&n->stack->py[0]))
            continue;   /* the standard library's own double acquire (Condition.wait) */
        int cap = H->nn + 4;
        struct lg_finding *f = new_finding(m, LG_FK_SELF_DEADLOCK, cap);
        if (!f)
            return -ENOMEM;
        const struct lg_loc *at = n->stack && n->stack->user >= 0 ? n->loc : NULL;
        const struct lg_loc *first = taken_at(m, n->thread, H->n[ln].lock, at);
        const char *where = loc_text(m, at), *first_at = loc_text(m, first);
        char acq[700] = "", took[600] = "";
        if (where)
            snprintf(acq, sizeof acq, " (acquire at %s)", where);
        if (first_at)
            snprintf(took, sizeof took, " (taken at %s)", first_at);
        f->message = fmt(m, "self-deadlock: %s waits for %s%s, which it already holds%s", thread_name(m, n),
                         lock_name(m, &H->n[ln]), acq, took);
        add_thread_evidence(m, f, n, cap);
        if (first && f->nloc < cap)
            f->locations[f->nloc++] = *first;
        f->steps[0] = (struct lg_step){ .lock = H->n[ln].lock, .edge = -1, .witness = -1, .thread = n->thread };
        f->nsteps = 1;
        f->details[f->ndetails++] = (char *)wait_line(m, H, i);
        for (int k = 0; k < H->nn && f->ndetails < cap; k++) {
            const struct hnode *o = &H->n[k];
            if (k == i || o->r.node_kind != LG_WFN_THREAD || !o->r.op)
                continue;
            f->details[f->ndetails++] = fmt(m, "also blocked: %s", wait_line(m, H, k));
            if (o->stack && f->nstacks < cap)
                f->stacks[f->nstacks++] = o->stack;
        }
        f->process = n->proc;
        if (!f->message)
            return -ENOMEM;
        made++;
        /* The shim's record of the same relock: drop it, this one says more. */
        for (int k = 0; k < m->nfindings; k++) {
            struct lg_finding *g = &m->findings[k];
            if (g == f || g->kind != LG_FK_SELF_DEADLOCK || g->nthreads < 1 || g->threads[0] != n->thread ||
                n->thread < 0)
                continue;
            memmove(g, g + 1, (size_t)(m->nfindings - k - 1) * sizeof *g);
            m->nfindings--;
            f = &m->findings[m->nfindings - 1];
            k--;
        }
    }
    return made;
}

/* --- the wait-for graph for viz ------------------------------------------------- */

static int fill_waitfor(struct lg_model *m, const struct hang *H)
{
    struct lg_arena *a = &m->priv->arena;
    struct lg_waitfor *wf = lg_arena_alloc(a, sizeof *wf);
    if (!wf)
        return -ENOMEM;
    wf->nodes = lg_arena_alloc(a, (size_t)(H->nn + 1) * sizeof *wf->nodes);
    wf->edges = lg_arena_alloc(a, (size_t)(H->ne + 1) * sizeof *wf->edges);
    if (!wf->nodes || !wf->edges)
        return -ENOMEM;
    static const enum lg_wf_node_kind kinds[] = {LG_WF_OTHER, LG_WF_THREAD, LG_WF_PROCESS, LG_WF_LOCK,
                                                 LG_WF_PIPE, LG_WF_OTHER};
    for (int i = 0; i < H->nn; i++) {
        const struct hnode *n = &H->n[i];
        struct lg_wf_node *x = &wf->nodes[i];
        x->kind = kinds[n->r.node_kind < 6 ? n->r.node_kind : 0];
        x->label = (char *)node_label(m, n);
        x->process = n->r.node_kind == LG_WFN_THREAD || n->r.node_kind == LG_WFN_PROCESS ? n->proc : -1;
        x->ref = n->r.node_kind == LG_WFN_THREAD ? n->thread : n->r.node_kind == LG_WFN_LOCK ? n->lock : -1;
        x->on_cycle = (n->r.flags & LG_WFN_ON_CYCLE) != 0;
    }
    wf->nnodes = H->nn;
    for (int i = 0; i < H->ne; i++) {
        const struct lg_rec_wf_edge *e = &H->e[i];
        if (e->from >= (uint32_t)H->nn || e->to >= (uint32_t)H->nn)
            continue;
        struct lg_wf_edge *x = &wf->edges[wf->nedges++];
        x->from = (int)e->from;
        x->to = (int)e->to;
        x->kind = e->edge_kind == LG_WFE_HOLDS ? LG_WF_HOLDS : LG_WF_WAITS_FOR;
        x->on_cycle = (e->flags & LG_WFN_ON_CYCLE) != 0;
        const struct hnode *from = &H->n[e->from];
        switch (e->edge_kind) {
        case LG_WFE_WAITS:
        case LG_WFE_JOINS:
        case LG_WFE_WAITPID:
        case LG_WFE_PIPE_WRITE:
        case LG_WFE_PIPE_READ:
            x->label = (char *)call_at(m, from);
            break;
        case LG_WFE_HOLDS:
            x->label = (char *)"holds";
            break;
        case LG_WFE_THREAD_OF:
            x->label = (char *)"ends with";
            break;
        case LG_WFE_READ_END:
            x->label = fmt(m, "read end (fd %d)", e->fd);
            break;
        case LG_WFE_WRITE_END:
            x->label = fmt(m, "write end (fd %d)", e->fd);
            break;
        default:
            break;
        }
    }
    m->waitfor = wf;
    return 0;
}

/* --- join-before-drain risk, from the traces of a run that finished ------------ */

struct pio {                 /* one PIPE_IO record */
    int proc, tid, pid;
    unsigned seq;
    uint64_t ino, bytes, first_ns, last_ns;
    uint32_t dir, stack_id;
};

struct waitev {              /* a JOIN or WAIT that returned */
    int proc, tid, pid;
    unsigned seq;
    int target;              /* joined tid, or reaped pid */
    bool is_join;
    uint64_t time_ns;
    uint32_t stack_id;
};

struct riskscan {
    struct pio *io;
    int nio, capio;
    struct waitev *w;
    int nw, capw;
};

static void scan_trace(struct lg_model *m, struct riskscan *S, const char *path, int pid, unsigned seq)
{
    int proc = proc_of(m, pid, seq, true);
    if (proc < 0)
        return;
    struct lg_trace_file tf;
    const char *why;
    if (lg_trace_open(path, &tf, &why) < 0)
        return;
    const struct lg_rec_hdr *r;
    size_t dropped = 0;
    while (lg_trace_next(&tf, &r) == 1) {
        lg_trace_drop_behind(tf.base, tf.pos - r->size, &dropped);
        if (r->kind == LG_REC_PIPE_IO) {
            const struct lg_rec_pipe_io *x = lg_rec_payload(r);
            if (x->type == LG_FD_SOCKPAIR)
                continue;    /* two buffers, one per direction: not modelled here */
            if (lg_grow((void **)&S->io, &S->capio, S->nio + 1, sizeof *S->io) < 0)
                break;
            S->io[S->nio++] = (struct pio){proc, r->tid, pid, seq, x->ino, x->bytes, r->time_ns,
                                           x->last_ns, x->dir, x->stack_id};
        } else if (r->kind == LG_REC_WAIT || r->kind == LG_REC_JOIN) {
            struct waitev w = {proc, r->tid, pid, seq, 0, r->kind == LG_REC_JOIN, r->time_ns, 0};
            if (r->kind == LG_REC_JOIN) {
                const struct lg_rec_join *j = lg_rec_payload(r);
                if (j->ret != 0 || j->joined_tid <= 0)
                    continue;
                w.target = j->joined_tid;
                w.stack_id = j->stack_id;
            } else {
                const struct lg_rec_wait *x = lg_rec_payload(r);
                if (x->ret_pid <= 0)
                    continue;
                w.target = x->ret_pid;
                w.stack_id = x->stack_id;
            }
            if (lg_grow((void **)&S->w, &S->capw, S->nw + 1, sizeof *S->w) < 0)
                break;
            S->w[S->nw++] = w;
        }
    }
    lg_trace_close(&tf);
}

static const struct lg_loc *loc_of_stack(struct lg_model *m, int proc, int pid, unsigned seq, uint32_t id,
                                         struct lg_stack **st_out)
{
    struct lg_stack *st = stack_of(m, proc, pid, seq, id);
    *st_out = st;
    return lg_stack_user_loc(st);
}

/* A join or waitpid that returned while the joined thread / reaped child had
 * written into a pipe that the waiter's process only began to read after
 * it: the data fit in the pipe this time; a bigger write would hang. */
static int join_before_drain_risks(struct lg_model *m)
{
    struct riskscan S = {0};
    int rc = 0;
    DIR *d = opendir(m->dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int pid;
        unsigned seq;
        char tail;
        if (sscanf(e->d_name, "trace-%d-%u.lg%c", &pid, &seq, &tail) != 3 || tail != 't')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", m->dir, e->d_name);
        scan_trace(m, &S, path, pid, seq);
    }
    closedir(d);

    uint64_t *done = calloc((size_t)S.nw * 4 + 4, sizeof *done);
    int ndone = 0;
    for (int wi = 0; wi < S.nw && done; wi++) {
        const struct waitev *w = &S.w[wi];
        for (int a = 0; a < S.nio; a++) {
            const struct pio *wr = &S.io[a];
            if (wr->dir != LG_PIPE_WRITE || !wr->bytes || wr->last_ns > w->time_ns)
                continue;
            bool from_target = w->is_join ? (wr->proc == w->proc && wr->tid == w->target)
                                           : wr->pid == w->target;
            if (!from_target)
                continue;
            /* The waiter's process reads that pipe, and only after the wait. */
            const struct pio *rd = NULL;
            bool read_before = false;
            for (int b = 0; b < S.nio; b++) {
                const struct pio *x = &S.io[b];
                if (x->dir != LG_PIPE_READ || x->ino != wr->ino || x->pid != w->pid)
                    continue;
                if (w->is_join && x->tid != w->tid)
                    continue;
                if (x->first_ns < w->time_ns)
                    read_before = true;
                else if (!rd || x->first_ns < rd->first_ns)
                    rd = x;
            }
            if (!rd || read_before)
                continue;
            uint64_t key = wr->ino * 1000003u ^ (uint64_t)w->pid;
            bool seen = false;
            for (int k = 0; k < ndone; k++)
                seen |= done[k] == key;
            if (seen)
                continue;
            done[ndone++] = key;
            /* Everything the target wrote into that pipe before the wait. */
            uint64_t bytes = 0;
            for (int b = 0; b < S.nio; b++) {
                const struct pio *x = &S.io[b];
                if (x->dir == LG_PIPE_WRITE && x->ino == wr->ino && x->last_ns <= w->time_ns &&
                    (w->is_join ? (x->proc == w->proc && x->tid == w->target) : x->pid == w->target))
                    bytes += x->bytes;
            }
            struct lg_finding *f = lg_finding_add(m, LG_FK_JOIN_BEFORE_DRAIN_RISK, LG_SEV_WARNING);
            if (!f) {
                rc = -ENOMEM;
                goto out;
            }
            struct lg_arena *ar = &m->priv->arena;
            f->locations = lg_arena_alloc(ar, 3 * sizeof *f->locations);
            f->stacks = lg_arena_alloc(ar, 3 * sizeof *f->stacks);
            f->threads = lg_arena_alloc(ar, 2 * sizeof *f->threads);
            f->details = lg_arena_alloc(ar, 2 * sizeof *f->details);
            if (!f->locations || !f->stacks || !f->threads || !f->details) {
                rc = -ENOMEM;
                goto out;
            }
            struct lg_stack *sw, *sx, *sr;
            const struct lg_loc *lw = loc_of_stack(m, w->proc, w->pid, w->seq, w->stack_id, &sw);
            const struct lg_loc *lx = loc_of_stack(m, wr->proc, wr->pid, wr->seq, wr->stack_id, &sx);
            const struct lg_loc *lr = loc_of_stack(m, rd->proc, rd->pid, rd->seq, rd->stack_id, &sr);
            const struct lg_loc *ls[3] = {lw, lx, lr};
            struct lg_stack *ss[3] = {sw, sx, sr};
            for (int k = 0; k < 3; k++) {
                if (ls[k])
                    f->locations[f->nloc++] = *ls[k];
                if (ss[k])
                    f->stacks[f->nstacks++] = ss[k];
            }
            const char *at_w = loc_text(m, lw), *at_x = loc_text(m, lx), *at_r = loc_text(m, lr);
            char wbuf[600], xbuf[600], rbuf[600];
            snprintf(wbuf, sizeof wbuf, "%s%s%s", w->is_join ? "pthread_join" : "waitpid", at_w ? " at " : "",
                     at_w ? at_w : "");
            snprintf(xbuf, sizeof xbuf, "write%s%s", at_x ? " at " : "", at_x ? at_x : "");
            snprintf(rbuf, sizeof rbuf, "read%s%s", at_r ? " at " : "", at_r ? at_r : "");
            int wt = thread_of(m, w->proc, w->tid);
            if (wt >= 0)
                f->threads[f->nthreads++] = wt;
            f->process = w->proc;
            if (w->is_join) {
                int jt = thread_of(m, w->proc, w->target);
                const char *jn = jt >= 0 && m->threads[jt].name ? m->threads[jt].name : "?";
                f->message = fmt(m, "join-before-drain-risk: thread %s joined thread %s (%s) while the %llu bytes "
                                    "%s had written into a pipe (%s) were still unread (%s, after the join); "
                                    "it fit in the pipe this time, but a write larger than the pipe "
                                    "(64 KiB by default) would hang",
                                 wt >= 0 && m->threads[wt].name ? m->threads[wt].name : "?", jn, wbuf,
                                 (unsigned long long)bytes, jn, xbuf, rbuf);
                if (jt >= 0)
                    f->threads[f->nthreads++] = jt;
            } else {
                f->message = fmt(m, "join-before-drain-risk: process %d waited for child %d (%s) while the %llu "
                                    "bytes the child had written into a pipe (%s) were still unread (%s, after "
                                    "the wait); it fit in the pipe this time, but a write larger than the pipe "
                                    "(64 KiB by default) would hang",
                                 w->pid, w->target, wbuf, (unsigned long long)bytes, xbuf, rbuf);
            }
            f->details[f->ndetails++] = fmt(m, "fix: read (drain) the pipe before waiting for its writer, "
                                               "or read it from another thread");
            if (!f->message) {
                rc = -ENOMEM;
                goto out;
            }
        }
    }
out:
    free(done);
    free(S.io);
    free(S.w);
    return rc;
}

int lg_analyze_hang(struct lg_model *m)
{
    char path[PATH_MAX];
    if (!m || !m->dir || !m->priv)
        return 0;
    snprintf(path, sizeof path, "%s/hang.lgt", m->dir);
    if (access(path, R_OK) != 0)
        return join_before_drain_risks(m);   /* the run did not hang */
    struct hang H;
    memset(&H, 0, sizeof H);
    int rc = hang_read(m, path, &H);
    if (rc < 0) {
        lg_model_skip(m, "%s: cannot read the supervisor's hang record (%s)", path, strerror(-rc));
        rc = 0;
        goto out;
    }
    for (int i = 0; i < H.nn; i++) {
        struct hnode *n = &H.n[i];
        n->proc = n->thread = n->lock = -1;
        if (n->r.node_kind == LG_WFN_THREAD || n->r.node_kind == LG_WFN_PROCESS) {
            n->proc = proc_of(m, n->r.pid, n->r.exec_seq, (n->r.flags & LG_WFN_FROM_TABLE) != 0);
            if (n->r.node_kind == LG_WFN_THREAD && n->proc >= 0) {
                n->thread = thread_of(m, n->proc, n->r.tid);
                n->stack = stack_of(m, n->proc, n->r.pid, n->r.exec_seq, n->r.stack_id);
            }
            /* No stack from the shim: the one the supervisor unwound. */
            if (n->r.node_kind == LG_WFN_THREAD && !n->stack)
                n->stack = stack_from_frames(m, &H, (uint32_t)i);
            n->loc = lg_stack_user_loc(n->stack);
        } else if (n->r.node_kind == LG_WFN_LOCK) {
            n->lock = lock_of(m, &n->r);
        }
    }
    m->hung = true;
    if ((rc = fill_waitfor(m, &H)) < 0)
        goto out;
    if ((rc = finding_self_deadlock(m, &H)) != 0) {
        if (rc > 0)
            rc = 0;
        goto out;
    }
    switch (H.h.verdict) {
    case LG_HANG_DEADLOCK:
        rc = finding_deadlock(m, &H);
        break;
    case LG_HANG_JOIN_BEFORE_DRAIN:
        rc = H.has_jbd ? finding_jbd(m, &H) : finding_hang(m, &H);
        break;
    default:
        rc = finding_hang(m, &H);
        break;
    }
out:
    free(H.n);
    free(H.e);
    free(H.fr);
    return rc;
}
