/* SPDX-License-Identifier: MIT */
/*
 * trylock_backoff.c — clean: one thread takes A then B; the other needs
 * them the other way round, so it takes B and only *tries* A, backing off
 * (releasing B, pausing, retrying) when A is busy. A trylock never waits,
 * so the B -> A edge cannot close a deadlock. LG-CLEAN
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static int balance_a = 100, balance_b = 100, backoffs;

static void *move_a_to_b(void *arg)
{
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&mutexA);
        pthread_mutex_lock(&mutexB); /* LG-EXPECT: lock-order-cycle=downgraded */
        balance_a--;
        balance_b++;
        pthread_mutex_unlock(&mutexB);
        pthread_mutex_unlock(&mutexA);
    }
    step_reach(1);
    return NULL;
}

static void *move_b_to_a(void *arg)
{
    for (int i = 0; i < 100; i++) {
        for (;;) {
            pthread_mutex_lock(&mutexB);
            if (pthread_mutex_trylock(&mutexA) == 0) /* LG-EXPECT: lock-order-cycle=downgraded */
                break;
            pthread_mutex_unlock(&mutexB);   /* back off, let the other finish */
            backoffs++;
            sleep_ms(1);
        }
        balance_b--;
        balance_a++;
        pthread_mutex_unlock(&mutexA);
        pthread_mutex_unlock(&mutexB);
    }
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, move_a_to_b, NULL);
    pthread_create(&t2, NULL, move_b_to_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("trylock_backoff: a=%d b=%d\n", balance_a, balance_b);
    return 0;
}
