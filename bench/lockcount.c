/* SPDX-License-Identifier: MIT */
/*
 * lockcount.c — a tiny LD_PRELOAD counter of lock acquisitions, used by
 * bench/realprogs in a separate, untimed run to know how many lock
 * operations a program did (the denominator of "trace bytes per million
 * lock operations"). It counts every successful lock, trylock,
 * timed/clock lock of mutexes, rwlocks and spinlocks and every successful
 * sem_wait family call (CPython's threading.Lock), the calls lockgraph's
 * shim interposes; a condition wait's re-acquisition is not counted.
 * At exit each process appends "pid count" to $LOCKCOUNT_OUT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long acquired;

static void count(int rc)
{
    if (rc == 0)
        __atomic_fetch_add(&acquired, 1, __ATOMIC_RELAXED);
}

/* One wrapper per function: resolve the next definition once, call it,
 * count a success. dlsym(RTLD_NEXT) does not take a pthread lock. */
#define WRAP(ret, name, params, args)                                   \
    ret name params                                                     \
    {                                                                   \
        static ret (*real) params;                                      \
        if (!real)                                                      \
            real = (ret(*) params)dlsym(RTLD_NEXT, #name);              \
        ret rc = real args;                                             \
        count(rc);                                                      \
        return rc;                                                      \
    }

WRAP(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
WRAP(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
WRAP(int, pthread_mutex_timedlock, (pthread_mutex_t *m, const struct timespec *t), (m, t))
WRAP(int, pthread_mutex_clocklock, (pthread_mutex_t *m, clockid_t c, const struct timespec *t), (m, c, t))
WRAP(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
WRAP(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
WRAP(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *l), (l))
WRAP(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *l), (l))
WRAP(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *l, const struct timespec *t), (l, t))
WRAP(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *l, const struct timespec *t), (l, t))
WRAP(int, pthread_spin_lock, (pthread_spinlock_t *l), (l))
WRAP(int, pthread_spin_trylock, (pthread_spinlock_t *l), (l))
WRAP(int, sem_wait, (sem_t *s), (s))
WRAP(int, sem_trywait, (sem_t *s), (s))
WRAP(int, sem_timedwait, (sem_t *s, const struct timespec *t), (s, t))
WRAP(int, sem_clockwait, (sem_t *s, clockid_t c, const struct timespec *t), (s, c, t))

/* Appends this process's count; O_APPEND keeps lines of several
 * processes whole. */
__attribute__((destructor)) static void lockcount_report(void)
{
    const char *path = getenv("LOCKCOUNT_OUT");
    char line[64];
    int fd, n;

    if (!path)
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return;
    n = snprintf(line, sizeof(line), "%d %llu\n", (int)getpid(),
                 __atomic_load_n(&acquired, __ATOMIC_RELAXED));
    if (write(fd, line, (size_t)n) < 0) {
        /* nothing to do: the benchmark reports a missing count */
    }
    close(fd);
}
