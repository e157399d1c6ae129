/* SPDX-License-Identifier: MIT */
/*
 * daemon.c — a classic daemon: fork, setsid, fork again, chdir /, close
 * every file descriptor (including any a preloaded library keeps open),
 * reopen /dev/null on 0-2, then open its own result file and do enough
 * lock work to grow any trace well past its first megabyte (many new lock
 * orders), and write the result. The first process exits at once; it
 * waits only for a pipe to say the daemon is done, so the run's result
 * does not depend on timing. The result file must hold exactly one line.
 *     daemon RESULT_FILE
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NLOCKS 20000

static int daemon_body(const char *result, int done_fd)
{
    struct rlimit rl;
    long maxfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 1024;
    if (maxfd > 65536)
        maxfd = 65536;
    for (long fd = 0; fd < maxfd; fd++)
        if (fd != done_fd)
            close((int)fd);
    open("/dev/null", O_RDONLY);    /* 0 */
    open("/dev/null", O_WRONLY);    /* 1 */
    open("/dev/null", O_WRONLY);    /* 2 */
    int out = open(result, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        return 1;

    /* Many distinct lock orders: each pair (outer, locks[i]) is new. */
    static pthread_mutex_t locks[NLOCKS];
    pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
    long sum = 0;
    for (int i = 0; i < NLOCKS; i++) {
        pthread_mutex_init(&locks[i], NULL);
        pthread_mutex_lock(&outer);
        pthread_mutex_lock(&locks[i]);
        sum += i;
        pthread_mutex_unlock(&locks[i]);
        pthread_mutex_unlock(&outer);
    }
    char line[128];
    int n = snprintf(line, sizeof line, "daemon in its own session: %s, sum=%ld\n", getsid(0) != getsid(getppid()) || getppid() == 1 ? "yes" : "no", sum);
    if (write(out, line, (size_t)n) != n)
        return 1;
    close(out);
    if (write(done_fd, "d", 1) != 1)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char result[4096];
    if (!realpath(".", result) || strlen(result) + strlen(argv[1]) + 2 > sizeof result)
        return 2;
    if (argv[1][0] == '/')
        strcpy(result, argv[1]);
    else
        strcat(strcat(result, "/"), argv[1]);
    int done[2];
    if (pipe(done) != 0)
        return 2;
    pid_t p = fork();
    if (p == 0) {
        close(done[0]);
        if (setsid() < 0)
            _exit(1);
        if (fork() != 0)
            _exit(0);                 /* the session leader goes; the daemon stays */
        if (chdir("/") != 0)
            _exit(1);
        umask(022);
        _exit(daemon_body(result, done[1]));
    }
    close(done[1]);
    int status;
    waitpid(p, &status, 0);
    char c;
    ssize_t n = read(done[0], &c, 1);   /* the daemon's "done" (EOF if it died) */
    printf("first child %d, daemon %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           n == 1 ? "finished" : "DIED");
    return n == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
