/* SPDX-License-Identifier: MIT */
/*
 * misuse_destroy_locked.c — a shutdown path destroys a mutex while it is
 * still locked. glibc answers EBUSY; other implementations free it and the
 * holder's unlock touches dead memory.
 * Clean twin: misuse_ok.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t session_lock;

int main(void)
{
    pthread_mutex_init(&session_lock, NULL);
    pthread_mutex_lock(&session_lock);
    int rc = pthread_mutex_destroy(&session_lock); /* LG-EXPECT: destroy-locked */
    printf("misuse_destroy_locked: destroy returned %s\n", rc ? strerror(rc) : "0");
    pthread_mutex_unlock(&session_lock);
    pthread_mutex_destroy(&session_lock);
    return 0;
}
