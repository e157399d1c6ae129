/* SPDX-License-Identifier: MIT */
/*
 * gate.c — clean twin of abba.c: the same AB/BA inversion, but every
 * thread takes the gate lock `big_lock` first. Only one thread at a time
 * can be inside, so the inverted inner order can never deadlock. The
 * analyzer sees the A/B cycle and must not call it an error. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static int balance_a = 100, balance_b = 100;

static void *move_a_to_b(void *arg)
{
    pthread_mutex_lock(&big_lock);
    pthread_mutex_lock(&mutexA);
    pthread_mutex_lock(&mutexB); /* LG-EXPECT: lock-order-cycle=downgraded */
    balance_a -= 10;
    balance_b += 10;
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&mutexA);
    pthread_mutex_unlock(&big_lock);
    step_reach(1);
    step_wait(2);                /* both threads alive together */
    return NULL;
}

static void *move_b_to_a(void *arg)
{
    step_wait(1);
    pthread_mutex_lock(&big_lock);
    pthread_mutex_lock(&mutexB);
    pthread_mutex_lock(&mutexA); /* LG-EXPECT: lock-order-cycle=downgraded */
    balance_b -= 5;
    balance_a += 5;
    pthread_mutex_unlock(&mutexA);
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&big_lock);
    step_reach(2);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, move_a_to_b, NULL);
    pthread_create(&t2, NULL, move_b_to_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("gate: a=%d b=%d\n", balance_a, balance_b);
    return 0;
}
