/* SPDX-License-Identifier: MIT */
/*
 * fixtures.h — small models built by hand for the viz/ tests: no trace,
 * no analyzer, only lg_model.h, so the pictures are tested on their own.
 */
#ifndef LG_VIZ_FIXTURES_H
#define LG_VIZ_FIXTURES_H

#include "lg_model.h"

struct lg_model *fx_new(void);
void fx_free(struct lg_model *m);
int fx_proc(struct lg_model *m, int pid, const char *exe);
int fx_thread(struct lg_model *m, int proc, const char *name);
int fx_lock(struct lg_model *m, const char *name);
/* An edge from -> to made by `thread`, `to` taken at file:line (the user
 * frame of acquired_at), `from` taken two lines earlier. */
int fx_edge(struct lg_model *m, int from, int to, int thread, const char *file, int line);
/* A cycle through locks[0..n-1], step i made by threads[i], with its
 * locations and stacks from the witnesses. */
int fx_cycle(struct lg_model *m, enum lg_finding_kind kind, enum lg_severity sev, const char *msg,
             const int *locks, const int *threads, int n);
int fx_finding(struct lg_model *m, enum lg_finding_kind kind, enum lg_severity sev,
               const char *msg);
void fx_add_loc(struct lg_model *m, int finding, const char *file, int line, const char *func);
void fx_add_step(struct lg_model *m, int finding, int lock, int thread);
void fx_add_thread(struct lg_model *m, int finding, int thread);
int fx_wf_node(struct lg_model *m, enum lg_wf_node_kind kind, const char *label, int process,
               bool on_cycle);
void fx_wf_edge(struct lg_model *m, int from, int to, enum lg_wf_edge_kind kind, const char *label,
                bool on_cycle);

/* The models the tests and the sample writer share. */
struct lg_model *fx_abba(void);          /* 2-lock error cycle */
struct lg_model *fx_philosophers(int n); /* n-lock error cycle */
struct lg_model *fx_warning(void);       /* a warning cycle only */
struct lg_model *fx_bystander(void);     /* abba + a lock on no cycle */
struct lg_model *fx_big(int nlocks);     /* a chain of nlocks and a few cycles */
struct lg_model *fx_hang(void);          /* wait-for graph over two processes */
struct lg_model *fx_mixed(void);         /* one finding of many kinds */

#endif
