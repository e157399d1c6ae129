/* SPDX-License-Identifier: MIT */
/*
 * abba_joined.c — clean twin of abba_sequential.c: the same two opposite
 * orders, but main joins the first thread before it creates the second.
 * The join orders them for every possible schedule: they can never hold
 * locks at the same time, so the A/B cycle is not a deadlock (at most a
 * note saying why). LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static int balance_a = 100, balance_b = 100;

static void *move_a_to_b(void *arg)
{
    pthread_mutex_lock(&mutexA);
    pthread_mutex_lock(&mutexB); /* LG-EXPECT: lock-order-cycle=downgraded */
    balance_a -= 10;
    balance_b += 10;
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&mutexA);
    return NULL;
}

static void *move_b_to_a(void *arg)
{
    pthread_mutex_lock(&mutexB);
    pthread_mutex_lock(&mutexA); /* LG-EXPECT: lock-order-cycle=downgraded */
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
    pthread_join(t1, NULL);      /* t1 is gone before t2 exists */
    pthread_create(&t2, NULL, move_b_to_a, NULL);
    pthread_join(t2, NULL);
    printf("abba_joined: a=%d b=%d\n", balance_a, balance_b);
    return 0;
}
