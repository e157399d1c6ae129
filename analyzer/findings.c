/* SPDX-License-Identifier: MIT */
/*
 * findings.c — model → findings: lock-order cycles (found in graph.c,
 * judged in classify.c), locks left held at thread or process exit, and
 * API misuse recorded by the shim. Each finding carries its worded
 * message, the source lines it rests on (most useful first) and its
 * stacks; duplicates (same kind, lock and site) are kept once.
 */
#include "lg_analyze.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_trace.h"

#define CYCLE_BUDGET 50000000L      /* edge visits for the cycle search */
#define CLASSIFY_BUDGET 200000L     /* witness trials per classification run */
#define MAX_CYCLES 10000            /* findings from cycles */

static char *fmt(struct lg_model *m, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(struct lg_model *m, const char *f, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return lg_arena_strdup(&m->priv->arena, buf);
}

struct lg_finding *lg_finding_add(struct lg_model *m, enum lg_finding_kind kind,
                                  enum lg_severity sev)
{
    struct lg_model_priv *p = m->priv;

    if (lg_grow((void **)&m->findings, &p->cap_findings, m->nfindings + 1,
                sizeof(*m->findings)) < 0)
        return NULL;
    struct lg_finding *f = &m->findings[m->nfindings];
    memset(f, 0, sizeof(*f));
    f->idx = m->nfindings++;
    f->kind = kind;
    f->severity = sev;
    f->process = -1;
    return f;
}

/* --- building blocks ------------------------------------------------------------ */

struct locs {            /* a growing location list, deduplicated */
    struct lg_loc *v;
    int n, cap;
};

static void locs_add(struct locs *l, const struct lg_loc *x)
{
    if (!x || (!x->file && !x->function))
        return;
    for (int i = 0; i < l->n; i++)
        if (l->v[i].file == x->file && l->v[i].line == x->line && l->v[i].function == x->function)
            return;
    if (lg_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) == 0)
        l->v[l->n++] = *x;
}

static void locs_finish(struct lg_model *m, struct lg_finding *f, struct locs *l)
{
    if (l->n) {
        f->locations = lg_arena_alloc(&m->priv->arena, (size_t)l->n * sizeof(*l->v));
        if (f->locations) {
            memcpy(f->locations, l->v, (size_t)l->n * sizeof(*l->v));
            f->nloc = l->n;
        }
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void add_stack(struct lg_model *m, struct lg_finding *f, struct lg_stack *st, int max)
{
    if (!st)
        return;
    for (int i = 0; i < f->nstacks; i++)
        if (f->stacks[i] == st)
            return;
    if (!f->stacks)
        f->stacks = lg_arena_alloc(&m->priv->arena, (size_t)max * sizeof(*f->stacks));
    if (f->stacks && f->nstacks < max)
        f->stacks[f->nstacks++] = st;
}

/* "abba.c:21" for a stack's user frame, or "an unknown place". */
static const char *where(struct lg_model *m, const struct lg_stack *st)
{
    const struct lg_loc *l = lg_stack_user_loc(st);
    if (l && l->file && l->line)
        return fmt(m, "%s:%d", l->file, l->line);
    if (l && l->function)
        return fmt(m, "%s()", l->function);
    if (l && l->pc)
        return fmt(m, "%s+0x%llx", l->module ? l->module : "?", (unsigned long long)l->pc);
    return "an unknown place";
}

static const char *lname(const struct lg_model *m, int lock)
{
    return lock >= 0 && lock < m->nlocks ? m->locks[lock].name : "an unknown lock";
}

static const char *tname(const struct lg_model *m, int t)
{
    return t >= 0 && t < m->nthreads ? m->threads[t].name : "an unknown thread";
}

/* Deduplication: kind + lock + site (interned file pointer, line). */
struct dedup {
    struct lg_map map;
    struct { int kind, lock, line; const char *file; } *keys;
    int n, cap;
};

static bool dedup_seen(struct dedup *d, int kind, int lock, const struct lg_stack *st)
{
    const struct lg_loc *l = lg_stack_user_loc(st);
    const char *file = l ? l->file : NULL;
    int line = l ? l->line : 0;
    if (l && !file && l->function)
        file = l->function;
    uint64_t h = lg_mix64((uint64_t)kind << 48 ^ (uint64_t)(uint32_t)lock << 16 ^
                          lg_mix64((uint64_t)(uintptr_t)file ^ (uint64_t)line));
    int idx;
    for (;;) {
        if (!lg_map_get(&d->map, h, &idx))
            break;
        if (d->keys[idx].kind == kind && d->keys[idx].lock == lock && d->keys[idx].file == file &&
            d->keys[idx].line == line)
            return true;
        h = lg_mix64(h + 1);
    }
    if (lg_grow((void **)&d->keys, &d->cap, d->n + 1, sizeof(*d->keys)) == 0) {
        d->keys[d->n].kind = kind;
        d->keys[d->n].lock = lock;
        d->keys[d->n].file = file;
        d->keys[d->n].line = line;
        lg_map_put(&d->map, h, d->n++);
    }
    return false;
}

/* --- cycles ----------------------------------------------------------------------- */

static char *cycle_text(struct lg_model *m, const struct lg_cycle *c)
{
    size_t len = 1;
    for (int i = 0; i < c->n; i++)
        len += strlen(m->locks[c->locks[i]].name) + 4;
    len += strlen(m->locks[c->locks[0]].name);
    char *s = lg_arena_alloc(&m->priv->arena, len);
    if (!s)
        return NULL;
    char *p = s;
    for (int i = 0; i <= c->n; i++)
        p += sprintf(p, "%s%s", i ? " -> " : "", m->locks[c->locks[i % c->n]].name);
    return s;
}

static int cycle_finding(struct lg_model *m, const struct lg_cycle *c, struct lg_cycle_class *cls)
{
    static const enum lg_severity sev_of[] = {
        [LG_CYCLE_DEADLOCK] = LG_SEV_ERROR, [LG_CYCLE_TRYLOCK] = LG_SEV_WARNING,
        [LG_CYCLE_GATE] = LG_SEV_WARNING, [LG_CYCLE_SINGLE_THREAD] = LG_SEV_NOTE,
        [LG_CYCLE_NO_OVERLAP] = LG_SEV_NOTE, [LG_CYCLE_READ_READ] = LG_SEV_NOTE,
        [LG_CYCLE_COUNTING] = LG_SEV_WARNING,
    };
    struct lg_finding *f = lg_finding_add(m, LG_FK_LOCK_ORDER_CYCLE, sev_of[cls->verdict]);
    struct lg_arena *a = &m->priv->arena;
    struct locs locs = { 0 };

    if (!f)
        return -ENOMEM;
    const char *text = cycle_text(m, c);
    f->steps = lg_arena_alloc(a, (size_t)c->n * sizeof(*f->steps));
    f->threads = lg_arena_alloc(a, (size_t)c->n * sizeof(int));
    f->details = lg_arena_alloc(a, ((size_t)c->n + 3) * sizeof(char *));
    if (!text || !f->steps || !f->threads || !f->details)
        return -ENOMEM;

    int closing = 0;
    uint64_t latest = 0;
    f->nsteps = c->n;
    for (int i = 0; i < c->n; i++) {
        const struct lg_edge *e = &m->edges[c->edges[i]];
        const struct lg_witness *w = &e->w[cls->chosen[i]];
        f->steps[i] = (struct lg_step){ c->locks[i], c->edges[i], cls->chosen[i], w->thread };
        bool dup = false;
        for (int k = 0; k < f->nthreads; k++)
            dup |= f->threads[k] == w->thread;
        if (!dup)
            f->threads[f->nthreads++] = w->thread;
        if (w->time_ns >= latest) {
            latest = w->time_ns;
            closing = i;
        }
        /* Other locks held, for the reader: the interpreter's own locks
         * (a Python thread holds its tstate lock all its life) are left
         * out of the wording; classification still sees them all. */
        const char *gates = "";
        int shown = 0;
        char buf[512];
        size_t o = (size_t)snprintf(buf, sizeof(buf), " (also holding");
        for (int g = 0; g < w->ngates && o < sizeof(buf); g++) {
            const struct lg_stack *cs = m->locks[w->gates[g]].created_at;
            if (cs && cs->npy && !lg_loc_python_user(&cs->py[0]))
                continue;
            if (w->gates[g] == e->from)   /* a shared array holds it too */
                continue;
            if (shown == 8) {
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, ", ...");
                break;
            }
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s %s", shown ? "," : "",
                                  lname(m, w->gates[g]));
            shown++;
        }
        if (shown && o < sizeof(buf) - 1) {
            snprintf(buf + o, sizeof(buf) - o, ")");
            gates = fmt(m, "%s", buf);
        }
        f->details[f->ndetails++] =
            fmt(m, "%s acquired %s%s at %s while holding %s%s taken at %s%s%s", tname(m, w->thread),
                lname(m, e->to), w->mode == LG_MODE_READ ? " (read)" : "", where(m, w->acquired_at),
                lname(m, e->from), w->held_mode == LG_MODE_READ ? " (read)" : "",
                where(m, w->held_at), gates, (w->flags & LG_ACQ_TRY) ? " [trylock]" : "");
    }
    f->process = m->threads[f->threads[0]].process;
    for (int k = 1; k < f->nthreads; k++)
        if (m->threads[f->threads[k]].process != f->process)
            f->process = -1;

    /* Locations: the acquisition that closed the cycle (the latest one),
     * then every acquisition and held-lock acquisition, then creation sites. */
    const struct lg_witness *cw = &m->edges[c->edges[closing]].w[cls->chosen[closing]];
    locs_add(&locs, lg_stack_user_loc(cw->acquired_at));
    for (int i = 0; i < c->n; i++) {
        const struct lg_witness *w = &m->edges[c->edges[i]].w[cls->chosen[i]];
        locs_add(&locs, lg_stack_user_loc(w->acquired_at));
        locs_add(&locs, lg_stack_user_loc(w->held_at));
    }
    for (int i = 0; i < c->n; i++)
        locs_add(&locs, lg_stack_user_loc(m->locks[c->locks[i]].created_at));
    locs_finish(m, f, &locs);
    for (int i = 0; i < c->n; i++) {
        const struct lg_witness *w = &m->edges[c->edges[i]].w[cls->chosen[i]];
        add_stack(m, f, w->acquired_at, 2 * c->n);
        add_stack(m, f, w->held_at, 2 * c->n);
    }

    switch (cls->verdict) {
    case LG_CYCLE_DEADLOCK:
        f->message = fmt(m, "lock-order cycle %s (potential deadlock)", text);
        if (cls->budget_hit)
            f->details[f->ndetails++] =
                fmt(m, "(the witness search stopped early; this cycle was not fully classified)");
        break;
    case LG_CYCLE_TRYLOCK: {
        int i = cls->edge >= 0 ? cls->edge : 0;
        const struct lg_edge *e = &m->edges[c->edges[i]];
        f->message = fmt(m, "lock-order cycle %s (only through trylock)", text);
        f->reason = fmt(m, "trylock: %s -> %s was only taken by a successful trylock, which "
                        "never waits", lname(m, e->from), lname(m, e->to));
        break;
    }
    case LG_CYCLE_GATE:
        f->message = fmt(m, "lock-order cycle %s (serialised by gate lock %s)", text,
                         lname(m, cls->gate));
        f->reason = fmt(m, "gate lock: every thread on the cycle held %s, so only one of them "
                        "can be inside at a time", lname(m, cls->gate));
        break;
    case LG_CYCLE_SINGLE_THREAD:
        f->message = fmt(m, "lock-order cycle %s (single thread)", text);
        if (cls->thread_b < 0)
            f->reason = fmt(m, "single thread: only %s took these locks in conflicting orders; "
                            "another thread doing the same would deadlock", tname(m, cls->thread_a));
        else
            f->reason = fmt(m, "single thread: %s made more than one edge of this cycle and "
                            "cannot wait at two of them at once", tname(m, cls->thread_a));
        break;
    case LG_CYCLE_NO_OVERLAP:
        f->message = fmt(m, "lock-order cycle %s (threads never overlap)", text);
        f->reason = fmt(m, "never overlap: %s had ended (joined or reaped) before %s began",
                        tname(m, cls->thread_a), tname(m, cls->thread_b));
        break;
    case LG_CYCLE_COUNTING:
        f->message = fmt(m, "lock-order cycle %s (through a counting semaphore)", text);
        f->reason = fmt(m, "counting semaphore: %s starts with %d permits; this order deadlocks "
                        "only when every permit is taken", lname(m, cls->lock),
                        m->locks[cls->lock].sem_value);
        break;
    case LG_CYCLE_READ_READ:
        f->message = fmt(m, "lock-order cycle %s (read-read)", text);
        f->reason = fmt(m, "read-read: %s is only held and wanted for reading, and readers do "
                        "not block each other", lname(m, cls->lock));
        break;
    }
    return f->message ? 0 : -ENOMEM;
}

/* Innermost Python frame in the standard library (threading.py...). */
static bool stdlib_stack(const struct lg_stack *st)
{
    return st && st->npy && !lg_loc_python_user(&st->py[0]);
}

/* A cycle made entirely inside the Python standard library's own code
 * (Thread.start/join, Condition and Event internals): not the program's
 * lock order. Kept out unless it is a real deadlock. */
static bool python_internal(const struct lg_model *m, const struct lg_cycle *c, const int *chosen)
{
    for (int i = 0; i < c->n; i++) {
        const struct lg_witness *w = &m->edges[c->edges[i]].w[chosen[i]];
        if (!stdlib_stack(w->acquired_at) || !stdlib_stack(w->held_at))
            return false;
    }
    return true;
}

/* Order-free hash of a cycle's source lines (acquisition and held
 * acquisition of each chosen witness) and verdict; 0 when a line is
 * unknown (such cycles are never merged). */
static uint64_t cycle_signature(const struct lg_model *m, const struct lg_cycle *c,
                                const int *chosen, int verdict)
{
    uint64_t sum = 0, x = 0;
    for (int i = 0; i < c->n; i++) {
        const struct lg_witness *w = &m->edges[c->edges[i]].w[chosen[i]];
        const struct lg_loc *a = lg_stack_user_loc(w->acquired_at);
        const struct lg_loc *h = lg_stack_user_loc(w->held_at);
        if (!a || !h || !a->file || !h->file || !a->line || !h->line)
            return 0;
        uint64_t e = lg_mix64((uint64_t)(uintptr_t)a->file ^ lg_mix64((uint64_t)a->line) ^
                              lg_mix64((uint64_t)(uintptr_t)h->file + (uint64_t)h->line * 31));
        sum += e;
        x ^= lg_mix64(e);
    }
    uint64_t sig = lg_mix64(sum ^ lg_mix64(x + (uint64_t)c->n) ^ (uint64_t)verdict);
    return sig ? sig : 1;
}

/* Edges in the order the cycle search should try them: those made by
 * threads that made few edges inside components first. A thread that
 * nests many locks (hundreds held at once) makes a dense, mostly
 * single-thread component; the edges other threads add are the ones that
 * can close a real cycle, and must not wait behind a spent budget. */
struct order_key {
    int weight, edge;
};

static int order_cmp(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight < y->weight ? -1 : 1;
    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

static int *cycle_search_order(const struct lg_model *m, const int *comp, const int *size)
{
    int *made = calloc((size_t)m->nthreads + 1, sizeof(int));
    struct order_key *keys = malloc(((size_t)m->nedges + 1) * sizeof(*keys));
    int *order = malloc(((size_t)m->nedges + 1) * sizeof(int));

    if (!made || !keys || !order) {
        free(made);
        free(keys);
        free(order);
        return NULL;
    }
    for (int e = 0; e < m->nedges; e++) {
        const struct lg_edge *ed = &m->edges[e];
        if (ed->nw > 0 && comp[ed->from] == comp[ed->to] && size[comp[ed->from]] > 1)
            made[ed->w[0].thread]++;
    }
    int n = 0;
    for (int e = 0; e < m->nedges; e++) {
        const struct lg_edge *ed = &m->edges[e];
        if (comp[ed->from] != comp[ed->to] || size[comp[ed->from]] < 2)
            continue;   /* on no cycle: not searched at all */
        keys[n].edge = e;
        keys[n].weight = ed->nw > 0 ? made[ed->w[0].thread] : 0;
        n++;
    }
    if (n > 1)
        qsort(keys, (size_t)n, sizeof(*keys), order_cmp);
    for (int k = 0; k < n; k++)
        order[k] = keys[k].edge;
    order[n] = -1;
    free(made);
    free(keys);
    return order;
}

static int find_cycles(struct lg_model *m)
{
    int *order = NULL;
    struct lg_graph g;
    int *comp = NULL, *size = NULL, ncomp = 0, ncyc = 0, rc;
    struct lg_cycle *cyc = NULL;
    bool truncated = false, borrowed = false;

    if (!m->nedges)
        return 0;
    struct lg_graph *kept = m->priv->scc_graph;
    if (m->priv->scc_comp && kept && kept->nedges == m->nedges && kept->nnodes == m->nlocks) {
        /* The loader already built the graph and split it into
         * components: a probe borrows them, the pass after it takes them. */
        g = *kept;
        comp = m->priv->scc_comp;
        size = m->priv->scc_size;
        if (m->priv->probe) {
            borrowed = true;
        } else {
            m->priv->scc_comp = m->priv->scc_size = NULL;
            free(kept);
            m->priv->scc_graph = NULL;
        }
    } else {
        rc = lg_graph_build(&g, m->nlocks, m->edges, m->nedges);
        if (rc < 0)
            return rc;
        comp = malloc(((size_t)m->nlocks + 1) * sizeof(int));
        size = malloc(((size_t)m->nlocks + 1) * sizeof(int));
        if (!comp || !size) {
            rc = -ENOMEM;
            goto out;
        }
        rc = lg_graph_scc(&g, comp, size, &ncomp);
        if (rc < 0)
            goto out;
    }
    order = cycle_search_order(m, comp, size);
    rc = lg_cycles_find(&g, comp, size, order, CYCLE_BUDGET, &cyc, &ncyc, &truncated);
    free(order);
    order = NULL;
    if (rc < 0)
        goto out;
    if (truncated)
        lg_model_skip(m, "cycle search stopped after %d cycles (work limit reached); "
                      "more cycles may exist", ncyc);
    int internal = 0, *same_shape = NULL, cap_same = 0;
    struct lg_map sigs = { 0 };
    if (ncyc > MAX_CYCLES) {
        lg_model_skip(m, "%d lock-order cycles found; reporting the first %d", ncyc, MAX_CYCLES);
        ncyc = MAX_CYCLES;
    }
    for (int i = 0; i < ncyc; i++) {
        int *chosen = calloc((size_t)cyc[i].n, sizeof(int));
        struct lg_cycle_class cls = { .chosen = chosen };
        if (!chosen) {
            rc = -ENOMEM;
            goto out;
        }
        /* Every edge of a cycle has witnesses, unless a trace could not
         * be read again for them (then the cycle cannot be shown). */
        bool bare = false;
        for (int k = 0; k < cyc[i].n; k++)
            bare |= m->edges[cyc[i].edges[k]].nw == 0;
        if (bare) {
            free(chosen);
            continue;
        }
        lg_cycle_classify(m, &cyc[i], CLASSIFY_BUDGET, &cls);
        if (cls.verdict != LG_CYCLE_DEADLOCK && python_internal(m, &cyc[i], chosen)) {
            internal++;
            free(chosen);
            continue;
        }
        /* Many instances, one bug: a cycle whose acquisitions are at the
         * same source lines as one already reported (locks in heap
         * objects born at one site) is counted there, not repeated. */
        uint64_t sig = cycle_signature(m, &cyc[i], chosen, cls.verdict);
        int prev;
        if (sig && lg_map_get(&sigs, sig, &prev)) {
            same_shape[prev]++;
            free(chosen);
            continue;
        }
        rc = cycle_finding(m, &cyc[i], &cls);
        free(chosen);
        if (rc < 0 || m->priv->probe)
            goto out;           /* a probe needs only to know there is one */
        if (sig && lg_grow((void **)&same_shape, &cap_same, m->nfindings, sizeof(int)) == 0)
            lg_map_put(&sigs, sig, m->nfindings - 1);
    }
    for (int k = 0; k < m->nfindings && k < cap_same; k++) {
        struct lg_finding *f = &m->findings[k];
        if (same_shape[k] && f->kind == LG_FK_LOCK_ORDER_CYCLE)
            f->details[f->ndetails++] =
                fmt(m, "(and %d more cycle%s of the same shape through other locks taken at "
                    "these same lines)", same_shape[k], same_shape[k] > 1 ? "s" : "");
    }
    /* Stdlib-internal cycles (`internal`) are left out silently: they are
     * not the program's lock order, and every Python run has some. */
    (void)internal;
out:
    lg_map_free(&sigs);
    free(same_shape);
    lg_cycles_free(cyc, ncyc > 0 ? ncyc : 0);
    if (!borrowed) {
        free(comp);
        free(size);
        lg_graph_free(&g);
    }
    return rc;
}

/* --- unreleased locks and misuse --------------------------------------------------- */

static int one_location(struct lg_model *m, struct lg_finding *f, struct lg_stack *at, int lock)
{
    struct locs locs = { 0 };
    locs_add(&locs, lg_stack_user_loc(at));
    if (lock >= 0)
        locs_add(&locs, lg_stack_user_loc(m->locks[lock].created_at));
    locs_finish(m, f, &locs);
    add_stack(m, f, at, 2);
    if (lock >= 0)
        add_stack(m, f, m->locks[lock].created_at, 2);
    return 0;
}

static void set_thread(struct lg_model *m, struct lg_finding *f, int t, int proc)
{
    f->process = proc;
    if (t >= 0) {
        f->threads = lg_arena_alloc(&m->priv->arena, sizeof(int));
        if (f->threads) {
            f->threads[0] = t;
            f->nthreads = 1;
        }
    }
}

static int find_unreleased(struct lg_model *m, struct dedup *dd)
{
    struct lg_model_priv *p = m->priv;

    for (int i = 0; i < p->nheld; i++) {
        struct lg_raw_held *h = &p->held[i];
        const struct lg_lock *lk = &m->locks[h->lock];
        bool thread_end = h->how == LG_END_RETURN || h->how == LG_END_PTHREAD_EXIT ||
                          h->how == LG_END_CANCEL;
        bool proc_end = h->how == LG_END_EXIT || h->how == LG_END__EXIT;
        /* A crash (fatal signal) with the lock held: said, as a warning
         * (the crash is the bug) unless other processes share the lock
         * and will wait for it forever. */
        bool crash = h->how == LG_END_SIGNAL;
        /* A lock semaphore destroyed while another thread held it (the
         * shim writes this for semaphores only): its holder never gave it
         * back, whether or not its own end still saw it. */
        bool died = h->how == LG_END_DESTROY && lk->kind == LG_LOCK_SEM;
        /* Semaphores are legitimately "held" at exit (Python's per-thread
         * tstate lock is released by the runtime after the thread is gone;
         * a C semaphore is often a signal, not a lock). The exception is a
         * threading.Lock the program itself made: a binary semaphore whose
         * creation's innermost Python frame is the program's code. */
        if (!thread_end && !proc_end && !crash && !died)
            continue;
        bool py_lock = lk->kind == LG_LOCK_SEM && lk->sem_value == 1 && lk->created_at &&
                       lk->created_at->npy && lg_loc_python_user(&lk->created_at->py[0]);
        if (lk->kind != LG_LOCK_MUTEX && lk->kind != LG_LOCK_RWLOCK && lk->kind != LG_LOCK_SPIN &&
            !py_lock)
            continue;
        if (dedup_seen(dd, LG_FK_UNRELEASED_LOCK, h->lock, h->at))
            continue;
        struct lg_finding *f = lg_finding_add(m, LG_FK_UNRELEASED_LOCK,
                                              crash && !lk->shared && lk->process >= 0
                                                  ? LG_SEV_WARNING : LG_SEV_ERROR);
        if (!f)
            return -ENOMEM;
        if (crash)
            f->message = fmt(m, "%s is still held by %s when process %d is killed by a signal",
                             lk->name, tname(m, h->thread), m->procs[h->process].pid);
        else if (thread_end)
            f->message = fmt(m, "%s is still held when thread %s exits", lk->name,
                             tname(m, h->thread));
        else if (died)
            f->message = fmt(m, "%s is still held by %s when it is destroyed", lk->name,
                             tname(m, h->thread));
        else
            f->message = fmt(m, "%s is still held by %s when process %d exits", lk->name,
                             tname(m, h->thread), m->procs[h->process].pid);
        f->details = lg_arena_alloc(&p->arena, sizeof(char *));
        if (f->details)
            f->details[f->ndetails++] = fmt(m, "%s took %s%s at %s and never released it",
                                            tname(m, h->thread), lk->name,
                                            h->mode == LG_MODE_READ ? " (read)" : "",
                                            where(m, h->at));
        set_thread(m, f, h->thread, h->process);
        one_location(m, f, h->at, h->lock);
    }
    return 0;
}

static const char *cond_name(struct lg_model *m, uint64_t addr, const char *name)
{
    if (name)
        return fmt(m, "condition variable %s", name);
    return fmt(m, "condition variable 0x%llx", (unsigned long long)addr);
}

static int find_misuse(struct lg_model *m, struct dedup *dd)
{
    struct lg_model_priv *p = m->priv;

    for (int i = 0; i < p->nmisuse; i++) {
        struct lg_raw_misuse *u = &p->misuse[i];
        enum lg_finding_kind kind;
        const char *who = tname(m, u->thread), *lock = lname(m, u->lock);
        char *msg;

        switch (u->kind) {
        case LG_MISUSE_UNLOCK_NOT_OWNER:
            kind = LG_FK_UNLOCK_NOT_OWNER;
            if (u->other != UINT64_MAX && (int)u->other != u->thread)
                msg = fmt(m, "%s unlocks %s, which %s holds", who, lock, tname(m, (int)u->other));
            else
                msg = fmt(m, "%s unlocks %s, which it does not hold", who, lock);
            break;
        case LG_MISUSE_UNLOCK_UNLOCKED:
            kind = LG_FK_UNLOCK_UNLOCKED;
            msg = fmt(m, "%s unlocks %s, which is not locked", who, lock);
            break;
        case LG_MISUSE_SELF_DEADLOCK:
            kind = LG_FK_SELF_DEADLOCK;
            if (u->err)
                msg = fmt(m, "%s locks %s again while holding it (the call failed with EDEADLK)",
                          who, lock);
            else
                msg = fmt(m, "%s locks %s again while holding it (a non-recursive lock: this "
                          "waits forever)", who, lock);
            break;
        case LG_MISUSE_DESTROY_LOCKED:
            kind = LG_FK_DESTROY_LOCKED;
            if (u->other != UINT64_MAX && (int)u->other == u->thread)
                msg = fmt(m, "%s destroys %s while holding it", who, lock);
            else if (u->other != UINT64_MAX)
                msg = fmt(m, "%s destroys %s while %s holds it", who, lock, tname(m, (int)u->other));
            else
                msg = fmt(m, "%s destroys %s while it is held", who, lock);
            break;
        case LG_MISUSE_COND_NO_MUTEX:
            kind = LG_FK_COND_WAIT_MISUSE;
            msg = fmt(m, "%s waits on %s without holding %s", who, cond_name(m, u->other, u->cond), lock);
            break;
        case LG_MISUSE_COND_TWO_MUTEXES:
            kind = LG_FK_COND_WAIT_MISUSE;
            msg = fmt(m, "%s is used with two mutexes: %s and %s", cond_name(m, (uint64_t)u->extra, u->cond),
                      u->other != UINT64_MAX ? lname(m, (int)u->other) : "another mutex", lock);
            break;
        case LG_MISUSE_SEM_OVERPOST:
            kind = LG_FK_SEMAPHORE_OVERPOST;
            msg = fmt(m, "%s posts %s above 1 (to %lld); it was created with value 1 and is "
                      "used as a lock", who, lock, (long long)u->extra);
            break;
        default:
            continue;
        }
        if (dedup_seen(dd, (int)kind, u->lock, u->at))
            continue;
        struct lg_finding *f = lg_finding_add(m, kind, LG_SEV_ERROR);
        if (!f)
            return -ENOMEM;
        f->message = msg;
        f->details = lg_arena_alloc(&p->arena, sizeof(char *));
        if (f->details)
            f->details[f->ndetails++] = fmt(m, "at %s", where(m, u->at));
        set_thread(m, f, u->thread, u->process);
        one_location(m, f, u->at, u->lock >= 0 ? u->lock : -1);
    }
    return 0;
}

int lg_findings_build(struct lg_model *m)
{
    struct dedup dd = { 0 };
    int rc = find_cycles(m);

    if (rc == 0)
        rc = find_unreleased(m, &dd);
    if (rc == 0)
        rc = find_misuse(m, &dd);
    lg_map_free(&dd.map);
    free(dd.keys);
    return rc;
}

/* --- order ------------------------------------------------------------------------ */

static int str_cmp0(const char *a, const char *b)
{
    if (!a || !b)
        return a ? -1 : b ? 1 : 0;
    return strcmp(a, b);
}

static int finding_cmp(const void *pa, const void *pb)
{
    const struct lg_finding *a = pa, *b = pb;
    int c;

    if (a->severity != b->severity)
        return a->severity < b->severity ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    const struct lg_loc *la = a->nloc ? &a->locations[0] : NULL;
    const struct lg_loc *lb = b->nloc ? &b->locations[0] : NULL;
    if ((c = str_cmp0(la ? la->file : NULL, lb ? lb->file : NULL)))
        return c;
    int ia = la ? la->line : 0, ib = lb ? lb->line : 0;
    if (ia != ib)
        return ia < ib ? -1 : 1;
    if ((c = str_cmp0(a->message, b->message)))
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void lg_findings_sort(struct lg_model *m)
{
    if (m->nfindings > 1)
        qsort(m->findings, (size_t)m->nfindings, sizeof(*m->findings), finding_cmp);
    for (int i = 0; i < m->nfindings; i++)
        m->findings[i].idx = i;
}
