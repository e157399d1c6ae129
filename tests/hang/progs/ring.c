/* SPDX-License-Identifier: MIT */
/* A ring of N threads (default 4), each holding its own mutex and then
 * taking its right neighbour's: always deadlocks. */
#include <pthread.h>
#include <stdlib.h>

#define MAXN 16
static pthread_mutex_t m[MAXN];
static pthread_barrier_t bar;
static int n = 4;

static void *phil(void *arg)
{
    int i = (int)(long)arg;
    pthread_mutex_lock(&m[i]);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&m[(i + 1) % n]);   /* ring.c:17 */
    pthread_mutex_unlock(&m[(i + 1) % n]);
    pthread_mutex_unlock(&m[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n = atoi(argv[1]);
    if (n < 2 || n > MAXN)
        return 2;
    pthread_t t[MAXN];
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        pthread_mutex_init(&m[i], NULL);
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, phil, (void *)(long)i);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return 0;
}
