/* SPDX-License-Identifier: MIT */
/*
 * cancel.c — pthread_cancel of threads blocked in lock waits: a condition
 * wait (glibc retakes the mutex before the cleanup handlers run), a
 * sem_wait on a semaphore used as a lock, and an asynchronous-cancel
 * thread blocked in pthread_mutex_lock. Each cleanup handler releases what
 * its thread held; afterwards main takes every lock again. Correct: no
 * unreleased lock, no unlock by a non-owner. Prints what ran.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t held_sem, gate_sem;
static int cleanups;
static volatile int waiting;

static void unlock_mutex(void *arg) { pthread_mutex_unlock(arg); __atomic_add_fetch(&cleanups, 1, __ATOMIC_SEQ_CST); }
static void post_sem(void *arg) { sem_post(arg); __atomic_add_fetch(&cleanups, 1, __ATOMIC_SEQ_CST); }

/* Holds `outer`, then waits on c with m: cancelled inside the wait. */
static void *cond_waiter(void *arg)
{
    pthread_mutex_lock(&outer);
    pthread_cleanup_push(unlock_mutex, &outer);
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock_mutex, &m);
    waiting = 1;
    for (;;)
        pthread_cond_wait(&c, &m);   /* never signalled */
    pthread_cleanup_pop(1);
    pthread_cleanup_pop(1);
    return NULL;
}

/* Holds held_sem (a lock: value 1), blocks on gate_sem, which main holds. */
static void *sem_waiter(void *arg)
{
    sem_wait(&held_sem);
    pthread_cleanup_push(post_sem, &held_sem);
    waiting = 1;
    sem_wait(&gate_sem);
    sem_post(&gate_sem);
    pthread_cleanup_pop(1);
    return NULL;
}

/* Holds outer, blocks in pthread_mutex_lock(m) with asynchronous cancel. */
static void *mutex_waiter(void *arg)
{
    pthread_mutex_lock(&outer);
    pthread_cleanup_push(unlock_mutex, &outer);
    int old;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    waiting = 1;
    pthread_mutex_lock(&m);
    pthread_setcanceltype(old, NULL);
    pthread_mutex_unlock(&m);
    pthread_cleanup_pop(1);
    return NULL;
}

static void cancel_one(const char *what, void *(*fn)(void *))
{
    pthread_t th;
    void *res;
    waiting = 0;
    if (pthread_create(&th, NULL, fn, NULL) != 0)
        exit(2);
    while (!waiting)
        usleep(1000);
    usleep(100 * 1000);          /* let it block for real */
    pthread_cancel(th);
    pthread_join(th, &res);
    printf("%s: %s, cleanups so far %d\n", what, res == PTHREAD_CANCELED ? "cancelled" : "NOT cancelled", cleanups);
}

int main(void)
{
    sem_init(&held_sem, 0, 1);
    sem_init(&gate_sem, 0, 1);

    cancel_one("cond wait", cond_waiter);

    sem_wait(&gate_sem);
    cancel_one("sem wait", sem_waiter);
    sem_post(&gate_sem);

    pthread_mutex_lock(&m);
    cancel_one("mutex wait (async)", mutex_waiter);
    pthread_mutex_unlock(&m);

    /* Everything is free again: take each lock, in the same nesting. */
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&outer);
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
        pthread_mutex_unlock(&outer);
        sem_wait(&held_sem);
        sem_wait(&gate_sem);
        sem_post(&gate_sem);
        sem_post(&held_sem);
    }
    printf("locks free again; cleanups %d\n", cleanups);
    return cleanups == 4 ? 0 : 1;
}
