/* SPDX-License-Identifier: MIT */
/*
 * bigput_fork.c — the "big put" hang in process form: the child writes a
 * 256 KiB result into a pipe and exits; the parent waits for the child
 * before reading. A pipe holds 64 KiB, so the child blocks in write()
 * forever and the parent blocks in waitpid() forever: join before drain.
 * Twin that finishes: bigput_fork_ok.c (reads first, then waits).
 * LG-HANG  LG-ALLOW: hang deadlock
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
        ssize_t n = write(fds[1], result, sizeof result); /* LG-EXPECT: join-before-drain */
        _exit(n == (ssize_t)sizeof result ? 0 : 1);
    }
    close(fds[1]);

    int status;
    waitpid(child, &status, 0); /* LG-EXPECT: join-before-drain */

    static char buf[RESULT_SIZE];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof buf - got)) > 0)
        got += (size_t)n;
    printf("bigput_fork: got %zu bytes\n", got);
    return 0;
}
