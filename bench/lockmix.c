/* SPDX-License-Identifier: MIT */
/*
 * lockmix.c — lock-heavy shapes beside lockloop's two nested mutex pairs,
 * so the overhead goal is checked on more than one program: each thread
 * loops over its own locks (uncontended) and times itself; the figure is
 * the program's own nanoseconds per lock/unlock pair.
 *
 *   lockmix SHAPE [iterations per thread]
 *
 *   flat1     1 thread, one mutex locked and unlocked
 *   flat4     4 threads, one mutex each
 *   deep3     2 threads, three nested mutexes
 *   ring64    2 threads, 64 mutexes each, taken as overlapping pairs
 *             (i, i+1): 64 distinct dependencies per thread
 *   trylock   2 threads, nested pairs, the inner one by trylock
 *   rwlock    2 threads, nested write lock then read lock
 *   spin      2 threads, nested spinlock pairs
 *   recursive 2 threads, a recursive mutex taken twice, nested
 *   errcheck  2 threads, nested error-checking mutexes
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 64

struct worker {
    pthread_mutex_t m[RING] __attribute__((aligned(64)));
    pthread_rwlock_t rw[2];
    pthread_spinlock_t sp[2];
    long iterations;
    long pairs;
    double ns;
} __attribute__((aligned(64)));

static pthread_barrier_t start_line;
static const char *shape;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *loop(void *arg)
{
    struct worker *w = arg;
    long n = w->iterations;
    pthread_barrier_wait(&start_line);
    double t0 = now_ns();
    if (!strcmp(shape, "flat1") || !strcmp(shape, "flat4")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&w->m[0]);
            pthread_mutex_unlock(&w->m[0]);
        }
        w->pairs = n;
    } else if (!strcmp(shape, "deep3")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&w->m[0]);
            pthread_mutex_lock(&w->m[1]);
            pthread_mutex_lock(&w->m[2]);
            pthread_mutex_unlock(&w->m[2]);
            pthread_mutex_unlock(&w->m[1]);
            pthread_mutex_unlock(&w->m[0]);
        }
        w->pairs = 3 * n;
    } else if (!strcmp(shape, "ring64")) {
        for (long i = 0; i < n; i++) {
            int a = (int)(i % (RING - 1));
            pthread_mutex_lock(&w->m[a]);
            pthread_mutex_lock(&w->m[a + 1]);
            pthread_mutex_unlock(&w->m[a + 1]);
            pthread_mutex_unlock(&w->m[a]);
        }
        w->pairs = 2 * n;
    } else if (!strcmp(shape, "trylock")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&w->m[0]);
            if (pthread_mutex_trylock(&w->m[1]) == 0)
                pthread_mutex_unlock(&w->m[1]);
            pthread_mutex_unlock(&w->m[0]);
        }
        w->pairs = 2 * n;
    } else if (!strcmp(shape, "rwlock")) {
        for (long i = 0; i < n; i++) {
            pthread_rwlock_wrlock(&w->rw[0]);
            pthread_rwlock_rdlock(&w->rw[1]);
            pthread_rwlock_unlock(&w->rw[1]);
            pthread_rwlock_unlock(&w->rw[0]);
        }
        w->pairs = 2 * n;
    } else if (!strcmp(shape, "spin")) {
        for (long i = 0; i < n; i++) {
            pthread_spin_lock(&w->sp[0]);
            pthread_spin_lock(&w->sp[1]);
            pthread_spin_unlock(&w->sp[1]);
            pthread_spin_unlock(&w->sp[0]);
        }
        w->pairs = 2 * n;
    } else if (!strcmp(shape, "recursive") || !strcmp(shape, "errcheck")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&w->m[0]);
            pthread_mutex_lock(&w->m[1]);
            pthread_mutex_unlock(&w->m[1]);
            pthread_mutex_unlock(&w->m[0]);
        }
        w->pairs = 2 * n;
    }
    w->ns = now_ns() - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *shapes[] = {"flat1", "flat4", "deep3", "ring64", "trylock",
                                   "rwlock", "spin", "recursive", "errcheck"};
    shape = argc > 1 ? argv[1] : "";
    int known = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        known |= !strcmp(shape, shapes[i]);
    long iterations = argc > 2 ? atol(argv[2]) : 2000000L;
    if (!known || iterations <= 0) {
        fprintf(stderr, "usage: lockmix flat1|flat4|deep3|ring64|trylock|rwlock|spin|recursive|errcheck "
                        "[iterations per thread]\n");
        return 2;
    }
    int threads = !strcmp(shape, "flat1") ? 1 : !strcmp(shape, "flat4") ? 4 : 2;
    static struct worker w[4];
    pthread_t t[4];
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (!strcmp(shape, "recursive"))
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    else if (!strcmp(shape, "errcheck"))
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_barrier_init(&start_line, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) {
        for (int k = 0; k < RING; k++)
            pthread_mutex_init(&w[i].m[k], &attr);
        for (int k = 0; k < 2; k++) {
            pthread_rwlock_init(&w[i].rw[k], NULL);
            pthread_spin_init(&w[i].sp[k], PTHREAD_PROCESS_PRIVATE);
        }
        w[i].iterations = iterations;
    }
    if (threads == 1) {
        pthread_barrier_destroy(&start_line);
        pthread_barrier_init(&start_line, NULL, 1);
        loop(&w[0]);
    } else {
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, loop, &w[i]);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
    }
    double sum = 0;
    for (int i = 0; i < threads; i++)
        sum += w[i].ns / (double)w[i].pairs;
    printf("lockmix: %s, %d threads x %ld iterations: ns_per_pair %.2f\n", shape, threads, iterations,
           sum / threads);
    return 0;
}
