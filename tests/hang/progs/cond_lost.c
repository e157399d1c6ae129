/* SPDX-License-Identifier: MIT */
/* A lost wake-up: the worker signals before main waits, and main waits on
 * the condition forever (no predicate loop). A hang, never a deadlock:
 * nobody holds the mutex while main waits. */
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;

static void *worker(void *arg)
{
    pthread_mutex_lock(&m);
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    pthread_mutex_lock(&m);
    pthread_cond_wait(&c, &m);             /* cond_lost.c:25 */
    pthread_mutex_unlock(&m);
    return 0;
}
