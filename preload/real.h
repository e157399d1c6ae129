/* SPDX-License-Identifier: MIT */
/*
 * real.h — the table of real functions the shim forwards to (real.c
 * resolves it). One line per function: name and its default symbol
 * version on x86_64 glibc 2.36 (FACTS §1).
 */
#ifndef LG_REAL_H
#define LG_REAL_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LG_REALS(X)                                        \
    X(pthread_mutex_init, "GLIBC_2.2.5")                   \
    X(pthread_mutex_destroy, "GLIBC_2.2.5")                \
    X(pthread_mutex_lock, "GLIBC_2.2.5")                   \
    X(pthread_mutex_unlock, "GLIBC_2.2.5")                 \
    X(pthread_mutex_trylock, "GLIBC_2.34")                 \
    X(pthread_mutex_timedlock, "GLIBC_2.34")               \
    X(pthread_mutex_clocklock, "GLIBC_2.34")               \
    X(pthread_rwlock_init, "GLIBC_2.34")                   \
    X(pthread_rwlock_destroy, "GLIBC_2.34")                \
    X(pthread_rwlock_rdlock, "GLIBC_2.34")                 \
    X(pthread_rwlock_wrlock, "GLIBC_2.34")                 \
    X(pthread_rwlock_tryrdlock, "GLIBC_2.34")              \
    X(pthread_rwlock_trywrlock, "GLIBC_2.34")              \
    X(pthread_rwlock_timedrdlock, "GLIBC_2.34")            \
    X(pthread_rwlock_timedwrlock, "GLIBC_2.34")            \
    X(pthread_rwlock_clockrdlock, "GLIBC_2.34")            \
    X(pthread_rwlock_clockwrlock, "GLIBC_2.34")            \
    X(pthread_rwlock_unlock, "GLIBC_2.34")                 \
    X(pthread_spin_init, "GLIBC_2.34")                     \
    X(pthread_spin_destroy, "GLIBC_2.34")                  \
    X(pthread_spin_lock, "GLIBC_2.34")                     \
    X(pthread_spin_trylock, "GLIBC_2.34")                  \
    X(pthread_spin_unlock, "GLIBC_2.34")                   \
    /* condvars: the default is GLIBC_2.3.2; the 2.2.5 symbol is the old   \
     * LinuxThreads condvar, and forwarding to it loses wakeups (FACTS §1). \
     * Plain dlsym gets this right only since glibc 2.36 (BZ #14932). */   \
    X(pthread_cond_init, "GLIBC_2.3.2")                    \
    X(pthread_cond_destroy, "GLIBC_2.3.2")                 \
    X(pthread_cond_wait, "GLIBC_2.3.2")                    \
    X(pthread_cond_timedwait, "GLIBC_2.3.2")               \
    X(pthread_cond_signal, "GLIBC_2.3.2")                  \
    X(pthread_cond_broadcast, "GLIBC_2.3.2")               \
    X(pthread_cond_clockwait, "GLIBC_2.34")                \
    X(pthread_barrier_init, "GLIBC_2.34")                  \
    X(pthread_barrier_destroy, "GLIBC_2.34")               \
    X(pthread_barrier_wait, "GLIBC_2.34")                  \
    X(sem_init, "GLIBC_2.34")                              \
    X(sem_destroy, "GLIBC_2.34")                           \
    X(sem_open, "GLIBC_2.34")                              \
    X(sem_close, "GLIBC_2.34")                             \
    X(sem_unlink, "GLIBC_2.34")                            \
    X(sem_wait, "GLIBC_2.34")                              \
    X(sem_trywait, "GLIBC_2.34")                           \
    X(sem_timedwait, "GLIBC_2.34")                         \
    X(sem_clockwait, "GLIBC_2.34")                         \
    X(sem_post, "GLIBC_2.34")                              \
    X(sem_getvalue, "GLIBC_2.34")                          \
    X(pthread_create, "GLIBC_2.34")                        \
    X(pthread_join, "GLIBC_2.34")                          \
    X(pthread_tryjoin_np, "GLIBC_2.34")                    \
    X(pthread_timedjoin_np, "GLIBC_2.34")                  \
    X(pthread_clockjoin_np, "GLIBC_2.34")                  \
    X(pthread_detach, "GLIBC_2.34")                        \
    X(pthread_exit, "GLIBC_2.2.5")                         \
    X(fork, "GLIBC_2.2.5")                                 \
    X(posix_spawn, "GLIBC_2.15")                           \
    X(posix_spawnp, "GLIBC_2.15")                          \
    X(execve, "GLIBC_2.2.5")                               \
    X(execv, "GLIBC_2.2.5")                                \
    X(execvp, "GLIBC_2.2.5")                               \
    X(execvpe, "GLIBC_2.11")                               \
    X(exit, "GLIBC_2.2.5")                                 \
    X(_exit, "GLIBC_2.2.5")                                \
    X(_Exit, "GLIBC_2.2.5")                                \
    X(wait, "GLIBC_2.2.5")                                 \
    X(waitpid, "GLIBC_2.2.5")                              \
    X(wait3, "GLIBC_2.2.5")                                \
    X(wait4, "GLIBC_2.2.5")                                \
    X(waitid, "GLIBC_2.2.5")

#define LG_REAL_DECL(name, ver) extern __typeof__(name) *real_##name __attribute__((visibility("hidden")));
LG_REALS(LG_REAL_DECL)

/* Resolve the whole table (once; later calls return at once). Safe to
 * call from any hook, before the constructor, with the guard set or not:
 * a successful dlvsym does not allocate (FACTS §2). */
void lg_real_resolve(void) __attribute__((visibility("hidden")));

/* The real function; resolved lazily because hooks run before our
 * constructor (libraries the program links are initialised first). */
#define LG_REAL(name) (__builtin_expect(real_##name != 0, 1) ? real_##name : (lg_real_resolve(), real_##name))

#endif /* LG_REAL_H */
