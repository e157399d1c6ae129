/* SPDX-License-Identifier: MIT */
/*
 * lg_sample.h — tiny helpers shared by the C samples: a millisecond sleep
 * and a step counter that orders threads deterministically without taking
 * any lock the tool would see (an atomic int polled with a short sleep), so
 * a sample shows its bug every run without ever hanging by accident.
 *
 * Expectation markers read by tests/e2e/run_e2e.py, in comments:
 *   LG-EXPECT: kind[=severity] ...  a finding of that kind cites this line;
 *                                   severity error unless given, and
 *                                   "downgraded" means warning or note (a
 *                                   cycle that is no deadlock, said why)
 *   LG-ALLOW: kind                  an error of that kind may appear as well
 *   LG-CLEAN                        no finding of severity error, exit 0
 *   LG-HANG                         really hangs: run with --hang-timeout
 */
#ifndef LG_SAMPLE_H
#define LG_SAMPLE_H

#include <stdatomic.h>
#include <time.h>

static inline void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The sample's progress: step_wait(n) returns once some thread has
 * called step_reach(n) (or a later step). */
static atomic_int sample_step;

static inline void step_reach(int n)
{
    atomic_store(&sample_step, n);
}

static inline void step_wait(int n)
{
    while (atomic_load(&sample_step) < n)
        sleep_ms(1);
}

#endif /* LG_SAMPLE_H */
