/* SPDX-License-Identifier: MIT */
/*
 * ordered.c — clean twin of abba.c: both threads move money in both
 * directions, but always take mutexA before mutexB, so the lock-order
 * graph has the single edge A -> B and no cycle. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static int balance_a = 100, balance_b = 100;

/* Move amount from A to B (negative: from B to A), in the one global order. */
static void move(int amount)
{
    pthread_mutex_lock(&mutexA);
    pthread_mutex_lock(&mutexB);
    balance_a -= amount;
    balance_b += amount;
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&mutexA);
}

static void *a_to_b(void *arg)
{
    for (int i = 0; i < 1000; i++)
        move(1);
    return NULL;
}

static void *b_to_a(void *arg)
{
    for (int i = 0; i < 1000; i++)
        move(-1);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, a_to_b, NULL);
    pthread_create(&t2, NULL, b_to_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("ordered: a=%d b=%d\n", balance_a, balance_b);
    return 0;
}
