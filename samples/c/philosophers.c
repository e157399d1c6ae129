/* SPDX-License-Identifier: MIT */
/*
 * philosophers.c — five dining philosophers, each takes the fork on the
 * left, then the one on the right. Philosopher 4's right fork is fork 0,
 * so the forks form a lock-order cycle of length five: if all five picked
 * up their left fork at once, none could ever eat. This run staggers the
 * meals (philosopher i eats only after i-1 has finished), so it ends;
 * the cycle is still there. Clean twin: philosophers_ordered.c.
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

#define N 5

static pthread_mutex_t fork_at[N];
static int meals[N];

static void *philosopher(void *arg)
{
    int i = (int)(long)arg;
    int left = i, right = (i + 1) % N;

    step_wait(i);
    pthread_mutex_lock(&fork_at[left]);
    pthread_mutex_lock(&fork_at[right]); /* LG-EXPECT: lock-order-cycle */
    meals[i]++;
    pthread_mutex_unlock(&fork_at[right]);
    pthread_mutex_unlock(&fork_at[left]);
    step_reach(i + 1);
    step_wait(N);                /* the table stays set until all have eaten */
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
    printf("philosophers: %d meals\n", total);
    return 0;
}
