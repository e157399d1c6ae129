/* SPDX-License-Identifier: MIT */
/*
 * spawn.c — the ways a program starts another without fork(): vfork+exec
 * (the child shares the parent's stack: a C wrapper around vfork would
 * break it), posix_spawn, posix_spawnp, system() and popen(), each run
 * while a second thread holds and releases locks. Prints each child's
 * status and output; exit 0 when all are as expected.
 */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;

static void *busy(void *arg)
{
    while (!stop) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

static int code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int main(void)
{
    pthread_t th;
    pthread_create(&th, NULL, busy, NULL);
    int fails = 0, status;

    for (int i = 0; i < 20; i++) {
        /* vfork: only exec or _exit in the child; a local changed there
         * is seen by the parent (shared memory until exec). */
        volatile int touched = 0;
        pid_t p = vfork();
        if (p == 0) {
            touched = 1;
            if (i % 2)
                _exit(3);
            execl("/bin/sh", "sh", "-c", "exit 4", (char *)NULL);
            _exit(127);
        }
        if (p < 0 || waitpid(p, &status, 0) != p || code(status) != (i % 2 ? 3 : 4) || !touched)
            fails++;
    }
    printf("vfork: 20 children, %s\n", fails ? "WRONG" : "right statuses");

    char *argv[] = {"sh", "-c", "echo spawned $0 $1; exit 5", "x", "y", NULL};
    pid_t pid;
    int e = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
    if (e || waitpid(pid, &status, 0) != pid || code(status) != 5)
        fails++, printf("posix_spawn: WRONG (%d)\n", e);
    fflush(stdout);
    e = posix_spawnp(&pid, "sh", NULL, NULL, argv, environ);
    if (e || waitpid(pid, &status, 0) != pid || code(status) != 5)
        fails++, printf("posix_spawnp: WRONG (%d)\n", e);
    fflush(stdout);

    for (int i = 0; i < 10; i++) {
        int r = system("exit 6");
        if (code(r) != 6)
            fails++;
    }
    int r = system("echo from system; exit 0");
    printf("system: %s\n", code(r) == 0 && !fails ? "right statuses" : "WRONG");
    fflush(stdout);

    FILE *f = popen("seq 1 1000 | sort -n | tail -1", "r");
    char line[64] = "";
    if (!f || !fgets(line, sizeof line, f) || pclose(f) != 0 || strcmp(line, "1000\n") != 0)
        fails++;
    printf("popen: %s", line);

    stop = 1;
    pthread_join(th, NULL);
    printf("%s\n", fails ? "FAILED" : "all children as expected");
    return fails ? 1 : 0;
}
