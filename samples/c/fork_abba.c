/* SPDX-License-Identifier: MIT */
/*
 * fork_abba.c — the AB/BA inversion of abba.c, made inside a fork child:
 * the parent takes a lock first (so the shim has already recorded the
 * program's modules), then forks a worker process whose two threads take
 * A then B and B then A, staggered so that the run finishes. The child
 * inherits the parent's address space and writes no module map of its
 * own: the report must still cite these lines, through the parent's map.
 * Clean twin: ordered.c (the same transfers in one order, no fork).
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_sample.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static int balance_a = 100, balance_b = 100;

static void *move_a_to_b(void *arg)
{
    pthread_mutex_lock(&mutexA);
    pthread_mutex_lock(&mutexB); /* LG-EXPECT: lock-order-cycle */
    balance_a -= 10;
    balance_b += 10;
    pthread_mutex_unlock(&mutexB);
    pthread_mutex_unlock(&mutexA);
    step_reach(1);
    step_wait(2);                /* stay alive until the other is done */
    return NULL;
}

static void *move_b_to_a(void *arg)
{
    step_wait(1);
    pthread_mutex_lock(&mutexB);
    pthread_mutex_lock(&mutexA); /* LG-EXPECT: lock-order-cycle */
    balance_b -= 5;
    balance_a += 5;
    pthread_mutex_unlock(&mutexA);
    pthread_mutex_unlock(&mutexB);
    step_reach(2);
    return NULL;
}

int main(void)
{
    pthread_mutex_lock(&log_lock);
    printf("fork_abba: starting the worker\n");
    fflush(stdout);
    pthread_mutex_unlock(&log_lock);

    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        pthread_t t1, t2;
        pthread_create(&t1, NULL, move_a_to_b, NULL);
        pthread_create(&t2, NULL, move_b_to_a, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        printf("fork_abba worker: a=%d b=%d\n", balance_a, balance_b);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
