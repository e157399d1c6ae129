/* SPDX-License-Identifier: MIT */
/* Two processes each write 128 KiB to the other before reading what the
 * other sent: both pipes fill, both writers wait for each other. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (128 * 1024)

static void talk(int out, int in)
{
    char *buf = calloc(1, BIG);
    ssize_t n = write(out, buf, BIG);        /* pipe_cross.c:13 */
    while (n > 0 && read(in, buf, BIG) > 0)
        ;
    free(buf);
}

int main(void)
{
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        close(up[0]);
        close(down[1]);
        talk(up[1], down[0]);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    talk(down[1], up[0]);
    waitpid(c, NULL, 0);
    return 0;
}
