/* SPDX-License-Identifier: MIT */
/*
 * misuse_cond.c — two ways to break a condition variable's contract:
 * waiting without holding the mutex (the wakeup can be lost between the
 * check and the wait), and using one condition variable with two
 * different mutexes (POSIX leaves it undefined). Timed waits keep the
 * sample from blocking.
 * Clean twin: misuse_ok.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

int main(void)
{
    struct timespec until;

    /* 1: the wait without the mutex. */
    until = in_ms(20);
    pthread_cond_timedwait(&changed, &queue_lock, &until); /* LG-EXPECT: cond-wait-misuse */
    pthread_mutex_unlock(&queue_lock);   /* the wait returned with it locked */

    /* 2: the same condition variable with a second mutex. */
    pthread_mutex_lock(&queue_lock);
    until = in_ms(20);
    pthread_cond_timedwait(&changed, &queue_lock, &until);
    pthread_mutex_unlock(&queue_lock);
    pthread_mutex_lock(&stats_lock);
    until = in_ms(20);
    pthread_cond_timedwait(&changed, &stats_lock, &until); /* LG-EXPECT: cond-wait-misuse */
    pthread_mutex_unlock(&stats_lock);

    printf("misuse_cond: done\n");
    return 0;
}
