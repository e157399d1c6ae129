/* SPDX-License-Identifier: MIT */
/* Unit tests: the lock-order graph's adjacency and strongly connected
 * components (analyzer/graph.c). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "lg_analyze.h"

static struct lg_edge *edges_of(const int (*pairs)[2], int n)
{
    struct lg_edge *e = calloc((size_t)n + 1, sizeof(*e));
    for (int i = 0; i < n; i++) {
        e[i].idx = i;
        e[i].from = pairs[i][0];
        e[i].to = pairs[i][1];
    }
    return e;
}

Test(graph, adjacency_lists_out_edges_in_index_order)
{
    static const int p[][2] = { { 0, 1 }, { 2, 0 }, { 0, 2 }, { 1, 2 } };
    struct lg_edge *e = edges_of(p, 4);
    struct lg_graph g;

    cr_assert_eq(lg_graph_build(&g, 3, e, 4), 0);
    cr_assert_eq(g.off[1] - g.off[0], 2, "node 0 has two out-edges");
    cr_assert_eq(g.edge_of[g.off[0]], 0);
    cr_assert_eq(g.edge_of[g.off[0] + 1], 2);
    cr_assert_eq(g.off[2] - g.off[1], 1);
    cr_assert_eq(g.to[g.edge_of[g.off[1]]], 2);
    cr_assert_eq(g.off[3] - g.off[2], 1);
    lg_graph_free(&g);
    free(e);
}

Test(graph, scc_separates_components)
{
    /* {0,1,2} is a ring, {3,4} a pair, 5 hangs off alone. */
    static const int p[][2] = { { 0, 1 }, { 1, 2 }, { 2, 0 }, { 2, 3 }, { 3, 4 }, { 4, 3 }, { 4, 5 } };
    struct lg_edge *e = edges_of(p, 7);
    struct lg_graph g;
    int comp[6], size[6], n;

    cr_assert_eq(lg_graph_build(&g, 6, e, 7), 0);
    cr_assert_eq(lg_graph_scc(&g, comp, size, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(comp[0], comp[1]);
    cr_assert_eq(comp[1], comp[2]);
    cr_assert_eq(comp[3], comp[4]);
    cr_assert_neq(comp[0], comp[3]);
    cr_assert_neq(comp[5], comp[3]);
    cr_assert_eq(size[comp[0]], 3);
    cr_assert_eq(size[comp[3]], 2);
    cr_assert_eq(size[comp[5]], 1);
    lg_graph_free(&g);
    free(e);
}

/* A million-node ring and a million-node chain: a recursive Tarjan would
 * overflow the stack here. */
Test(graph, scc_is_iterative_on_a_million_nodes)
{
    int n = 1000000;
    struct lg_edge *e = calloc((size_t)n, sizeof(*e));
    struct lg_graph g;
    int *comp = malloc((size_t)n * sizeof(int)), *size = malloc((size_t)n * sizeof(int)), nc;

    for (int i = 0; i < n; i++) {
        e[i].from = i;
        e[i].to = (i + 1) % n;
    }
    cr_assert_eq(lg_graph_build(&g, n, e, n), 0);
    cr_assert_eq(lg_graph_scc(&g, comp, size, &nc), 0);
    cr_assert_eq(nc, 1);
    cr_assert_eq(size[0], n);
    lg_graph_free(&g);

    /* Chain: every node its own component. */
    cr_assert_eq(lg_graph_build(&g, n, e, n - 1), 0);
    cr_assert_eq(lg_graph_scc(&g, comp, size, &nc), 0);
    cr_assert_eq(nc, n);
    lg_graph_free(&g);
    free(e);
    free(comp);
    free(size);
}

Test(graph, map_survives_growth_and_collisions)
{
    struct lg_map m = { 0 };
    int v;
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(lg_map_put(&m, (uint64_t)i * 4096, i), 0);
    for (int i = 0; i < 100000; i++) {
        cr_assert(lg_map_get(&m, (uint64_t)i * 4096, &v));
        cr_assert_eq(v, i);
    }
    cr_assert_not(lg_map_get(&m, 4095, &v));
    lg_map_free(&m);
}
