/* SPDX-License-Identifier: MIT */
/*
 * misuse_ok.c — the clean twin of every misuse_*.c and sem_overpost.c:
 * the same objects used by the rules. Each mutex is unlocked once, by the
 * thread that locked it; the error-checking mutex is never relocked by its
 * owner; a mutex is destroyed only when unlocked; every condition wait
 * holds its one mutex; the value-1 semaphore is posted once per wait.
 * LG-CLEAN
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t cache_lock;
static sem_t device_lock;
static int config_version, queued, cache_hits, device_users;

static void *writer(void *arg)
{
    pthread_mutex_lock(&config_lock);
    config_version++;
    pthread_mutex_unlock(&config_lock);  /* the owner unlocks */

    pthread_mutex_lock(&queue_lock);
    queued = 1;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

/* The helper of misuse_self_deadlock.c, split: callers that hold the
 * lock call the _locked form. */
static void cache_touch_locked(void)
{
    cache_hits++;
}

static void use_device(int fail)
{
    sem_wait(&device_lock);
    device_users++;
    device_users--;
    sem_post(&device_lock);              /* exactly once, on every path */
    (void)fail;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&cache_lock, &attr);
    pthread_mutexattr_destroy(&attr);
    sem_init(&device_lock, 0, 1);

    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    pthread_mutex_lock(&queue_lock);
    while (!queued)
        pthread_cond_wait(&changed, &queue_lock);   /* holds its one mutex */
    pthread_mutex_unlock(&queue_lock);
    pthread_join(t, NULL);

    pthread_mutex_lock(&cache_lock);
    cache_touch_locked();
    pthread_mutex_unlock(&cache_lock);
    pthread_mutex_destroy(&cache_lock);  /* unlocked: fine */

    use_device(0);
    use_device(1);
    int value;
    sem_getvalue(&device_lock, &value);
    sem_destroy(&device_lock);
    printf("misuse_ok: version %d, hits %d, semaphore %d\n", config_version, cache_hits, value);
    return 0;
}
