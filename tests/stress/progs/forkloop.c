/* SPDX-License-Identifier: MIT */
/*
 * forkloop.c — fork from a multi-threaded process while other threads are
 * inside lock calls (and so inside the shim): 4 threads hammer mutexes,
 * an rwlock and a semaphore; the main thread forks 200 times. Each child
 * takes locks the hammering threads use (their state is copied mid-way:
 * the child re-initialises them, as POSIX asks of such code), takes a
 * fresh lock, and exits, half with exit() and half with _exit(). The
 * child must never deadlock, in its own code or in the shim's.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKS 200

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t s;
static volatile int stop;
static long work[4];

static void *hammer(void *arg)
{
    long id = (long)arg;
    while (!stop) {
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
        if (id & 1) {
            pthread_rwlock_rdlock(&rw);
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_wrlock(&rw);
            pthread_rwlock_unlock(&rw);
        }
        sem_wait(&s);
        sem_post(&s);
        work[id]++;
    }
    return NULL;
}

static int child(int i)
{
    /* The parent's threads may have held these at the fork: start over. */
    pthread_mutex_init(&a, NULL);
    pthread_mutex_init(&b, NULL);
    pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&own);
    pthread_mutex_unlock(&own);
    pthread_mutex_unlock(&a);
    return i % 7;
}

int main(void)
{
    sem_init(&s, 0, 1);
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, (void *)i);
    int bad = 0;
    for (int i = 0; i < FORKS; i++) {
        pid_t p = fork();
        if (p < 0) {
            perror("fork");
            return 2;
        }
        if (p == 0) {
            int st = child(i);
            if (i & 1)
                _exit(st);
            exit(st);
        }
        int status;
        if (waitpid(p, &status, 0) != p || !WIFEXITED(status) || WEXITSTATUS(status) != i % 7)
            bad++;
    }
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    printf("%d forks, %d children ended wrongly, hammering threads %s\n", FORKS, bad,
           work[0] && work[1] && work[2] && work[3] ? "all ran" : "STARVED");
    return bad ? 1 : 0;
}
