/* SPDX-License-Identifier: MIT */
/*
 * abba_hang.c — the AB/BA inversion that really deadlocks: each thread
 * takes its first lock, both meet at a barrier, then each asks for the
 * lock the other holds. Every run hangs; under `lockgraph run` the
 * supervisor sees the cycle of owned locks, explains it and ends the run.
 * LG-HANG  LG-ALLOW: hang lock-order-cycle
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static void *left(void *arg)
{
    pthread_mutex_lock(&mutexA);
    pthread_barrier_wait(&both_hold_one);
    pthread_mutex_lock(&mutexB); /* LG-EXPECT: deadlock */
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&mutexA);
    return NULL;
}

static void *right(void *arg)
{
    pthread_mutex_lock(&mutexB);
    pthread_barrier_wait(&both_hold_one);
    pthread_mutex_lock(&mutexA); /* LG-EXPECT: deadlock */
    pthread_mutex_unlock(&mutexA);
    pthread_mutex_unlock(&mutexB);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_barrier_init(&both_hold_one, NULL, 2);
    pthread_create(&t1, NULL, left, NULL);
    pthread_create(&t2, NULL, right, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    puts("abba_hang: not reached");
    return 0;
}
