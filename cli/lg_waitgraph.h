/* SPDX-License-Identifier: MIT */
/*
 * lg_waitgraph.h — the supervisor's wait-for graph (implemented in
 * cli/supervise.c): threads, processes, locks and pipes as nodes, "waits
 * for" / "holds" / "joins" / "waits for child" / pipe-end edges, a cycle
 * finder and the join-before-drain finder. Pure data: built from /proc and
 * the thread table by the supervisor, from fixed data by the unit tests.
 * Node and edge kinds are the trace format's (LG_WFN_*, LG_WFE_*).
 */
#ifndef LG_WAITGRAPH_H
#define LG_WAITGRAPH_H

#include <stdint.h>

struct lg_wg_node {
    int kind;                /* enum lg_wf_rec_node_kind */
    int pid, tid;            /* thread: both; process: pid; private lock: pid */
    uint64_t key;            /* lock: address or shared identity hash; pipe: inode */
    int ref;                 /* caller's index (thread record), -1 */
    int on_cycle;
};

/* How sure an edge is. Deadlocks are reported early only through edges
 * of at least LG_WG_PROBABLE (and PROBABLE ones need the tree still). */
enum { LG_WG_EXPLAIN = 0, LG_WG_PROBABLE = 1, LG_WG_CERTAIN = 2 };

struct lg_wg_edge {
    int from, to;
    int kind;                /* enum lg_wf_rec_edge_kind */
    int certainty;
    int fd;                  /* pipe-end edges: the holder's fd, else -1 */
    int on_cycle;
};

struct lg_wg {
    struct lg_wg_node *nodes;
    int nnodes, node_cap;
    struct lg_wg_edge *edges;
    int nedges, edge_cap;
};

struct lg_wg_jbd {
    int waiter;              /* thread node in join/waitpid */
    int target;              /* thread or process node it waits for */
    int writer;              /* thread node blocked writing */
    int pipe;                /* pipe node */
};

/* Find or add a node (same kind, pid, tid, key: same node). Index or -1. */
int lg_wg_node(struct lg_wg *g, int kind, int pid, int tid, uint64_t key);
/* Add an edge unless the same (from, to, kind) exists (then raise its
 * certainty). Index or -1. */
int lg_wg_edge(struct lg_wg *g, int from, int to, int kind, int certainty, int fd);
/* Index of an existing node, or -1. */
int lg_wg_find(const struct lg_wg *g, int kind, int pid, int tid, uint64_t key);
void lg_wg_free(struct lg_wg *g);

/* A cycle using only edges of at least min_certainty. When start >= 0,
 * only a cycle through that node; else the one through the smallest node
 * that has one. Node indexes go to out (at most max), in wait-for order,
 * starting at the smallest index on the cycle. Returns its length, 0 if
 * none. */
int lg_wg_cycle(const struct lg_wg *g, int start, int min_certainty, int *out, int max);

/* Mark out[0..n) and the edges between consecutive nodes as on_cycle. */
void lg_wg_mark_cycle(struct lg_wg *g, const int *cyc, int n);

/* Join-before-drain: a thread that joins/waitpids a target from which,
 * through joins, child waits, a process's threads and lock owners, a thread
 * is reached that is blocked writing into a pipe whose read end is held by
 * the waiter's process (and otherwise only by processes on that chain).
 * Returns 1 and fills *j for the first such waiter, else 0. */
int lg_wg_join_before_drain(const struct lg_wg *g, struct lg_wg_jbd *j);

#endif /* LG_WAITGRAPH_H */
