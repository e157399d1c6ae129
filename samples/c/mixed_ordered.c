/* SPDX-License-Identifier: MIT */
/*
 * mixed_ordered.c — clean twin of mixed_cycle.c: the same mutex, rwlock
 * and value-1 semaphore, but the flusher takes index_lock before the disk
 * slot, like everybody else: one global order index_lock -> cache ->
 * disk_slot, no cycle. The three threads run concurrently. LG-CLEAN
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t cache = PTHREAD_RWLOCK_INITIALIZER;
static sem_t disk_slot;
static int loaded, evicted, flushed;

static void *loader(void *arg)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&index_lock);
        pthread_rwlock_wrlock(&cache);
        loaded++;
        pthread_rwlock_unlock(&cache);
        pthread_mutex_unlock(&index_lock);
    }
    return NULL;
}

static void *evictor(void *arg)
{
    for (int i = 0; i < 500; i++) {
        pthread_rwlock_wrlock(&cache);
        sem_wait(&disk_slot);
        evicted++;
        sem_post(&disk_slot);
        pthread_rwlock_unlock(&cache);
    }
    return NULL;
}

static void *flusher(void *arg)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&index_lock);
        sem_wait(&disk_slot);
        flushed++;
        sem_post(&disk_slot);
        pthread_mutex_unlock(&index_lock);
    }
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
    printf("mixed_ordered: %d %d %d\n", loaded, evicted, flushed);
    return 0;
}
