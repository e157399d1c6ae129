/* SPDX-License-Identifier: MIT */
/*
 * unreleased_ok.c — clean twin of unreleased.c: the early return on the
 * error path unlocks first (one exit label), so the worker never ends
 * holding table_lock, and main can take it afterwards. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static int table[4];

static void *update(void *arg)
{
    int slot = (int)(long)arg;
    pthread_mutex_lock(&table_lock);
    if (slot >= 4)
        goto out;
    table[slot]++;
out:
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, update, (void *)7L);
    pthread_join(t, NULL);
    pthread_mutex_lock(&table_lock);     /* free again: would hang in unreleased.c */
    int sum = table[0] + table[1] + table[2] + table[3];
    pthread_mutex_unlock(&table_lock);
    printf("unreleased_ok: worker ended, sum %d\n", sum);
    return 0;
}
