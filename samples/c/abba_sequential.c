/* SPDX-License-Identifier: MIT */
/*
 * abba_sequential.c — AB/BA where the first thread has already ended when
 * the second is created, but was never joined. Only a join orders two
 * threads for every schedule; here the order comes from a flag and a
 * sleep, which is timing, not synchronization the tool can rely on (and
 * the next version of the program may drop it). Still a potential
 * deadlock. Twin where a join really orders them: abba_joined.c.
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static int balance_a = 100, balance_b = 100;

static void *move_a_to_b(void *arg)
{
    pthread_mutex_lock(&mutexA);
    pthread_mutex_lock(&mutexB); /* LG-EXPECT: lock-order-cycle */
    balance_a -= 10;
    balance_b += 10;
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&mutexA);
    step_reach(1);
    return NULL;
}

static void *move_b_to_a(void *arg)
{
    pthread_mutex_lock(&mutexB);
    pthread_mutex_lock(&mutexA); /* LG-EXPECT: lock-order-cycle */
    balance_b -= 5;
    balance_a += 5;
    pthread_mutex_unlock(&mutexA);
    pthread_mutex_unlock(&mutexB);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, move_a_to_b, NULL);
    step_wait(1);
    sleep_ms(50);                /* t1 has returned by now: timing, not a join */
    pthread_create(&t2, NULL, move_b_to_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("abba_sequential: a=%d b=%d\n", balance_a, balance_b);
    return 0;
}
