/* SPDX-License-Identifier: MIT */
/*
 * mixed_cycle.c — a lock-order cycle through three kinds of lock at once:
 * a mutex, an rwlock taken for writing, and a semaphore used as a lock.
 *   loader:  index_lock (mutex)  -> cache (rwlock, write)
 *   evictor: cache (rwlock, write) -> disk_slot (semaphore)
 *   flusher: disk_slot (semaphore) -> index_lock (mutex)
 * No two threads invert a pair, but the three together close a cycle.
 * Staggered so that this run finishes; all three stay alive until the
 * last is done. Clean twin: mixed_ordered.c.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t cache = PTHREAD_RWLOCK_INITIALIZER;
static sem_t disk_slot;
static int loaded, evicted, flushed;

static void *loader(void *arg)
{
    pthread_mutex_lock(&index_lock);
    pthread_rwlock_wrlock(&cache); /* LG-EXPECT: lock-order-cycle */
    loaded++;
    pthread_rwlock_unlock(&cache);
    pthread_mutex_unlock(&index_lock);
    step_reach(1);
    step_wait(3);
    return NULL;
}

static void *evictor(void *arg)
{
    step_wait(1);
    pthread_rwlock_wrlock(&cache);
    sem_wait(&disk_slot); /* LG-EXPECT: lock-order-cycle */
    evicted++;
    sem_post(&disk_slot);
    pthread_rwlock_unlock(&cache);
    step_reach(2);
    step_wait(3);
    return NULL;
}

static void *flusher(void *arg)
{
    step_wait(2);
    sem_wait(&disk_slot);
    pthread_mutex_lock(&index_lock); /* LG-EXPECT: lock-order-cycle */
    flushed++;
    pthread_mutex_unlock(&index_lock);
    sem_post(&disk_slot);
    step_reach(3);
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    sem_init(&disk_slot, 0, 1);
    pthread_create(&t[0], NULL, loader, NULL);
    pthread_create(&t[1], NULL, evictor, NULL);
    pthread_create(&t[2], NULL, flusher, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    sem_destroy(&disk_slot);
    printf("mixed_cycle: %d %d %d\n", loaded, evicted, flushed);
    return 0;
}
