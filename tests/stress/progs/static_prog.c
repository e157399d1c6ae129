/* SPDX-License-Identifier: MIT */
/* static_prog.c — linked with -static: nothing can be interposed in it.
 * Takes a lock in two threads, prints its argument, exits 7. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long n;

static void *body(void *arg)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&m);
        n++;
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t;
    pthread_create(&t, NULL, body, NULL);
    body(NULL);
    pthread_join(t, NULL);
    printf("static binary (%s): n=%ld\n", argc > 1 ? argv[1] : "?", n);
    return 7;
}
