/* SPDX-License-Identifier: MIT */
/*
 * abba.c — the AB/BA lock-order inversion, staggered so that it finishes:
 * the first thread takes A then B and lets go; only then does the second
 * take B then A. Both threads are alive together, so with other timing
 * each could hold its first lock while waiting for the other's: a
 * potential deadlock, recorded although this run did not hang. Neither
 * thread ends before both are done, as in a long-running program.
 * Clean twin: ordered.c. The run that really hangs: abba_hang.c.
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
    step_wait(2);                /* stay alive until the other is done */
    return NULL;
}

static void *move_b_to_a(void *arg)
{
    step_wait(1);                /* the stagger: never overlaps the other thread's locks */
    pthread_mutex_lock(&mutexB);
    pthread_mutex_lock(&mutexA); /* LG-EXPECT: lock-order-cycle */
    balance_b -= 5;
    balance_a += 5;
    pthread_mutex_unlock(&mutexA);
    pthread_mutex_unlock(&mutexB);
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
    printf("abba: a=%d b=%d\n", balance_a, balance_b);
    return 0;
}
