/* SPDX-License-Identifier: MIT */
/*
 * rwlock_abba.c — two rwlocks taken for writing in opposite orders by two
 * threads (staggered so this run finishes). Write locks exclude each
 * other like mutexes, so this is a potential deadlock. Its read-only
 * counterpart, which is fine, is rwlock_readers.c.
 */
#include <pthread.h>
#include <stdio.h>

#include "lg_sample.h"

static pthread_rwlock_t users = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t groups = PTHREAD_RWLOCK_INITIALIZER;
static int nusers, ngroups;

static void *add_user(void *arg)
{
    pthread_rwlock_wrlock(&users);
    pthread_rwlock_wrlock(&groups); /* LG-EXPECT: lock-order-cycle */
    nusers++;
    ngroups++;
    pthread_rwlock_unlock(&groups);
    pthread_rwlock_unlock(&users);
    step_reach(1);
    step_wait(2);
    return NULL;
}

static void *add_group(void *arg)
{
    step_wait(1);
    pthread_rwlock_wrlock(&groups);
    pthread_rwlock_wrlock(&users); /* LG-EXPECT: lock-order-cycle */
    ngroups++;
    nusers++;
    pthread_rwlock_unlock(&users);
    pthread_rwlock_unlock(&groups);
    step_reach(2);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, add_user, NULL);
    pthread_create(&t2, NULL, add_group, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("rwlock_abba: %d users, %d groups\n", nusers, ngroups);
    return 0;
}
