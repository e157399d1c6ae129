/* SPDX-License-Identifier: MIT */
/*
 * signals.c — signal handlers that take locks or wake waiters, delivered
 * while the interrupted threads are inside lock calls (and so inside the
 * shim): a SIGUSR1 handler that locks and unlocks a mutex nobody else
 * takes, and a SIGUSR2 handler that sem_posts a semaphore the main thread
 * waits on. Two worker threads hammer nested locks meanwhile. Correct:
 * every count adds up, nothing hangs, no bogus finding.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORK 200000
#define POSTS 300

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;   /* taken only in the handler */
static sem_t wake;
static long counter, handled;
static volatile int stop;

static void on_usr1(int sig)
{
    pthread_mutex_lock(&handler_lock);
    handled++;
    pthread_mutex_unlock(&handler_lock);
}

static void on_usr2(int sig) { sem_post(&wake); }

static void *worker(void *arg)
{
    for (int i = 0; i < WORK; i++) {
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        counter++;
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    /* A fast machine finishes the loop before the signaller's first
     * signal: stay alive (not locking) until a handler has run, at most
     * about 5 s. */
    for (int i = 0; i < 50000 && !__atomic_load_n(&handled, __ATOMIC_RELAXED); i++)
        usleep(100);
    return NULL;
}

static void *signaller(void *arg)
{
    pthread_t *targets = arg;
    int n = 0;
    while (!stop) {
        pthread_kill(targets[n++ % 2], SIGUSR1);
        if (n % 64 == 0)
            usleep(100);
    }
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sem_init(&wake, 0, 0);

    pthread_t w[2], s;
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, worker, NULL);
    pthread_create(&s, NULL, signaller, w);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    stop = 1;
    pthread_join(s, NULL);

    /* The main thread waits; each wake-up comes from a handler's post. */
    pid_t self = getpid();
    int woken = 0;
    for (int i = 0; i < POSTS; i++) {
        if (fork() == 0) {
            kill(self, SIGUSR2);
            _exit(0);
        }
        while (sem_wait(&wake) != 0)
            ;   /* EINTR cannot happen with SA_RESTART, but be exact */
        woken++;
    }
    while (wait(NULL) > 0)
        ;
    printf("counter %ld (expected %d), handler ran %s, woken %d of %d\n", counter, 2 * WORK,
           handled > 0 ? "yes" : "no", woken, POSTS);
    return counter == 2 * WORK && handled > 0 && woken == POSTS ? 0 : 1;
}
