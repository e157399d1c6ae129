/* SPDX-License-Identifier: MIT */
/* Unit tests: elementary cycles of the lock-order graph (analyzer/graph.c):
 * any length, each once, in canonical rotation. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "lg_analyze.h"

struct found {
    struct lg_cycle *c;
    int n;
    bool truncated;
};

static struct found cycles_of(const int (*pairs)[2], int nedges, int nnodes, long budget)
{
    struct lg_edge *e = calloc((size_t)nedges + 1, sizeof(*e));
    struct lg_graph g;
    int *comp = malloc((size_t)nnodes * sizeof(int)), *size = malloc((size_t)nnodes * sizeof(int));
    int nc;
    struct found f = { 0 };

    for (int i = 0; i < nedges; i++) {
        e[i].idx = i;
        e[i].from = pairs[i][0];
        e[i].to = pairs[i][1];
    }
    cr_assert_eq(lg_graph_build(&g, nnodes, e, nedges), 0);
    cr_assert_eq(lg_graph_scc(&g, comp, size, &nc), 0);
    cr_assert_eq(lg_cycles_find(&g, comp, size, NULL, budget, &f.c, &f.n, &f.truncated), 0);
    lg_graph_free(&g);
    free(comp);
    free(size);
    free(e);
    return f;
}

Test(cycles, long_cycle_of_100_locks)
{
    int (*p)[2] = malloc(100 * sizeof(*p));
    /* Ring 37 -> 38 -> ... -> 99 -> 0 -> ... -> 36 -> 37, edges in scrambled order. */
    for (int i = 0; i < 100; i++) {
        int from = (i * 37) % 100;
        p[i][0] = from;
        p[i][1] = (from + 1) % 100;
    }
    struct found f = cycles_of((const int (*)[2])p, 100, 100, 1000000);
    cr_assert_eq(f.n, 1, "a ring is one cycle, found %d", f.n);
    cr_assert_eq(f.c[0].n, 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(f.c[0].locks[i], i, "rotation starts at the smallest lock");
    for (int i = 0; i < 100; i++) {
        int e = f.c[0].edges[i];
        cr_assert_eq(p[e][0], i);
        cr_assert_eq(p[e][1], (i + 1) % 100);
    }
    cr_assert_not(f.truncated);
    lg_cycles_free(f.c, f.n);
    free(p);
}

Test(cycles, two_cycles_sharing_an_edge)
{
    /* A=0 B=1 C=2: A->B shared by A->B->A and A->B->C->A. */
    static const int p[][2] = { { 0, 1 }, { 1, 0 }, { 1, 2 }, { 2, 0 } };
    struct found f = cycles_of(p, 4, 3, 1000000);
    cr_assert_eq(f.n, 2);
    cr_assert_eq(f.c[0].n, 2);
    cr_assert_eq(f.c[0].locks[0], 0);
    cr_assert_eq(f.c[0].locks[1], 1);
    cr_assert_eq(f.c[1].n, 3);
    cr_assert_eq(f.c[1].locks[0], 0);
    cr_assert_eq(f.c[1].locks[1], 1);
    cr_assert_eq(f.c[1].locks[2], 2);
    cr_assert_eq(f.c[0].edges[0], f.c[1].edges[0], "both use edge A->B");
    lg_cycles_free(f.c, f.n);
}

Test(cycles, acyclic_graph_has_no_cycle)
{
    /* A diamond plus a self-loop (a recursive relock is not an order). */
    static const int p[][2] = { { 0, 1 }, { 0, 2 }, { 1, 3 }, { 2, 3 }, { 3, 3 } };
    struct found f = cycles_of(p, 5, 4, 1000000);
    cr_assert_eq(f.n, 0);
    lg_cycles_free(f.c, f.n);
}

Test(cycles, component_with_only_long_ways_round)
{
    /* One component, no two-lock inversion: 0->1->2->0 and 2->3->0. */
    static const int p[][2] = { { 0, 1 }, { 1, 2 }, { 2, 0 }, { 2, 3 }, { 3, 0 } };
    struct found f = cycles_of(p, 5, 4, 1000000);
    cr_assert_eq(f.n, 2);
    cr_assert_eq(f.c[0].n, 3);
    cr_assert_eq(f.c[1].n, 4);
    cr_assert_eq(f.c[1].locks[0], 0);
    cr_assert_eq(f.c[1].locks[3], 3);
    lg_cycles_free(f.c, f.n);
}

Test(cycles, rotation_starts_at_smallest_lock)
{
    static const int p[][2] = { { 5, 3 }, { 3, 7 }, { 7, 5 } };
    struct found f = cycles_of(p, 3, 8, 1000000);
    cr_assert_eq(f.n, 1);
    cr_assert_eq(f.c[0].locks[0], 3);
    cr_assert_eq(f.c[0].locks[1], 7);
    cr_assert_eq(f.c[0].locks[2], 5);
    lg_cycles_free(f.c, f.n);
}

Test(cycles, budget_stops_a_dense_search)
{
    /* 60 locks, each ordered before the next 20 (mod 60): one component,
     * thousands of edges, no two-lock cycle. A tiny budget must stop the
     * search early and say so. */
    int n = 60, k = 0;
    int (*p)[2] = malloc((size_t)n * 20 * sizeof(*p));
    for (int i = 0; i < n; i++)
        for (int st = 1; st <= 20; st++) {
            p[k][0] = i;
            p[k][1] = (i + st) % n;
            k++;
        }
    struct found f = cycles_of((const int (*)[2])p, k, n, 500);
    cr_assert(f.truncated);
    lg_cycles_free(f.c, f.n);
    f = cycles_of((const int (*)[2])p, k, n, 100000000);
    cr_assert_not(f.truncated);
    cr_assert_gt(f.n, 0);
    for (int i = 0; i < f.n; i++)
        cr_assert_geq(f.c[i].n, 3);
    lg_cycles_free(f.c, f.n);
    free(p);
}

Test(cycles, every_two_lock_cycle_whatever_the_budget)
{
    /* A complete graph on 60 locks: 1770 two-lock cycles, found even with
     * no budget at all for the longer search. */
    int n = 60, k = 0;
    int (*p)[2] = malloc((size_t)n * n * sizeof(*p));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j) {
                p[k][0] = i;
                p[k][1] = j;
                k++;
            }
    struct found f = cycles_of((const int (*)[2])p, k, n, 0);
    cr_assert_eq(f.n, n * (n - 1) / 2);
    lg_cycles_free(f.c, f.n);
    free(p);
}
