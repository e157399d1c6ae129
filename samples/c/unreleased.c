/* SPDX-License-Identifier: MIT */
/*
 * unreleased.c — a worker returns early on an error path and forgets to
 * unlock: its thread ends still holding `table_lock`. Any later lock of
 * it would wait forever (this sample does not try). Clean twin:
 * unreleased_ok.c.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static int table[4];

static void *update(void *arg)
{
    int slot = (int)(long)arg;
    pthread_mutex_lock(&table_lock); /* LG-EXPECT: unreleased-lock */
    if (slot >= 4)
        return NULL;             /* the bug: returns with table_lock held */
    table[slot]++;
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, update, (void *)7L);
    pthread_join(t, NULL);
    printf("unreleased: worker ended\n");
    return 0;
}
