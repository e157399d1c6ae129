/* SPDX-License-Identifier: MIT */
/*
 * philosophers_ordered.c — clean twin of philosophers.c: every
 * philosopher takes the lower-numbered of its two forks first (Dijkstra's
 * resource ordering), so philosopher 4 takes fork 0 before fork 4 and the
 * lock-order graph has no cycle. They eat concurrently, many times. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

#define N 5
#define MEALS 200

static pthread_mutex_t fork_at[N];
static int meals[N];

static void *philosopher(void *arg)
{
    int i = (int)(long)arg;
    int left = i, right = (i + 1) % N;
    int first = left < right ? left : right;
    int second = left < right ? right : left;

    for (int m = 0; m < MEALS; m++) {
        pthread_mutex_lock(&fork_at[first]);
        pthread_mutex_lock(&fork_at[second]);
        meals[i]++;
        pthread_mutex_unlock(&fork_at[second]);
        pthread_mutex_unlock(&fork_at[first]);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        pthread_mutex_init(&fork_at[i], NULL);
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, philosopher, (void *)(long)i);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    int total = 0;
    for (int i = 0; i < N; i++)
        total += meals[i];
    printf("philosophers_ordered: %d meals\n", total);
    return 0;
}
