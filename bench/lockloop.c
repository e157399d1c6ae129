/* SPDX-License-Identifier: MIT */
/*
 * lockloop.c — the lock-heavy microbenchmark: two threads, each a loop of
 * uncontended nested pairs on its own two mutexes (lock outer, lock inner,
 * unlock inner, unlock outer). Every lock/unlock pair is the hot path of
 * an interposer; nothing is contended, so the figure is pure overhead.
 *
 *   lockloop [iterations per thread]     (default 5,000,000; 2 pairs each)
 *
 * Prints the program's own measure: nanoseconds per lock/unlock pair,
 * averaged over the two threads, timed from a common start to each
 * thread's end (thread creation and exit excluded).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 2

/* Each thread's locks on their own cache lines: no false sharing, so the
 * threads never slow each other down natively. */
struct worker {
    pthread_mutex_t outer __attribute__((aligned(64)));
    pthread_mutex_t inner __attribute__((aligned(64)));
    long iterations;
    double ns;
} __attribute__((aligned(64)));

static pthread_barrier_t start_line;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *loop(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&start_line);
    double t0 = now_ns();
    for (long i = 0; i < w->iterations; i++) {
        pthread_mutex_lock(&w->outer);
        pthread_mutex_lock(&w->inner);
        pthread_mutex_unlock(&w->inner);
        pthread_mutex_unlock(&w->outer);
    }
    w->ns = now_ns() - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 5000000L;
    if (iterations <= 0) {
        fprintf(stderr, "usage: lockloop [iterations per thread]\n");
        return 2;
    }
    static struct worker w[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_init(&start_line, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        pthread_mutex_init(&w[i].outer, NULL);
        pthread_mutex_init(&w[i].inner, NULL);
        w[i].iterations = iterations;
        pthread_create(&t[i], NULL, loop, &w[i]);
    }
    double sum = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        sum += w[i].ns / (2.0 * iterations);
    }
    printf("lockloop: %d threads x %ld nested iterations: ns_per_pair %.2f\n",
           THREADS, iterations, sum / THREADS);
    return 0;
}
