/* SPDX-License-Identifier: MIT */
/*
 * threads.c — many threads: 10,000 created over the run, in waves of
 * 1,000 alive at once (each wave meets at a barrier before any of it
 * exits). Each thread takes two locks in a fixed order. Correct: every
 * thread ran, the sum is right, no finding.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WAVES 10
#define ALIVE 1000

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_alive;
static long sum;

static void *body(void *arg)
{
    pthread_barrier_wait(&all_alive);   /* all ALIVE threads of the wave exist now */
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    sum += (long)arg;
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    return NULL;
}

int main(void)
{
    static pthread_t th[ALIVE];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    long expect = 0, created = 0;
    for (int w = 0; w < WAVES; w++) {
        pthread_barrier_init(&all_alive, NULL, ALIVE);
        for (long i = 0; i < ALIVE; i++) {
            long v = w * ALIVE + i;
            int e = pthread_create(&th[i], &attr, body, (void *)v);
            if (e != 0) {
                fprintf(stderr, "pthread_create #%ld failed: %d\n", created, e);
                return 2;
            }
            expect += v;
            created++;
        }
        for (int i = 0; i < ALIVE; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&all_alive);
    }
    printf("%ld threads created, %d alive at once, sum %s\n", created, ALIVE, sum == expect ? "right" : "WRONG");
    return sum == expect ? 0 : 1;
}
