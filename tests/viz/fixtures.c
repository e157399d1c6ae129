/* SPDX-License-Identifier: MIT */
/*
 * fixtures.c — builders for hand-made models (see fixtures.h). They
 * abort on allocation failure: these are tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fixtures.h"

static void *grow(void *p, int n, size_t size)
{
    p = realloc(p, (size_t)(n + 1) * size);
    if (!p)
        abort();
    memset((char *)p + (size_t)n * size, 0, size);
    return p;
}

static char *dup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

static struct lg_stack *stack_at(const char *file, int line, const char *func)
{
    struct lg_stack *st = calloc(1, sizeof *st);
    st->n = 3;
    st->frames = calloc(3, sizeof *st->frames);
    st->frames[0] = (struct lg_loc){dup("pthread_mutex_lock.c"), 80, dup("pthread_mutex_lock"),
                                    dup("/lib/x86_64-linux-gnu/libc.so.6"), 0x8a3f0, false};
    st->frames[1] = (struct lg_loc){dup(file), line, dup(func), dup("/work/samples/bin/prog"),
                                    0x1234, false};
    st->frames[2] = (struct lg_loc){dup("start.c"), 0, dup("start_thread"),
                                    dup("/lib/x86_64-linux-gnu/libc.so.6"), 0x89134, false};
    st->user = 1;
    return st;
}

static void free_loc(struct lg_loc *l)
{
    free(l->file);
    free(l->function);
    free(l->module);
}

static void free_stack(struct lg_stack *st)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < st->n; i++)
        free_loc(&st->frames[i]);
    for (uint32_t i = 0; i < st->npy; i++)
        free_loc(&st->py[i]);
    free(st->frames);
    free(st->py);
    free(st);
}

struct lg_model *fx_new(void)
{
    struct lg_model *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->dir = dup("/tmp/lockgraph.out");
    return m;
}

void fx_free(struct lg_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nprocs; i++) {
        free(m->procs[i].exe);
        for (int j = 0; j < m->procs[i].argc; j++)
            free(m->procs[i].argv[j]);
        free(m->procs[i].argv);
    }
    for (int i = 0; i < m->nthreads; i++)
        free(m->threads[i].name);
    for (int i = 0; i < m->nlocks; i++)
        free(m->locks[i].name);
    for (int i = 0; i < m->nedges; i++) {
        for (int j = 0; j < m->edges[i].nw; j++) {
            free_stack(m->edges[i].w[j].acquired_at);
            free_stack(m->edges[i].w[j].held_at);
        }
        free(m->edges[i].w);
    }
    for (int i = 0; i < m->nfindings; i++) {
        struct lg_finding *f = &m->findings[i];
        free(f->message);
        free(f->reason);
        for (int j = 0; j < f->nloc; j++)
            free_loc(&f->locations[j]);
        free(f->locations);
        free(f->steps);
        free(f->threads);
        free(f->stacks);   /* the stacks themselves belong to the witnesses */
    }
    if (m->waitfor) {
        for (int i = 0; i < m->waitfor->nnodes; i++)
            free(m->waitfor->nodes[i].label);
        for (int i = 0; i < m->waitfor->nedges; i++)
            free(m->waitfor->edges[i].label);
        free(m->waitfor->nodes);
        free(m->waitfor->edges);
        free(m->waitfor);
    }
    free(m->procs);
    free(m->threads);
    free(m->locks);
    free(m->edges);
    free(m->findings);
    free(m->dir);
    free(m);
}

int fx_proc(struct lg_model *m, int pid, const char *exe)
{
    m->procs = grow(m->procs, m->nprocs, sizeof *m->procs);
    struct lg_process *p = &m->procs[m->nprocs];
    p->idx = m->nprocs;
    p->pid = pid;
    p->ppid = 1;
    p->parent = m->nprocs ? 0 : -1;
    p->exe = dup(exe);
    p->argc = 2;
    p->argv = calloc(2, sizeof *p->argv);
    p->argv[0] = dup(exe);
    p->argv[1] = dup("--demo");
    p->start_ns = 1000000000ull;
    p->end_ns = 1000000000ull + 1530000000ull;
    return m->nprocs++;
}

int fx_thread(struct lg_model *m, int proc, const char *name)
{
    m->threads = grow(m->threads, m->nthreads, sizeof *m->threads);
    struct lg_thread *t = &m->threads[m->nthreads];
    t->idx = m->nthreads;
    t->process = proc;
    t->tid = 5000 + m->nthreads;
    t->name = dup(name);
    t->creator = -1;
    t->joined_by = -1;
    t->start_ns = 1000000000ull + 1000ull * (uint64_t)m->nthreads;
    return m->nthreads++;
}

int fx_lock(struct lg_model *m, const char *name)
{
    m->locks = grow(m->locks, m->nlocks, sizeof *m->locks);
    struct lg_lock *l = &m->locks[m->nlocks];
    l->idx = m->nlocks;
    l->name = dup(name);
    l->kind = 1;
    l->process = 0;
    l->addr = 0x5000 + 0x40 * (uint64_t)m->nlocks;
    return m->nlocks++;
}

int fx_edge(struct lg_model *m, int from, int to, int thread, const char *file, int line)
{
    m->edges = grow(m->edges, m->nedges, sizeof *m->edges);
    struct lg_edge *e = &m->edges[m->nedges];
    e->idx = m->nedges;
    e->from = from;
    e->to = to;
    e->nw = 1;
    e->w = calloc(1, sizeof *e->w);
    e->w->thread = thread;
    e->w->count = 1;
    e->w->acquired_at = stack_at(file, line, "worker");
    e->w->held_at = stack_at(file, line - 2, "worker");
    return m->nedges++;
}

int fx_finding(struct lg_model *m, enum lg_finding_kind kind, enum lg_severity sev, const char *msg)
{
    m->findings = grow(m->findings, m->nfindings, sizeof *m->findings);
    struct lg_finding *f = &m->findings[m->nfindings];
    f->idx = m->nfindings;
    f->kind = kind;
    f->severity = sev;
    f->message = dup(msg);
    f->process = 0;
    return m->nfindings++;
}

void fx_add_loc(struct lg_model *m, int fi, const char *file, int line, const char *func)
{
    struct lg_finding *f = &m->findings[fi];
    f->locations = grow(f->locations, f->nloc, sizeof *f->locations);
    f->locations[f->nloc++] = (struct lg_loc){dup(file), line, dup(func),
                                              dup("/work/samples/bin/prog"), 0x1234, false};
}

void fx_add_step(struct lg_model *m, int fi, int lock, int thread)
{
    struct lg_finding *f = &m->findings[fi];
    f->steps = grow(f->steps, f->nsteps, sizeof *f->steps);
    f->steps[f->nsteps++] = (struct lg_step){lock, -1, -1, thread};
}

void fx_add_thread(struct lg_model *m, int fi, int thread)
{
    struct lg_finding *f = &m->findings[fi];
    for (int i = 0; i < f->nthreads; i++)
        if (f->threads[i] == thread)
            return;
    f->threads = grow(f->threads, f->nthreads, sizeof *f->threads);
    f->threads[f->nthreads++] = thread;
}

int fx_cycle(struct lg_model *m, enum lg_finding_kind kind, enum lg_severity sev, const char *msg,
             const int *locks, const int *threads, int n)
{
    int fi = fx_finding(m, kind, sev, msg);
    for (int i = 0; i < n; i++) {
        int e = -1;
        for (int j = 0; j < m->nedges; j++)
            if (m->edges[j].from == locks[i] && m->edges[j].to == locks[(i + 1) % n])
                e = j;
        struct lg_finding *f = &m->findings[fi];
        f->steps = grow(f->steps, f->nsteps, sizeof *f->steps);
        f->steps[f->nsteps++] = (struct lg_step){locks[i], e, e >= 0 ? 0 : -1, threads[i]};
        fx_add_thread(m, fi, threads[i]);
        f = &m->findings[fi];
        if (e >= 0) {
            const struct lg_loc *at = &m->edges[e].w[0].acquired_at->frames[1];
            fx_add_loc(m, fi, at->file, at->line, at->function);
            f = &m->findings[fi];
            f->stacks = grow(f->stacks, f->nstacks, sizeof *f->stacks);
            f->stacks[f->nstacks++] = m->edges[e].w[0].acquired_at;
        }
    }
    return fi;
}

int fx_wf_node(struct lg_model *m, enum lg_wf_node_kind kind, const char *label, int process,
               bool on_cycle)
{
    if (!m->waitfor && !(m->waitfor = calloc(1, sizeof *m->waitfor)))
        abort();
    struct lg_waitfor *w = m->waitfor;
    w->nodes = grow(w->nodes, w->nnodes, sizeof *w->nodes);
    w->nodes[w->nnodes] = (struct lg_wf_node){kind, dup(label), process, -1, on_cycle};
    return w->nnodes++;
}

void fx_wf_edge(struct lg_model *m, int from, int to, enum lg_wf_edge_kind kind, const char *label,
                bool on_cycle)
{
    struct lg_waitfor *w = m->waitfor;
    w->edges = grow(w->edges, w->nedges, sizeof *w->edges);
    w->edges[w->nedges++] = (struct lg_wf_edge){from, to, kind, dup(label), on_cycle};
}

struct lg_model *fx_abba(void)
{
    struct lg_model *m = fx_new();
    int p = fx_proc(m, 4711, "/work/samples/bin/abba");
    int t1 = fx_thread(m, p, "T1"), t2 = fx_thread(m, p, "T2");
    int a = fx_lock(m, "mutexA"), b = fx_lock(m, "mutexB");
    fx_edge(m, a, b, t1, "/work/samples/c/abba.c", 14);
    fx_edge(m, b, a, t2, "/work/samples/c/abba.c", 24);
    int locks[] = {a, b}, threads[] = {t1, t2};
    fx_cycle(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_ERROR,
             "lock order inversion: mutexA and mutexB are taken in opposite orders", locks,
             threads, 2);
    return m;
}

struct lg_model *fx_philosophers(int n)
{
    struct lg_model *m = fx_new();
    int p = fx_proc(m, 4711, "/work/samples/bin/philosophers");
    int locks[16], threads[16];
    char name[32];
    for (int i = 0; i < n && i < 16; i++) {
        snprintf(name, sizeof name, "T%d", i + 1);
        threads[i] = fx_thread(m, p, name);
        snprintf(name, sizeof name, "fork%d", i);
        locks[i] = fx_lock(m, name);
    }
    for (int i = 0; i < n && i < 16; i++)
        fx_edge(m, locks[i], locks[(i + 1) % n], threads[i], "/work/samples/c/philosophers.c", 31);
    fx_cycle(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_ERROR,
             "lock order cycle through 3 locks: the philosophers can all hold their left fork",
             locks, threads, n);
    return m;
}

struct lg_model *fx_warning(void)
{
    struct lg_model *m = fx_new();
    int p = fx_proc(m, 4711, "/work/samples/bin/single");
    int t1 = fx_thread(m, p, "T1");
    int a = fx_lock(m, "cacheLock"), b = fx_lock(m, "statsLock");
    fx_edge(m, a, b, t1, "/work/samples/c/single.c", 10);
    fx_edge(m, b, a, t1, "/work/samples/c/single.c", 20);
    int locks[] = {a, b}, threads[] = {t1, t1};
    int fi = fx_cycle(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_WARNING,
                      "lock order inversion between cacheLock and statsLock, made by one thread",
                      locks, threads, 2);
    m->findings[fi].reason = strdup("a single thread made both orders: it cannot deadlock with itself");
    return m;
}

struct lg_model *fx_bystander(void)
{
    struct lg_model *m = fx_abba();
    int log = fx_lock(m, "logLock");
    fx_edge(m, 0, log, 0, "/work/samples/c/abba.c", 40);
    return m;
}

struct lg_model *fx_big(int nlocks)
{
    struct lg_model *m = fx_new();
    int p = fx_proc(m, 4711, "/work/samples/bin/big");
    int t1 = fx_thread(m, p, "T1"), t2 = fx_thread(m, p, "T2");
    char name[32];
    for (int i = 0; i < nlocks; i++) {
        snprintf(name, sizeof name, "lock%04d", i);
        fx_lock(m, name);
    }
    for (int i = 0; i + 1 < nlocks; i++)
        fx_edge(m, i, i + 1, t1, "/work/samples/c/big.c", 100 + i % 50);
    /* Three 2-cycles far apart: i+1 -> i taken by T2. */
    int at[] = {10, 2500, 4900};
    for (int k = 0; k < 3; k++) {
        int i = at[k] % (nlocks - 1);
        fx_edge(m, i + 1, i, t2, "/work/samples/c/big.c", 200 + k);
        int locks[] = {i, i + 1}, threads[] = {t1, t2};
        fx_cycle(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_ERROR, "lock order inversion in the big model",
                 locks, threads, 2);
    }
    return m;
}

struct lg_model *fx_hang(void)
{
    struct lg_model *m = fx_new();
    int p0 = fx_proc(m, 4711, "/usr/bin/python3");
    int p1 = fx_proc(m, 4712, "/usr/bin/python3");
    m->procs[0].python = m->procs[1].python = true;
    int main0 = fx_thread(m, p0, "main");
    int feeder = fx_thread(m, p0, "T2");
    int main1 = fx_thread(m, p1, "main");
    int q = fx_lock(m, "queue._rlock");
    int n_main0 = fx_wf_node(m, LG_WF_THREAD, "main (tid 4711)", p0, true);
    int n_feed = fx_wf_node(m, LG_WF_THREAD, "T2 feeder (tid 4713)", p0, false);
    int n_main1 = fx_wf_node(m, LG_WF_THREAD, "main (tid 4712)", p1, true);
    int n_child = fx_wf_node(m, LG_WF_PROCESS, "process 4712", p1, true);
    int n_pipe = fx_wf_node(m, LG_WF_PIPE, "pipe 81234 (full)", -1, true);
    int n_lock = fx_wf_node(m, LG_WF_LOCK, "queue._rlock", -1, false);
    m->waitfor->nodes[n_lock].ref = q;
    fx_wf_node(m, LG_WF_LOCK, "idle lock", -1, false);   /* on no edge */
    fx_wf_edge(m, n_main0, n_child, LG_WF_WAITS_FOR, "waitpid at /work/samples/python/bigput.py:21", true);
    fx_wf_edge(m, n_main1, n_pipe, LG_WF_WAITS_FOR, "bigput.py:9 q.put(big)", true);
    fx_wf_edge(m, n_pipe, n_main0, LG_WF_HOLDS, "read end, bigput.py:18", true);
    fx_wf_edge(m, n_child, n_main1, LG_WF_WAITS_FOR, "ends with", true);
    fx_wf_edge(m, n_feed, n_lock, LG_WF_WAITS_FOR, "queues.py:239", false);
    fx_wf_edge(m, n_lock, n_main1, LG_WF_HOLDS, "holds", false);
    m->hung = true;
    int fi = fx_finding(m, LG_FK_JOIN_BEFORE_DRAIN, LG_SEV_ERROR,
                        "join before drain: main joins process 4712, which waits to write into a "
                        "pipe only main reads");
    fx_add_loc(m, fi, "/work/samples/python/bigput.py", 21, "<module>");
    fx_add_loc(m, fi, "/work/samples/python/bigput.py", 9, "producer");
    fx_add_thread(m, fi, main0);
    fx_add_thread(m, fi, main1);
    m->findings[fi].process = -1;
    (void)feeder;
    return m;
}

struct lg_model *fx_mixed(void)
{
    struct lg_model *m = fx_abba();
    int t1 = 0;
    int c = fx_lock(m, "cacheLock"), s = fx_lock(m, "statsLock");
    fx_edge(m, c, s, t1, "/work/samples/c/mixed.c", 10);
    fx_edge(m, s, c, t1, "/work/samples/c/mixed.c", 20);
    int locks[] = {c, s}, threads[] = {t1, t1};
    int w = fx_cycle(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_WARNING,
                     "lock order inversion between cacheLock and statsLock, made by one thread",
                     locks, threads, 2);
    m->findings[w].reason = strdup("one thread made both orders");

    int u = fx_finding(m, LG_FK_UNRELEASED_LOCK, LG_SEV_WARNING,
                       "statsLock is still held when thread T1 exits");
    fx_add_loc(m, u, "/work/samples/c/mixed.c", 33, "worker");
    fx_add_step(m, u, s, t1);

    int sd = fx_finding(m, LG_FK_SELF_DEADLOCK, LG_SEV_ERROR,
                        "thread T2 locks mutexB again while holding it");
    fx_add_loc(m, sd, "/work/samples/c/mixed.c", 51, "relock");
    fx_add_loc(m, sd, "/work/samples/c/mixed.c", 49, "relock");
    fx_add_step(m, sd, 1, 1);

    int r = fx_finding(m, LG_FK_LOCK_DISCIPLINE_RACE, LG_SEV_NOTE,
                       "tickets.txt is read and written by 2 processes with no common lock <a&b>");
    fx_add_loc(m, r, "/work/samples/python/tickets.py", 12, "grab");
    fx_add_loc(m, r, "/work/samples/python/tickets.py", 15, "grab");
    fx_add_thread(m, r, 0);
    fx_add_thread(m, r, 1);
    return m;
}
