/* SPDX-License-Identifier: MIT */
/*
 * shim_all.c — calls every function liblockgraph.so interposes (the
 * Helgrind tc20_verifywrap idea), plus small scenarios the shim tests
 * check in the trace: errno preservation, a condvar wait that hangs with
 * the wrong symbol version, fork, misuse, locks left held.
 *   shim_all all|errno|condwait|fork|abba|misuse|heldexit|ttable
 * Exit 0 when the program itself saw what it expected.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_threadtable.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "shim_all: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static struct timespec in_ms(clockid_t clk, long ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static pthread_mutex_t gA = PTHREAD_MUTEX_INITIALIZER, gB = PTHREAD_MUTEX_INITIALIZER;

static void mutexes(void)
{
    int kinds[] = {PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_ERRORCHECK, -1, -2};
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        pthread_mutexattr_t at;
        pthread_mutexattr_init(&at);
        if (kinds[k] >= 0)
            pthread_mutexattr_settype(&at, kinds[k]);
        else if (kinds[k] == -1)
            pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
        else
            pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
        pthread_mutex_t m;
        CHECK(pthread_mutex_init(&m, &at) == 0);
        CHECK(pthread_mutex_lock(&m) == 0);
        CHECK(pthread_mutex_unlock(&m) == 0);
        CHECK(pthread_mutex_trylock(&m) == 0);
        CHECK(pthread_mutex_unlock(&m) == 0);
        struct timespec ts = in_ms(CLOCK_REALTIME, 100);
        CHECK(pthread_mutex_timedlock(&m, &ts) == 0);
        CHECK(pthread_mutex_unlock(&m) == 0);
        ts = in_ms(CLOCK_MONOTONIC, 100);
        CHECK(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts) == 0);
        /* nested under the global A: a DEP with one held lock */
        CHECK(pthread_mutex_lock(&gA) == 0);
        CHECK(pthread_mutex_unlock(&m) == 0);
        CHECK(pthread_mutex_lock(&m) == 0);
        CHECK(pthread_mutex_unlock(&m) == 0);
        CHECK(pthread_mutex_unlock(&gA) == 0);
        if (kinds[k] == PTHREAD_MUTEX_RECURSIVE) {
            CHECK(pthread_mutex_lock(&m) == 0);
            CHECK(pthread_mutex_lock(&m) == 0);
            CHECK(pthread_mutex_unlock(&m) == 0);
            CHECK(pthread_mutex_unlock(&m) == 0);
        }
        CHECK(pthread_mutex_destroy(&m) == 0);
        pthread_mutexattr_destroy(&at);
    }
}

static void rwlocks(void)
{
    pthread_rwlock_t rw;
    CHECK(pthread_rwlock_init(&rw, NULL) == 0);
    struct timespec ts;
    CHECK(pthread_rwlock_rdlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_wrlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_tryrdlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_trywrlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    ts = in_ms(CLOCK_REALTIME, 100);
    CHECK(pthread_rwlock_timedrdlock(&rw, &ts) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    ts = in_ms(CLOCK_REALTIME, 100);
    CHECK(pthread_rwlock_timedwrlock(&rw, &ts) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    ts = in_ms(CLOCK_MONOTONIC, 100);
    CHECK(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &ts) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    ts = in_ms(CLOCK_MONOTONIC, 100);
    CHECK(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &ts) == 0);
    /* a mutex taken under the write lock: DEP with mode WRITE held */
    CHECK(pthread_mutex_lock(&gB) == 0);
    CHECK(pthread_mutex_unlock(&gB) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_destroy(&rw) == 0);
}

static void spins(void)
{
    pthread_spinlock_t s;
    CHECK(pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE) == 0);
    CHECK(pthread_spin_lock(&s) == 0);
    CHECK(pthread_spin_unlock(&s) == 0);
    CHECK(pthread_spin_trylock(&s) == 0);
    CHECK(pthread_spin_unlock(&s) == 0);
    CHECK(pthread_spin_destroy(&s) == 0);
}

/* ---- condvar: must not hang whatever the symbol version -------------- */

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, stage;

static void *cond_waiter(void *arg)
{
    pthread_mutex_lock(&cm);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (stage < 1)
        pthread_cond_wait(&cv, &cm);
    while (stage < 2) {
        struct timespec ts = in_ms(CLOCK_REALTIME, 50);
        pthread_cond_timedwait(&cv, &cm, &ts);
    }
    while (stage < 3) {
        struct timespec ts = in_ms(CLOCK_MONOTONIC, 50);
        pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, &ts);
    }
    pthread_mutex_unlock(&cm);
    return arg;
}

static void condvars(void)
{
    pthread_cond_t c2;
    CHECK(pthread_cond_init(&c2, NULL) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cond_waiter, NULL) == 0);
    pthread_mutex_lock(&cm);
    while (!ready)
        pthread_cond_wait(&cv, &cm);
    for (int s = 1; s <= 3; s++) {
        stage = s;
        if (s == 2)
            pthread_cond_signal(&cv);
        else
            pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&cm);
        usleep(20000);
        pthread_mutex_lock(&cm);
    }
    pthread_mutex_unlock(&cm);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_cond_signal(&c2) == 0);
    CHECK(pthread_cond_destroy(&c2) == 0);
}

/* The other half of each handshake goes to libc's GLIBC_2.3.2 functions
 * directly: if the shim forwarded to the old 2.2.5 condvar, the two
 * halves would disagree about the condvar's layout and the wakeup would
 * be lost (FACTS §1) — this scenario then hangs until its time limit. */
static int (*libc_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*libc_broadcast)(pthread_cond_t *);
static pthread_cond_t vc = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t vm = PTHREAD_MUTEX_INITIALIZER;
static int vflag;

static void *version_waiter(void *direct)
{
    pthread_mutex_lock(&vm);
    while (!vflag) {
        if (direct)
            libc_wait(&vc, &vm);
        else
            pthread_cond_wait(&vc, &vm);
    }
    pthread_mutex_unlock(&vm);
    return NULL;
}

static void cond_versions(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    CHECK(libc);
    libc_wait = (int (*)(pthread_cond_t *, pthread_mutex_t *))dlvsym(libc, "pthread_cond_wait", "GLIBC_2.3.2");
    libc_broadcast = (int (*)(pthread_cond_t *))dlvsym(libc, "pthread_cond_broadcast", "GLIBC_2.3.2");
    CHECK(libc_wait && libc_broadcast);
    for (int direct = 0; direct < 2; direct++) {
        pthread_t th;
        vflag = 0;
        CHECK(pthread_create(&th, NULL, version_waiter, direct ? (void *)1 : NULL) == 0);
        usleep(50000);                      /* let it block in the wait */
        pthread_mutex_lock(&vm);
        vflag = 1;
        if (direct)
            pthread_cond_broadcast(&vc);    /* ours, to libc's 2.3.2 waiter */
        else
            libc_broadcast(&vc);            /* libc's 2.3.2, to our waiter */
        pthread_mutex_unlock(&vm);
        CHECK(pthread_join(th, NULL) == 0);
    }
}

/* ---- barrier ---------------------------------------------------------- */

static pthread_barrier_t bar;
static void *bar_thread(void *arg)
{
    pthread_barrier_wait(&bar);
    return arg;
}

static void barriers(void)
{
    CHECK(pthread_barrier_init(&bar, NULL, 2) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, bar_thread, NULL) == 0);
    int r = pthread_barrier_wait(&bar);
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_barrier_destroy(&bar) == 0);
}

/* ---- semaphores --------------------------------------------------------- */

static void semaphores(void)
{
    sem_t s;
    CHECK(sem_init(&s, 0, 1) == 0);
    CHECK(sem_wait(&s) == 0);
    CHECK(pthread_mutex_lock(&gA) == 0);   /* DEP: gA while holding the sem */
    CHECK(pthread_mutex_unlock(&gA) == 0);
    CHECK(sem_post(&s) == 0);
    CHECK(sem_trywait(&s) == 0);
    CHECK(sem_post(&s) == 0);
    struct timespec ts = in_ms(CLOCK_REALTIME, 100);
    CHECK(sem_timedwait(&s, &ts) == 0);
    CHECK(sem_post(&s) == 0);
    ts = in_ms(CLOCK_MONOTONIC, 100);
    CHECK(sem_clockwait(&s, CLOCK_MONOTONIC, &ts) == 0);
    CHECK(sem_post(&s) == 0);
    int v = -1;
    CHECK(sem_getvalue(&s, &v) == 0 && v == 1);
    CHECK(sem_destroy(&s) == 0);

    char name[64];
    snprintf(name, sizeof name, "/lgshim-%d", (int)getpid());
    sem_t *ns = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    CHECK(ns != SEM_FAILED);
    CHECK(sem_unlink(name) == 0);
    CHECK(sem_wait(ns) == 0);
    CHECK(pthread_mutex_lock(&gB) == 0);
    CHECK(pthread_mutex_unlock(&gB) == 0);
    CHECK(sem_post(ns) == 0);
    CHECK(sem_close(ns) == 0);
}

/* ---- threads ------------------------------------------------------------ */

static void *quick(void *arg) { return arg; }
static void *exits(void *arg)
{
    pthread_exit(arg);
}
static void *slow(void *arg)
{
    usleep(50000);
    return arg;
}

static void threads(void)
{
    pthread_t a, b, c, d, e;
    void *ret;
    CHECK(pthread_create(&a, NULL, quick, (void *)1) == 0);
    CHECK(pthread_join(a, &ret) == 0 && ret == (void *)1);
    CHECK(pthread_create(&b, NULL, exits, (void *)2) == 0);
    while (pthread_tryjoin_np(b, &ret) == EBUSY)
        usleep(1000);
    CHECK(ret == (void *)2);
    CHECK(pthread_create(&c, NULL, slow, (void *)3) == 0);
    struct timespec ts = in_ms(CLOCK_REALTIME, 5000);
    CHECK(pthread_timedjoin_np(c, &ret, &ts) == 0 && ret == (void *)3);
    CHECK(pthread_create(&e, NULL, slow, (void *)5) == 0);
    ts = in_ms(CLOCK_MONOTONIC, 5000);
    CHECK(pthread_clockjoin_np(e, &ret, CLOCK_MONOTONIC, &ts) == 0 && ret == (void *)5);
    CHECK(pthread_create(&d, NULL, quick, NULL) == 0);
    CHECK(pthread_detach(d) == 0);
}

/* ---- processes ---------------------------------------------------------- */

static void processes(void)
{
    pthread_mutex_lock(&gA);       /* held across fork: HELD_AT(FORK) in the child */
    pid_t p = fork();
    CHECK(p >= 0);
    if (p == 0) {
        pthread_mutex_unlock(&gA);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    pthread_mutex_unlock(&gA);
    int st;
    CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    if ((p = fork()) == 0)
        _exit(3);
    CHECK(wait(&st) == p && WEXITSTATUS(st) == 3);
    if ((p = fork()) == 0)
        _Exit(4);
    struct rusage ru;
    CHECK(wait4(p, &st, 0, &ru) == p && WEXITSTATUS(st) == 4);
    if ((p = fork()) == 0)
        exit(5);
    CHECK(wait3(&st, 0, &ru) == p && WEXITSTATUS(st) == 5);
    if ((p = fork()) == 0) {
        char *argv[] = {"true", NULL};
        execv("/bin/true", argv);
        _exit(127);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t)p, &si, WEXITED) == 0 && si.si_pid == p && si.si_status == 0);
    if ((p = fork()) == 0) {
        char *argv[] = {"true", NULL};
        execvp("true", argv);
        _exit(127);
    }
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0);
    if ((p = fork()) == 0) {
        char *argv[] = {"true", NULL};
        char *envp[] = {NULL};
        execve("/nonexistent/lgshim", argv, envp);   /* fails: EXEC with err, then goes on */
        execvpe("true", argv, environ);
        _exit(127);
    }
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0);
    if ((p = fork()) == 0) {
        execlp("true", "true", (char *)NULL);
        _exit(127);
    }
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0);
    if ((p = fork()) == 0) {
        char *envp[] = {NULL};
        execle("/bin/true", "true", (char *)NULL, envp);
        _exit(127);
    }
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0);
    CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);
}

/* ---- scenarios ---------------------------------------------------------- */

static int errno_checks(void)
{
    sem_t s;
    CHECK(sem_init(&s, 0, 0) == 0);
    errno = 0;
    CHECK(sem_trywait(&s) == -1);
    CHECK(errno == EAGAIN);           /* CPython tests exactly this */
    struct timespec ts = in_ms(CLOCK_REALTIME, 10);
    errno = 0;
    CHECK(sem_timedwait(&s, &ts) == -1 && errno == ETIMEDOUT);
    /* a success leaves errno as it was */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    errno = 4242;
    CHECK(pthread_mutex_lock(&m) == 0 && errno == 4242);
    CHECK(pthread_mutex_lock(&gA) == 0 && errno == 4242);   /* new DEP: stack capture, record write */
    CHECK(pthread_mutex_unlock(&gA) == 0 && errno == 4242);
    CHECK(pthread_mutex_unlock(&m) == 0 && errno == 4242);
    CHECK(sem_post(&s) == 0 && errno == 4242);
    CHECK(sem_destroy(&s) == 0 && errno == 4242);
    /* return values pass through */
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &at);
    CHECK(pthread_mutex_unlock(&m) == EPERM);
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_mutex_lock(&m) == EDEADLK);
    CHECK(pthread_mutex_trylock(&m) == EBUSY);
    CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
    return 0;
}

static void *abba_t2(void *arg)
{
    pthread_mutex_lock(&gB);
    pthread_mutex_lock(&gA);
    pthread_mutex_unlock(&gA);
    pthread_mutex_unlock(&gB);
    return arg;
}

static void abba(void)
{
    pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gA);
    pthread_mutex_lock(&gB);
    pthread_mutex_lock(&c);      /* DEP with two held locks */
    pthread_mutex_unlock(&c);
    pthread_mutex_unlock(&gB);
    pthread_mutex_unlock(&gA);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, abba_t2, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
}

static void *unlock_other(void *m)
{
    pthread_mutex_unlock(m);     /* not the owner */
    return NULL;
}

static void misuse(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_unlock(&m);                       /* 2: unlock-unlocked */
    pthread_mutex_lock(&m);
    pthread_t t;
    pthread_create(&t, NULL, unlock_other, &m);     /* 1: unlock-not-owner */
    pthread_join(t, NULL);

    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t e;
    pthread_mutex_init(&e, &at);
    pthread_mutex_lock(&e);
    CHECK(pthread_mutex_lock(&e) == EDEADLK);       /* 3: self-deadlock */
    CHECK(pthread_mutex_destroy(&e) == EBUSY);       /* 4: destroy-locked */
    pthread_mutex_unlock(&e);
    pthread_mutex_destroy(&e);

    pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER, m2 = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec ts = in_ms(CLOCK_REALTIME, 5);
    pthread_mutex_lock(&m1);
    pthread_cond_timedwait(&c, &m1, &ts);
    pthread_mutex_unlock(&m1);
    pthread_mutex_lock(&m2);
    ts = in_ms(CLOCK_REALTIME, 5);
    pthread_cond_timedwait(&c, &m2, &ts);           /* 6: two mutexes */
    pthread_mutex_unlock(&m2);
    pthread_mutex_t m3 = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c3 = PTHREAD_COND_INITIALIZER;
    ts = in_ms(CLOCK_REALTIME, 5);
    pthread_cond_timedwait(&c3, &m3, &ts);          /* 5: wait without the mutex (glibc: EPERM or UB) */

    sem_t s;
    sem_init(&s, 0, 1);
    sem_wait(&s);
    sem_post(&s);
    sem_post(&s);                                   /* 7: overpost */
    sem_destroy(&s);
}

static void *leaves_held(void *arg)
{
    pthread_mutex_lock(&gB);     /* never unlocked: THREAD_EXIT nheld=1 */
    return arg;
}

/* ---- vfork children share our memory: they must not end our trace ---- */

static int vfork_children(void)
{
    char *argv[] = {"true", NULL};
    char *empty[] = {NULL};
    int st;
    pid_t p = vfork();
    if (p == 0) {
        execve("/bin/true", argv, empty);   /* no LD_PRELOAD in this environment */
        _exit(127);
    }
    CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    p = vfork();
    if (p == 0) {
        execve("/nonexistent/lgshim", argv, empty);   /* fails: the child _exits */
        _exit(7);
    }
    CHECK(p > 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 7);
    CHECK(posix_spawn(&p, "/bin/true", NULL, NULL, argv, environ) == 0);
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0);
    CHECK(posix_spawnp(&p, "true", NULL, NULL, argv, empty) == 0);   /* shim re-added to the environment */
    CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0);
    CHECK(system("exit 3") != -1);
    /* still recording: a new dependency after all that */
    pthread_mutex_t x = PTHREAD_MUTEX_INITIALIZER, y = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&x);
    pthread_mutex_lock(&y);
    pthread_mutex_unlock(&y);
    pthread_mutex_unlock(&x);
    return 0;
}

/* ---- thread table: the shim publishes blocked threads (slow path only) - */

static const struct lg_tt_header *tt;
static pthread_mutex_t tM = PTHREAD_MUTEX_INITIALIZER, tN = PTHREAD_MUTEX_INITIALIZER;
static sem_t tS, tT;
static _Atomic int tid_blocker, tid_semwaiter, tid_timed, tid_joiner, tid_joined, tid_waiter;
static pid_t tchild;
static pthread_t th_joined;

static int my_tid(void) { return (int)syscall(SYS_gettid); }

static const struct lg_tt_slot *slot_of(int tid)
{
    const struct lg_tt_slot *s = (const struct lg_tt_slot *)(tt + 1);
    for (unsigned i = 0; i < tt->nslots; i++)
        if (__atomic_load_n(&s[i].tid, __ATOMIC_ACQUIRE) == tid)
            return &s[i];
    return NULL;
}

/* Wait (5 s at most) until tid's slot shows op; copy it out under the seqlock. */
static int wait_op(_Atomic int *tidp, unsigned op, struct lg_tt_slot *out)
{
    for (int i = 0; i < 5000; i++, usleep(1000)) {
        int tid = *tidp;
        const struct lg_tt_slot *s = tid ? slot_of(tid) : NULL;
        if (!s)
            continue;
        uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        memcpy(out, (const void *)s, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if ((q & 1) || q != __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE))
            continue;
        if (out->op == op)
            return 1;
    }
    fprintf(stderr, "shim_all: thread %d never published op %u\n", (int)*tidp, op);
    return 0;
}

static void *t_blocker(void *a)
{
    tid_blocker = my_tid();
    pthread_mutex_lock(&tN);
    pthread_mutex_lock(&tM);     /* blocks: main holds tM */
    pthread_mutex_unlock(&tM);
    pthread_mutex_unlock(&tN);
    return a;
}
static void *t_semwaiter(void *a)
{
    tid_semwaiter = my_tid();
    sem_wait(&tS);
    return a;
}
static void *t_timed(void *a)
{
    tid_timed = my_tid();
    struct timespec ts = in_ms(CLOCK_REALTIME, 3000);
    sem_timedwait(&tT, &ts);
    return a;
}
static void *t_joined(void *a)
{
    tid_joined = my_tid();
    sem_wait(&tT);
    return a;
}
static void *t_joiner(void *a)
{
    tid_joiner = my_tid();
    pthread_join(th_joined, NULL);
    return a;
}
static void *t_waiter(void *a)
{
    tid_waiter = my_tid();
    int st;
    waitpid(tchild, &st, 0);
    return a;
}

static int ttable(void)
{
    char path[4096];
    const char *dir = getenv("LOCKGRAPH_DIR");
    CHECK(dir);
    snprintf(path, sizeof path, "%s/%s", dir, LG_TT_FILE);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    void *m = mmap(NULL, LG_TT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    tt = m;
    const struct lg_tt_slot *me = slot_of(my_tid());
    CHECK(me && me->pid == getpid() && me->op == LG_BLOCK_NONE);

    struct lg_tt_slot s;
    pthread_t a, b, c, d, e;
    /* a mutex wait: object, owner, held snapshot */
    pthread_mutex_lock(&tM);
    CHECK(pthread_create(&a, NULL, t_blocker, NULL) == 0);
    CHECK(wait_op(&tid_blocker, LG_BLOCK_MUTEX, &s));
    CHECK(s.obj.kind == 1 && s.obj.id != 0 && s.obj.addr == (uint64_t)(uintptr_t)&tM);
    CHECK(s.owner_tid == my_tid());
    CHECK(s.nheld == 1 && s.held[0].id != 0 && s.held[0].addr == (uint64_t)(uintptr_t)&tN);
    CHECK(!(s.flags & LG_TT_TIMED) && s.since_ns != 0 && s.pid == getpid());
    uint64_t progress = s.progress;
    pthread_mutex_unlock(&tM);
    CHECK(pthread_join(a, NULL) == 0);
    /* its slot was given back at thread end */
    CHECK(slot_of(tid_blocker) == NULL);
    (void)progress;

    /* a semaphore wait, then a timed one */
    sem_init(&tS, 0, 0);
    sem_init(&tT, 0, 0);
    CHECK(pthread_create(&b, NULL, t_semwaiter, NULL) == 0);
    CHECK(wait_op(&tid_semwaiter, LG_BLOCK_SEM, &s));
    CHECK(s.obj.kind == 4 && s.obj.addr == (uint64_t)(uintptr_t)&tS && !(s.flags & LG_TT_TIMED));
    sem_post(&tS);
    CHECK(pthread_join(b, NULL) == 0);
    CHECK(pthread_create(&c, NULL, t_timed, NULL) == 0);
    CHECK(wait_op(&tid_timed, LG_BLOCK_SEM, &s));
    CHECK(s.flags & LG_TT_TIMED);
    sem_post(&tT);
    CHECK(pthread_join(c, NULL) == 0);

    /* a join: target tid */
    CHECK(pthread_create(&th_joined, NULL, t_joined, NULL) == 0);
    CHECK(pthread_create(&d, NULL, t_joiner, NULL) == 0);
    CHECK(wait_op(&tid_joiner, LG_BLOCK_JOIN, &s));
    CHECK(s.target_tid == tid_joined && s.target_tid != 0);
    sem_post(&tT);
    CHECK(pthread_join(d, NULL) == 0);

    /* a waitpid: target pid */
    tchild = fork();
    CHECK(tchild >= 0);
    if (tchild == 0) {
        usleep(300000);
        _exit(0);
    }
    CHECK(pthread_create(&e, NULL, t_waiter, NULL) == 0);
    CHECK(wait_op(&tid_waiter, LG_BLOCK_WAITPID, &s));
    CHECK(s.target_pid == tchild);
    CHECK(pthread_join(e, NULL) == 0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    if (!strcmp(what, "all")) {
        mutexes();
        rwlocks();
        spins();
        condvars();
        barriers();
        semaphores();
        threads();
        processes();
        errno_checks();
        exit(0);
    }
    if (!strcmp(what, "errno"))
        return errno_checks();
    if (!strcmp(what, "condwait")) {
        cond_versions();
        for (int i = 0; i < 20; i++) {
            ready = stage = 0;
            condvars();
        }
        return 0;
    }
    if (!strcmp(what, "fork")) {
        processes();
        return 0;
    }
    if (!strcmp(what, "abba")) {
        abba();
        return 0;
    }
    if (!strcmp(what, "misuse")) {
        misuse();
        return 0;
    }
    if (!strcmp(what, "heldexit")) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, leaves_held, NULL) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        pthread_mutex_lock(&gA);  /* held at process exit */
        return 0;
    }
    if (!strcmp(what, "ttable"))
        return ttable();
    if (!strcmp(what, "depcache")) {   /* 782 dependencies, each taken 4 times: the cache grows */
        static pthread_mutex_t ms[40];
        static pthread_rwlock_t rw[2];
        static pthread_spinlock_t sp[2];
        for (int i = 0; i < 40; i++)
            pthread_mutex_init(&ms[i], NULL);
        for (int i = 0; i < 2; i++) {
            pthread_rwlock_init(&rw[i], NULL);
            pthread_spin_init(&sp[i], PTHREAD_PROCESS_PRIVATE);
        }
        for (int round = 0; round < 4; round++) {
            for (int i = 0; i < 40; i++)
                for (int j = i + 1; j < 40; j++) {
                    pthread_mutex_lock(&ms[i]);
                    pthread_mutex_lock(&ms[j]);
                    pthread_mutex_unlock(&ms[j]);
                    pthread_mutex_unlock(&ms[i]);
                }
            pthread_rwlock_wrlock(&rw[0]);
            pthread_rwlock_rdlock(&rw[1]);
            pthread_rwlock_unlock(&rw[1]);
            pthread_rwlock_unlock(&rw[0]);
            pthread_spin_lock(&sp[0]);
            pthread_spin_lock(&sp[1]);
            pthread_spin_unlock(&sp[1]);
            pthread_spin_unlock(&sp[0]);
        }
        return 0;
    }
    if (!strcmp(what, "lockchurn")) {  /* short-lived locks under a held one: the cache is swept */
        /* 100 pairs taken twice, 50 taken once; then 5000 locks, each
         * made, taken once under gA and destroyed (as a Condition's
         * waiter lock is); then every pair once more. The sweeps let the
         * never-repeated keys go (the dead locks' and the 50 pairs'):
         * those 50 pairs are recorded again, the 100 are not. */
        static pthread_mutex_t ms[40], churn[5000];
        for (int i = 0; i < 40; i++)
            pthread_mutex_init(&ms[i], NULL);
        for (int phase = 0; phase < 3; phase++) {
            if (phase == 1) {
                for (int k = 0; k < 5000; k++) {
                    pthread_mutex_init(&churn[k], NULL);
                    pthread_mutex_lock(&gA);
                    pthread_mutex_lock(&churn[k]);
                    pthread_mutex_unlock(&churn[k]);
                    pthread_mutex_unlock(&gA);
                    pthread_mutex_destroy(&churn[k]);
                }
                continue;
            }
            int pair = 0;
            for (int i = 0; i < 40 && pair < 150; i++)
                for (int j = i + 1; j < 40 && pair < 150; j++, pair++)
                    for (int rep = 0; rep < (phase == 0 && pair < 100 ? 2 : 1); rep++) {
                        pthread_mutex_lock(&ms[i]);
                        pthread_mutex_lock(&ms[j]);
                        pthread_mutex_unlock(&ms[j]);
                        pthread_mutex_unlock(&ms[i]);
                    }
        }
        return 0;
    }
    if (!strcmp(what, "many")) {       /* thousands of new dependencies: fills a small trace */
        static pthread_mutex_t ms[600];
        for (int i = 0; i < 600; i++)
            pthread_mutex_init(&ms[i], NULL);
        for (int i = 0; i < 600; i++)
            for (int j = 0; j < 600; j += 7) {
                if (i == j)
                    continue;
                pthread_mutex_lock(&ms[i]);
                pthread_mutex_lock(&ms[j]);
                pthread_mutex_unlock(&ms[j]);
                pthread_mutex_unlock(&ms[i]);
            }
        return 0;
    }
    if (!strcmp(what, "crash")) {       /* SIGSEGV with gA held: HELD_AT(how=SIGNAL), status 139 kept */
        pthread_mutex_lock(&gA);
        volatile int *nowhere = NULL;
        *nowhere = 1;
        return 0;
    }
    if (!strcmp(what, "vfork"))
        return vfork_children();
    fprintf(stderr, "shim_all: unknown scenario %s\n", what);
    return 2;
}
