/* SPDX-License-Identifier: MIT */
/*
 * graph.c — the lock-order graph: adjacency, strongly connected
 * components (Tarjan, iterative: graphs may hold millions of locks) and
 * elementary cycles inside them (the shortest cycle through each edge,
 * each cycle kept once in its canonical rotation). Sits between the loader
 * (edges) and classification (which cycles are deadlocks).
 */
#include "lg_analyze.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lg_graph_build(struct lg_graph *g, int nnodes, const struct lg_edge *edges, int nedges)
{
    memset(g, 0, sizeof(*g));
    g->nnodes = nnodes;
    g->nedges = nedges;
    g->off = calloc((size_t)nnodes + 2, sizeof(int));
    g->edge_of = malloc(((size_t)nedges + 1) * sizeof(int));
    g->to = malloc(((size_t)nedges + 1) * sizeof(int));
    g->from = malloc(((size_t)nedges + 1) * sizeof(int));
    if (!g->off || !g->edge_of || !g->to || !g->from) {
        lg_graph_free(g);
        return -ENOMEM;
    }
    for (int e = 0; e < nedges; e++) {
        g->to[e] = edges[e].to;
        g->from[e] = edges[e].from;
        g->off[edges[e].from + 1]++;
    }
    for (int v = 0; v < nnodes; v++)
        g->off[v + 1] += g->off[v];
    int *pos = malloc(((size_t)nnodes + 1) * sizeof(int));
    if (!pos) {
        lg_graph_free(g);
        return -ENOMEM;
    }
    memcpy(pos, g->off, (size_t)nnodes * sizeof(int));
    /* Edges in index order within each node: deterministic traversal. */
    for (int e = 0; e < nedges; e++)
        g->edge_of[pos[edges[e].from]++] = e;
    free(pos);
    return 0;
}

void lg_graph_free(struct lg_graph *g)
{
    free(g->off);
    free(g->edge_of);
    free(g->to);
    free(g->from);
    memset(g, 0, sizeof(*g));
}

int lg_graph_scc(const struct lg_graph *g, int *comp, int *size, int *ncomp)
{
    int n = g->nnodes;
    int *index = malloc(((size_t)n + 1) * sizeof(int));
    int *low = malloc(((size_t)n + 1) * sizeof(int));
    int *it = malloc(((size_t)n + 1) * sizeof(int));
    int *calls = malloc(((size_t)n + 1) * sizeof(int));
    int *stack = malloc(((size_t)n + 1) * sizeof(int));
    char *on = calloc((size_t)n + 1, 1);
    int counter = 0, nc = 0, sp = 0;

    if (!index || !low || !it || !calls || !stack || !on) {
        free(index); free(low); free(it); free(calls); free(stack); free(on);
        return -ENOMEM;
    }
    for (int v = 0; v < n; v++)
        index[v] = -1;
    for (int root = 0; root < n; root++) {
        if (index[root] >= 0)
            continue;
        int cp = 0;
        calls[cp++] = root;
        index[root] = low[root] = counter++;
        it[root] = g->off[root];
        stack[sp++] = root;
        on[root] = 1;
        while (cp) {
            int v = calls[cp - 1];
            if (it[v] < g->off[v + 1]) {
                int w = g->to[g->edge_of[it[v]++]];
                if (index[w] < 0) {
                    index[w] = low[w] = counter++;
                    it[w] = g->off[w];
                    stack[sp++] = w;
                    on[w] = 1;
                    calls[cp++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                int w, sz = 0;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = nc;
                    sz++;
                } while (w != v);
                size[nc++] = sz;
            }
            cp--;
            if (cp) {
                int u = calls[cp - 1];
                if (low[v] < low[u])
                    low[u] = low[v];
            }
        }
    }
    *ncomp = nc;
    free(index); free(low); free(it); free(calls); free(stack); free(on);
    return 0;
}

struct cycle_set {
    struct lg_cycle *c;
    int n, cap;
    struct lg_map seen;   /* hash of the canonical lock sequence -> index */
};

static uint64_t seq_hash(const int *locks, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++)
        h = lg_mix64(h ^ (uint64_t)(uint32_t)locks[i]);
    return h;
}

/* Add the cycle (locks/edges in path order) in canonical rotation unless
 * it is already there. */
static int cycle_add(struct cycle_set *cs, const int *locks, const int *edges, int n)
{
    int start = 0, idx;

    for (int i = 1; i < n; i++)
        if (locks[i] < locks[start])
            start = i;
    int *cl = malloc((size_t)n * sizeof(int)), *ce = malloc((size_t)n * sizeof(int));
    if (!cl || !ce) {
        free(cl);
        free(ce);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        cl[i] = locks[(start + i) % n];
        ce[i] = edges[(start + i) % n];
    }
    uint64_t h = seq_hash(cl, n);
    for (;;) {
        if (!lg_map_get(&cs->seen, h, &idx))
            break;
        if (cs->c[idx].n == n && memcmp(cs->c[idx].locks, cl, (size_t)n * sizeof(int)) == 0) {
            free(cl);
            free(ce);
            return 0;
        }
        h = lg_mix64(h + 1);
    }
    if (lg_grow((void **)&cs->c, &cs->cap, cs->n + 1, sizeof(*cs->c)) < 0 ||
        lg_map_put(&cs->seen, h, cs->n) < 0) {
        free(cl);
        free(ce);
        return -ENOMEM;
    }
    cs->c[cs->n++] = (struct lg_cycle){ n, cl, ce };
    return 1;
}

static int cycle_cmp(const void *a, const void *b)
{
    const struct lg_cycle *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    for (int i = 0; i < x->n; i++)
        if (x->locks[i] != y->locks[i])
            return x->locks[i] < y->locks[i] ? -1 : 1;
    return 0;
}

int lg_cycles_find(const struct lg_graph *g, const int *comp, const int *size,
                   const int *order, long budget, struct lg_cycle **out, int *nout,
                   bool *truncated)
{
    int n = g->nnodes, rc = 0;
    struct cycle_set cs = { 0 };
    struct lg_map edge_at = { 0 };   /* (from, to) -> edge, inside components */
    int *stamp = calloc((size_t)n + 1, sizeof(int));
    int *via = malloc(((size_t)n + 1) * sizeof(int));     /* BFS: edge that reached a node */
    int *queue = malloc(((size_t)n + 1) * sizeof(int));
    int *pl = NULL, *pe = NULL, cap_path = 0;

    *out = NULL;
    *nout = 0;
    *truncated = false;
    if (!stamp || !via || !queue) {
        rc = -ENOMEM;
        goto out;
    }
    /* Two-lock cycles first, all of them, at O(1) each: the common
     * inversion must never wait behind a budget spent elsewhere. */
    for (int e = 0; e < g->nedges; e++) {
        int u = g->from[e], v = g->to[e];
        if (u == v || comp[u] != comp[v] || size[comp[u]] < 2)
            continue;
        rc = lg_map_put(&edge_at, (uint64_t)(uint32_t)u << 32 | (uint32_t)v, e);
        if (rc < 0)
            goto out;
    }
    for (int e = 0; e < g->nedges; e++) {
        int u = g->from[e], v = g->to[e], back;
        if (u >= v || comp[u] != comp[v] || size[comp[u]] < 2)
            continue;
        if (lg_map_get(&edge_at, (uint64_t)(uint32_t)v << 32 | (uint32_t)u, &back)) {
            int pl2[2] = { u, v }, pe2[2] = { e, back };
            rc = cycle_add(&cs, pl2, pe2, 2);
            if (rc < 0)
                goto out;
        }
    }
    rc = 0;
    /* Then the shortest cycle through every other edge, in the caller's
     * order of interest, while the budget lasts. */
    for (int k = 0; k < g->nedges; k++) {
        int e = order ? order[k] : k;
        if (e < 0)
            break;   /* the order ends early: the rest cannot be on a cycle */
        int u = g->from[e], v = g->to[e], back;
        if (u == v || comp[u] != comp[v] || size[comp[u]] < 2)
            continue;
        if (lg_map_get(&edge_at, (uint64_t)(uint32_t)v << 32 | (uint32_t)u, &back))
            continue;   /* its shortest cycle is the two-lock one above */
        if (budget <= 0) {
            *truncated = true;
            break;
        }
        /* Shortest path v -> u inside the component, then close with e. */
        int head = 0, tail = 0, mark = e + 1;
        bool found = (v == u);
        queue[tail++] = v;
        stamp[v] = mark;
        via[v] = -1;
        while (head < tail && !found) {
            int x = queue[head++];
            for (int k = g->off[x]; k < g->off[x + 1]; k++) {
                int f = g->edge_of[k], y = g->to[f];
                budget--;
                if (comp[y] != comp[u] || stamp[y] == mark)
                    continue;
                stamp[y] = mark;
                via[y] = f;
                if (y == u) {
                    found = true;
                    break;
                }
                queue[tail++] = y;
            }
        }
        if (!found)
            continue;
        /* Walk back from u to v: the path's edges in reverse. */
        int len = 1;
        for (int x = u; x != v; x = g->from[via[x]])
            len++;
        if (len > cap_path) {
            cap_path = len * 2;
            free(pl);
            free(pe);
            pl = malloc((size_t)cap_path * sizeof(int));
            pe = malloc((size_t)cap_path * sizeof(int));
            if (!pl || !pe) {
                rc = -ENOMEM;
                goto out;
            }
        }
        pl[0] = u;
        pe[0] = e;
        int k = len - 1;
        for (int x = u; x != v; x = g->from[via[x]]) {
            pe[k] = via[x];
            pl[k] = g->from[via[x]];
            k--;
        }
        rc = cycle_add(&cs, pl, pe, len);
        if (rc < 0)
            goto out;
        rc = 0;
    }
    if (cs.n > 1)
        qsort(cs.c, (size_t)cs.n, sizeof(*cs.c), cycle_cmp);
    *out = cs.c;
    *nout = cs.n;
    cs.c = NULL;
    cs.n = 0;
out:
    lg_cycles_free(cs.c, cs.n);
    lg_map_free(&cs.seen);
    lg_map_free(&edge_at);
    free(stamp);
    free(via);
    free(queue);
    free(pl);
    free(pe);
    return rc;
}

void lg_cycles_free(struct lg_cycle *c, int n)
{
    for (int i = 0; i < n; i++) {
        free(c[i].locks);
        free(c[i].edges);
    }
    free(c);
}
