/* SPDX-License-Identifier: MIT */
/* Two processes deadlocked on file locks taken in opposite orders:
 * flock(2) by default, fcntl(F_SETLKW) record locks with "fcntl", lockf
 * with "lockf". The lock files live in the folder given as argv[2]
 * (default /tmp). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *how = "flock";

static void take(int fd)
{
    if (strcmp(how, "fcntl") == 0) {
        struct flock f = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        fcntl(fd, F_SETLKW, &f);
    } else if (strcmp(how, "lockf") == 0) {
        lockf(fd, F_LOCK, 0);
    } else {
        flock(fd, LOCK_EX);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        how = argv[1];
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    char pa[4096], pb[4096];
    snprintf(pa, sizeof pa, "%s/lg-flock-a.%d", dir, (int)getpid());
    snprintf(pb, sizeof pb, "%s/lg-flock-b.%d", dir, (int)getpid());
    int go[2];
    if (pipe(go) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        char x;
        int a = open(pa, O_RDWR | O_CREAT, 0600), b = open(pb, O_RDWR | O_CREAT, 0600);
        take(b);
        if (read(go[0], &x, 1) != 1)
            _exit(1);
        take(a);                                 /* flock_procs.c:45 */
        _exit(0);
    }
    int a = open(pa, O_RDWR | O_CREAT, 0600), b = open(pb, O_RDWR | O_CREAT, 0600);
    take(a);
    if (write(go[1], "g", 1) != 1)
        return 1;
    usleep(100000);
    take(b);                                     /* flock_procs.c:53 */
    waitpid(c, NULL, 0);
    unlink(pa);
    unlink(pb);
    return 0;
}
