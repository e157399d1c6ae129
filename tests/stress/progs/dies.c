/* SPDX-License-Identifier: MIT */
/*
 * dies.c — a program that dies after an AB/BA inversion; what was recorded
 * before must still be reported.
 *   dies segv     the inversion, then a SIGSEGV with lock A held
 *   dies spin F   the inversion, then creates file F and takes locks
 *                 forever (the test SIGKILLs it from outside)
 *   dies exec N   exec itself N times (N, N-1, ... 0), each image taking
 *                 nested locks in two threads (the test SIGKILLs it at a
 *                 random moment, maybe mid-exec)
 *   dies stuck    the inversion, then the main thread joins a thread that
 *                 waits forever on a semaphore nobody posts (a hang, not
 *                 a lock cycle)
 *   dies hang     a child process whose two threads deadlock for real
 *                 (AB/BA), its parent in waitpid: the supervisor ends the
 *                 tree
 * The inversion: T1 takes A then B; later T2 takes B then A.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static sem_t step, ab_done;

static void *ab(void *arg)
{
    pthread_mutex_lock(&lock_a);
    pthread_mutex_lock(&lock_b);                 /* LG-STRESS: a-then-b */
    pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);
    sem_post(&ab_done);
    return NULL;
}

static void *ba(void *arg)
{
    sem_wait(&ab_done);
    pthread_mutex_lock(&lock_b);
    pthread_mutex_lock(&lock_a);                 /* LG-STRESS: b-then-a */
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return NULL;
}

/* The deadlocking pair: step and ab_done say "I hold my first lock". */
static void *dl_ab(void *arg)
{
    pthread_mutex_lock(&lock_a);
    sem_post(&step);
    sem_wait(&ab_done);
    pthread_mutex_lock(&lock_b);                 /* LG-STRESS: deadlock-ab */
    return NULL;
}

static void *dl_ba(void *arg)
{
    pthread_mutex_lock(&lock_b);
    sem_post(&ab_done);
    sem_wait(&step);
    pthread_mutex_lock(&lock_a);                 /* LG-STRESS: deadlock-ba */
    return NULL;
}

static void *waits_forever(void *arg)
{
    sem_wait(&step);                             /* LG-STRESS: stuck-wait */
    return NULL;
}

/* The inversion, made safely: the two threads live at once but take
 * their locks one after the other. */
static void inversion(void)
{
    pthread_t t1, t2;
    sem_init(&ab_done, 0, 0);
    pthread_create(&t2, NULL, ba, NULL);
    pthread_create(&t1, NULL, ab, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "segv") == 0) {
        inversion();
        pthread_mutex_lock(&lock_a);
        printf("inversion done, crashing with A held\n");
        fflush(stdout);
        volatile int *nowhere = NULL;
        *nowhere = 1;                            /* LG-STRESS: crash */
        return 0;
    }
    if (strcmp(argv[1], "spin") == 0 && argc == 3) {
        inversion();
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            return 2;
        close(fd);
        for (;;) {
            pthread_mutex_lock(&lock_a);
            pthread_mutex_unlock(&lock_a);
        }
    }
    if (strcmp(argv[1], "exec") == 0 && argc == 3) {
        int left = atoi(argv[2]);
        pthread_t t;
        sem_init(&ab_done, 0, 0);
        sem_post(&ab_done);                      /* ba() below needs no partner */
        pthread_create(&t, NULL, ba, NULL);
        pthread_join(t, NULL);
        if (left <= 0)
            return 0;
        char next[16];
        snprintf(next, sizeof next, "%d", left - 1);
        execl("/proc/self/exe", argv[0], "exec", next, (char *)NULL);
        return 127;
    }
    if (strcmp(argv[1], "stuck") == 0) {
        inversion();
        pthread_t t;
        sem_init(&step, 0, 0);
        pthread_create(&t, NULL, waits_forever, NULL);
        pthread_join(t, NULL);                   /* LG-STRESS: stuck-join */
        return 0;
    }
    if (strcmp(argv[1], "hang") == 0) {
        pid_t p = fork();
        if (p == 0) {
            /* First the inversion (recorded), then a real deadlock: each
             * thread holds one lock and, once the other holds its own,
             * asks for the other's. */
            inversion();
            pthread_t t1, t2;
            sem_init(&step, 0, 0);
            sem_init(&ab_done, 0, 0);
            pthread_create(&t1, NULL, dl_ab, NULL);
            pthread_create(&t2, NULL, dl_ba, NULL);
            pthread_join(t1, NULL);
            pthread_join(t2, NULL);
            _exit(0);
        }
        int status;
        waitpid(p, &status, 0);
        return 0;
    }
    return 2;
}
