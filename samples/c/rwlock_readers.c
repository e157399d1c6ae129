/* SPDX-License-Identifier: MIT */
/*
 * rwlock_readers.c — clean twin of rwlock_abba.c: two readers take two
 * rwlocks for reading, nested, in opposite orders. Readers do not exclude
 * each other, so neither can wait for the other: the inverted order is
 * not a deadlock, and must not be reported as an error. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_rwlock_t users = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t groups = PTHREAD_RWLOCK_INITIALIZER;
static int nusers = 3, ngroups = 2;
static long seen;

static void *list_users(void *arg)
{
    pthread_rwlock_rdlock(&users);
    pthread_rwlock_rdlock(&groups); /* LG-EXPECT: lock-order-cycle=downgraded */
    seen += nusers * ngroups;
    pthread_rwlock_unlock(&groups);
    pthread_rwlock_unlock(&users);
    step_reach(1);
    step_wait(2);                /* both readers alive together */
    return NULL;
}

static void *list_groups(void *arg)
{
    step_wait(1);
    pthread_rwlock_rdlock(&groups);
    pthread_rwlock_rdlock(&users); /* LG-EXPECT: lock-order-cycle=downgraded */
    seen += ngroups * nusers;
    pthread_rwlock_unlock(&users);
    pthread_rwlock_unlock(&groups);
    step_reach(2);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, list_users, NULL);
    pthread_create(&t2, NULL, list_groups, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("rwlock_readers: %ld\n", seen);
    return 0;
}
