/* SPDX-License-Identifier: MIT */
/*
 * misuse_unlock_unlocked.c — a cleanup path unlocks a mutex that the
 * normal path already unlocked. glibc does not complain for a normal
 * mutex; the next locker may find it in a broken state.
 * Clean twin: misuse_ok.c.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int lines;

static void append_line(void)
{
    pthread_mutex_lock(&log_lock);
    lines++;
    pthread_mutex_unlock(&log_lock);
}

int main(void)
{
    append_line();
    pthread_mutex_unlock(&log_lock); /* LG-EXPECT: unlock-unlocked */
    printf("misuse_unlock_unlocked: %d line\n", lines);
    return 0;
}
