/* SPDX-License-Identifier: MIT */
/*
 * lg_hang.h — hang and join-before-drain findings (analyzer/hang.c): reads
 * what the supervisor wrote into the trace folder when the run hung, and
 * the pipe records of the traces for join-before-drain risks, and adds
 * findings (and m->waitfor) to the model. Called at the end of
 * lg_model_load, after locks, threads and processes are known.
 */
#ifndef LG_HANG_H
#define LG_HANG_H

struct lg_model;
int lg_analyze_hang(struct lg_model *m);

#endif /* LG_HANG_H */
