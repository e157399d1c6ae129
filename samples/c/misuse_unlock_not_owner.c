/* SPDX-License-Identifier: MIT */
/*
 * misuse_unlock_not_owner.c — the main thread unlocks a mutex that a worker
 * holds. glibc lets a normal mutex be unlocked by anyone, so nothing fails
 * here, but the worker's critical section is no longer protected.
 * Clean twin: misuse_ok.c.
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static int config_version;

static void *writer(void *arg)
{
    pthread_mutex_lock(&config_lock);
    config_version++;
    step_reach(1);               /* holds config_lock now */
    step_wait(2);                /* ...until main has (wrongly) unlocked it */
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    step_wait(1);
    pthread_mutex_unlock(&config_lock); /* LG-EXPECT: unlock-not-owner */
    step_reach(2);
    pthread_join(t, NULL);
    printf("misuse_unlock_not_owner: version %d\n", config_version);
    return 0;
}
