/* SPDX-License-Identifier: MIT */
/*
 * sem_pool.c — clean: a pool of 3 connections guarded by a counting
 * semaphore (value 3); 6 workers each take a connection (sem_wait), pick a
 * free slot under a mutex, use it, give it back and sem_post. The
 * semaphore is never posted above its initial value and the order is
 * always pool -> slot_lock. LG-CLEAN
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#include "lg_sample.h"

#define CONNS 3
#define WORKERS 6

static sem_t pool;
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int in_use[CONNS];
static int served;

static void *worker(void *arg)
{
    for (int round = 0; round < 20; round++) {
        sem_wait(&pool);
        int conn = -1;
        pthread_mutex_lock(&slot_lock);
        for (int i = 0; i < CONNS; i++) {
            if (!in_use[i]) {
                in_use[i] = 1;
                conn = i;
                break;
            }
        }
        pthread_mutex_unlock(&slot_lock);

        sleep_ms(1);             /* "use" connection conn */

        pthread_mutex_lock(&slot_lock);
        if (conn >= 0)
            in_use[conn] = 0;
        served++;
        pthread_mutex_unlock(&slot_lock);
        sem_post(&pool);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[WORKERS];
    sem_init(&pool, 0, CONNS);
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    sem_destroy(&pool);
    printf("sem_pool: served %d\n", served);
    return 0;
}
