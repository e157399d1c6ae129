/* SPDX-License-Identifier: MIT */
/*
 * supervise.c — the live half of `lockgraph run`: this process (never a
 * thread hidden in the target) waits for the root child while polling the
 * shared thread table (trace/lg_threadtable.h) and /proc every ~80 ms;
 * the pause between looks ends the moment the root child does (a pidfd).
 * A cycle through owned locks or joins is a deadlock, reported as soon as
 * it has been seen twice unchanged; a tree whose every thread has sat in an
 * untimed wait without progress for --hang-timeout is a hang. Either way
 * the wait-for graph (lg_waitgraph.h) is written to outdir/hang.lgt
 * (records HANG, WF_NODE, WF_EDGE, HANG_CYCLE, HANG_JBD of lg_trace.h),
 * one note goes to stderr, and the tree is ended unless asked not to.
 */
#include "lg_supervise.h"
#include "lg_procfs.h"
#include "lg_threadtable.h"
#include "lg_trace.h"
#include "lg_waitgraph.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <ctype.h>
#include <elfutils/libdwfl.h>

/* ===================================================================== */
/* The wait-for graph (pure)                                              */
/* ===================================================================== */

int lg_wg_find(const struct lg_wg *g, int kind, int pid, int tid, uint64_t key)
{
    for (int i = 0; i < g->nnodes; i++) {
        const struct lg_wg_node *n = &g->nodes[i];
        if (n->kind == kind && n->pid == pid && n->tid == tid && n->key == key)
            return i;
    }
    return -1;
}

int lg_wg_node(struct lg_wg *g, int kind, int pid, int tid, uint64_t key)
{
    int i = lg_wg_find(g, kind, pid, tid, key);
    if (i >= 0)
        return i;
    if (g->nnodes == g->node_cap) {
        int cap = g->node_cap ? g->node_cap * 2 : 32;
        void *p = realloc(g->nodes, (size_t)cap * sizeof *g->nodes);
        if (!p)
            return -1;
        g->nodes = p;
        g->node_cap = cap;
    }
    struct lg_wg_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->pid = pid;
    n->tid = tid;
    n->key = key;
    n->ref = -1;
    return g->nnodes++;
}

int lg_wg_edge(struct lg_wg *g, int from, int to, int kind, int certainty, int fd)
{
    if (from < 0 || to < 0)
        return -1;
    for (int i = 0; i < g->nedges; i++) {
        struct lg_wg_edge *e = &g->edges[i];
        if (e->from == from && e->to == to && e->kind == kind) {
            if (certainty > e->certainty)
                e->certainty = certainty;
            return i;
        }
    }
    if (g->nedges == g->edge_cap) {
        int cap = g->edge_cap ? g->edge_cap * 2 : 64;
        void *p = realloc(g->edges, (size_t)cap * sizeof *g->edges);
        if (!p)
            return -1;
        g->edges = p;
        g->edge_cap = cap;
    }
    struct lg_wg_edge *e = &g->edges[g->nedges];
    memset(e, 0, sizeof *e);
    e->from = from;
    e->to = to;
    e->kind = kind;
    e->certainty = certainty;
    e->fd = fd;
    return g->nedges++;
}

void lg_wg_free(struct lg_wg *g)
{
    free(g->nodes);
    free(g->edges);
    memset(g, 0, sizeof *g);
}

/* Adjacency of the edges at least min_c sure, as compressed rows. */
struct wg_adj {
    int *off, *to;
};

static int wg_adj_build(const struct lg_wg *g, int min_c, struct wg_adj *a)
{
    a->off = calloc((size_t)g->nnodes + 1, sizeof *a->off);
    a->to = malloc(((size_t)g->nedges + 1) * sizeof *a->to);
    if (!a->off || !a->to)
        return -ENOMEM;
    for (int i = 0; i < g->nedges; i++)
        if (g->edges[i].certainty >= min_c)
            a->off[g->edges[i].from + 1]++;
    for (int v = 0; v < g->nnodes; v++)
        a->off[v + 1] += a->off[v];
    int *fill = calloc((size_t)g->nnodes, sizeof *fill);
    if (!fill)
        return -ENOMEM;
    for (int i = 0; i < g->nedges; i++) {
        const struct lg_wg_edge *e = &g->edges[i];
        if (e->certainty >= min_c)
            a->to[a->off[e->from] + fill[e->from]++] = e->to;
    }
    free(fill);
    return 0;
}

/* Strongly connected components (Tarjan, iterative): comp[v] for every
 * node; a node is on a cycle iff its component has 2+ nodes or a self
 * loop. */
static int wg_scc(const struct lg_wg *g, const struct wg_adj *a, int *comp)
{
    int n = g->nnodes, idx = 0, ncomp = 0, sp = 0, cs = 0;
    int *index = malloc((size_t)n * sizeof *index), *low = malloc((size_t)n * sizeof *low);
    int *stack = malloc((size_t)n * sizeof *stack), *call = malloc((size_t)n * sizeof *call);
    int *edge = malloc((size_t)n * sizeof *edge);
    char *on = calloc((size_t)n, 1);
    if (!index || !low || !stack || !call || !edge || !on) {
        ncomp = -ENOMEM;
        goto out;
    }
    for (int v = 0; v < n; v++)
        index[v] = -1;
    for (int root = 0; root < n; root++) {
        if (index[root] >= 0)
            continue;
        call[cs++] = root;
        index[root] = low[root] = idx++;
        edge[root] = a->off[root];
        stack[sp++] = root;
        on[root] = 1;
        while (cs) {
            int v = call[cs - 1];
            if (edge[v] < a->off[v + 1]) {
                int w = a->to[edge[v]++];
                if (index[w] < 0) {
                    index[w] = low[w] = idx++;
                    edge[w] = a->off[w];
                    stack[sp++] = w;
                    on[w] = 1;
                    call[cs++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                int w;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = ncomp;
                } while (w != v);
                ncomp++;
            }
            cs--;
            if (cs && low[v] < low[call[cs - 1]])
                low[call[cs - 1]] = low[v];
        }
    }
out:
    free(index);
    free(low);
    free(stack);
    free(call);
    free(edge);
    free(on);
    return ncomp;
}

/* A path from `start` back to itself inside its component (every node of
 * which reaches start): depth first, each node entered once. */
static int wg_cycle_from(const struct wg_adj *a, const int *comp, int start, char *seen, int *path,
                         int depth, int at)
{
    path[depth] = at;
    seen[at] = 1;
    for (int k = a->off[at]; k < a->off[at + 1]; k++) {
        int w = a->to[k];
        if (w == start)
            return depth + 1;
        if (seen[w] || comp[w] != comp[start])
            continue;
        int n = wg_cycle_from(a, comp, start, seen, path, depth + 1, w);
        if (n)
            return n;
    }
    return 0;
}

int lg_wg_cycle(const struct lg_wg *g, int start, int min_certainty, int *out, int max)
{
    if (g->nnodes == 0 || max <= 0)
        return 0;
    struct wg_adj a = {0};
    int *comp = malloc((size_t)g->nnodes * sizeof *comp);
    int *size = calloc((size_t)g->nnodes, sizeof *size);
    char *seen = calloc((size_t)g->nnodes, 1);
    int *path = malloc((size_t)g->nnodes * sizeof *path);
    int n = 0;
    if (!comp || !size || !seen || !path || wg_adj_build(g, min_certainty, &a) < 0 ||
        wg_scc(g, &a, comp) < 0)
        goto out;
    for (int v = 0; v < g->nnodes; v++)
        size[comp[v]]++;
    /* The start: the given node, or the smallest node on any cycle. */
    int s = -1;
    for (int v = start >= 0 ? start : 0; v < g->nnodes && s < 0; v++) {
        bool on_cycle = size[comp[v]] > 1;
        for (int k = a.off[v]; k < a.off[v + 1] && !on_cycle; k++)
            on_cycle = a.to[k] == v;
        if (on_cycle)
            s = v;
        if (start >= 0)
            break;
    }
    if (s < 0)
        goto out;
    n = wg_cycle_from(&a, comp, s, seen, path, 0, s);
    if (n) {
        /* Rotate to start at the smallest index, for a deterministic report. */
        int m = 0;
        for (int i = 1; i < n; i++)
            if (path[i] < path[m])
                m = i;
        if (n > max)
            n = max;
        for (int i = 0; i < n; i++)
            out[i] = path[(m + i) % n];
    }
out:
    free(a.off);
    free(a.to);
    free(comp);
    free(size);
    free(seen);
    free(path);
    return n;
}

void lg_wg_mark_cycle(struct lg_wg *g, const int *cyc, int n)
{
    for (int i = 0; i < n; i++) {
        g->nodes[cyc[i]].on_cycle = 1;
        int a = cyc[i], b = cyc[(i + 1) % n];
        for (int k = 0; k < g->nedges; k++)
            if (g->edges[k].from == a && g->edges[k].to == b)
                g->edges[k].on_cycle = 1;
    }
}

/* Edges along which "X cannot finish before Y does" propagates from a
 * joined thread or awaited child to the thread that actually blocks. */
static bool jbd_follow(int kind)
{
    return kind == LG_WFE_JOINS || kind == LG_WFE_WAITPID || kind == LG_WFE_THREAD_OF ||
           kind == LG_WFE_WAITS || kind == LG_WFE_HOLDS;
}

int lg_wg_join_before_drain(const struct lg_wg *g, struct lg_wg_jbd *j)
{
    int found = 0;
    int *queue = malloc((size_t)(g->nnodes + 1) * sizeof *queue);
    char *seen = calloc((size_t)g->nnodes + 1, 1);
    if (!queue || !seen)
        goto out;
    for (int w = 0; w < g->nnodes && !found; w++) {
        if (g->nodes[w].kind != LG_WFN_THREAD)
            continue;
        for (int ei = 0; ei < g->nedges && !found; ei++) {
            const struct lg_wg_edge *we = &g->edges[ei];
            if (we->from != w || (we->kind != LG_WFE_JOINS && we->kind != LG_WFE_WAITPID))
                continue;
            /* Everything the target needs before it can finish. */
            memset(seen, 0, (size_t)g->nnodes);
            int qh = 0, qt = 0;
            queue[qt++] = we->to;
            seen[we->to] = 1;
            while (qh < qt) {
                int at = queue[qh++];
                for (int k = 0; k < g->nedges; k++) {
                    const struct lg_wg_edge *e = &g->edges[k];
                    if (e->from == at && jbd_follow(e->kind) && !seen[e->to] && e->to != w) {
                        seen[e->to] = 1;
                        queue[qt++] = e->to;
                    }
                }
            }
            /* A thread on that chain blocked writing into a pipe that only
             * the waiter's process (or processes on the chain) can read. */
            for (int qi = 0; qi < qt && !found; qi++) {
                int t = queue[qi];
                if (g->nodes[t].kind != LG_WFN_THREAD)
                    continue;
                for (int k = 0; k < g->nedges && !found; k++) {
                    const struct lg_wg_edge *pe = &g->edges[k];
                    if (pe->from != t || pe->kind != LG_WFE_PIPE_WRITE)
                        continue;
                    bool waiter_reads = false, others_on_chain = true;
                    for (int r = 0; r < g->nedges; r++) {
                        const struct lg_wg_edge *re = &g->edges[r];
                        if (re->from != pe->to || re->kind != LG_WFE_READ_END)
                            continue;
                        if (g->nodes[re->to].pid == g->nodes[w].pid)
                            waiter_reads = true;
                        else if (!seen[re->to])
                            others_on_chain = false;
                    }
                    if (waiter_reads && others_on_chain) {
                        j->waiter = w;
                        j->target = we->to;
                        j->writer = t;
                        j->pipe = pe->to;
                        found = 1;
                    }
                }
            }
        }
    }
out:
    free(queue);
    free(seen);
    return found;
}

/* ===================================================================== */
/* The thread table                                                       */
/* ===================================================================== */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lg_threadtable_create(const char *outdir, pid_t root_pid_hint)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", outdir, LG_TT_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    struct lg_tt_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, LG_TT_MAGIC, sizeof LG_TT_MAGIC);
    h.version = LG_TT_VERSION;
    h.nslots = LG_TT_SLOTS;
    h.slot_size = sizeof(struct lg_tt_slot);
    h.root_pid = root_pid_hint;
    h.start_ns = now_ns();
    int rc = 0;
    /* The file is sparse: untouched slots cost no disk. */
    if (ftruncate(fd, (off_t)LG_TT_SIZE) != 0 || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        rc = -errno;
    close(fd);
    return rc;
}

struct table {
    const struct lg_tt_header *hdr;
    const struct lg_tt_slot *slots;
    size_t size;
    unsigned nslots;
};

static void table_open(struct table *t, const char *outdir)
{
    char path[PATH_MAX];
    memset(t, 0, sizeof *t);
    if (snprintf(path, sizeof path, "%s/%s", outdir, LG_TT_FILE) >= (int)sizeof path)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct lg_tt_header)) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            t->hdr = p;
            t->size = (size_t)st.st_size;
            if (memcmp(t->hdr->magic, LG_TT_MAGIC, sizeof LG_TT_MAGIC) == 0 &&
                t->hdr->version == LG_TT_VERSION && t->hdr->slot_size == sizeof(struct lg_tt_slot)) {
                t->slots = (const struct lg_tt_slot *)(t->hdr + 1);
                t->nslots = t->hdr->nslots;
                if (sizeof *t->hdr + (size_t)t->nslots * sizeof(struct lg_tt_slot) > t->size)
                    t->nslots = (unsigned)((t->size - sizeof *t->hdr) / sizeof(struct lg_tt_slot));
            }
        }
    }
    close(fd);
}

static void table_close(struct table *t)
{
    if (t->hdr)
        munmap((void *)t->hdr, t->size);
    memset(t, 0, sizeof *t);
}

/* A consistent copy of slot i (seqlock), or false if free or torn. */
static bool table_read_slot(const struct table *t, unsigned i, struct lg_tt_slot *out)
{
    const struct lg_tt_slot *s = &t->slots[i];
    for (int tries = 0; tries < 8; tries++) {
        uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->tid, __ATOMIC_RELAXED) == 0)
            return false;
        if (a & 1)
            continue;
        memcpy(out, (const void *)s, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a)
            return out->tid != 0;
    }
    return false;
}

/* ===================================================================== */
/* One look at the tree                                                   */
/* ===================================================================== */

#define MAX_PROCS 512
#define MAX_THREADS 4096

enum sv_verdict {
    SV_RUNNING,      /* on a CPU, or made progress */
    SV_SLEEPING,     /* nanosleep, pause-free timers: will wake by itself */
    SV_TIMED,        /* a wait with a timeout */
    SV_EXTERNAL,     /* waits on something outside the tree (tty, socket, file, outside pipe) */
    SV_STUCK,        /* untimed wait on something inside the tree */
};

struct sv_thread {
    int pid, tid;
    struct lg_proc_task pt;
    bool has_slot;
    struct lg_tt_slot slot;
    enum sv_verdict verdict;
    uint32_t op;             /* enum lg_block_op as understood */
    uint64_t addr;           /* lock / futex address */
    struct lg_tt_obj obj;    /* lock identity when a lock */
    bool obj_known;
    int owner_tid;           /* lock owner, 0 unknown */
    int owner_certainty;
    int target_tid, target_pid;
    int fd;
    uint64_t ino;
    int64_t requested;
    int flock_kind;          /* 1 flock(2), 2 POSIX record lock, 3 OFD lock; 0 unknown */
    int flock_write;
    uint64_t flock_start, flock_end;
    char file[16];           /* basename of a locked file */
    uint64_t sig;            /* progress signature */
    uint64_t still_since;
};

struct sv_proc {
    int pid, ppid;
    char comm[16];
    bool zombie;
};

struct snapshot {
    struct sv_proc procs[MAX_PROCS];
    int nprocs;
    struct sv_thread *threads;     /* MAX_THREADS */
    int nthreads;
    struct lg_proc_flock flocks[512];  /* /proc/locks, read when a thread waits on a file lock */
    int nflocks;                       /* -1: not read yet */
};

static bool snap_has_pid(const struct snapshot *s, int pid)
{
    for (int i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            return true;
    return false;
}

static struct sv_thread *snap_thread(struct snapshot *s, int tid)
{
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid)
            return &s->threads[i];
    return NULL;
}

static void snap_add_proc(struct snapshot *s, int pid)
{
    if (pid <= 0 || s->nprocs >= MAX_PROCS || snap_has_pid(s, pid))
        return;
    struct sv_proc *p = &s->procs[s->nprocs];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    struct lg_proc_task t;
    if (lg_proc_task_read(pid, pid, &t) < 0)
        return;
    p->ppid = t.ppid;
    memcpy(p->comm, t.comm, sizeof p->comm);
    p->zombie = t.state == 'Z' || t.state == 'X';
    s->nprocs++;
}

/* Root, its descendants, our own other children (orphans of the tree
 * come back to us: we are a child subreaper), and any process that has a
 * slot in the thread table (one that escaped the tree still runs our shim
 * with our table). */
static void snap_discover(struct snapshot *s, int root, const struct table *tab)
{
    s->nprocs = 0;
    snap_add_proc(s, root);
    for (unsigned i = 0; tab && tab->slots && i < tab->nslots; i++) {
        int pid = __atomic_load_n(&tab->slots[i].pid, __ATOMIC_RELAXED);
        int tid = __atomic_load_n(&tab->slots[i].tid, __ATOMIC_RELAXED);
        if (tid <= 0 || pid <= 0 || pid == getpid() || snap_has_pid(s, pid))
            continue;
        /* A slot left by a killed thread may name a pid since reused:
         * the thread itself must still be there. */
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d", pid, tid);
        if (access(path, F_OK) == 0)
            snap_add_proc(s, pid);
    }
    int self = getpid();
    int kids[MAX_PROCS];
    int n = lg_proc_children(self, kids, MAX_PROCS);
    for (int i = 0; i < n; i++)
        snap_add_proc(s, kids[i]);
    for (int i = 0; i < s->nprocs; i++) {
        n = lg_proc_children(s->procs[i].pid, kids, MAX_PROCS);
        for (int k = 0; k < n; k++)
            snap_add_proc(s, kids[k]);
    }
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static int read_schedstat(int pid, int tid, uint64_t *run_ns, uint64_t *slices)
{
    char path[96], buf[128];
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, tid);
    if (lg_proc_read_file(path, buf, sizeof buf) <= 0)
        return -1;
    unsigned long long a, b, c;
    if (sscanf(buf, "%llu %llu %llu", &a, &b, &c) != 3)
        return -1;
    *run_ns = a;
    *slices = c;
    return 0;
}

static bool snap_thread_exists(const struct snapshot *s, int pid, int tid)
{
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid && (pid == 0 || s->threads[i].pid == pid))
            return true;
    return false;
}

/* Whether fd of pid is an end of a pipe: fills ino. */
static bool fd_pipe(int pid, int fd, uint64_t *ino)
{
    int mode;
    return lg_proc_fd_pipe(pid, fd, ino, &mode) == 1;
}

/* Untimed poll: stuck only when every polled fd is a pipe (of the tree,
 * checked when the hang is confirmed). */
static enum sv_verdict judge_poll(struct sv_thread *t, uint64_t fds_addr, uint64_t nfds)
{
    struct pollfd pf[64];
    if (nfds == 0)
        return SV_STUCK;
    if (nfds > 64 || lg_proc_read_mem(t->pid, fds_addr, pf, nfds * sizeof pf[0]) < 0)
        return SV_EXTERNAL;
    for (uint64_t i = 0; i < nfds; i++) {
        if (pf[i].fd < 0)
            continue;
        if (lg_proc_fd_kind(t->pid, pf[i].fd) != 'p')
            return SV_EXTERNAL;
    }
    return SV_STUCK;
}

/* select/epoll: we do not decode the sets; stuck only when the process has
 * no socket, terminal or file open beyond stdio (nothing outside could
 * wake it but a pipe of the tree). */
static enum sv_verdict judge_opaque_wait(struct sv_thread *t)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", t->pid);
    DIR *d = opendir(path);
    if (!d)
        return SV_EXTERNAL;
    enum sv_verdict v = SV_STUCK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        int fd = atoi(e->d_name);
        if (fd <= 2)
            continue;
        int k = lg_proc_fd_kind(t->pid, fd);
        if (k == 's' || k == 't') {
            v = SV_EXTERNAL;
            break;
        }
    }
    closedir(d);
    return v;
}

/* The file and range a thread blocked in flock() or fcntl(F_SETLKW /
 * F_OFD_SETLKW) wants, from its system call arguments. */
static void flock_from_proc(struct sv_thread *t)
{
    const uint64_t *a = t->pt.args;
    char path[64], link[256];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/fd/%d", t->pid, (int)a[0]);
    if (stat(path, &st) < 0)
        return;
    t->obj_known = true;
    t->obj.shared = 1;
    t->obj.dev = st.st_dev;
    t->obj.ino = st.st_ino;
    t->obj.off = 0;
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n > 0) {
        link[n] = 0;
        const char *b = strrchr(link, '/');
        snprintf(t->file, sizeof t->file, "%.15s", b ? b + 1 : link);
    }
    t->flock_start = 0;
    t->flock_end = UINT64_MAX;
    if (t->pt.sysno == LG_SYS_FLOCK) {
        t->flock_kind = 1;
        t->flock_write = (a[1] & LOCK_EX) != 0;
        return;
    }
    t->flock_kind = a[1] == F_SETLKW ? 2 : 3;
    struct flock fl;
    if (lg_proc_read_mem(t->pid, a[2], &fl, sizeof fl) < 0) {
        t->flock_write = 1;
        return;
    }
    t->flock_write = fl.l_type == F_WRLCK;
    if (fl.l_whence == SEEK_SET && fl.l_start >= 0) {
        t->flock_start = (uint64_t)fl.l_start;
        t->flock_end = fl.l_len > 0 ? (uint64_t)(fl.l_start + fl.l_len - 1) : UINT64_MAX;
    }
}

/* What a thread waits for, from /proc alone (no slot, or the slot says
 * the thread is not in a published wait). */
static void judge_from_proc(struct snapshot *s, struct sv_thread *t)
{
    const struct lg_proc_task *p = &t->pt;
    const uint64_t *a = p->args;
    t->verdict = SV_EXTERNAL;
    t->op = LG_BLOCK_OTHER;
    switch (p->sysno) {
    case LG_SYS_NANOSLEEP:
    case LG_SYS_CLOCK_NANOSLEEP:
        t->verdict = SV_SLEEPING;
        return;
    case LG_SYS_FUTEX: {
        int cmd = (int)(a[1] & 0x7f);
        /* WAIT, WAIT_BITSET, LOCK_PI, LOCK_PI2, WAIT_REQUEUE_PI */
        if (cmd != 0 && cmd != 9 && cmd != 6 && cmd != 13 && cmd != 11)
            return;
        if (a[3] != 0) {               /* the timeout argument, for every one of them */
            t->verdict = SV_TIMED;
            return;
        }
        t->verdict = SV_STUCK;
        t->addr = a[0];
        int word[3];
        if (lg_proc_read_mem(t->pid, a[0], word, sizeof word) < 0)
            return;
        if (cmd == 6 || cmd == 13) {                 /* PI mutex: owner in the word */
            int owner = word[0] & 0x3fffffff;
            if (owner && snap_thread_exists(s, 0, owner)) {
                t->op = LG_BLOCK_MUTEX;
                t->owner_tid = owner;
                t->owner_certainty = LG_WG_CERTAIN;
            }
            return;
        }
        /* pthread_join waits on the joined thread's tid word (value = tid). */
        if (word[0] > 0 && word[0] != t->tid && snap_thread_exists(s, t->pid, word[0]) &&
            (unsigned)a[2] == (unsigned)word[0]) {
            t->op = LG_BLOCK_JOIN;
            t->target_tid = word[0];
            return;
        }
        /* A contended glibc mutex: FUTEX_WAIT on __lock == 2, __owner at +8.
         * Without FUTEX_PRIVATE_FLAG it is process-shared: the owner may
         * be a thread of another process of the tree. */
        bool shared = !(a[1] & 128);
        if (cmd == 0 && word[0] == 2 && word[2] > 0 && snap_thread_exists(s, shared ? 0 : t->pid, word[2])) {
            t->op = LG_BLOCK_MUTEX;
            t->owner_tid = word[2];
            t->owner_certainty = LG_WG_CERTAIN;
            t->obj_known = true;
            t->obj.kind = LG_LOCK_MUTEX;
            t->obj.addr = a[0];
        }
        return;
    }
    case LG_SYS_WAIT4:
    case LG_SYS_WAITID:
        t->verdict = SV_STUCK;
        t->op = LG_BLOCK_WAITPID;
        if (p->sysno == LG_SYS_WAIT4)
            t->target_pid = (int64_t)a[0] > 0 ? (int)a[0] : -1;
        else
            t->target_pid = a[0] == P_PID ? (int)a[1] : -1;
        return;
    case LG_SYS_READ:
    case LG_SYS_READV:
    case LG_SYS_WRITE:
    case LG_SYS_WRITEV: {
        int fd = (int)a[0];
        uint64_t ino;
        if (!fd_pipe(t->pid, fd, &ino))
            return;                                  /* tty, socket, file: outside */
        bool wr = p->sysno == LG_SYS_WRITE || p->sysno == LG_SYS_WRITEV;
        t->verdict = SV_STUCK;
        t->op = wr ? LG_BLOCK_PIPE_WRITE : LG_BLOCK_PIPE_READ;
        t->fd = fd;
        t->ino = ino;
        if (p->sysno == LG_SYS_WRITE)
            t->requested = (int64_t)a[2];
        return;
    }
    case LG_SYS_POLL:
        if ((int)a[2] >= 0) {
            t->verdict = SV_TIMED;
            return;
        }
        t->verdict = judge_poll(t, a[0], a[1]);
        return;
    case LG_SYS_PPOLL:
        if (a[2] != 0) {
            t->verdict = SV_TIMED;
            return;
        }
        t->verdict = judge_poll(t, a[0], a[1]);
        return;
    case LG_SYS_SELECT:
    case LG_SYS_PSELECT6:
        if (a[4] != 0) {
            t->verdict = SV_TIMED;
            return;
        }
        t->verdict = judge_opaque_wait(t);
        return;
    case LG_SYS_EPOLL_WAIT:
    case LG_SYS_EPOLL_PWAIT:
        if ((int)a[3] >= 0) {
            t->verdict = SV_TIMED;
            return;
        }
        t->verdict = judge_opaque_wait(t);
        return;
    case LG_SYS_EPOLL_PWAIT2:
        if (a[3] != 0) {
            t->verdict = SV_TIMED;
            return;
        }
        t->verdict = judge_opaque_wait(t);
        return;
    case LG_SYS_PAUSE:
    case LG_SYS_RT_SIGSUSPEND:
        t->verdict = SV_STUCK;
        return;
    case LG_SYS_FLOCK:
        t->verdict = SV_STUCK;
        t->op = LG_BLOCK_FLOCK;
        flock_from_proc(t);
        return;
    case LG_SYS_FCNTL:
        if (a[1] == F_SETLKW || a[1] == 38 /* F_OFD_SETLKW */) {
            t->verdict = SV_STUCK;
            t->op = LG_BLOCK_FLOCK;
            flock_from_proc(t);
        }
        return;
    case LG_SYS_SEMTIMEDOP:
        t->verdict = a[3] ? SV_TIMED : SV_STUCK;
        return;
    default:
        return;                 /* unknown system call: not ours to judge */
    }
}

/* Whether the kernel agrees with the slot about the kind of wait: a slot
 * is written just before the call, so for an instant (or, if a wrapper
 * ever failed to clear it, for good) it may describe a call the thread is
 * not in. Then /proc decides. Unknown system call (-2): trust the slot. */
static bool slot_agrees(uint32_t op, long sysno)
{
    if (sysno < 0)
        return true;
    switch (op) {
    case LG_BLOCK_WAITPID:
        return sysno == LG_SYS_WAIT4 || sysno == LG_SYS_WAITID;
    case LG_BLOCK_PIPE_READ:
    case LG_BLOCK_PIPE_WRITE:
        return sysno == LG_SYS_READ || sysno == LG_SYS_WRITE || sysno == LG_SYS_READV ||
               sysno == LG_SYS_WRITEV || sysno == 17 || sysno == 18 /* pread64, pwrite64 */ ||
               sysno == 44 || sysno == 45 /* sendto, recvfrom */ || sysno == 46 || sysno == 47;
    case LG_BLOCK_FLOCK:
        return sysno == LG_SYS_FLOCK || sysno == LG_SYS_FCNTL;
    case LG_BLOCK_OTHER:
        return true;
    default:                   /* every lock, join, condition, barrier: a futex */
        return sysno == LG_SYS_FUTEX || sysno == LG_SYS_FUTEX_WAITV || sysno == LG_SYS_SEMTIMEDOP ||
               sysno == LG_SYS_NANOSLEEP || sysno == LG_SYS_CLOCK_NANOSLEEP || sysno == 24 /* sched_yield */;
    }
}

/* Classify one thread: the slot first (exact object, owner, held locks),
 * /proc for everything the shim does not publish, and /proc always for
 * "is it really asleep". */
static void judge(struct snapshot *s, struct sv_thread *t)
{
    const struct lg_proc_task *p = &t->pt;
    t->fd = -1;
    t->requested = -1;
    t->target_pid = 0;
    if (p->state == 'R' || p->sysno == -1) {
        t->verdict = SV_RUNNING;
        return;
    }
    if (p->state == 'T' || p->state == 't' || p->state == 'Z' || p->state == 'X') {
        t->verdict = SV_EXTERNAL;    /* stopped by someone, or exiting */
        return;
    }
    if (t->has_slot && t->slot.op != LG_BLOCK_NONE && slot_agrees(t->slot.op, p->sysno)) {
        const struct lg_tt_slot *sl = &t->slot;
        if (sl->flags & LG_TT_TIMED) {
            t->verdict = SV_TIMED;
            return;
        }
        /* The slot is written just before the call: the kernel must agree
         * that the thread sleeps in a wait (not a nanosleep, not running). */
        if (p->sysno == LG_SYS_NANOSLEEP || p->sysno == LG_SYS_CLOCK_NANOSLEEP) {
            t->verdict = SV_SLEEPING;
            return;
        }
        t->verdict = SV_STUCK;
        t->op = sl->op;
        t->obj = sl->obj;
        t->obj_known = sl->obj.kind != 0 || sl->obj.addr != 0;
        t->addr = sl->obj.addr;
        t->owner_tid = sl->owner_tid;
        t->owner_certainty = sl->owner_tid ? LG_WG_PROBABLE : 0;
        t->target_tid = sl->target_tid;
        t->target_pid = sl->target_pid;
        switch (sl->op) {
        case LG_BLOCK_PIPE_READ:
        case LG_BLOCK_PIPE_WRITE:
            t->fd = sl->target_fd;
            t->ino = sl->obj.ino;
            if (sl->op == LG_BLOCK_PIPE_WRITE)
                t->requested = (int64_t)sl->aux;
            /* A pipe whose other end lies outside is judged below. */
            break;
        case LG_BLOCK_WAITPID:
            break;
        default:
            break;
        }
        if (sl->op == LG_BLOCK_FLOCK && (p->sysno == LG_SYS_FLOCK || p->sysno == LG_SYS_FCNTL))
            flock_from_proc(t);
        /* A join of a thread the shim never saw start: the futex word
         * pthread_join sleeps on holds the joined thread's tid. */
        if (sl->op == LG_BLOCK_JOIN && !t->target_tid && p->sysno == LG_SYS_FUTEX) {
            int word;
            if (lg_proc_read_mem(t->pid, p->args[0], &word, sizeof word) == 0 && word > 0 &&
                word != t->tid && snap_thread_exists(s, t->pid, word))
                t->target_tid = word;
        }
        /* The shim cannot tell a terminal or socket read from a pipe one
         * in every case: trust /proc's fd when it names something else. */
        if ((sl->op == LG_BLOCK_PIPE_READ || sl->op == LG_BLOCK_PIPE_WRITE) && t->fd >= 0) {
            int k = lg_proc_fd_kind(t->pid, t->fd);
            if (k && k != 'p')
                t->verdict = SV_EXTERNAL;
        }
        return;
    }
    judge_from_proc(s, t);
}

/* Read every thread of the tree and its slot, judge it, and carry over
 * each thread's "still since" from the previous look. */
static void snap_take(struct snapshot *s, int root, const struct table *tab,
                      const struct snapshot *prev, uint64_t now)
{
    snap_discover(s, root, tab);
    s->nthreads = 0;
    s->nflocks = -1;
    for (int i = 0; i < s->nprocs; i++) {
        if (s->procs[i].zombie)
            continue;
        int tids[1024];
        int nt = lg_proc_list_tasks(s->procs[i].pid, tids, 1024);
        for (int k = 0; k < nt && s->nthreads < MAX_THREADS; k++) {
            struct sv_thread *t = &s->threads[s->nthreads];
            memset(t, 0, sizeof *t);
            if (lg_proc_task_read(s->procs[i].pid, tids[k], &t->pt) < 0)
                continue;
            if (t->pt.state == 'Z' || t->pt.state == 'X')
                continue;
            t->pid = s->procs[i].pid;
            t->tid = tids[k];
            s->nthreads++;
        }
    }
    /* Slots of the tree's threads. */
    for (unsigned i = 0; tab->slots && i < tab->nslots; i++) {
        if (__atomic_load_n(&tab->slots[i].tid, __ATOMIC_RELAXED) == 0)
            continue;
        struct lg_tt_slot sl;
        if (!table_read_slot(tab, i, &sl))
            continue;
        struct sv_thread *t = snap_thread(s, sl.tid);
        if (t && t->pid == sl.pid) {
            t->slot = sl;
            t->has_slot = true;
        }
    }
    for (int i = 0; i < s->nthreads; i++) {
        struct sv_thread *t = &s->threads[i];
        judge(s, t);
        uint64_t h = 1469598103934665603ull;
        h = mix(h, (uint64_t)t->pt.state);
        h = mix(h, (uint64_t)t->pt.sysno);
        for (int a = 0; a < 3; a++)
            h = mix(h, t->pt.args[a]);
        h = mix(h, t->pt.cpu_ticks);
        if (t->has_slot) {
            h = mix(h, t->slot.progress);
            h = mix(h, t->slot.op);
            h = mix(h, t->slot.since_ns);
        }
        if (t->verdict == SV_STUCK) {
            /* Every wake-up counts as progress, however short. */
            uint64_t run = 0, slices = 0;
            if (read_schedstat(t->pid, t->tid, &run, &slices) == 0) {
                h = mix(h, run);
                h = mix(h, slices);
            }
        }
        t->sig = h;
        t->still_since = now;
        if (prev) {
            for (int k = 0; k < prev->nthreads; k++) {
                const struct sv_thread *o = &prev->threads[k];
                if (o->tid == t->tid && o->pid == t->pid) {
                    if (o->sig == t->sig && o->verdict == SV_STUCK && t->verdict == SV_STUCK)
                        t->still_since = o->still_since;
                    break;
                }
            }
        }
    }
}

/* ===================================================================== */
/* Building the graph from a look                                         */
/* ===================================================================== */

static uint64_t obj_key(const struct lg_tt_obj *o)
{
    if (o->shared)
        return mix(mix(mix(0x5a17ed, o->dev), o->ino), o->off);
    return o->addr;
}

static int lock_node(struct lg_wg *g, int pid, const struct lg_tt_obj *o)
{
    return lg_wg_node(g, LG_WFN_LOCK, o->shared ? 0 : pid, 0, obj_key(o));
}

static int thread_node(struct lg_wg *g, const struct snapshot *s, const struct sv_thread *t)
{
    int n = lg_wg_node(g, LG_WFN_THREAD, t->pid, t->tid, 0);
    if (n >= 0)
        g->nodes[n].ref = (int)(t - s->threads);
    return n;
}

static int process_node(struct lg_wg *g, int pid)
{
    return lg_wg_node(g, LG_WFN_PROCESS, pid, 0, 0);
}

/* Holder of lock node `ln`: from the held snapshots of blocked threads
 * (exact while they are blocked), else the owner the waiter's slot names. */
static void add_lock_owner(struct lg_wg *g, struct snapshot *s, int ln, const struct sv_thread *w)
{
    bool found = false;
    for (int i = 0; i < s->nthreads; i++) {
        struct sv_thread *h = &s->threads[i];
        if (!h->has_slot || h->slot.op == LG_BLOCK_NONE || h->verdict != SV_STUCK)
            continue;
        unsigned n = h->slot.nheld < LG_TT_MAX_HELD ? h->slot.nheld : LG_TT_MAX_HELD;
        for (unsigned k = 0; k < n; k++) {
            if (lock_node(g, h->pid, &h->slot.held[k]) == ln) {
                bool sem = h->slot.held[k].kind == LG_LOCK_SEM || h->slot.held[k].kind == LG_LOCK_NAMED_SEM;
                /* A condition waiter gave its mutex up for the wait. */
                if (h->slot.op == LG_BLOCK_COND && h->slot.obj.addr == h->slot.held[k].addr)
                    continue;
                /* A thread waiting on a semaphore it took last is a
                 * counting semaphore at work, not a self-deadlock. */
                if (sem && h == w)
                    continue;
                int hn = thread_node(g, s, h);
                /* A semaphore "held" by its last acquirer is a guess. */
                int c = sem ? LG_WG_PROBABLE : LG_WG_CERTAIN;
                lg_wg_edge(g, ln, hn, LG_WFE_HOLDS, c, -1);
                found = true;
            }
        }
    }
    if (found || !w->owner_tid || w->owner_tid == w->tid)
        return;
    struct sv_thread *o = snap_thread(s, w->owner_tid);
    if (!o)
        return;
    int c = w->owner_certainty;
    if (w->obj.kind == LG_LOCK_SEM || w->obj.kind == LG_LOCK_NAMED_SEM)
        c = LG_WG_PROBABLE;
    lg_wg_edge(g, ln, thread_node(g, s, o), LG_WFE_HOLDS, c, -1);
}

/* Edges from a process node to its threads: the process ends (or lets a
 * lock go) only through them. Certain when it has just one thread. */
static void add_process_threads(struct lg_wg *g, struct snapshot *s, int pn)
{
    int pid = g->nodes[pn].pid, nthreads = 0;
    for (int k = 0; k < s->nthreads; k++)
        nthreads += s->threads[k].pid == pid;
    for (int k = 0; k < s->nthreads; k++)
        if (s->threads[k].pid == pid)
            lg_wg_edge(g, pn, thread_node(g, s, &s->threads[k]), LG_WFE_THREAD_OF,
                       nthreads == 1 ? LG_WG_CERTAIN : LG_WG_EXPLAIN, -1);
}

/* Who holds the file lock a thread waits for, from /proc/locks: each
 * conflicting holder of the tree is a process (file locks belong to
 * processes or open files, not threads). A process ends its part of the
 * cycle through its threads: certain when it has only one. */
static void add_flock_holders(struct lg_wg *g, struct snapshot *s, int ln, const struct sv_thread *t)
{
    if (s->nflocks < 0) {
        static char text[65536];
        s->nflocks = 0;
        if (lg_proc_read_file("/proc/locks", text, sizeof text) > 0)
            s->nflocks = lg_proc_parse_locks(text, s->flocks, 512);
        if (s->nflocks < 0)
            s->nflocks = 0;
    }
    for (int i = 0; i < s->nflocks; i++) {
        const struct lg_proc_flock *f = &s->flocks[i];
        if (f->blocked || f->pid <= 0 || f->ino != t->obj.ino || f->dev_major != major(t->obj.dev) ||
            f->dev_minor != minor(t->obj.dev))
            continue;
        if (!f->write && !t->flock_write)
            continue;                              /* two readers never conflict */
        bool is_flock = strcmp(f->type, "FLOCK") == 0;
        if (t->flock_kind == 1 && !is_flock)
            continue;                              /* flock and fcntl locks are separate */
        if (t->flock_kind >= 2) {
            if (is_flock)
                continue;
            if (t->flock_kind == 2 && f->pid == t->pid && strcmp(f->type, "POSIX") == 0)
                continue;                          /* a process never conflicts with its own POSIX locks */
            if (f->end < t->flock_start || f->start > t->flock_end)
                continue;
        }
        if (!snap_has_pid(s, f->pid))
            continue;
        int pn = process_node(g, f->pid);
        lg_wg_edge(g, ln, pn, LG_WFE_HOLDS, LG_WG_CERTAIN, -1);
        add_process_threads(g, s, pn);
    }
}

/* The edges out of one stuck thread. Pipe ends are looked up only when
 * `pipes` is set (it costs a scan of every fd of the tree). */
static void add_thread_edges(struct lg_wg *g, struct snapshot *s, struct sv_thread *t, bool pipes)
{
    int tn = thread_node(g, s, t);
    switch (t->op) {
    case LG_BLOCK_COND:
    case LG_BLOCK_BARRIER: {
        /* A condition or barrier wait waits for someone to signal or
         * arrive, not for a lock's owner: an "other" node, never on a
         * deadlock cycle (explanation only). */
        uint64_t key = t->has_slot && t->slot.aux ? t->slot.aux : t->addr;
        if (key)
            lg_wg_edge(g, tn, lg_wg_node(g, LG_WFN_OTHER, t->pid, 0, key), LG_WFE_WAITS, LG_WG_EXPLAIN, -1);
        break;
    }
    case LG_BLOCK_FLOCK: {
        if (!t->obj_known)
            break;
        int ln = lock_node(g, t->pid, &t->obj);
        lg_wg_edge(g, tn, ln, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
        add_flock_holders(g, s, ln, t);
        break;
    }
    case LG_BLOCK_MUTEX:
    case LG_BLOCK_RWLOCK_RD:
    case LG_BLOCK_RWLOCK_WR:
    case LG_BLOCK_SPIN:
    case LG_BLOCK_SEM: {
        if (!t->obj_known && !t->addr)
            break;
        struct lg_tt_obj o = t->obj;
        if (!t->obj_known)
            o.addr = t->addr;
        int ln = lock_node(g, t->pid, &o);
        lg_wg_edge(g, tn, ln, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
        add_lock_owner(g, s, ln, t);
        break;
    }
    case LG_BLOCK_JOIN: {
        struct sv_thread *j = t->target_tid ? snap_thread(s, t->target_tid) : NULL;
        if (j)
            lg_wg_edge(g, tn, thread_node(g, s, j), LG_WFE_JOINS, LG_WG_CERTAIN, -1);
        break;
    }
    case LG_BLOCK_WAITPID:
        for (int i = 0; i < s->nprocs; i++) {
            const struct sv_proc *p = &s->procs[i];
            if (p->zombie || p->ppid != t->pid)
                continue;
            if (t->target_pid > 0 && p->pid != t->target_pid)
                continue;
            /* waitpid(pid) waits for that child for sure; wait(-1) for
             * whichever ends first (explanation only). */
            int pn = process_node(g, p->pid);
            lg_wg_edge(g, tn, pn, LG_WFE_WAITPID, t->target_pid > 0 ? LG_WG_CERTAIN : LG_WG_EXPLAIN, -1);
            add_process_threads(g, s, pn);
        }
        break;
    case LG_BLOCK_PIPE_READ:
    case LG_BLOCK_PIPE_WRITE: {
        if (!t->ino)
            break;
        int pn = lg_wg_node(g, LG_WFN_PIPE, 0, 0, t->ino);
        bool wr = t->op == LG_BLOCK_PIPE_WRITE;
        lg_wg_edge(g, tn, pn, wr ? LG_WFE_PIPE_WRITE : LG_WFE_PIPE_READ, LG_WG_EXPLAIN, -1);
        if (!pipes)
            break;
        for (int i = 0; i < s->nprocs; i++) {
            if (s->procs[i].zombie)
                continue;
            int fd = -1;
            if (lg_proc_pipe_holder(s->procs[i].pid, t->ino, wr ? O_RDONLY : O_WRONLY, &fd) > 0)
                lg_wg_edge(g, pn, process_node(g, s->procs[i].pid),
                           wr ? LG_WFE_READ_END : LG_WFE_WRITE_END, LG_WG_EXPLAIN, fd);
        }
        break;
    }
    default:
        break;
    }
}

/* Graph of the stuck threads. With `full`, also processes, pipe ends and
 * every thread of every process (a process ends when its threads do). */
static void build_graph(struct lg_wg *g, struct snapshot *s, bool full)
{
    for (int i = 0; i < s->nthreads; i++) {
        struct sv_thread *t = &s->threads[i];
        if (full)
            thread_node(g, s, t);
        if (t->verdict == SV_STUCK)
            add_thread_edges(g, s, t, full);
    }
    if (!full)
        return;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].kind == LG_WFN_PROCESS)
            add_process_threads(g, s, i);
}

/* Does some process outside the tree hold the other end of a pipe a stuck
 * thread waits on? Then the wait is on the outside world, not a hang. */
static bool pipe_has_outside_end(const struct snapshot *s, uint64_t ino, int accmode)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    bool found = false;
    int self = getpid();
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        int pid = atoi(e->d_name);
        if (pid == self || snap_has_pid(s, pid))
            continue;
        if (lg_proc_pipe_holder(pid, ino, accmode, NULL) > 0)
            found = true;
    }
    closedir(d);
    return found;
}

static bool is_fd_wait(long nr)
{
    return nr == LG_SYS_POLL || nr == LG_SYS_PPOLL || nr == LG_SYS_SELECT || nr == LG_SYS_PSELECT6 ||
           nr == LG_SYS_EPOLL_WAIT || nr == LG_SYS_EPOLL_PWAIT || nr == LG_SYS_EPOLL_PWAIT2;
}

/* A poll/select/epoll sleeper is only stuck if none of the pipes it may be
 * watching has an end outside the tree (a producer feeding our stdin...).
 * poll's set is read from its memory; for select/epoll every pipe the
 * process holds is checked. */
static bool fd_wait_has_outside_pipe(const struct snapshot *s, const struct sv_thread *t)
{
    int fds[256], want[256];       /* want: the end whose holder could wake us */
    int n = 0;
    if (t->pt.sysno == LG_SYS_POLL || t->pt.sysno == LG_SYS_PPOLL) {
        struct pollfd pf[64];
        uint64_t nfds = t->pt.args[1];
        if (nfds > 64 || lg_proc_read_mem(t->pid, t->pt.args[0], pf, nfds * sizeof pf[0]) < 0)
            return true;
        for (uint64_t i = 0; i < nfds; i++) {
            if (pf[i].fd < 0)
                continue;
            fds[n] = pf[i].fd;
            want[n++] = pf[i].events & POLLOUT ? (pf[i].events & POLLIN ? -1 : O_RDONLY) : O_WRONLY;
        }
    } else {
        /* The sets are not decoded: every read end we hold may be watched. */
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd", t->pid);
        DIR *d = opendir(path);
        if (!d)
            return true;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && n < 256) {
            if (!isdigit((unsigned char)e->d_name[0]))
                continue;
            uint64_t ino;
            int mode;
            int fd = atoi(e->d_name);
            if (lg_proc_fd_pipe(t->pid, fd, &ino, &mode) == 1 && mode != O_WRONLY) {
                fds[n] = fd;
                want[n++] = O_WRONLY;
            }
        }
        closedir(d);
    }
    for (int i = 0; i < n; i++) {
        uint64_t ino;
        if (fd_pipe(t->pid, fds[i], &ino) && pipe_has_outside_end(s, ino, want[i]))
            return true;
    }
    return false;
}

/* ===================================================================== */
/* hang.lgt                                                               */
/* ===================================================================== */

struct recbuf {
    uint8_t *p;
    size_t len, cap;
};

static int rb_add(struct recbuf *b, uint16_t kind, const void *payload, uint32_t plen)
{
    uint32_t size = lg_rec_align((uint32_t)sizeof(struct lg_rec_hdr) + plen);
    if (b->len + size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + size)
            cap *= 2;
        void *q = realloc(b->p, cap);
        if (!q)
            return -ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    struct lg_rec_hdr h;
    memset(&h, 0, sizeof h);
    h.size = size;
    h.kind = kind;
    h.tid = getpid();
    h.time_ns = now_ns();
    memset(b->p + b->len, 0, size);
    memcpy(b->p + b->len, &h, sizeof h);
    memcpy(b->p + b->len + sizeof h, payload, plen);
    b->len += size;
    return 0;
}

static void fill_thread_rec(struct lg_rec_wf_node *r, const struct sv_thread *t)
{
    r->pid = t->pid;
    r->tid = t->tid;
    r->op = t->verdict == SV_STUCK ? t->op : LG_BLOCK_NONE;
    r->sysno = (int32_t)t->pt.sysno;
    r->addr = t->addr;
    r->fd = t->fd;
    r->state = t->pt.state;
    if (t->has_slot) {
        r->exec_seq = t->slot.exec_seq;
        if (t->slot.op != LG_BLOCK_NONE) {
            r->stack_id = t->slot.stack_id;
            r->flags |= LG_WFN_FROM_TABLE;
        }
        /* Waiting for a lock it holds itself. Not an edge of the graph (a
         * semaphore's "holder" is a guess, and a condition's waiter lock
         * is taken twice on purpose): a fact for the analyzer to judge. */
        bool lock_wait = t->slot.op == LG_BLOCK_MUTEX || t->slot.op == LG_BLOCK_RWLOCK_RD ||
                         t->slot.op == LG_BLOCK_RWLOCK_WR || t->slot.op == LG_BLOCK_SPIN ||
                         t->slot.op == LG_BLOCK_SEM;
        unsigned nh = t->slot.nheld < LG_TT_MAX_HELD ? t->slot.nheld : LG_TT_MAX_HELD;
        for (unsigned k = 0; lock_wait && t->verdict == SV_STUCK && k < nh; k++) {
            const struct lg_tt_obj *h = &t->slot.held[k];
            if (h->kind == t->slot.obj.kind && h->addr == t->slot.obj.addr &&
                (!h->id || !t->slot.obj.id || h->id == t->slot.obj.id)) {
                r->flags |= LG_WFN_SELF_WAIT;
                break;
            }
        }
    }
    /* The kernel's name is current (pthread_setname_np after start); the
     * slot's, taken when the thread claimed it, is the fallback. */
    memcpy(r->name, t->pt.comm, sizeof r->name);
    if (!r->name[0] && t->has_slot)
        memcpy(r->name, t->slot.name, sizeof r->name);
    r->name[sizeof r->name - 1] = 0;
    snprintf(r->wchan, sizeof r->wchan, "%.31s", t->pt.wchan);
    if (t->obj_known) {
        r->lock_id = t->obj.id;
        r->lock_kind = t->obj.kind;
    }
}

/* Find the lock object behind a lock node, to describe it. */
static bool lock_obj_of(const struct lg_wg *g, int ln, const struct snapshot *s, struct lg_tt_obj *o,
                        int *pid)
{
    for (int i = 0; i < s->nthreads; i++) {
        const struct sv_thread *t = &s->threads[i];
        if (t->verdict == SV_STUCK && (t->obj_known || t->addr)) {
            struct lg_tt_obj x = t->obj;
            if (!t->obj_known)
                x.addr = t->addr;
            if (lg_wg_find(g, LG_WFN_LOCK, x.shared ? 0 : t->pid, 0, obj_key(&x)) == ln) {
                *o = x;
                *pid = t->pid;
                return true;
            }
        }
        if (!t->has_slot)
            continue;
        unsigned n = t->slot.nheld < LG_TT_MAX_HELD ? t->slot.nheld : LG_TT_MAX_HELD;
        for (unsigned k = 0; k < n; k++) {
            const struct lg_tt_obj *h = &t->slot.held[k];
            if (lg_wg_find(g, LG_WFN_LOCK, h->shared ? 0 : t->pid, 0, obj_key(h)) == ln) {
                *o = *h;
                *pid = t->pid;
                return true;
            }
        }
    }
    return false;
}

/* --- stacks from outside -------------------------------------------------- */

#define UNWIND_MAX 32

struct unwind_ctx {
    Dwarf_Addr pc[UNWIND_MAX];
    bool activation[UNWIND_MAX];
    int n;
};

static int unwind_frame(Dwfl_Frame *frame, void *arg)
{
    struct unwind_ctx *u = arg;
    Dwarf_Addr pc;
    bool act;
    if (u->n >= UNWIND_MAX || !dwfl_frame_pc(frame, &pc, &act))
        return DWARF_CB_ABORT;
    u->pc[u->n] = pc;
    u->activation[u->n] = act;
    u->n++;
    return DWARF_CB_OK;
}

static bool system_module(const char *path)
{
    static const char *const sys[] = {"libc.so", "libc-", "ld-linux", "ld64.so", "libpthread", "liblockgraph",
                                      "libpython", "libunwind", "python3", "python2", "libgcc_s"};
    const char *b = path ? strrchr(path, '/') : NULL;
    b = b ? b + 1 : path;
    if (!b)
        return true;
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++)
        if (strncmp(b, sys[i], strlen(sys[i])) == 0)
            return true;
    return false;
}

/* For every stuck thread the shim gave no stack, unwind it from outside
 * (ptrace through libdwfl: the process is stopped while we look, which is
 * why this runs only when the tree is about to be ended) and append its
 * symbolized frames as HANG_FRAME records. Best effort: a process that
 * cannot be attached simply has no frames. */
static void unwind_stuck_threads(const struct lg_wg *g, const struct snapshot *s, struct recbuf *b)
{
    static const Dwfl_Callbacks cb = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
    };
    for (int pi = 0; pi < s->nprocs; pi++) {
        int pid = s->procs[pi].pid;
        bool wanted = false;
        for (int i = 0; i < g->nnodes && !wanted; i++) {
            const struct lg_wg_node *n = &g->nodes[i];
            if (n->kind == LG_WFN_THREAD && n->pid == pid && n->ref >= 0) {
                const struct sv_thread *t = &s->threads[n->ref];
                wanted = t->verdict == SV_STUCK && !(t->has_slot && t->slot.op != LG_BLOCK_NONE && t->slot.stack_id);
            }
        }
        if (!wanted)
            continue;
        Dwfl *d = dwfl_begin(&cb);
        if (!d)
            continue;
        if (dwfl_linux_proc_report(d, pid) != 0 || dwfl_report_end(d, NULL, NULL) != 0 ||
            dwfl_linux_proc_attach(d, pid, false) != 0) {
            dwfl_end(d);
            continue;
        }
        for (int i = 0; i < g->nnodes; i++) {
            const struct lg_wg_node *n = &g->nodes[i];
            if (n->kind != LG_WFN_THREAD || n->pid != pid || n->ref < 0)
                continue;
            const struct sv_thread *t = &s->threads[n->ref];
            if (t->verdict != SV_STUCK || (t->has_slot && t->slot.op != LG_BLOCK_NONE && t->slot.stack_id))
                continue;
            struct unwind_ctx u = {.n = 0};
            dwfl_getthread_frames(d, t->tid, unwind_frame, &u);
            for (int k = 0; k < u.n; k++) {
                /* A return address points after the call: look up the call. */
                Dwarf_Addr at = u.pc[k] - (u.activation[k] ? 0 : 1);
                Dwfl_Module *mod = dwfl_addrmodule(d, at);
                const char *fn = mod ? dwfl_module_addrname(mod, at) : NULL;
                const char *modpath = NULL;
                if (mod)
                    dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &modpath, NULL);
                int line = 0;
                const char *file = NULL;
                /* Lines only for the program's own modules: loading the C
                 * library's DWARF would cost more than the whole report. */
                bool sys = system_module(modpath);
                Dwfl_Line *ln = mod && !sys ? dwfl_module_getsrc(mod, at) : NULL;
                if (ln)
                    file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
                size_t fl = file ? strnlen(file, 1024) : 0, nl = fn ? strnlen(fn, 512) : 0,
                       ml = modpath ? strnlen(modpath, 1024) : 0;
                size_t size = sizeof(struct lg_rec_hang_frame) + fl + nl + ml;
                struct lg_rec_hang_frame *r = calloc(1, size);
                if (!r)
                    break;
                r->node = (uint32_t)i;
                r->index = (uint32_t)k;
                r->pc = u.pc[k];
                r->line = line;
                r->file_len = (uint16_t)fl;
                r->func_len = (uint16_t)nl;
                r->module_len = (uint16_t)ml;
                r->flags = sys ? LG_HFR_SYSTEM : 0;
                memcpy(r->text, file ? file : "", fl);
                memcpy(r->text + fl, fn ? fn : "", nl);
                memcpy(r->text + fl + nl, modpath ? modpath : "", ml);
                rb_add(b, LG_REC_HANG_FRAME, r, (uint32_t)size);
                free(r);
            }
        }
        dwfl_end(d);                 /* detaches: the threads run (or die) again */
    }
}

static int write_hang_file(const char *outdir, int root, int verdict, struct lg_wg *g,
                           struct snapshot *s, const int *cyc, int ncyc, const struct lg_wg_jbd *jbd,
                           uint64_t still_ns, uint64_t timeout_ns, uint64_t start_ns, bool unwind)
{
    struct recbuf b = {0};
    int rc = 0;
    struct lg_rec_hang h;
    memset(&h, 0, sizeof h);
    h.verdict = (uint32_t)verdict;
    h.nnodes = (uint32_t)g->nnodes;
    h.nedges = (uint32_t)g->nedges;
    h.root_pid = root;
    h.still_ns = still_ns;
    h.timeout_ns = timeout_ns;
    h.detected_ns = now_ns();
    h.start_ns = start_ns;
    if ((rc = rb_add(&b, LG_REC_HANG, &h, sizeof h)) < 0)
        goto out;
    for (int i = 0; i < g->nnodes; i++) {
        const struct lg_wg_node *n = &g->nodes[i];
        struct lg_rec_wf_node r;
        memset(&r, 0, sizeof r);
        r.node = (uint32_t)i;
        r.node_kind = (uint16_t)n->kind;
        r.flags = n->on_cycle ? LG_WFN_ON_CYCLE : 0;
        r.fd = -1;
        r.sysno = -1;
        r.queued = r.capacity = r.requested = -1;
        r.pid = n->pid;
        r.tid = n->tid;
        if (n->kind == LG_WFN_THREAD && n->ref >= 0) {
            fill_thread_rec(&r, &s->threads[n->ref]);
            if (n->on_cycle)
                r.flags |= LG_WFN_ON_CYCLE;
        } else if (n->kind == LG_WFN_PROCESS) {
            for (int k = 0; k < s->nprocs; k++)
                if (s->procs[k].pid == n->pid)
                    memcpy(r.name, s->procs[k].comm, sizeof r.name);
            r.name[sizeof r.name - 1] = 0;
        } else if (n->kind == LG_WFN_LOCK) {
            struct lg_tt_obj o;
            int pid = 0;
            for (int k = 0; k < s->nthreads; k++) {
                const struct sv_thread *t = &s->threads[k];
                if (t->verdict == SV_STUCK && t->op == LG_BLOCK_FLOCK && t->file[0] && t->obj_known &&
                    lg_wg_find(g, LG_WFN_LOCK, 0, 0, obj_key(&t->obj)) == i)
                    memcpy(r.name, t->file, sizeof r.name);
            }
            if (lock_obj_of(g, i, s, &o, &pid)) {
                r.lock_id = o.id;
                r.addr = o.addr;
                r.lock_kind = o.kind;
                r.dev = o.dev;
                r.ino = o.ino;
                r.off = o.off;
                r.pid = o.shared ? 0 : pid;
            } else {
                r.addr = n->key;
            }
        } else if (n->kind == LG_WFN_OTHER) {
            r.addr = n->key;           /* condition variable or barrier */
        } else if (n->kind == LG_WFN_PIPE) {
            r.ino = n->key;
            /* Fill level, through any holder's fd; and what the blocked
             * writer asked for. */
            for (int k = 0; k < s->nthreads; k++) {
                const struct sv_thread *t = &s->threads[k];
                if (t->verdict != SV_STUCK || t->ino != n->key || t->fd < 0)
                    continue;
                int q, cap;
                if (r.capacity < 0 && lg_proc_pipe_fill(t->pid, t->fd, &q, &cap) == 0) {
                    r.queued = q;
                    r.capacity = cap;
                }
                if (t->op == LG_BLOCK_PIPE_WRITE && t->requested >= 0)
                    r.requested = t->requested;
            }
        }
        if ((rc = rb_add(&b, LG_REC_WF_NODE, &r, sizeof r)) < 0)
            goto out;
    }
    for (int i = 0; i < g->nedges; i++) {
        const struct lg_wg_edge *e = &g->edges[i];
        struct lg_rec_wf_edge r;
        memset(&r, 0, sizeof r);
        r.from = (uint32_t)e->from;
        r.to = (uint32_t)e->to;
        r.edge_kind = (uint16_t)e->kind;
        r.flags = (uint16_t)((e->on_cycle ? LG_WFN_ON_CYCLE : 0) |
                             (e->certainty == LG_WG_CERTAIN ? LG_WFN_CERTAIN : 0));
        r.fd = e->fd;
        if ((rc = rb_add(&b, LG_REC_WF_EDGE, &r, sizeof r)) < 0)
            goto out;
    }
    if (ncyc > 0) {
        uint32_t buf[1 + 256];
        int n = ncyc > 256 ? 256 : ncyc;
        buf[0] = (uint32_t)n;
        for (int i = 0; i < n; i++)
            buf[1 + i] = (uint32_t)cyc[i];
        if ((rc = rb_add(&b, LG_REC_HANG_CYCLE, buf, (uint32_t)((1 + n) * sizeof(uint32_t)))) < 0)
            goto out;
    }
    if (jbd) {
        struct lg_rec_hang_jbd r = {(uint32_t)jbd->waiter, (uint32_t)jbd->target,
                                    (uint32_t)jbd->writer, (uint32_t)jbd->pipe};
        if ((rc = rb_add(&b, LG_REC_HANG_JBD, &r, sizeof r)) < 0)
            goto out;
    }
    if (unwind)
        unwind_stuck_threads(g, s, &b);

    /* A trace header of its own, so the analyzer reads it like a trace. */
    struct lg_trace_header th;
    memset(&th, 0, sizeof th);
    memcpy(th.magic, LG_TRACE_MAGIC, sizeof LG_TRACE_MAGIC);
    th.version = LG_TRACE_VERSION;
    th.header_size = LG_TRACE_HEADER_SIZE;
    th.pid = getpid();
    th.ppid = root;
    th.flags = LG_TRACE_F_CLEAN_END;
    th.start_ns = start_ns;
    th.end_offset = LG_TRACE_HEADER_SIZE + b.len;
    th.end_ns = now_ns();
    snprintf(th.exe, sizeof th.exe, "lockgraph-supervisor");

    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof path, "%s/hang.lgt", outdir);
    snprintf(tmp, sizeof tmp, "%s/.hang.lgt.tmp", outdir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    uint8_t head[LG_TRACE_HEADER_SIZE];
    memset(head, 0, sizeof head);
    memcpy(head, &th, sizeof th);
    if (write(fd, head, sizeof head) != (ssize_t)sizeof head ||
        write(fd, b.p, b.len) != (ssize_t)b.len) {
        rc = -errno;
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) < 0)
        rc = -errno;
out:
    free(b.p);
    return rc;
}

/* ===================================================================== */
/* The loop                                                               */
/* ===================================================================== */

static void kill_tree(int root, struct snapshot *s)
{
    /* Stop first so nobody forks while we look, then kill; repeat for
     * children that appeared in between. */
    for (int round = 0; round < 4; round++) {
        snap_discover(s, root, NULL);
        int alive = 0;
        for (int i = 0; i < s->nprocs; i++) {
            if (s->procs[i].zombie)
                continue;
            kill(s->procs[i].pid, SIGKILL);
            alive++;
        }
        if (!alive)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Reap every child but root without blocking. True when root ended. */
static bool reap(int root, int *root_status)
{
    bool done = false;
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
        if (p <= 0)
            break;
        if (p == root) {
            *root_status = st;
            done = true;
        }
    }
    return done;
}

/* Pause for pause_ns, or less if root ends first: with root's pidfd the
 * pause ends the moment it exits (a program of 1 ms must not wait for the
 * next look); without one (a kernel before 5.3) it is a plain sleep. */
static void pause_for_root(int root_fd, uint64_t pause_ns)
{
    if (root_fd < 0) {
        struct timespec ts = {(time_t)(pause_ns / 1000000000ull), (long)(pause_ns % 1000000000ull)};
        nanosleep(&ts, NULL);
        return;
    }
    uint64_t end = now_ns() + pause_ns;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= end)
            return;
        uint64_t left = end - now;
        struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
        struct pollfd pf = {.fd = root_fd, .events = POLLIN};
        int n = ppoll(&pf, 1, &ts, NULL);
        if (n > 0 || (n < 0 && errno != EINTR))
            return;                    /* root ended (or poll cannot wait) */
    }
}

static const char *verdict_word(int v)
{
    return v == LG_HANG_DEADLOCK ? "deadlock" : v == LG_HANG_JOIN_BEFORE_DRAIN ? "join-before-drain" : "hang";
}

int lg_supervise(pid_t root, const struct lg_supervise_opts *o, struct lg_supervise_result *res)
{
    memset(res, 0, sizeof *res);
    /* Orphans of the tree are reparented to us, so they stay in view. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    struct table tab;
    table_open(&tab, o->outdir);
    uint64_t start = tab.hdr && tab.slots ? tab.hdr->start_ns : now_ns();
    uint64_t timeout_ns = o->hang_timeout > 0 ? (uint64_t)(o->hang_timeout * 1e9) : 0;

    struct snapshot *snaps = calloc(2, sizeof *snaps);
    if (!snaps)
        return -ENOMEM;
    snaps[0].threads = calloc(MAX_THREADS, sizeof(struct sv_thread));
    snaps[1].threads = calloc(MAX_THREADS, sizeof(struct sv_thread));
    if (!snaps[0].threads || !snaps[1].threads) {
        free(snaps[0].threads);
        free(snaps[1].threads);
        free(snaps);
        return -ENOMEM;
    }
    /* Readable once root has ended; root is our unreaped child, so its pid
     * cannot be reused while we hold this. */
    int root_fd = pidfd_open(root, 0);

    int cur = 0;
    bool have_prev = false, found = false;
    int status = 0;
    int prev_cycle[64], nprev_cycle = 0, cycle_seen = 0;
    uint64_t cycle_since = 0;
    int outside_pipe_backoff = 0;
    uint64_t look_cost = 0;       /* CPU time of the last look */
    /* A thread or process that leaves (or joins) the tree is progress: a
     * wrapper blocked in waitpid since the start must not count as still
     * for all that time the moment its child has gone. */
    uint64_t members_sig = 0, members_changed = 0;
    int rc = 0;

    for (;;) {
        if (reap(root, &status))
            break;
        /* Watching must stay cheap next to the program: the pause between
         * looks is at least 100 times what the last look cost (a tree of
         * hundreds of threads is looked at less often), within 80 ms..1 s. */
        uint64_t pause = look_cost * 100;
        if (pause < 80000000ull)
            pause = 80000000ull;
        if (pause > 1000000000ull)
            pause = 1000000000ull;
        pause_for_root(root_fd, pause);
        if (reap(root, &status))
            break;
        if (found)
            continue;                  /* --on-hang wait: only wait for the end */
        if (!tab.slots) {
            table_close(&tab);
            table_open(&tab, o->outdir);
        }

        struct snapshot *s = &snaps[cur], *prev = have_prev ? &snaps[cur ^ 1] : NULL;
        uint64_t now = now_ns(), cpu0 = cpu_ns();
        snap_take(s, root, &tab, prev, now);
        look_cost = cpu_ns() - cpu0;
        have_prev = true;
        cur ^= 1;
        if (s->nthreads == 0)
            continue;

        bool all_stuck = true;
        uint64_t still_since = 0, sig = (uint64_t)s->nthreads;
        for (int i = 0; i < s->nthreads; i++) {
            sig = mix(sig, ((uint64_t)(uint32_t)s->threads[i].pid << 32) | (uint32_t)s->threads[i].tid);
            if (s->threads[i].verdict != SV_STUCK)
                all_stuck = false;
            else if (s->threads[i].still_since > still_since)
                still_since = s->threads[i].still_since;
        }
        for (int i = 0; i < s->nprocs; i++)
            sig = mix(sig, ((uint64_t)(uint32_t)s->procs[i].pid << 1) | s->procs[i].zombie);
        if (sig != members_sig) {
            members_sig = sig;
            members_changed = now;
        }
        if (members_changed > still_since)
            still_since = members_changed;

        /* Deadlock: a cycle of certain edges (mutex owners from held
         * snapshots or the mutex word, joins), confirmed when the same
         * cycle of the same still threads is seen on two looks. A cycle
         * that needs a probable edge (a semaphore's last acquirer: right
         * for CPython's locks, wrong for a signalling semaphore someone
         * else will post) must also have the whole tree still, or have
         * stayed still for 0.7 s. */
        int verdict = 0;
        struct lg_wg g = {0};
        build_graph(&g, s, false);
        int cyc[64];
        bool certain = true;
        int nc = lg_wg_cycle(&g, -1, LG_WG_CERTAIN, cyc, 64);
        if (!nc) {
            nc = lg_wg_cycle(&g, -1, LG_WG_PROBABLE, cyc, 64);
            certain = false;
        }
        if (nc) {
            /* Identity of the cycle: its threads and their signatures. */
            int ids[64];
            for (int i = 0; i < nc; i++)
                ids[i] = g.nodes[cyc[i]].kind == LG_WFN_THREAD ? g.nodes[cyc[i]].tid : -(int)g.nodes[cyc[i]].key;
            bool same = nc == nprev_cycle && memcmp(ids, prev_cycle, (size_t)nc * sizeof *ids) == 0;
            bool still = true;
            for (int i = 0; i < nc; i++) {
                if (g.nodes[cyc[i]].kind != LG_WFN_THREAD)
                    continue;
                const struct sv_thread *t = &s->threads[g.nodes[cyc[i]].ref];
                if (t->still_since == now)
                    still = false;
            }
            cycle_seen = same && still ? cycle_seen + 1 : 1;
            if (cycle_seen == 1)
                cycle_since = now;
            memcpy(prev_cycle, ids, (size_t)nc * sizeof *ids);
            nprev_cycle = nc;
            if (cycle_seen >= 2 && (certain || all_stuck || now - cycle_since >= 700000000ull))
                verdict = LG_HANG_DEADLOCK;
        } else {
            nprev_cycle = 0;
            cycle_seen = 0;
        }
        lg_wg_free(&g);

        if (!verdict && all_stuck && timeout_ns && now - still_since >= timeout_ns) {
            /* Confirm that no pipe wait hangs on a process outside the tree. */
            bool outside = false;
            if (outside_pipe_backoff > 0) {
                outside_pipe_backoff--;
                outside = true;
            } else {
                for (int i = 0; i < s->nthreads && !outside; i++) {
                    const struct sv_thread *t = &s->threads[i];
                    if (t->op == LG_BLOCK_PIPE_READ && t->ino)
                        outside = pipe_has_outside_end(s, t->ino, O_WRONLY);
                    else if (t->op == LG_BLOCK_PIPE_WRITE && t->ino)
                        outside = pipe_has_outside_end(s, t->ino, O_RDONLY);
                    else if (t->op == LG_BLOCK_OTHER && is_fd_wait(t->pt.sysno))
                        outside = fd_wait_has_outside_pipe(s, t);
                }
                if (outside)
                    outside_pipe_backoff = 25;   /* look again in ~2 s */
            }
            if (!outside)
                verdict = LG_HANG_HANG;
        }
        if (!verdict)
            continue;

        /* Explain: the full graph, the cycle, the join-before-drain shape. */
        struct lg_wg full = {0};
        build_graph(&full, s, true);
        struct lg_wg_jbd jbd;
        bool has_jbd = verdict == LG_HANG_HANG && lg_wg_join_before_drain(&full, &jbd);
        int fc[256];
        int nfc = 0;
        if (verdict == LG_HANG_DEADLOCK) {
            nfc = lg_wg_cycle(&full, -1, LG_WG_CERTAIN, fc, 256);
            if (!nfc)
                nfc = lg_wg_cycle(&full, -1, LG_WG_PROBABLE, fc, 256);
        } else {
            if (has_jbd)
                nfc = lg_wg_cycle(&full, jbd.waiter, LG_WG_EXPLAIN, fc, 256);
            if (!nfc)
                nfc = lg_wg_cycle(&full, -1, LG_WG_EXPLAIN, fc, 256);
        }
        if (nfc)
            lg_wg_mark_cycle(&full, fc, nfc);
        if (has_jbd)
            verdict = LG_HANG_JOIN_BEFORE_DRAIN;
        uint64_t still_ns = now - still_since;
        int wrc = write_hang_file(o->outdir, root, verdict, &full, s, fc, nfc, has_jbd ? &jbd : NULL,
                                  still_ns, timeout_ns, start, o->kill_on_hang != 0);
        if (!o->quiet) {
            int nthreads = 0;
            for (int i = 0; i < full.nnodes; i++)
                nthreads += full.nodes[i].kind == LG_WFN_THREAD && full.nodes[i].on_cycle;
            fprintf(stderr, "lockgraph: %s detected after %.1f s (%d thread%s on the %s)%s%s\n",
                    verdict_word(verdict), (double)(now - start) / 1e9, nthreads, nthreads == 1 ? "" : "s",
                    nfc ? "cycle" : "chain",
                    o->kill_on_hang ? "; stopping the program" : "; leaving the program as it is",
                    wrc < 0 ? " (could not write hang.lgt)" : "");
        }
        lg_wg_free(&full);
        found = true;
        res->hung = 1;
        if (o->kill_on_hang) {
            kill_tree(root, s);
            while (waitpid(root, &status, 0) < 0) {
                if (errno != EINTR) {
                    rc = -errno;
                    break;
                }
            }
            reap(root, &status);
            break;
        }
    }
    res->status = status;
    if (root_fd >= 0)
        close(root_fd);
    table_close(&tab);
    free(snaps[0].threads);
    free(snaps[1].threads);
    free(snaps);
    return rc;
}
