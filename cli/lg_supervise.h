/* SPDX-License-Identifier: MIT */
/*
 * lg_supervise.h — the supervisor half of `lockgraph run` (cli/supervise.c):
 * waits for the target tree while watching the shared thread table
 * (trace/lg_threadtable.h) and /proc; on a deadlock or hang, explains it
 * into the output folder, ends the tree, and returns.
 */
#ifndef LG_SUPERVISE_H
#define LG_SUPERVISE_H

#include <sys/types.h>

struct lg_supervise_opts {
    const char *outdir;      /* absolute; holds threads.lgt and the traces */
    double hang_timeout;     /* seconds of total stillness before a hang; <= 0 disables */
    int kill_on_hang;        /* 1: end the tree after a deadlock/hang (default) */
    int quiet;
};

struct lg_supervise_result {
    int status;              /* raw wait status of the root process */
    int hung;                /* 1 if a deadlock or hang was found and the tree was ended */
};

/* Create (truncate) outdir/threads.lgt for the shim to open. 0 or -errno. */
int lg_threadtable_create(const char *outdir, pid_t root_pid_hint);

/* Wait for `root` (already started, with the shim preloaded) and its
 * descendants. Returns 0 and fills *res, or -errno. */
int lg_supervise(pid_t root, const struct lg_supervise_opts *o, struct lg_supervise_result *res);

#endif /* LG_SUPERVISE_H */
