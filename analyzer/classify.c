/* SPDX-License-Identifier: MIT */
/*
 * classify.c — is a lock-order cycle a potential deadlock? Searches one
 * witness per edge such that the threads are distinct, could have lived at
 * the same time, share no gate lock, each really waited (no trylock) and
 * no rwlock is both held and wanted for reading. When no such assignment
 * exists, finds which rule rules it out: that is the finding's reason.
 */
#include "lg_analyze.h"

#include <stdlib.h>
#include <string.h>

#include "lg_trace.h"

enum {
    C_THREADS = 1 << 0,   /* distinct threads */
    C_GATE = 1 << 1,      /* no lock held by every chosen witness */
    C_OVERLAP = 1 << 2,   /* threads may overlap in time */
    C_TRY = 1 << 3,       /* the acquisition waited (not a trylock) */
    C_RR = 1 << 4,        /* not read-held and read-wanted at one rwlock */
    C_ALL = 0x1f,
};

uint64_t lg_thread_born(const struct lg_model *m, int t)
{
    const struct lg_thread *th = &m->threads[t];
    const struct lg_process *p = &m->procs[th->process];

    if (th->start_ns)
        return th->start_ns;
    return p->fork_ns ? p->fork_ns : p->start_ns;
}

uint64_t lg_thread_gone(const struct lg_model *m, int t)
{
    const struct lg_thread *th = &m->threads[t];
    const struct lg_process *p = &m->procs[th->process];
    uint64_t g = 0;

    if (th->joined_by >= 0 && th->joined_ns)
        g = th->joined_ns;
    if (p->reaped_ns && (!g || p->reaped_ns < g))
        g = p->reaped_ns;
    if (p->end_how == LG_END_EXEC && p->end_ns && (!g || p->end_ns < g))
        g = p->end_ns;
    return g;
}

/* Two threads can hold locks at the same time unless one's end was seen
 * (joined, reaped, replaced by exec) before the other began. */
bool lg_threads_may_overlap(const struct lg_model *m, int a, int b)
{
    if (a == b)
        return true;
    uint64_t ga = lg_thread_gone(m, a), gb = lg_thread_gone(m, b);
    if (ga && ga <= lg_thread_born(m, b))
        return false;
    if (gb && gb <= lg_thread_born(m, a))
        return false;
    return true;
}

struct search {
    const struct lg_model *m;
    const struct lg_cycle *c;
    int mask;
    long budget;
    bool exhausted;
    int *pick;                 /* witness index per position */
};

static bool is_read(const struct lg_model *m, int lock, int mode)
{
    return mode == LG_MODE_READ && m->locks[lock].kind == LG_LOCK_RWLOCK;
}

static bool has_gate(const struct lg_witness *w, int g)
{
    for (int i = 0; i < w->ngates; i++)
        if (w->gates[i] == g)
            return true;
    return false;
}

/* A lock held (as a gate) by every chosen witness, or -1. */
static int common_gate(const struct search *s)
{
    const struct lg_model *m = s->m;
    const struct lg_witness *w0 = &m->edges[s->c->edges[0]].w[s->pick[0]];

    for (int g = 0; g < w0->ngates; g++) {
        bool all = true;
        for (int i = 1; i < s->c->n && all; i++)
            all = has_gate(&m->edges[s->c->edges[i]].w[s->pick[i]], w0->gates[g]);
        if (all)
            return w0->gates[g];
    }
    return -1;
}

static bool fits(struct search *s, int pos, const struct lg_witness *w)
{
    const struct lg_model *m = s->m;
    const struct lg_cycle *c = s->c;

    if ((s->mask & C_TRY) && (w->flags & LG_ACQ_TRY))
        return false;
    for (int j = 0; j < pos; j++) {
        const struct lg_witness *o = &m->edges[c->edges[j]].w[s->pick[j]];
        if ((s->mask & C_THREADS) && o->thread == w->thread)
            return false;
        if ((s->mask & C_OVERLAP) && !lg_threads_may_overlap(m, o->thread, w->thread))
            return false;
    }
    if (s->mask & C_RR) {
        /* At lock c->locks[pos]: w holds it, the previous witness wants it. */
        if (pos > 0) {
            const struct lg_witness *prev = &m->edges[c->edges[pos - 1]].w[s->pick[pos - 1]];
            if (is_read(m, c->locks[pos], w->held_mode) && is_read(m, c->locks[pos], prev->mode))
                return false;
        }
        if (pos == c->n - 1) {
            const struct lg_witness *first = &m->edges[c->edges[0]].w[s->pick[0]];
            if (is_read(m, c->locks[0], first->held_mode) && is_read(m, c->locks[0], w->mode))
                return false;
        }
    }
    return true;
}

/* Depth-first over positions, iteratively (cycles may be long). */
static bool search_run(struct search *s)
{
    const struct lg_model *m = s->m;
    const struct lg_cycle *c = s->c;
    int pos = 0;

    s->exhausted = false;
    s->pick[0] = -1;
    while (pos >= 0) {
        const struct lg_edge *e = &m->edges[c->edges[pos]];
        int k = s->pick[pos] + 1;
        while (k < e->nw) {
            if (--s->budget < 0) {
                s->exhausted = true;
                return false;
            }
            if (fits(s, pos, &e->w[k]))
                break;
            k++;
        }
        if (k >= e->nw) {
            pos--;
            continue;
        }
        s->pick[pos] = k;
        if (pos == c->n - 1) {
            if (!(s->mask & C_GATE) || common_gate(s) < 0)
                return true;
            continue;   /* try the next witness at this position */
        }
        s->pick[++pos] = -1;
    }
    return false;
}

void lg_cycle_classify(const struct lg_model *m, const struct lg_cycle *c, long budget,
                       struct lg_cycle_class *cls)
{
    struct search s = { m, c, C_ALL, budget, false, cls->chosen };
    static const int relax_order[] = { C_TRY, C_GATE, C_THREADS, C_OVERLAP, C_RR };
    static const enum lg_cycle_verdict verdict_of[] = {
        LG_CYCLE_TRYLOCK, LG_CYCLE_GATE, LG_CYCLE_SINGLE_THREAD, LG_CYCLE_NO_OVERLAP,
        LG_CYCLE_READ_READ,
    };
    /* When no single rule explains it, drop rules cumulatively, the
     * "cannot happen at all" ones first. */
    static const int cumulative[] = { C_THREADS, C_OVERLAP, C_RR, C_TRY, C_GATE };
    int relaxed = -1;

    cls->verdict = LG_CYCLE_DEADLOCK;
    cls->gate = cls->edge = cls->lock = cls->thread_a = cls->thread_b = -1;
    cls->budget_hit = false;
    if (search_run(&s)) {
        /* A semaphore with several permits blocks only when all of them
         * are taken: the order is a hazard, not a sure deadlock. */
        for (int i = 0; i < c->n; i++) {
            const struct lg_lock *lk = &m->locks[c->locks[i]];
            if ((lk->kind == LG_LOCK_SEM || lk->kind == LG_LOCK_NAMED_SEM) && lk->sem_value > 1) {
                cls->verdict = LG_CYCLE_COUNTING;
                cls->lock = c->locks[i];
                break;
            }
        }
        return;
    }
    if (s.exhausted) {
        /* Undecided: say deadlock (a false alarm beats a missed one). */
        cls->budget_hit = true;
        for (int i = 0; i < c->n; i++)
            cls->chosen[i] = 0;
        return;
    }
    for (int r = 0; r < 5 && relaxed < 0; r++) {
        s.mask = C_ALL & ~relax_order[r];
        s.budget = budget;
        if (search_run(&s))
            relaxed = r;
    }
    if (relaxed < 0) {
        /* Several rules at once: drop them in order until it fits, then
         * name the first dropped rule that was really needed. */
        int dropped = 0, r;
        for (r = 0; r < 5; r++) {
            dropped |= cumulative[r];
            s.mask = C_ALL & ~dropped;
            s.budget = budget;
            if (search_run(&s))
                break;
        }
        for (int k = 0; k <= r && k < 5 && relaxed < 0; k++) {
            s.mask = (C_ALL & ~dropped) | cumulative[k];
            s.budget = budget;
            if (!search_run(&s))
                for (int j = 0; j < 5; j++)
                    if (relax_order[j] == cumulative[k])
                        relaxed = j;
        }
        if (relaxed < 0 && r < 5)
            for (int j = 0; j < 5; j++)
                if (relax_order[j] == cumulative[r])
                    relaxed = j;
        /* Leave s.pick on an assignment that fits without the dropped rules. */
        s.mask = C_ALL & ~dropped;
        s.budget = budget;
        if (r >= 5 || !search_run(&s))
            relaxed = -1;
    }
    if (relaxed < 0) {
        for (int i = 0; i < c->n; i++)
            cls->chosen[i] = 0;
        cls->verdict = LG_CYCLE_SINGLE_THREAD;
        cls->budget_hit = true;
        return;
    }
    cls->verdict = verdict_of[relaxed];
    switch (cls->verdict) {
    case LG_CYCLE_GATE:
        cls->gate = common_gate(&s);
        break;
    case LG_CYCLE_TRYLOCK:
        for (int i = 0; i < c->n && cls->edge < 0; i++) {
            const struct lg_edge *e = &m->edges[c->edges[i]];
            bool waited = false;
            for (int k = 0; k < e->nw && !waited; k++)
                waited = !(e->w[k].flags & LG_ACQ_TRY);
            if (!waited)
                cls->edge = i;
        }
        if (cls->edge < 0)
            for (int i = 0; i < c->n && cls->edge < 0; i++)
                if (m->edges[c->edges[i]].w[s.pick[i]].flags & LG_ACQ_TRY)
                    cls->edge = i;
        break;
    case LG_CYCLE_SINGLE_THREAD:
        /* thread_a: a thread that made two edges; thread_b: another one. */
        cls->thread_a = m->edges[c->edges[0]].w[s.pick[0]].thread;
        for (int i = 0; i < c->n; i++)
            for (int j = i + 1; j < c->n; j++)
                if (m->edges[c->edges[i]].w[s.pick[i]].thread ==
                    m->edges[c->edges[j]].w[s.pick[j]].thread)
                    cls->thread_a = m->edges[c->edges[i]].w[s.pick[i]].thread;
        for (int i = 0; i < c->n; i++) {
            int t = m->edges[c->edges[i]].w[s.pick[i]].thread;
            if (t != cls->thread_a)
                cls->thread_b = t;
        }
        break;
    case LG_CYCLE_NO_OVERLAP:
        for (int i = 0; i < c->n && cls->thread_a < 0; i++)
            for (int j = 0; j < c->n && cls->thread_a < 0; j++) {
                int a = m->edges[c->edges[i]].w[s.pick[i]].thread;
                int b = m->edges[c->edges[j]].w[s.pick[j]].thread;
                uint64_t ga = lg_thread_gone(m, a);
                if (a != b && ga && ga <= lg_thread_born(m, b)) {
                    cls->thread_a = a;
                    cls->thread_b = b;
                }
            }
        break;
    case LG_CYCLE_READ_READ:
        for (int i = 0; i < c->n && cls->lock < 0; i++) {
            const struct lg_witness *hold = &m->edges[c->edges[i]].w[s.pick[i]];
            const struct lg_witness *want =
                &m->edges[c->edges[(i + c->n - 1) % c->n]].w[s.pick[(i + c->n - 1) % c->n]];
            if (is_read(m, c->locks[i], hold->held_mode) && is_read(m, c->locks[i], want->mode))
                cls->lock = c->locks[i];
        }
        break;
    default:
        break;
    }
}
