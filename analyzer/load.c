/* SPDX-License-Identifier: MIT */
/*
 * load.c — trace folder → model. Reads every trace-*.lgt (one per process
 * image) through the trace reader, builds processes, threads, locks and
 * lock-order edges with their witnesses, then hands over to the
 * symbolizer, the findings and the hang analysis. Never trusts a file:
 * whatever cannot be read becomes one line in m->skipped.
 */
#include "lg_analyze.h"
#include "lg_hang.h"
#include "lg_race.h"
#include "lg_trace_read.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Keep every witness of every edge up to this many in total. Above it
 * (a huge trace) only edges inside a strongly connected component, the
 * only ones a cycle can use, keep witnesses (all of them); the others keep
 * none (nw == 0, nw_seen still counts them): memory stays proportional to
 * what a finding can show. */
#define KEEP_ALL_WITNESSES 2000000L

/* One trace file being read. Maps are per file: lock and stack ids are
 * only unique within one trace. */
struct src {
    char *path;
    struct lg_trace_file tf;
    struct lg_trace_header hdr;
    int proc;
    struct lg_map locks;      /* lock_id -> lock index, -2 ignored (GIL) */
    struct lg_map stacks;     /* stack_id -> index in priv->stacks */
    /* Writers number locks and stacks from 1 upwards: small ids take a
     * plain array instead of the hash map (most lookups of a big trace). */
    int *dense_locks, *dense_stacks;
    int cap_dense_locks, cap_dense_stacks;
    size_t dropped;           /* bytes of the mapping already given back */
    struct lg_map pcstacks;   /* pc -> index in priv->stacks (one-frame stacks) */
    bool dep_problem;
};

struct reap {                 /* a wait*() that reaped a child */
    int proc;
    int pid;
    uint64_t time;
};

struct loader {
    struct lg_model *m;
    struct lg_model_priv *p;
    struct src *srcs;
    int nsrcs;
    struct lg_map threads;    /* (process << 32 | tid) -> thread index */
    struct lg_map edges;      /* (from << 32 | to) -> edge index */
    struct lg_map shared;     /* hash(dev, ino, offset) -> lock index */
    struct lg_map pthreads;   /* hash(process, pthread_t) -> latest thread started with it */
    struct lg_witness *first; /* first witness of each edge (becomes priv->wfirst) */
    int cap_first;
    bool *keep_all;           /* per edge: collect every witness in pass 2 */
    int *fill;                /* per edge: witnesses stored in pass 2 */
    long nwitnesses;
    struct reap *reaps;
    int nreaps, cap_reaps;
    bool huge;                /* more witnesses than witness_limit */
    bool text_only;           /* LG_LOAD_TEXT and no hang record: only cycles need
                                 every witness of an edge */
    long witness_limit;       /* KEEP_ALL_WITNESSES, or LOCKGRAPH_WITNESS_LIMIT (tests) */
    uint64_t last_thread_key; /* one-entry cache in front of the threads map */
    int last_thread;
};

#define DENSE_MAX (1 << 24)   /* ids below this use the dense arrays */

/* Dense id table: value+1 stored so that calloc'd zero means "absent". */
static bool dense_get(int *arr, int cap, uint64_t id, int *val)
{
    if (id >= (uint64_t)cap || !arr[id])
        return false;
    *val = arr[id] - 1;
    return true;
}

static void dense_put(int **arr, int *cap, uint64_t id, int val)
{
    if (id >= (uint64_t)*cap && lg_grow((void **)arr, cap, (int)id + 1, sizeof(int)) < 0)
        return;
    (*arr)[id] = val + 1;
}

static bool id_get(int *arr, int cap, struct lg_map *map, uint64_t id, int *val)
{
    if (id < DENSE_MAX)
        return dense_get(arr, cap, id, val);
    return lg_map_get(map, id, val);
}

static void id_put(int **arr, int *cap, struct lg_map *map, uint64_t id, int val)
{
    if (id < DENSE_MAX)
        dense_put(arr, cap, id, val);
    else
        lg_map_put(map, id, val);
}

#define LOCK_GET(s, id, v) id_get((s)->dense_locks, (s)->cap_dense_locks, &(s)->locks, id, v)
#define LOCK_PUT(s, id, v) id_put(&(s)->dense_locks, &(s)->cap_dense_locks, &(s)->locks, id, v)
#define STACK_GET(s, id, v) id_get((s)->dense_stacks, (s)->cap_dense_stacks, &(s)->stacks, id, v)
#define STACK_PUT(s, id, v) id_put(&(s)->dense_stacks, &(s)->cap_dense_stacks, &(s)->stacks, id, v)

void lg_model_skip(struct lg_model *m, const char *fmt, ...)
{
    struct lg_model_priv *p = m->priv;
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (lg_grow((void **)&m->skipped, &p->cap_skipped, m->nskipped + 1, sizeof(char *)) < 0)
        return;
    m->skipped[m->nskipped] = lg_arena_strdup(&p->arena, buf);
    if (m->skipped[m->nskipped])
        m->nskipped++;
}

/* --- identity helpers --------------------------------------------------- */

static int thread_of(struct loader *L, int proc, int tid, uint64_t time)
{
    struct lg_model *m = L->m;
    uint64_t key = (uint64_t)(uint32_t)proc << 32 | (uint32_t)tid;
    int idx;

    if (key == L->last_thread_key && L->last_thread >= 0)
        return L->last_thread;
    if (lg_map_get(&L->threads, key, &idx)) {
        L->last_thread_key = key;
        L->last_thread = idx;
        return idx;
    }
    if (lg_grow((void **)&m->threads, &L->p->cap_threads, m->nthreads + 1, sizeof(*m->threads)) < 0)
        return -1;
    idx = m->nthreads;
    struct lg_thread *t = &m->threads[idx];
    memset(t, 0, sizeof(*t));
    t->idx = idx;
    t->process = proc;
    t->tid = tid;
    t->creator = -1;
    t->joined_by = -1;
    (void)time;
    if (lg_map_put(&L->threads, key, idx) < 0)
        return -1;
    m->nthreads++;
    return idx;
}

static int new_stack(struct loader *L, int proc, uint32_t nframes)
{
    struct lg_model_priv *p = L->p;
    struct lg_stack *st = lg_arena_alloc(&p->arena, sizeof(*st));

    if (!st)
        return -1;
    if (nframes) {
        st->frames = lg_arena_alloc(&p->arena, nframes * sizeof(struct lg_loc));
        if (!st->frames)
            return -1;
    }
    st->n = nframes;
    st->user = -1;
    if (lg_grow((void **)&p->stacks, &p->cap_stacks, p->nstacks + 1, sizeof(*p->stacks)) < 0)
        return -1;
    /* stack_proc grows in step with stacks (same capacity). */
    int *sp = realloc(p->stack_proc, (size_t)p->cap_stacks * sizeof(int));
    if (!sp)
        return -1;
    p->stack_proc = sp;
    p->stacks[p->nstacks] = st;
    p->stack_proc[p->nstacks] = proc;
    return p->nstacks++;
}

/* The model stack for a stack id of this trace (NULL for 0). A stack used
 * before its STACK record (concurrent writers) gets an empty placeholder
 * that the record fills in when it comes. */
static struct lg_stack *stack_of(struct loader *L, struct src *s, uint32_t id)
{
    int idx;

    if (!id)
        return NULL;
    if (STACK_GET(s, id, &idx))
        return L->p->stacks[idx];
    idx = new_stack(L, s->proc, 0);
    if (idx < 0)
        return NULL;
    STACK_PUT(s, id, idx);
    return L->p->stacks[idx];
}

/* A stack for an acquisition: its full stack when captured, else a
 * one-frame stack made from the cheap return address. */
static struct lg_stack *stack_or_pc(struct loader *L, struct src *s, uint32_t id, uint64_t pc)
{
    struct lg_stack *st = stack_of(L, s, id);
    int idx;

    if (st || !pc)
        return st;
    if (lg_map_get(&s->pcstacks, pc, &idx))
        return L->p->stacks[idx];
    idx = new_stack(L, s->proc, 1);
    if (idx < 0)
        return NULL;
    L->p->stacks[idx]->frames[0].pc = pc;
    lg_map_put(&s->pcstacks, pc, idx);
    return L->p->stacks[idx];
}

static int new_lock(struct loader *L, int proc)
{
    struct lg_model *m = L->m;
    struct lg_model_priv *p = L->p;
    int cap = p->cap_locks;

    if (lg_grow((void **)&m->locks, &p->cap_locks, m->nlocks + 1, sizeof(*m->locks)) < 0)
        return -1;
    if (cap != p->cap_locks) {
        struct lg_lock_extra *x = realloc(p->lockx, (size_t)p->cap_locks * sizeof(*x));
        if (!x)
            return -1;
        p->lockx = x;
    }
    int idx = m->nlocks++;
    memset(&m->locks[idx], 0, sizeof(m->locks[idx]));
    memset(&p->lockx[idx], 0, sizeof(p->lockx[idx]));
    m->locks[idx].idx = idx;
    m->locks[idx].process = proc;
    p->lockx[idx].first_proc = proc;
    return idx;
}

/* Lock index for a lock_id of this trace; a lock used without LOCK_NEW
 * (a writer that lost the record) gets a node of unknown kind. -2 means
 * ignored (interpreter-internal). */
static int lock_of(struct loader *L, struct src *s, uint64_t lock_id)
{
    int idx;

    if (lock_id == UINT64_MAX)
        return -2;
    if (LOCK_GET(s, lock_id, &idx))
        return idx;
    idx = new_lock(L, s->proc);
    if (idx < 0)
        return -2;
    L->p->lockx[idx].trace_id = lock_id;
    LOCK_PUT(s, lock_id, idx);
    return idx;
}

static int edge_of(struct loader *L, int from, int to)
{
    struct lg_model *m = L->m;
    uint64_t key = (uint64_t)(uint32_t)from << 32 | (uint32_t)to;
    int idx;

    /* Room first, so that the map never names an edge that is not there. */
    if (lg_grow_raw((void **)&m->edges, &L->p->cap_edges, m->nedges + 1, sizeof(*m->edges)) < 0)
        return -1;
    if (lg_grow_raw((void **)&L->first, &L->cap_first, L->p->cap_edges, sizeof(*L->first)) < 0)
        return -1;
    int rc = lg_map_upsert(&L->edges, key, m->nedges, &idx);
    if (rc <= 0)
        return rc < 0 ? -1 : idx;
    idx = m->nedges++;
    memset(&m->edges[idx], 0, sizeof(m->edges[idx]));
    m->edges[idx].idx = idx;
    m->edges[idx].from = from;
    m->edges[idx].to = to;
    return idx;
}

/* --- records -------------------------------------------------------------- */

static void rec_module(struct loader *L, struct src *s, const struct lg_rec_hdr *r)
{
    const struct lg_rec_module *mr = lg_rec_payload(r);
    uint32_t room = lg_rec_payload_size(r) - (uint32_t)sizeof(*mr);
    struct lg_image *im = &L->p->images[s->proc];
    const char *path;

    if (mr->path_len > room)
        return;
    path = lg_intern(&L->p->strs, mr->path, strnlen(mr->path, mr->path_len));
    if (!path)
        return;
    if (!path[0])   /* the main program: dl_iterate_phdr names it "" */
        path = lg_intern_str(&L->p->strs, s->hdr.exe);
    if (lg_grow((void **)&im->mods, &im->cap, im->nmods + 1, sizeof(*im->mods)) < 0)
        return;
    struct lg_module_map *mm = &im->mods[im->nmods++];
    mm->base = mr->base;
    mm->lo = mr->lo;
    mm->hi = mr->hi;
    mm->path = path;
}

static void rec_stack(struct loader *L, struct src *s, const struct lg_rec_hdr *r)
{
    const struct lg_rec_stack *sr = lg_rec_payload(r);
    uint64_t room = (lg_rec_payload_size(r) - sizeof(*sr)) / sizeof(uint64_t);
    uint32_t n = sr->nframes;
    int idx;

    if (!sr->stack_id)
        return;
    if (n > room)
        n = (uint32_t)room;
    if (STACK_GET(s, sr->stack_id, &idx)) {
        /* A PYSTACK came first: give it its native frames now. */
        struct lg_stack *st = L->p->stacks[idx];
        if (st->n)
            return;
        st->frames = lg_arena_alloc(&L->p->arena, (n ? n : 1) * sizeof(struct lg_loc));
        if (!st->frames)
            return;
        st->n = n;
    } else {
        idx = new_stack(L, s->proc, n);
        if (idx < 0)
            return;
        STACK_PUT(s, sr->stack_id, idx);
    }
    struct lg_stack *st = L->p->stacks[idx];
    for (uint32_t i = 0; i < n; i++)
        st->frames[i].pc = sr->pc[i];
}

static void rec_pystack(struct loader *L, struct src *s, const struct lg_rec_hdr *r)
{
    const struct lg_rec_pystack *pr = lg_rec_payload(r);
    const uint8_t *p = pr->frames, *end = (const uint8_t *)r + r->size;
    struct lg_stack *st;
    int idx;
    uint32_t n = 0;

    if (!pr->stack_id)
        return;
    if (!STACK_GET(s, pr->stack_id, &idx)) {
        idx = new_stack(L, s->proc, 0);
        if (idx < 0)
            return;
        STACK_PUT(s, pr->stack_id, idx);
    }
    st = L->p->stacks[idx];
    if (st->npy || !pr->nframes)
        return;
    uint32_t want = pr->nframes > 4096 ? 4096 : pr->nframes;
    st->py = lg_arena_alloc(&L->p->arena, want * sizeof(struct lg_loc));
    if (!st->py)
        return;
    while (n < want && p + 8 <= end) {
        uint32_t line;
        uint16_t flen, fnlen;
        memcpy(&line, p, 4);
        memcpy(&flen, p + 4, 2);
        memcpy(&fnlen, p + 6, 2);
        if (p + 8 + flen + fnlen > end)
            break;
        struct lg_loc *l = &st->py[n++];
        l->python = true;
        l->line = (int)line;
        l->file = (char *)lg_intern(&L->p->strs, (const char *)p + 8, flen);
        l->function = (char *)lg_intern(&L->p->strs, (const char *)p + 8 + flen, fnlen);
        p += (8 + flen + fnlen + 3) & ~3u;
    }
    st->npy = n;
}

static void rec_lock_new(struct loader *L, struct src *s, const struct lg_rec_hdr *r)
{
    const struct lg_rec_lock_new *lr = lg_rec_payload(r);
    uint32_t room = lg_rec_payload_size(r) - (uint32_t)sizeof(*lr);
    struct lg_model *m = L->m;
    int idx;

    if (lr->lock_id == UINT64_MAX)
        return;
    if (LOCK_GET(s, lr->lock_id, &idx)) {
        /* Announced after a first use made an anonymous node: fill it in. */
        if (idx >= 0 && m->locks[idx].kind == 0 && !(lr->flags & LG_LOCKF_SHARED_ID))
            goto fill;
        return;
    }
    if (lr->flags & LG_LOCKF_GIL) {
        LOCK_PUT(s, lr->lock_id, -2);
        return;
    }
    if (lr->flags & LG_LOCKF_SHARED_ID) {
        /* One node across processes: key by the backing object. */
        uint64_t h = lg_mix64(lr->dev ^ lg_mix64(lr->ino ^ lg_mix64(lr->offset)));
        for (;;) {
            if (!lg_map_get(&L->shared, h, &idx)) {
                idx = -1;
                break;
            }
            struct lg_lock_extra *x = &L->p->lockx[idx];
            if (x->dev == lr->dev && x->ino == lr->ino && x->offset == lr->offset)
                break;
            h = lg_mix64(h + 1);
        }
        if (idx >= 0) {
            if (m->locks[idx].process != s->proc)
                m->locks[idx].process = -1;
            LOCK_PUT(s, lr->lock_id, idx);
            return;
        }
        idx = new_lock(L, s->proc);
        if (idx < 0)
            return;
        lg_map_put(&L->shared, h, idx);
    } else {
        idx = new_lock(L, s->proc);
        if (idx < 0)
            return;
    }
    LOCK_PUT(s, lr->lock_id, idx);
fill:;
    struct lg_lock *lk = &m->locks[idx];
    struct lg_lock_extra *x = &L->p->lockx[idx];
    lk->kind = (int)lr->lock_kind;
    lk->subtype = lr->subtype;
    lk->sem_value = lr->sem_value;
    lk->shared = (lr->flags & LG_LOCKF_SHARED_ID) != 0;
    lk->addr = lr->addr;
    lk->created_at = stack_of(L, s, lr->site_stack);
    x->flags = lr->flags;
    x->dev = lr->dev;
    x->ino = lr->ino;
    x->offset = lr->offset;
    x->trace_id = lr->lock_id;
    if (lr->name_len && lr->name_len <= room)
        x->sem_name = lg_intern(&L->p->strs, lr->name, strnlen(lr->name, lr->name_len));
}

/* One witness of edge from -> to out of a DEP record. */
static void fill_witness(struct loader *L, struct src *s, struct lg_witness *w, int thread,
                         const struct lg_rec_dep *d, const struct lg_held *held, uint32_t nheld,
                         uint32_t i, const int *held_locks, int acq, uint64_t time,
                         int *shared, int nshared)
{
    memset(w, 0, sizeof(*w));
    w->thread = thread;
    w->mode = d->mode;
    w->flags = d->flags;
    w->held_mode = held[i].mode;
    w->acquired_at = stack_of(L, s, d->stack_id);
    w->held_at = stack_or_pc(L, s, held[i].stack_id, held[i].pc);
    w->count = d->count;
    w->time_ns = time;
    if (shared) {
        /* Many locks held: all witnesses of the record share one array. */
        w->gates = shared;
        w->ngates = nshared;
        return;
    }
    int ngates = 0;
    for (uint32_t j = 0; j < nheld; j++)
        if (j != i && held_locks[j] >= 0 && held_locks[j] != acq && held_locks[j] != held_locks[i])
            ngates++;
    if (ngates) {
        w->gates = lg_arena_alloc(&L->p->arena, (size_t)ngates * sizeof(int));
        if (!w->gates)
            return;
        for (uint32_t j = 0; j < nheld; j++)
            if (j != i && held_locks[j] >= 0 && held_locks[j] != acq &&
                held_locks[j] != held_locks[i])
                w->gates[w->ngates++] = held_locks[j];
    }
}

#define BIG_HELD 16

/* The shared gate array of a record with many held locks, made once. */
static void shared_gates(struct loader *L, uint32_t nheld, const int *held_locks, int acq,
                         int **shared, int *nshared)
{
    if (nheld <= BIG_HELD || *shared)
        return;
    *shared = lg_arena_alloc(&L->p->arena, nheld * sizeof(int));
    if (!*shared)
        return;
    for (uint32_t j = 0; j < nheld; j++)
        if (held_locks[j] >= 0 && held_locks[j] != acq)
            (*shared)[(*nshared)++] = held_locks[j];
}

/* DEP: pass 1 creates edges and counts witnesses (keeping the first);
 * pass 2 stores every witness of the edges that keep them all. */
static void rec_dep(struct loader *L, struct src *s, const struct lg_rec_hdr *r, int pass)
{
    const struct lg_rec_dep *d = lg_rec_payload(r);
    uint64_t room = (lg_rec_payload_size(r) - sizeof(*d)) / sizeof(struct lg_held);
    uint32_t nheld = d->nheld;
    int held_small[64], *held_locks = held_small;

    if (nheld > room) {
        if (!s->dep_problem && pass == 1)
            lg_model_skip(L->m, "%s: a dependency record claims %u held locks but holds %llu; "
                          "read what fits", s->path, nheld, (unsigned long long)room);
        s->dep_problem = true;
        nheld = (uint32_t)room;
    }
    /* Pass 2 only looks up what pass 1 made: a file that grew in between
     * (a live run) must not add locks, threads or edges behind the
     * arrays sized after pass 1. */
    int acq = -1;
    if (pass == 2) {
        if (!LOCK_GET(s, d->lock_id, &acq))
            return;
    } else {
        acq = lock_of(L, s, d->lock_id);
    }
    if (acq < 0)
        return;
    if (nheld > 64) {
        held_locks = malloc(nheld * sizeof(int));
        if (!held_locks)
            return;
    }
    int thread = -1;
    if (pass == 2) {
        uint64_t key = (uint64_t)(uint32_t)s->proc << 32 | (uint32_t)r->tid;
        if (!lg_map_get(&L->threads, key, &thread))
            thread = -1;
    } else {
        thread = thread_of(L, s->proc, r->tid, r->time_ns);
    }
    if (pass == 1 && nheld)
        L->m->lock_ops += d->count ? d->count : 1;
    for (uint32_t i = 0; i < nheld; i++) {
        if (pass == 2) {
            if (!LOCK_GET(s, d->held[i].lock_id, &held_locks[i]))
                held_locks[i] = -1;
        } else {
            held_locks[i] = lock_of(L, s, d->held[i].lock_id);
        }
    }
    /* A thread holding many locks (1024 and more must work): duplicates
     * found with a set, and one gate array shared by the record's
     * witnesses instead of one per witness (quadratic otherwise). */
    int *shared = NULL, nshared = 0;
    if (nheld > BIG_HELD) {
        struct lg_map seen = { 0 };
        for (uint32_t j = 0; j < nheld; j++) {
            int first;
            if (held_locks[j] < 0)
                continue;
            if (lg_map_upsert(&seen, (uint64_t)held_locks[j], (int)j, &first) == 0)
                held_locks[j] = -3;   /* a repeat */
        }
        lg_map_free(&seen);
    }
    for (uint32_t i = 0; i < nheld && thread >= 0; i++) {
        int from = held_locks[i];
        if (from < 0 || from == acq)
            continue;
        /* The same lock twice in the held set (a counting semaphore):
         * one witness is enough (big sets were deduplicated above). */
        bool dup = false;
        for (uint32_t j = 0; j < i && nheld <= BIG_HELD; j++)
            if (held_locks[j] == from)
                dup = true;
        if (dup)
            continue;
        /* Pass 2 of a huge trace: only edges inside a component matter;
         * the component test is cheaper than the edge lookup. */
        const int *comp = L->p->scc_comp;
        if (pass == 2 && comp && (comp[from] != comp[acq] || L->p->scc_size[comp[from]] < 2))
            continue;
        int e;
        if (pass == 2) {
            uint64_t key = (uint64_t)(uint32_t)from << 32 | (uint32_t)acq;
            if (!lg_map_get(&L->edges, key, &e))
                continue;
        } else {
            e = edge_of(L, from, acq);
        }
        if (e < 0)
            continue;
        struct lg_edge *ed = &L->m->edges[e];
        if (pass == 1) {
            if (ed->nw_seen++ == 0 && !L->huge) {
                shared_gates(L, nheld, held_locks, acq, &shared, &nshared);
                fill_witness(L, s, &L->first[e], thread, d, d->held, nheld, i, held_locks, acq,
                             r->time_ns, shared, nshared);
            }
            if (++L->nwitnesses > L->witness_limit)
                L->huge = true;
        } else if (L->keep_all[e] && L->fill[e] < ed->nw_seen) {
            shared_gates(L, nheld, held_locks, acq, &shared, &nshared);
            fill_witness(L, s, &ed->w[L->fill[e]++], thread, d, d->held, nheld, i, held_locks,
                         acq, r->time_ns, shared, nshared);
        }
    }
    if (held_locks != held_small)
        free(held_locks);
}

static void rec_held_at(struct loader *L, struct src *s, const struct lg_rec_hdr *r)
{
    const struct lg_rec_held_at *h = lg_rec_payload(r);
    struct lg_model_priv *p = L->p;
    int lock = lock_of(L, s, h->lock_id);

    if (lock < 0)
        return;
    if (lg_grow((void **)&p->held, &p->cap_held, p->nheld + 1, sizeof(*p->held)) < 0)
        return;
    struct lg_raw_held *rh = &p->held[p->nheld++];
    rh->lock = lock;
    rh->thread = thread_of(L, s->proc, h->holder_tid ? h->holder_tid : r->tid, r->time_ns);
    rh->process = s->proc;
    rh->how = h->how;
    rh->mode = h->mode;
    rh->at = stack_or_pc(L, s, h->stack_id, h->pc);
}

static void rec_misuse(struct loader *L, struct src *s, const struct lg_rec_hdr *r)
{
    const struct lg_rec_misuse *mu = lg_rec_payload(r);
    struct lg_model_priv *p = L->p;
    int lock = lock_of(L, s, mu->lock_id);

    if (lock == -2 && (mu->lock_id != UINT64_MAX))
        return;   /* interpreter-internal */
    if (lg_grow((void **)&p->misuse, &p->cap_misuse, p->nmisuse + 1, sizeof(*p->misuse)) < 0)
        return;
    struct lg_raw_misuse *rm = &p->misuse[p->nmisuse++];
    rm->kind = (int)mu->misuse_kind;
    rm->lock = lock;
    rm->thread = thread_of(L, s->proc, r->tid, r->time_ns);
    rm->process = s->proc;
    rm->err = mu->err;
    rm->other = mu->other;
    rm->extra = mu->extra;
    if (mu->misuse_kind == LG_MISUSE_COND_TWO_MUTEXES) {
        /* other is the first mutex's lock_id: make it a lock index. */
        int first = lock_of(L, s, mu->other);
        rm->other = first >= 0 ? (uint64_t)first : UINT64_MAX;
    } else if (mu->misuse_kind == LG_MISUSE_UNLOCK_NOT_OWNER ||
               mu->misuse_kind == LG_MISUSE_DESTROY_LOCKED) {
        /* other is the owner's tid: make it a thread index. */
        rm->other = mu->other ? (uint64_t)thread_of(L, s->proc, (int)mu->other, r->time_ns)
                              : UINT64_MAX;
    }
    rm->at = stack_of(L, s, mu->stack_id);
}

/* Dependency records come in long runs; their lookups (lock ids, the
 * edge map, the edge) are cache misses on a big trace. Look a batch up
 * ahead of time, issuing prefetches, so the real processing finds the
 * lines in cache. Only an optimization: nothing is created here. */
#define DEP_BATCH 32

static void prefetch_deps(struct loader *L, struct src *s, const struct lg_rec_hdr *const *b, int n)
{
    int from[DEP_BATCH], acq[DEP_BATCH];
    uint64_t key[DEP_BATCH];

    for (int i = 0; i < n; i++) {
        const struct lg_rec_dep *d = lg_rec_payload(b[i]);
        if (d->lock_id < (uint64_t)s->cap_dense_locks)
            __builtin_prefetch(&s->dense_locks[d->lock_id]);
        if (d->nheld && lg_rec_payload_size(b[i]) >= sizeof(*d) + sizeof(struct lg_held) &&
            d->held[0].lock_id < (uint64_t)s->cap_dense_locks)
            __builtin_prefetch(&s->dense_locks[d->held[0].lock_id]);
    }
    for (int i = 0; i < n; i++) {
        const struct lg_rec_dep *d = lg_rec_payload(b[i]);
        from[i] = acq[i] = -1;
        dense_get(s->dense_locks, s->cap_dense_locks, d->lock_id, &acq[i]);
        if (d->nheld && lg_rec_payload_size(b[i]) >= sizeof(*d) + sizeof(struct lg_held))
            dense_get(s->dense_locks, s->cap_dense_locks, d->held[0].lock_id, &from[i]);
        if (from[i] >= 0 && acq[i] >= 0 && L->edges.cap) {
            key[i] = (uint64_t)(uint32_t)from[i] << 32 | (uint32_t)acq[i];
            __builtin_prefetch(&L->edges.slots[lg_mix64(key[i]) & (L->edges.cap - 1)]);
        }
    }
    for (int i = 0; i < n; i++) {
        int e;
        if (from[i] >= 0 && acq[i] >= 0 && L->edges.cap && lg_map_get(&L->edges, key[i], &e))
            __builtin_prefetch(&L->m->edges[e], 1);
    }
}

static void flush_deps(struct loader *L, struct src *s, const struct lg_rec_hdr **b, int *n,
                       int pass)
{
    prefetch_deps(L, s, b, *n);
    for (int i = 0; i < *n; i++)
        rec_dep(L, s, b[i], pass);
    *n = 0;
}

static void read_records(struct loader *L, struct src *s, int pass)
{
    const struct lg_rec_hdr *batch[DEP_BATCH];
    int nbatch = 0;
    struct lg_model *m = L->m;
    struct lg_process *pr = &m->procs[s->proc];
    const struct lg_rec_hdr *r;
    const char *why;

    if (pass > 1) {
        lg_trace_close(&s->tf);
        if (lg_trace_open(s->path, &s->tf, &why) < 0)
            return;
    }
    /* One sequential sweep: tell the kernel, and give pages back behind
     * us so a big trace does not stay resident (it is read again from the
     * file if a later pass needs it). */
    if (s->tf.base)
        madvise((void *)s->tf.base, s->tf.map_size, MADV_SEQUENTIAL);
    s->dropped = 0;
    while (lg_trace_next(&s->tf, &r)) {
        /* Give pages back only while no batched record points into them. */
        if (!nbatch && s->tf.pos - s->dropped >= (64u << 20)) {
            size_t upto = (s->tf.pos - r->size) & ~((size_t)(1u << 20) - 1);
            madvise((void *)(s->tf.base + s->dropped), upto - s->dropped, MADV_DONTNEED);
            s->dropped = upto;
        }
        if (r->kind == LG_REC_DEP) {
            batch[nbatch++] = r;
            if (nbatch == DEP_BATCH)
                flush_deps(L, s, batch, &nbatch, pass);
            continue;
        }
        if (nbatch)   /* keep record order: the batch goes first */
            flush_deps(L, s, batch, &nbatch, pass);
        if (pass == 2)
            continue;
        switch (r->kind) {
        case LG_REC_MODULE:
            rec_module(L, s, r);
            break;
        case LG_REC_STACK:
            rec_stack(L, s, r);
            break;
        case LG_REC_PYSTACK:
            rec_pystack(L, s, r);
            break;
        case LG_REC_LOCK_NEW:
            rec_lock_new(L, s, r);
            break;
        case LG_REC_MISUSE:
            rec_misuse(L, s, r);
            break;
        case LG_REC_HELD_AT:
            rec_held_at(L, s, r);
            break;
        case LG_REC_THREAD_START: {
            const struct lg_rec_thread_start *ts = lg_rec_payload(r);
            int t = thread_of(L, s->proc, r->tid, r->time_ns);
            if (t < 0)
                break;
            m->threads[t].start_ns = r->time_ns;
            if (ts->creator_tid && ts->creator_tid != r->tid) {
                /* thread_of may grow (move) m->threads: index it afterwards. */
                int creator = thread_of(L, s->proc, ts->creator_tid, r->time_ns);
                m->threads[t].creator = creator;
            }
            m->threads[t].created_at = stack_of(L, s, ts->create_stack);
            if (ts->pthread)
                lg_map_put(&L->pthreads, lg_mix64(ts->pthread) ^ (uint64_t)s->proc, t);
            break;
        }
        case LG_REC_THREAD_EXIT: {
            const struct lg_rec_thread_exit *te = lg_rec_payload(r);
            int t = thread_of(L, s->proc, r->tid, r->time_ns);
            if (t >= 0) {
                m->threads[t].end_ns = r->time_ns;
                m->threads[t].end_how = (int)te->how;
            }
            break;
        }
        case LG_REC_JOIN: {
            const struct lg_rec_join *j = lg_rec_payload(r);
            int t = -1;
            if (j->ret != 0)
                break;
            int joiner = thread_of(L, s->proc, r->tid, r->time_ns);
            if (j->joined_tid > 0)
                t = thread_of(L, s->proc, j->joined_tid, r->time_ns);
            else if (!j->pthread ||
                     !lg_map_get(&L->pthreads, lg_mix64(j->pthread) ^ (uint64_t)s->proc, &t))
                break;   /* the joined thread was never seen */
            if (t >= 0 && m->threads[t].joined_by < 0) {
                m->threads[t].joined_by = joiner;
                m->threads[t].joined_ns = r->time_ns;
            }
            break;
        }
        case LG_REC_WAIT: {
            const struct lg_rec_wait *w = lg_rec_payload(r);
            thread_of(L, s->proc, r->tid, r->time_ns);
            if (w->ret_pid > 0 &&
                lg_grow((void **)&L->reaps, &L->cap_reaps, L->nreaps + 1, sizeof(*L->reaps)) == 0)
                L->reaps[L->nreaps++] = (struct reap){ s->proc, w->ret_pid, r->time_ns };
            break;
        }
        case LG_REC_EXEC: {
            const struct lg_rec_exec *e = lg_rec_payload(r);
            if (e->err == 0) {
                pr->end_how = LG_END_EXEC;
                pr->end_ns = r->time_ns;
            } else if (pr->end_how == LG_END_EXEC) {
                pr->end_how = 0;   /* the exec failed: the image lives on */
                pr->end_ns = s->hdr.end_ns;
            }
            break;
        }
        case LG_REC_PROC_EXIT: {
            const struct lg_rec_proc_exit *pe = lg_rec_payload(r);
            pr->end_how = (int)pe->how;
            pr->exit_status = pe->status;
            pr->end_ns = r->time_ns;
            break;
        }
        case LG_REC_FORK:
        case LG_REC_DETACH:
            thread_of(L, s->proc, r->tid, r->time_ns);
            break;
        case LG_REC_NOTE: {
            const struct lg_rec_note *n = lg_rec_payload(r);
            uint32_t room = lg_rec_payload_size(r) - (uint32_t)sizeof(*n);
            uint32_t len = n->text_len < room ? n->text_len : room;
            lg_model_skip(m, "%s: the shim noted: %.*s", s->path, (int)strnlen(n->text, len),
                          n->text);
            break;
        }
        default:
            break;
        }
    }
    if (nbatch)
        flush_deps(L, s, batch, &nbatch, pass);
    if (s->tf.problem[0] && pass == 1) {
        lg_model_skip(m, "%s", s->tf.problem);
        pr->truncated = true;
    }
}

/* --- processes -------------------------------------------------------------- */

static int src_cmp(const void *a, const void *b)
{
    const struct src *x = a, *y = b;
    if (x->hdr.start_ns != y->hdr.start_ns)
        return x->hdr.start_ns < y->hdr.start_ns ? -1 : 1;
    if (x->hdr.pid != y->hdr.pid)
        return x->hdr.pid < y->hdr.pid ? -1 : 1;
    if (x->hdr.exec_seq != y->hdr.exec_seq)
        return x->hdr.exec_seq < y->hdr.exec_seq ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int mod_cmp(const void *a, const void *b)
{
    const struct lg_module_map *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return strcmp(x->path, y->path);
}

static void make_process(struct loader *L, struct src *s, int idx)
{
    struct lg_model *m = L->m;
    struct lg_process *pr = &m->procs[idx];
    const struct lg_trace_header *h = &s->hdr;
    struct lg_arena *a = &L->p->arena;

    memset(pr, 0, sizeof(*pr));
    pr->idx = idx;
    pr->pid = h->pid;
    pr->ppid = h->ppid;
    pr->exec_seq = h->exec_seq;
    pr->parent = -1;
    pr->exe = lg_arena_strndup(a, h->exe, strnlen(h->exe, sizeof(h->exe)));
    pr->start_ns = h->start_ns;
    pr->end_ns = (h->flags & LG_TRACE_F_CLEAN_END) ? h->end_ns : 0;
    pr->truncated = (h->flags & LG_TRACE_F_TRUNCATED) != 0;
    pr->python = (h->flags & LG_TRACE_F_PYTHON) != 0;
    pr->fork_ns = (h->flags & LG_TRACE_F_FORKED) ? h->fork_ns : 0;
    /* argv: NUL-separated, possibly cut short by the writer. */
    size_t alen = sizeof(h->args);
    int n = 0;
    for (size_t i = 0; i < alen && n < (int)h->argc; n++) {
        size_t l = strnlen(h->args + i, alen - i);
        if (l == 0 && i + 1 >= alen)
            break;
        i += l + 1;
    }
    pr->argv = lg_arena_alloc(a, (size_t)(n + 1) * sizeof(char *));
    if (pr->argv) {
        size_t i = 0;
        for (int k = 0; k < n && i < alen; k++) {
            size_t l = strnlen(h->args + i, alen - i);
            pr->argv[k] = lg_arena_strndup(a, h->args + i, l);
            i += l + 1;
            pr->argc = k + 1;
        }
    }
    s->proc = idx;
    /* The initial thread first: it is T1 of its process. */
    int t = thread_of(L, idx, h->pid, h->start_ns);
    if (t >= 0)
        m->threads[t].start_ns = pr->fork_ns ? pr->fork_ns : h->start_ns;
}

static void link_processes(struct loader *L)
{
    struct lg_model *m = L->m;

    for (int i = 0; i < m->nprocs; i++) {
        struct lg_process *pr = &m->procs[i];
        uint64_t born = pr->fork_ns ? pr->fork_ns : pr->start_ns;
        int best = -1;
        /* Parent: the latest image of ppid begun before this one. An exec
         * image's predecessor is the previous image of the same pid. */
        for (int j = 0; j < m->nprocs && pr->ppid > 0; j++) {
            struct lg_process *q = &m->procs[j];
            if (j == i)
                continue;
            if (pr->exec_seq > 0 && q->pid == pr->pid && q->exec_seq + 1 == pr->exec_seq) {
                best = j;
                break;
            }
            if (q->pid == pr->ppid && q->start_ns <= born &&
                (best < 0 || m->procs[best].start_ns < q->start_ns))
                best = j;
        }
        pr->parent = best;
    }
    /* Reaps: a wait in process P that returned pid C reaped every image of
     * C whose parent chain leads to P's pid. */
    for (int k = 0; k < L->nreaps; k++) {
        struct reap *r = &L->reaps[k];
        for (int i = 0; i < m->nprocs; i++) {
            struct lg_process *pr = &m->procs[i];
            if (pr->pid == r->pid && pr->ppid == m->procs[r->proc].pid &&
                (pr->start_ns <= r->time) && (!pr->reaped_ns || pr->reaped_ns > r->time))
                pr->reaped_ns = r->time;
        }
    }
}

/* A fork child shares its parent's address space as of the fork, and the
 * shim records modules lazily, once per address space (its table of known
 * modules is inherited too): the child's trace names only what it mapped
 * or first touched after the fork, often nothing. Its image is then its
 * own MODULE records plus every module of its parent's image (itself
 * resolved the same way first: grandchildren borrow through their whole
 * fork lineage) that overlaps none of its own. The parent's records cannot
 * tell what was mapped before the fork (a module first touched after it is
 * recorded late), so all of them are taken; an object the child mapped
 * over the same addresses wins, being its own. An exec image never
 * borrows: it is a new address space. state: 0 not done, 1 in progress
 * (a garbled parent loop), 2 done. */
static void inherit_image(struct loader *L, int i, unsigned char *state)
{
    struct lg_model *m = L->m;
    struct lg_process *pr = &m->procs[i];
    struct lg_image *im = &L->p->images[i];
    int par = pr->parent;

    if (state[i])
        return;
    state[i] = 1;
    bool forked = i < L->nsrcs && (L->srcs[i].hdr.flags & LG_TRACE_F_FORKED) != 0;
    if (par < 0 || par == i || m->procs[par].pid == pr->pid ||
        (!forked && im->nmods > 0)) {
        state[i] = 2;
        return;
    }
    inherit_image(L, par, state);
    if (state[par] != 2) {   /* a cycle of parents: a garbled trace */
        state[i] = 2;
        return;
    }
    const struct lg_image *pim = &L->p->images[par];
    int own = im->nmods;
    for (int k = 0; k < pim->nmods; k++) {
        const struct lg_module_map *pm = &pim->mods[k];
        bool covered = false;
        for (int j = 0; j < own && !covered; j++)
            covered = im->mods[j].lo <= pm->hi && pm->lo <= im->mods[j].hi;
        if (covered)
            continue;
        if (lg_grow((void **)&im->mods, &im->cap, im->nmods + 1, sizeof(*im->mods)) < 0)
            break;
        im->mods[im->nmods++] = *pm;
    }
    if (im->nmods > 1 && im->nmods > own)
        qsort(im->mods, (size_t)im->nmods, sizeof(*im->mods), mod_cmp);
    state[i] = 2;
}

static void inherit_images(struct loader *L)
{
    unsigned char *state = calloc((size_t)L->m->nprocs + 1, 1);

    if (!state)
        return;
    for (int i = 0; i < L->m->nprocs; i++)
        inherit_image(L, i, state);
    free(state);
}

/* Thread names: T1, T2... per process by first appearance. When locks
 * were used in one process only (the usual case, even if a shell or a
 * launcher ran first), its threads keep the short names; threads of other
 * processes, or of several busy ones, get the pid ("T2@4711", and the
 * exec number when the pid ran several images: "T1@4711.2"). */
static void name_threads(struct loader *L)
{
    struct lg_model *m = L->m;
    int *counter = calloc((size_t)m->nprocs + 1, sizeof(int));
    bool *busy = calloc((size_t)m->nprocs + 1, sizeof(bool));
    int nbusy = 0;

    if (!counter || !busy) {
        free(counter);
        free(busy);
        return;
    }
    for (int i = 0; i < m->nlocks; i++) {
        int p = L->p->lockx[i].first_proc;
        if (p >= 0 && p < m->nprocs && !busy[p]) {
            busy[p] = true;
            nbusy++;
        }
    }
    struct lg_map pids = { 0 };   /* pid -> number of images */
    for (int i = 0; i < m->nprocs; i++) {
        int c = 0;
        lg_map_get(&pids, (uint64_t)(uint32_t)m->procs[i].pid, &c);
        lg_map_put(&pids, (uint64_t)(uint32_t)m->procs[i].pid, c + 1);
    }
    for (int i = 0; i < m->nthreads; i++) {
        struct lg_thread *t = &m->threads[i];
        const struct lg_process *pr = &m->procs[t->process];
        char buf[64];
        int n = ++counter[t->process];
        int images = 0;
        bool several_images = lg_map_get(&pids, (uint64_t)(uint32_t)pr->pid, &images) && images > 1;
        if (m->nprocs > 1 && (nbusy > 1 || !busy[t->process])) {
            if (several_images)
                snprintf(buf, sizeof(buf), "T%d@%d.%u", n, pr->pid, pr->exec_seq);
            else
                snprintf(buf, sizeof(buf), "T%d@%d", n, pr->pid);
        } else {
            snprintf(buf, sizeof(buf), "T%d", n);
        }
        t->name = lg_arena_strdup(&L->p->arena, buf);
    }
    lg_map_free(&pids);
    free(counter);
    free(busy);
}

/* --- witnesses, pass 2 ------------------------------------------------------ */

static int collect_witnesses(struct loader *L)
{
    struct lg_model *m = L->m;
    long total = 0;

    L->keep_all = calloc((size_t)m->nedges + 1, sizeof(bool));
    L->fill = calloc((size_t)m->nedges + 1, sizeof(int));
    if (!L->keep_all || !L->fill)
        return -ENOMEM;
    /* A huge trace, or one read for the text report only, keeps every
     * witness only for edges on a cycle: nothing else shows more than an
     * edge's first one (the text report shows only findings, and of the
     * lock-order graph only cycles; JSON, HTML and graph load it whole). */
    if (L->huge || L->text_only) {
        struct lg_graph *gp = malloc(sizeof(*gp));
        int *comp = malloc(((size_t)m->nlocks + 1) * sizeof(int));
        int *size = malloc(((size_t)m->nlocks + 1) * sizeof(int));
        int ncomp;
        if (!gp || !comp || !size || lg_graph_build(gp, m->nlocks, m->edges, m->nedges) < 0) {
            free(gp);
            free(comp);
            free(size);
            return -ENOMEM;
        }
        lg_graph_scc(gp, comp, size, &ncomp);
        for (int e = 0; e < m->nedges; e++) {
            int c = comp[m->edges[e].from];
            L->keep_all[e] = c == comp[m->edges[e].to] && size[c] > 1 &&
                             (L->huge || m->edges[e].nw_seen > 1);
        }
        /* The cycle search needs the same graph and components: keep them. */
        L->p->scc_graph = gp;
        L->p->scc_comp = comp;
        L->p->scc_size = size;
    } else {
        for (int e = 0; e < m->nedges; e++)
            L->keep_all[e] = m->edges[e].nw_seen > 1;
    }
    for (int e = 0; e < m->nedges; e++)
        total += L->keep_all[e] ? m->edges[e].nw_seen : 0;
    /* Edges with one witness (or on no cycle of a huge trace) keep their
     * first witness where it is; the others get a slice of one pool. */
    if (L->huge) {
        free(L->first);   /* partial: filled only until the trace proved huge */
    } else {
        L->p->wfirst = L->first;
        if (m->nedges)    /* give back the growth slack */
        {
            struct lg_witness *t = realloc(L->first, (size_t)m->nedges * sizeof(*L->first));
            L->p->wfirst = t ? t : L->first;
        }
    }
    L->first = NULL;
    L->cap_first = 0;
    if (total) {
        L->p->wpool = calloc((size_t)total, sizeof(struct lg_witness));
        if (!L->p->wpool)
            return -ENOMEM;
    }
    long off = 0;
    for (int e = 0; e < m->nedges; e++) {
        struct lg_edge *ed = &m->edges[e];
        if (L->keep_all[e]) {
            ed->w = L->p->wpool + off;
            ed->nw = 0;   /* counted by fill[] during pass 2 */
            off += ed->nw_seen;
        } else if (L->p->wfirst) {
            ed->w = &L->p->wfirst[e];
            ed->nw = 1;
        } else {
            ed->w = NULL;
            ed->nw = 0;
        }
    }
    for (int i = 0; i < L->nsrcs && total; i++)
        if (L->srcs[i].proc >= 0)
            read_records(L, &L->srcs[i], 2);
    for (int e = 0; e < m->nedges; e++)
        if (L->keep_all[e])
            m->edges[e].nw = L->fill[e];
    return 0;
}

/* --- a run with no trace: the supervisor's record alone -------------------- */

/* A program the shim never entered (statically linked, or one that
 * cleared LD_PRELOAD) writes no trace, but when it hung the supervisor
 * wrote hang.lgt from /proc. Its processes and threads are those the
 * wait-for nodes name: one process per pid (the image the node names),
 * its threads in node order, the process's initial thread first. Returns
 * 0, or a negative errno when the record cannot be read at all. */
static int procs_from_hang(struct loader *L, const char *path)
{
    struct lg_model *m = L->m;
    struct lg_trace_file tf;
    const struct lg_rec_hdr *r;
    const char *why;
    struct lg_map pids = { 0 };   /* pid -> process index */
    int rc = lg_trace_open(path, &tf, &why);

    if (rc < 0)
        return rc;
    for (int sweep = 0; sweep < 2; sweep++) {   /* processes first, then threads */
        lg_trace_close(&tf);
        if ((rc = lg_trace_open(path, &tf, &why)) < 0)
            goto out;
        while (lg_trace_next(&tf, &r) == 1) {
            if (r->kind != LG_REC_WF_NODE || lg_rec_payload_size(r) < sizeof(struct lg_rec_wf_node))
                continue;
            struct lg_rec_wf_node n;
            memcpy(&n, lg_rec_payload(r), sizeof n);
            if ((n.node_kind != LG_WFN_THREAD && n.node_kind != LG_WFN_PROCESS) || n.pid <= 0)
                continue;
            int proc;
            if (sweep == 1) {
                if (n.node_kind == LG_WFN_THREAD && n.tid > 0 &&
                    lg_map_get(&pids, (uint64_t)(uint32_t)n.pid, &proc))
                    thread_of(L, proc, n.tid, 0);
                continue;
            }
            if (lg_map_get(&pids, (uint64_t)(uint32_t)n.pid, &proc))
                continue;
            proc = m->nprocs;
            if (lg_grow((void **)&m->procs, &L->p->cap_procs, proc + 1, sizeof(*m->procs)) < 0 ||
                lg_map_put(&pids, (uint64_t)(uint32_t)n.pid, proc) < 0) {
                rc = -ENOMEM;
                goto out;
            }
            struct lg_process *pr = &m->procs[proc];
            memset(pr, 0, sizeof(*pr));
            pr->idx = proc;
            pr->pid = n.pid;
            pr->exec_seq = n.exec_seq;
            pr->parent = -1;
            n.name[sizeof(n.name) - 1] = 0;
            pr->exe = lg_arena_strdup(&L->p->arena, n.node_kind == LG_WFN_PROCESS && n.name[0] ? n.name : "?");
            pr->argv = lg_arena_alloc(&L->p->arena, sizeof(char *));
            m->nprocs++;
            thread_of(L, proc, n.pid, 0);   /* the initial thread: T1 */
        }
    }
    rc = 0;
out:
    lg_trace_close(&tf);
    lg_map_free(&pids);
    return rc;
}

/* --- entry point ------------------------------------------------------------ */

/* LOCKGRAPH_TIMING=1: one line per phase of the analysis on stderr. */
static void phase(const char *what)
{
    static int on = -1;
    static struct timespec last;
    struct timespec now;

    if (on < 0)
        on = getenv("LOCKGRAPH_TIMING") != NULL;
    if (!on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (what) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "lockgraph: timing: %-12s %.3f s (peak RSS so far %ld MiB)\n", what,
                (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) / 1e9,
                ru.ru_maxrss / 1024);
    }
    last = now;
}

static int trace_name(const char *n)
{
    size_t l = strlen(n);
    return strncmp(n, "trace-", 6) == 0 && l > 10 && strcmp(n + l - 4, ".lgt") == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void loader_free(struct loader *L)
{
    for (int i = 0; i < L->nsrcs; i++) {
        struct src *s = &L->srcs[i];
        lg_trace_close(&s->tf);
        lg_map_free(&s->locks);
        lg_map_free(&s->stacks);
        free(s->dense_locks);
        free(s->dense_stacks);
        lg_map_free(&s->pcstacks);
        free(s->path);
    }
    free(L->srcs);
    lg_map_free(&L->threads);
    lg_map_free(&L->edges);
    lg_map_free(&L->shared);
    lg_map_free(&L->pthreads);
    free(L->first);
    free(L->keep_all);
    free(L->fill);
    free(L->reaps);
}

/* The finding passes after the symbolization. 0 or a negative errno
 * (out of memory); what fails otherwise is one line in m->skipped. */
static int find_all(struct lg_model *m)
{
    int rc = lg_findings_build(m);
    if (rc < 0)
        return rc;
    phase("findings");
    if (m->priv->probe && m->nfindings)
        return 0;
    rc = lg_analyze_hang(m);
    if (rc < 0)
        lg_model_skip(m, "hang analysis failed (%s)", strerror(-rc));
    if (m->priv->probe && m->nfindings)
        return 0;
    rc = lg_analyze_races(m);
    if (rc < 0)
        lg_model_skip(m, "race analysis failed (%s)", strerror(-rc));
    return 0;
}

/*
 * Symbolize and find. With LG_LOAD_TEXT a run that did not hang is first
 * probed without debug information (lg_symbolize_cheap, passes stopped at
 * their first finding): what the passes decide does not depend on it, only
 * what they print, so no finding there means none at all, and the text
 * report (counts only) is complete with no libdw work. Otherwise the probe
 * is undone and everything runs as without the flag.
 */
static int symbolize_and_find(struct lg_model *m, unsigned flags)
{
    struct lg_model_priv *p = m->priv;
    int rc;

    if ((flags & LG_LOAD_TEXT) && !m->hung) {
        char hang_path[PATH_MAX];
        snprintf(hang_path, sizeof(hang_path), "%s/hang.lgt", m->dir);
        if (access(hang_path, F_OK) != 0) {
            int nskipped = m->nskipped;
            if ((rc = lg_symbolize_cheap(m)) < 0)
                return rc;
            phase("probe");
            p->probe = true;
            rc = find_all(m);
            p->probe = false;
            if (rc < 0)
                return rc;
            if (m->nfindings == 0) {
                phase("probe found nothing");
                return 0;
            }
            m->nfindings = 0;           /* their arena memory stays until the end */
            m->nskipped = nskipped;
        }
    }
    rc = lg_symbolize_model(m);
    /* Its debug information is given back now, before the findings and
     * the reports allocate: Graphviz orders clusters by the addresses of
     * its strings, so the heap viz/ sees must not change with this. */
    lg_model_symbolizer_free(m);
    if (rc < 0)
        return rc;
    phase("symbolize");
    rc = find_all(m);
    phase("hang+races");
    return rc;
}

int lg_model_load(const char *dir, struct lg_model **out, const char **err)
{
    return lg_model_load_opts(dir, 0, out, err);
}

int lg_model_load_opts(const char *dir, unsigned flags, struct lg_model **out, const char **err)
{
    static __thread char msg[1200];
    struct loader L = { 0 };
    struct lg_model *m = NULL;
    char **names = NULL;
    int nnames = 0, cap_names = 0, rc = 0;
    DIR *d = NULL;
    struct dirent *de;

    *out = NULL;
    *err = NULL;
    L.last_thread = -1;
    L.witness_limit = KEEP_ALL_WITNESSES;
    if (getenv("LOCKGRAPH_WITNESS_LIMIT"))
        L.witness_limit = atol(getenv("LOCKGRAPH_WITNESS_LIMIT"));
    phase(NULL);
    d = opendir(dir);
    if (!d) {
        rc = -errno;
        snprintf(msg, sizeof(msg), "%s: cannot open the trace folder: %s", dir, strerror(errno));
        goto fail;
    }
    while ((de = readdir(d))) {
        if (!trace_name(de->d_name))
            continue;
        if (lg_grow((void **)&names, &cap_names, nnames + 1, sizeof(char *)) < 0) {
            rc = -ENOMEM;
            goto nomem;
        }
        names[nnames] = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (!names[nnames]) {
            rc = -ENOMEM;
            goto nomem;
        }
        sprintf(names[nnames++], "%s/%s", dir, de->d_name);
    }
    closedir(d);
    d = NULL;
    char hang_path[PATH_MAX];
    snprintf(hang_path, sizeof(hang_path), "%s/hang.lgt", dir);
    bool has_hang = access(hang_path, R_OK) == 0;
    bool hang_only = nnames == 0 && has_hang;
    L.text_only = (flags & LG_LOAD_TEXT) && !has_hang;
    if (nnames == 0 && !hang_only) {
        rc = -ENOENT;
        snprintf(msg, sizeof(msg),
                 "%s: no trace files (trace-*.lgt) in this folder; was the program run under "
                 "`lockgraph run`?", dir);
        goto fail;
    }
    if (nnames) /* hang_only: no names, and qsort must not see NULL */
        qsort(names, (size_t)nnames, sizeof(char *), name_cmp);

    m = calloc(1, sizeof(*m));
    if (!m || !(m->priv = calloc(1, sizeof(*m->priv))))
        goto nomem;
    L.m = m;
    L.p = m->priv;
    L.p->strs.arena = &L.p->arena;
    if (!getcwd(L.p->cwd, sizeof(L.p->cwd)))
        L.p->cwd[0] = 0;
    m->dir = lg_arena_strdup(&L.p->arena, dir);

    L.srcs = calloc((size_t)nnames, sizeof(*L.srcs));
    if (!L.srcs)
        goto nomem;
    for (int i = 0; i < nnames; i++) {
        struct src *s = &L.srcs[L.nsrcs];
        const char *why;
        if (lg_trace_open(names[i], &s->tf, &why) < 0) {
            lg_model_skip(m, "%s", why ? why : names[i]);
            continue;
        }
        memcpy(&s->hdr, s->tf.hdr, sizeof(s->hdr));
        s->hdr.exe[sizeof(s->hdr.exe) - 1] = 0;
        s->path = names[i];
        names[i] = NULL;
        s->proc = -1;
        L.nsrcs++;
    }
    if (L.nsrcs > 1)
        qsort(L.srcs, (size_t)L.nsrcs, sizeof(*L.srcs), src_cmp);

    m->procs = calloc((size_t)L.nsrcs + 1, sizeof(*m->procs));
    L.p->images = calloc((size_t)L.nsrcs + 1, sizeof(*L.p->images));
    if (!m->procs || !L.p->images)
        goto nomem;
    L.p->cap_procs = L.nsrcs + 1;
    for (int i = 0; i < L.nsrcs; i++)
        make_process(&L, &L.srcs[i], i);
    m->nprocs = L.nsrcs;
    if (hang_only) {
        rc = procs_from_hang(&L, hang_path);
        if (rc == -ENOMEM)
            goto nomem;
        if (rc < 0) {
            snprintf(msg, sizeof(msg), "%s: no trace files, and the supervisor's hang record "
                     "cannot be read: %s", dir, strerror(-rc));
            goto fail;
        }
        struct lg_image *im = realloc(L.p->images, ((size_t)m->nprocs + 1) * sizeof(*im));
        if (!im)
            goto nomem;
        memset(im, 0, ((size_t)m->nprocs + 1) * sizeof(*im));
        L.p->images = im;
        lg_model_skip(m, "%s: no trace files (the shim was not in the program: statically "
                      "linked?); processes and threads come from the supervisor's hang record",
                      dir);
    }

    for (int i = 0; i < L.nsrcs; i++) {
        struct src *s = &L.srcs[i];
        read_records(&L, s, 1);
        struct lg_image *im = &L.p->images[s->proc];
        if (im->nmods > 1)
            qsort(im->mods, (size_t)im->nmods, sizeof(*im->mods), mod_cmp);
        if (s->hdr.flags & LG_TRACE_F_TRUNCATED)
            lg_model_skip(m, "%s: the writer ran out of room; later records were dropped",
                          s->path);
    }
    phase("read");
    link_processes(&L);
    inherit_images(&L);
    name_threads(&L);
    rc = collect_witnesses(&L);
    if (rc < 0)
        goto nomem;
    loader_free(&L);
    memset(&L, 0, sizeof(L));
    phase("witnesses");

    rc = symbolize_and_find(m, flags);
    if (rc < 0)
        goto nomem;
    lg_findings_sort(m);
    for (int i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    *out = m;
    return 0;

nomem:
    if (!rc)
        rc = -ENOMEM;
    snprintf(msg, sizeof(msg), "%s: out of memory while analyzing the traces", dir);
fail:
    if (d)
        closedir(d);
    loader_free(&L);
    for (int i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    lg_model_free(m);
    *err = msg;
    return rc;
}
