/* SPDX-License-Identifier: MIT */
/*
 * bigput_fork_ok.c — twin of bigput_fork.c that finishes: the parent
 * drains the pipe to end-of-file first, and only then waits for the child.
 * LG-CLEAN
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESULT_SIZE (256 * 1024)

int main(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        static char result[RESULT_SIZE];
        close(fds[0]);
        memset(result, 'x', sizeof result);
        ssize_t n = write(fds[1], result, sizeof result);
        _exit(n == (ssize_t)sizeof result ? 0 : 1);
    }
    close(fds[1]);

    static char buf[RESULT_SIZE];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof buf - got)) > 0)
        got += (size_t)n;

    int status;
    waitpid(child, &status, 0);
    printf("bigput_fork_ok: got %zu bytes, child status %d\n", got,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == RESULT_SIZE ? 0 : 1;
}
