/* SPDX-License-Identifier: MIT */
/*
 * shim_bench.c — the shim author's own hot-path check (bench/ has the
 * real benchmark): ns per uncontended lock/unlock pair, one lock or two
 * nested, in 1 or 2 threads (each with its own locks).
 *   lg_shim_bench [iterations] [nested 0|1] [threads]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long iters = 20000000;
static int nested = 1;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *run(void *arg)
{
    pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&a);
        if (nested) {
            pthread_mutex_lock(&b);
            pthread_mutex_unlock(&b);
        }
        pthread_mutex_unlock(&a);
    }
    return arg;
}

int main(int argc, char **argv)
{
    if (argc > 1) iters = atol(argv[1]);
    if (argc > 2) nested = atoi(argv[2]);
    int nt = argc > 3 ? atoi(argv[3]) : 1;
    pthread_t th[64];
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    double t0 = now();
    for (int i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, run, NULL);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    double dt = now() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    long pairs = iters * (nested ? 2 : 1);
    /* CPU time per pair per thread is steadier than wall time on a shared machine */
    printf("%.2f ns/pair wall, %.2f ns/pair cpu (%ld pairs per thread, %d thread(s), %s)\n", dt * 1e9 / pairs,
           cpu * 1e9 / pairs / nt, pairs, nt, nested ? "nested" : "single");
    return 0;
}
