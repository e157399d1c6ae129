/* SPDX-License-Identifier: MIT */
/* The big-put shape with a small item: the child writes 1000 bytes, the
 * parent waits for it before reading. It finishes (the item fits in the
 * pipe) but deserves a join-before-drain-risk warning. With an argument
 * "drain" it reads first, then waits: the clean twin. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int drain_first = argc > 1 && strcmp(argv[1], "drain") == 0;
    int p[2];
    char buf[1000];
    if (pipe(p) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        memset(buf, 'x', sizeof buf);
        close(p[0]);
        ssize_t n = write(p[1], buf, sizeof buf);   /* smallput_fork.c:21 */
        _exit(n == (ssize_t)sizeof buf ? 0 : 1);
    }
    close(p[1]);
    ssize_t got = 0, n;
    if (drain_first)
        while ((n = read(p[0], buf, sizeof buf)) > 0)
            got += n;
    int st;
    waitpid(c, &st, 0);                            /* smallput_fork.c:30 */
    if (!drain_first)
        while ((n = read(p[0], buf, sizeof buf)) > 0)   /* smallput_fork.c:32 */
            got += n;
    return got == (ssize_t)sizeof buf ? 0 : 1;
}
