/* SPDX-License-Identifier: MIT */
/*
 * ticket_threads_mutex.c — ticket_threads.c done right: the whole
 * read-think-write sequence runs under one mutex, so exactly one ticket is
 * sold. Must come out clean.
 * LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lg_sample.h"

#define DB "ticket_threads_mutex.db"
#define BUYERS 4

static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int sold;

static void *buy(void *arg)
{
    char buf[32] = { 0 };
    pthread_mutex_lock(&db_lock);
    FILE *f = fopen(DB, "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = 0;
        fclose(f);
        int left = atoi(buf);
        sleep_ms(20);
        if (left > 0 && (f = fopen(DB, "w"))) {
            fprintf(f, "%d\n", left - 1);
            fclose(f);
            atomic_fetch_add(&sold, 1);
        }
    }
    pthread_mutex_unlock(&db_lock);
    return arg;
}

int main(void)
{
    pthread_t t[BUYERS];
    FILE *f = fopen(DB, "w");
    if (!f)
        return 1;
    fprintf(f, "1\n");
    fclose(f);
    for (int i = 0; i < BUYERS; i++)
        pthread_create(&t[i], NULL, buy, NULL);
    for (int i = 0; i < BUYERS; i++)
        pthread_join(t[i], NULL);
    printf("1 ticket, %d sold\n", atomic_load(&sold));
    unlink(DB);
    return 0;
}
