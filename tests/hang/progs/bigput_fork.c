/* SPDX-License-Identifier: MIT */
/* Join-before-drain, process form: the child writes 256 KiB into a pipe
 * (the pipe holds 64 KiB), the parent waits for the child before reading. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (256 * 1024)

int main(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        char *buf = calloc(1, BIG);
        close(p[0]);
        ssize_t n = write(p[1], buf, BIG);   /* bigput_fork.c:20 */
        _exit(n == BIG ? 0 : 1);
    }
    close(p[1]);
    int st;
    waitpid(c, &st, 0);                    /* bigput_fork.c:25 */
    char buf[4096];
    while (read(p[0], buf, sizeof buf) > 0)
        ;
    return 0;
}
