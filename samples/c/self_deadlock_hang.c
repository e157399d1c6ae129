/* SPDX-License-Identifier: MIT */
/*
 * self_deadlock_hang.c — a function that holds a lock calls a helper that
 * takes the same lock again. The mutex is a normal (default) one, so the
 * second lock does not fail: the thread waits for itself forever. The
 * error-checking twin that fails with EDEADLK: misuse_self_deadlock.c.
 * Clean twin: misuse_ok.c.
 * LG-HANG
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static long requests, bytes;

static void count_bytes(long n)
{
    pthread_mutex_lock(&stats_lock); /* LG-EXPECT: self-deadlock */
    bytes += n;
    pthread_mutex_unlock(&stats_lock);
}

static void count_request(long n)
{
    pthread_mutex_lock(&stats_lock); /* taken first here */
    requests++;
    count_bytes(n);                  /* relocks stats_lock: hangs here */
    pthread_mutex_unlock(&stats_lock);
}

int main(void)
{
    count_request(512);
    printf("requests=%ld bytes=%ld\n", requests, bytes);
    return 0;
}
