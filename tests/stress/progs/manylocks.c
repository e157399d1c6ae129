/* SPDX-License-Identifier: MIT */
/*
 * manylocks.c — one thread holding very many locks.
 *   manylocks held N   thread 1 takes locks[0..N-1] nested, then thread 2
 *                      takes locks[N-1] then locks[0]: an AB/BA inversion
 *                      whose first edge was made with N-1 locks held. With
 *                      N = 1024 the tool must still record it (line LAST).
 *                      With more, it may give up on that thread (saying so
 *                      once) but must not abort or invent findings.
 *   manylocks table N  N distinct mutexes initialised and locked once each
 *                      (more than the shim's lock table holds): the program
 *                      must run to the end unchanged.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t *locks;
static int n;
static sem_t first_done;

static void *first(void *arg)
{
    for (int i = 0; i < n; i++)
        pthread_mutex_lock(&locks[i]);   /* LG-STRESS: nested */
    for (int i = n - 1; i >= 0; i--)
        pthread_mutex_unlock(&locks[i]);
    sem_post(&first_done);
    return NULL;
}

/* Alive at the same time as first (so the inversion can deadlock), but
 * runs its part only after first released everything. */
static void *second(void *arg)
{
    sem_wait(&first_done);
    pthread_mutex_lock(&locks[n - 1]);
    pthread_mutex_lock(&locks[0]);       /* LG-STRESS: inversion */
    pthread_mutex_unlock(&locks[0]);
    pthread_mutex_unlock(&locks[n - 1]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    n = atoi(argv[2]);
    locks = calloc((size_t)n, sizeof *locks);
    if (!locks)
        return 2;
    for (int i = 0; i < n; i++)
        pthread_mutex_init(&locks[i], NULL);
    if (strcmp(argv[1], "held") == 0) {
        pthread_t t1, t2;
        sem_init(&first_done, 0, 0);
        pthread_create(&t2, NULL, second, NULL);
        pthread_create(&t1, NULL, first, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        printf("held %d locks at once, then the inversion\n", n);
    } else {
        long ok = 0;
        for (int i = 0; i < n; i++) {
            ok += pthread_mutex_lock(&locks[i]) == 0;
            ok += pthread_mutex_unlock(&locks[i]) == 0;
        }
        for (int i = 0; i < n; i++)
            ok += pthread_mutex_destroy(&locks[i]) == 0;
        printf("%d mutexes, %ld calls succeeded\n", n, ok);
        if (ok != 3L * n)
            return 1;
    }
    free(locks);
    return 0;
}
