/* SPDX-License-Identifier: MIT */
/* Unit tests of the supervisor's wait-for graph (cli/lg_waitgraph.h):
 * cycles, how sure their edges must be, and the join-before-drain shape. */
#include "lg_trace.h"
#include "lg_waitgraph.h"

#include <criterion/criterion.h>

static int T(struct lg_wg *g, int pid, int tid) { return lg_wg_node(g, LG_WFN_THREAD, pid, tid, 0); }
static int L(struct lg_wg *g, int pid, uint64_t a) { return lg_wg_node(g, LG_WFN_LOCK, pid, 0, a); }
static int P(struct lg_wg *g, int pid) { return lg_wg_node(g, LG_WFN_PROCESS, pid, 0, 0); }
static int Pipe(struct lg_wg *g, uint64_t ino) { return lg_wg_node(g, LG_WFN_PIPE, 0, 0, ino); }

Test(waitgraph, abba_is_a_certain_cycle_starting_at_the_smallest_node)
{
    struct lg_wg g = {0};
    int t1 = T(&g, 10, 11), t2 = T(&g, 10, 12), a = L(&g, 10, 0xa), b = L(&g, 10, 0xb);
    lg_wg_edge(&g, t2, a, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, a, t1, LG_WFE_HOLDS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, t1, b, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, b, t2, LG_WFE_HOLDS, LG_WG_CERTAIN, -1);
    int c[8];
    int n = lg_wg_cycle(&g, -1, LG_WG_CERTAIN, c, 8);
    cr_assert_eq(n, 4);
    cr_assert_eq(c[0], t1);
    cr_assert_eq(c[1], b);
    cr_assert_eq(c[2], t2);
    cr_assert_eq(c[3], a);
    lg_wg_mark_cycle(&g, c, n);
    for (int i = 0; i < g.nedges; i++)
        cr_assert(g.edges[i].on_cycle);
    lg_wg_free(&g);
}

Test(waitgraph, a_chain_is_not_a_cycle)
{
    struct lg_wg g = {0};
    int t1 = T(&g, 1, 1), t2 = T(&g, 1, 2), t3 = T(&g, 1, 3), a = L(&g, 1, 0xa);
    lg_wg_edge(&g, t1, a, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, a, t2, LG_WFE_HOLDS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, t2, t3, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    int c[8];
    cr_assert_eq(lg_wg_cycle(&g, -1, LG_WG_EXPLAIN, c, 8), 0);
    lg_wg_free(&g);
}

Test(waitgraph, a_guessed_owner_does_not_make_a_certain_cycle)
{
    struct lg_wg g = {0};
    int t1 = T(&g, 1, 1), t2 = T(&g, 1, 2), s = L(&g, 1, 0x5), m = L(&g, 1, 0x6);
    lg_wg_edge(&g, t1, s, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, s, t2, LG_WFE_HOLDS, LG_WG_PROBABLE, -1);   /* semaphore's last acquirer */
    lg_wg_edge(&g, t2, m, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, m, t1, LG_WFE_HOLDS, LG_WG_CERTAIN, -1);
    int c[8];
    cr_assert_eq(lg_wg_cycle(&g, -1, LG_WG_CERTAIN, c, 8), 0);
    cr_assert_eq(lg_wg_cycle(&g, -1, LG_WG_PROBABLE, c, 8), 4);
    lg_wg_free(&g);
}

Test(waitgraph, nodes_and_edges_are_deduplicated)
{
    struct lg_wg g = {0};
    int a = T(&g, 1, 1), b = T(&g, 1, 1);
    cr_assert_eq(a, b);
    int x = T(&g, 1, 2);
    int e1 = lg_wg_edge(&g, a, x, LG_WFE_JOINS, LG_WG_EXPLAIN, -1);
    int e2 = lg_wg_edge(&g, a, x, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    cr_assert_eq(e1, e2);
    cr_assert_eq(g.nedges, 1);
    cr_assert_eq(g.edges[0].certainty, LG_WG_CERTAIN);
    lg_wg_free(&g);
}

Test(waitgraph, cycle_through_a_given_node_only)
{
    struct lg_wg g = {0};
    int a = T(&g, 1, 1), b = T(&g, 1, 2), c = T(&g, 1, 3);
    lg_wg_edge(&g, a, b, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, b, a, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, c, a, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    int cy[8];
    cr_assert_eq(lg_wg_cycle(&g, c, LG_WG_EXPLAIN, cy, 8), 0);
    cr_assert_eq(lg_wg_cycle(&g, b, LG_WG_EXPLAIN, cy, 8), 2);
    lg_wg_free(&g);
}

/* The big-put, process form: P waitpid C; C's only thread writes into a
 * pipe whose read end P holds. */
static void bigput_fork(struct lg_wg *g, int extra_reader)
{
    int p = P(g, 100), c = P(g, 101);
    int pt = T(g, 100, 100), ct = T(g, 101, 101), pipe = Pipe(g, 777);
    lg_wg_edge(g, pt, c, LG_WFE_WAITPID, LG_WG_EXPLAIN, -1);
    lg_wg_edge(g, c, ct, LG_WFE_THREAD_OF, LG_WG_EXPLAIN, -1);
    lg_wg_edge(g, p, pt, LG_WFE_THREAD_OF, LG_WG_EXPLAIN, -1);
    lg_wg_edge(g, ct, pipe, LG_WFE_PIPE_WRITE, LG_WG_EXPLAIN, -1);
    lg_wg_edge(g, pipe, p, LG_WFE_READ_END, LG_WG_EXPLAIN, 3);
    if (extra_reader)
        lg_wg_edge(g, pipe, P(g, 555), LG_WFE_READ_END, LG_WG_EXPLAIN, 3);
}

Test(waitgraph, join_before_drain_process_form)
{
    struct lg_wg g = {0};
    bigput_fork(&g, 0);
    struct lg_wg_jbd j;
    cr_assert_eq(lg_wg_join_before_drain(&g, &j), 1);
    cr_assert_eq(g.nodes[j.waiter].tid, 100);
    cr_assert_eq(g.nodes[j.target].kind, LG_WFN_PROCESS);
    cr_assert_eq(g.nodes[j.target].pid, 101);
    cr_assert_eq(g.nodes[j.writer].tid, 101);
    cr_assert_eq(g.nodes[j.pipe].key, 777u);
    int cy[16];
    cr_assert_eq(lg_wg_cycle(&g, j.waiter, LG_WG_EXPLAIN, cy, 16), 5);
    lg_wg_free(&g);
}

Test(waitgraph, no_join_before_drain_when_someone_else_can_read)
{
    struct lg_wg g = {0};
    bigput_fork(&g, 1);      /* process 555, not on the chain, holds a read end too */
    struct lg_wg_jbd j;
    cr_assert_eq(lg_wg_join_before_drain(&g, &j), 0);
    lg_wg_free(&g);
}

/* multiprocessing.Queue: P waitpid C; C's main joins its feeder F through
 * F's tstate semaphore (owned by F); F writes into the pipe P reads. */
Test(waitgraph, join_before_drain_through_a_feeder_thread)
{
    struct lg_wg g = {0};
    int pt = T(&g, 100, 100), c = P(&g, 101), cmain = T(&g, 101, 101), f = T(&g, 101, 103);
    int sem = L(&g, 101, 0x7f00), pipe = Pipe(&g, 42), p = P(&g, 100);
    lg_wg_edge(&g, pt, c, LG_WFE_WAITPID, LG_WG_EXPLAIN, -1);
    lg_wg_edge(&g, c, cmain, LG_WFE_THREAD_OF, LG_WG_EXPLAIN, -1);
    lg_wg_edge(&g, cmain, sem, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, sem, f, LG_WFE_HOLDS, LG_WG_PROBABLE, -1);
    lg_wg_edge(&g, f, pipe, LG_WFE_PIPE_WRITE, LG_WG_EXPLAIN, -1);
    lg_wg_edge(&g, pipe, p, LG_WFE_READ_END, LG_WG_EXPLAIN, 3);
    lg_wg_edge(&g, pipe, c, LG_WFE_READ_END, LG_WG_EXPLAIN, 3);   /* the child kept it too */
    struct lg_wg_jbd j;
    cr_assert_eq(lg_wg_join_before_drain(&g, &j), 1);
    cr_assert_eq(j.waiter, pt);
    cr_assert_eq(j.writer, f);
    lg_wg_free(&g);
}

Test(waitgraph, join_before_drain_thread_form)
{
    struct lg_wg g = {0};
    int m = T(&g, 7, 7), w = T(&g, 7, 8), pipe = Pipe(&g, 9), p = P(&g, 7);
    lg_wg_edge(&g, m, w, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, w, pipe, LG_WFE_PIPE_WRITE, LG_WG_EXPLAIN, -1);
    lg_wg_edge(&g, pipe, p, LG_WFE_READ_END, LG_WG_EXPLAIN, 3);
    struct lg_wg_jbd j;
    cr_assert_eq(lg_wg_join_before_drain(&g, &j), 1);
    cr_assert_eq(j.waiter, m);
    cr_assert_eq(j.target, w);
    cr_assert_eq(j.writer, w);
}

Test(waitgraph, a_reader_blocked_on_its_writer_is_not_join_before_drain)
{
    struct lg_wg g = {0};
    int m = T(&g, 7, 7), w = T(&g, 7, 8), pipe = Pipe(&g, 9), p = P(&g, 7);
    lg_wg_edge(&g, m, pipe, LG_WFE_PIPE_READ, LG_WG_EXPLAIN, -1);
    lg_wg_edge(&g, pipe, p, LG_WFE_WRITE_END, LG_WG_EXPLAIN, 4);
    lg_wg_edge(&g, w, pipe, LG_WFE_PIPE_WRITE, LG_WG_EXPLAIN, -1);
    struct lg_wg_jbd j;
    cr_assert_eq(lg_wg_join_before_drain(&g, &j), 0);
}

Test(waitgraph, long_chain_into_a_ring_finds_the_ring)
{
    struct lg_wg g = {0};
    int prev = T(&g, 1, 1);
    for (int i = 2; i <= 3000; i++) {
        int t = T(&g, 1, i);
        lg_wg_edge(&g, prev, t, LG_WFE_JOINS, LG_WG_CERTAIN, -1);
        prev = t;
    }
    /* 3000 -> 2998 closes a ring of three at the end of the chain. */
    lg_wg_edge(&g, prev, lg_wg_find(&g, LG_WFN_THREAD, 1, 2998, 0), LG_WFE_JOINS, LG_WG_CERTAIN, -1);
    int c[8];
    int n = lg_wg_cycle(&g, -1, LG_WG_CERTAIN, c, 8);
    cr_assert_eq(n, 3);
    cr_assert_eq(g.nodes[c[0]].tid, 2998);
    cr_assert_eq(g.nodes[c[1]].tid, 2999);
    cr_assert_eq(g.nodes[c[2]].tid, 3000);
    cr_assert_eq(lg_wg_cycle(&g, 0, LG_WG_CERTAIN, c, 8), 0, "the chain's head is on no cycle");
    lg_wg_free(&g);
}

Test(waitgraph, a_thread_waiting_on_a_mutex_it_holds_is_a_cycle)
{
    struct lg_wg g = {0};
    int t = T(&g, 1, 1), m = L(&g, 1, 0x10);
    lg_wg_edge(&g, t, m, LG_WFE_WAITS, LG_WG_CERTAIN, -1);
    lg_wg_edge(&g, m, t, LG_WFE_HOLDS, LG_WG_CERTAIN, -1);
    int c[4];
    cr_assert_eq(lg_wg_cycle(&g, -1, LG_WG_CERTAIN, c, 4), 2);
    lg_wg_free(&g);
}
