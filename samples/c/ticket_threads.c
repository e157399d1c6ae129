/* SPDX-License-Identifier: MIT */
/*
 * ticket_threads.c — the ticket-grab race with threads and stdio: each
 * buyer thread reads the counter file with fopen/fgets, thinks, and
 * writes the count minus one back with fopen/fprintf, holding no lock.
 * lockgraph reports a lock-discipline-race citing the read and the write.
 * Clean twin: ticket_threads_mutex.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lg_sample.h"

#define DB "ticket_threads.db"
#define BUYERS 4

static atomic_int sold;

static void *buy(void *arg)
{
    char buf[32] = { 0 };
    FILE *f = fopen(DB, "r");
    if (!f)
        return NULL;
    if (!fgets(buf, sizeof(buf), f)) /* LG-EXPECT: lock-discipline-race */
        buf[0] = 0;
    fclose(f);
    int left = atoi(buf);
    sleep_ms(100);                    /* think: the others read "1" too */
    if (left > 0) {
        f = fopen(DB, "w");
        if (!f)
            return NULL;
        fprintf(f, "%d\n", left - 1); /* LG-EXPECT: lock-discipline-race */
        fclose(f);
        atomic_fetch_add(&sold, 1);
    }
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
