/* SPDX-License-Identifier: MIT */
/*
 * envexec.c — programs that manage their own environment, then exec:
 *   envexec clear              clearenv(), set one variable, exec itself
 *   envexec preload LIB        LD_PRELOAD=LIB (replacing the inherited
 *                              one), then fork+exec itself
 *   envexec append LIB         LD_PRELOAD=$LD_PRELOAD:LIB, fork+exec itself
 *   envexec static BIN         fork+exec a static binary, then exec it
 *                              directly (its status becomes ours)
 * The exec'd image ("envexec child") takes two locks and prints what it
 * sees. Output and exit status must not depend on a tool underneath.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *locker(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    return NULL;
}

static int child(void)
{
    pthread_t t;
    pthread_create(&t, NULL, locker, NULL);
    pthread_join(t, NULL);
    const char *v = getenv("ENVEXEC_MARK");
    printf("child: ENVEXEC_MARK=%s HOME=%s\n", v ? v : "(unset)", getenv("HOME") ? "set" : "(unset)");
    fflush(stdout);
    return 9;
}

static int run(char *const argv[])
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(p, &status, 0) != p)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return child();
    if (argc < 2)
        return 2;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 2;
    self[n] = 0;
    char *child_argv[] = {self, "child", NULL};

    if (strcmp(argv[1], "clear") == 0) {
        clearenv();
        setenv("ENVEXEC_MARK", "cleared", 1);
        printf("parent: environment cleared, exec\n");
        fflush(stdout);
        execv(self, child_argv);
        return 127;
    }
    if (argc != 3)
        return 2;
    if (strcmp(argv[1], "preload") == 0 || strcmp(argv[1], "append") == 0) {
        char val[8192];
        const char *old = getenv("LD_PRELOAD");
        if (strcmp(argv[1], "append") == 0 && old && *old)
            snprintf(val, sizeof val, "%s:%s", old, argv[2]);
        else
            snprintf(val, sizeof val, "%s", argv[2]);
        setenv("LD_PRELOAD", val, 1);
        setenv("ENVEXEC_MARK", argv[1], 1);
        printf("parent: own LD_PRELOAD set\n");
        int st = run(child_argv);
        printf("parent: child exited %d\n", st);
        return st == 9 ? 0 : 1;
    }
    if (strcmp(argv[1], "static") == 0) {
        char *sargv[] = {argv[2], "forked", NULL};
        int st = run(sargv);
        printf("parent: static child exited %d\n", st);
        fflush(stdout);
        if (st != 7)
            return 1;
        char *xargv[] = {argv[2], "exec", NULL};
        execv(argv[2], xargv);
        return 127;
    }
    return 2;
}
