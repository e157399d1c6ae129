/* SPDX-License-Identifier: MIT */
/*
 * misuse_self_deadlock.c — a function that takes a lock calls a helper
 * that takes the same lock again. With an error-checking mutex the second
 * lock fails with EDEADLK (a normal mutex would hang forever right there).
 * Clean twin: misuse_ok.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t cache_lock;
static int cache_hits;

static int cache_touch(void)
{
    int rc = pthread_mutex_lock(&cache_lock); /* LG-EXPECT: self-deadlock */
    if (rc != 0)
        return rc;
    cache_hits++;
    pthread_mutex_unlock(&cache_lock);
    return 0;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&cache_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    pthread_mutex_lock(&cache_lock);
    int rc = cache_touch();      /* relocks cache_lock: EDEADLK */
    pthread_mutex_unlock(&cache_lock);
    printf("misuse_self_deadlock: second lock returned %s\n", rc ? strerror(rc) : "0");
    pthread_mutex_destroy(&cache_lock);
    return 0;
}
