/* SPDX-License-Identifier: MIT */
/*
 * sem_abba.c — two semaphores of value 1, used as locks, taken in opposite
 * orders by two threads (staggered so this run finishes). CPython's
 * threading.Lock is exactly such a semaphore, so this is also the shape of
 * a Python AB/BA deadlock. Clean twin: sem_ordered.c.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#include "lg_sample.h"

static sem_t inbox, outbox;
static int moved;

static void *sort_mail(void *arg)
{
    sem_wait(&inbox);
    sem_wait(&outbox); /* LG-EXPECT: lock-order-cycle */
    moved++;
    sem_post(&outbox);
    sem_post(&inbox);
    step_reach(1);
    step_wait(2);
    return NULL;
}

static void *send_mail(void *arg)
{
    step_wait(1);
    sem_wait(&outbox);
    sem_wait(&inbox); /* LG-EXPECT: lock-order-cycle */
    moved++;
    sem_post(&inbox);
    sem_post(&outbox);
    step_reach(2);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    sem_init(&inbox, 0, 1);
    sem_init(&outbox, 0, 1);
    pthread_create(&t1, NULL, sort_mail, NULL);
    pthread_create(&t2, NULL, send_mail, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    sem_destroy(&inbox);
    sem_destroy(&outbox);
    printf("sem_abba: moved %d\n", moved);
    return 0;
}
