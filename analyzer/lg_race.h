/* SPDX-License-Identifier: MIT */
/*
 * lg_race.h — lock-discipline races on shared files (analyzer/race.c):
 * reads the file-access records (kinds 40-49) of the trace folder, and
 * adds a `lock-discipline-race` finding for every regular file that two
 * actors (threads or processes) read and wrote concurrently with no lock
 * held in common, with the file's sessions (lg_finding.sessions) for the
 * diagram. Called at the end of lg_model_load, after the model's
 * processes, threads, locks and stacks are known and symbolized.
 */
#ifndef LG_RACE_H
#define LG_RACE_H

#include <stdbool.h>
#include <stdint.h>

struct lg_model;

/* 0 (findings added to m, or none), or a negative errno. */
int lg_analyze_races(struct lg_model *m);

/* --- the decision core, exposed for the unit tests ------------------- */

/* A lock held at an access, normalized across trace files. */
struct lg_race_lock {
    uint64_t key;          /* identity: shared object, or process-local lock, or file */
    int64_t start, len;    /* POSIX/OFD record locks: byte range (len 0: to EOF; start -1: unknown) */
    uint16_t kind;         /* enum lg_io_lock_kind */
    uint16_t mode;         /* enum lg_acq_mode */
    bool inherited;        /* a private lock copied by fork: not named in reports */
};

/* 1 when the two held sets share a lock that excludes (not both read mode;
 * record locks only when their ranges overlap). */
bool lg_race_common_lock(const struct lg_race_lock *a, int na, const struct lg_race_lock *b,
                         int nb);

#endif /* LG_RACE_H */
