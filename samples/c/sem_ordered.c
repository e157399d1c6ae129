/* SPDX-License-Identifier: MIT */
/*
 * sem_ordered.c — clean twin of sem_abba.c: both threads take the inbox
 * semaphore before the outbox one, so the two value-1 semaphores are
 * always taken in one order. The threads run concurrently. LG-CLEAN
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static sem_t inbox, outbox;
static int moved;

static void *mover(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        sem_wait(&inbox);
        sem_wait(&outbox);
        moved++;
        sem_post(&outbox);
        sem_post(&inbox);
    }
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    sem_init(&inbox, 0, 1);
    sem_init(&outbox, 0, 1);
    pthread_create(&t1, NULL, mover, NULL);
    pthread_create(&t2, NULL, mover, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    sem_destroy(&inbox);
    sem_destroy(&outbox);
    printf("sem_ordered: moved %d\n", moved);
    return 0;
}
