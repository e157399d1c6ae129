/* SPDX-License-Identifier: MIT */
/*
 * file_io.c — run under `lockgraph run` by test_io_trace.c: exercises the
 * file wrappers (open/read/write in a loop, pwrite, ftruncate, flock,
 * fcntl and lockf locks, stdio) and checks their results are unchanged;
 * the test then reads the trace for the records they must leave.
 * argv[1]: the file to use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define LOOPS 1000

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "file_io.db";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 2;
    for (int i = 0; i < LOOPS; i++)
        if (write(fd, "0123456789", 10) != 10)
            return 3;
    char buf[16];
    if (pread(fd, buf, 10, 0) != 10 || memcmp(buf, "0123456789", 10) != 0)
        return 4;
    if (flock(fd, LOCK_EX) != 0)
        return 5;
    if (pwrite(fd, "abc", 3, 0) != 3)       /* written under the flock */
        return 6;
    if (flock(fd, LOCK_UN) != 0)
        return 7;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
    if (fcntl(fd, F_SETLKW, &fl) != 0)
        return 8;
    fl.l_type = F_UNLCK;
    if (fcntl(fd, F_SETLK, &fl) != 0)
        return 9;
    if (lseek(fd, 0, SEEK_SET) != 0 || lockf(fd, F_LOCK, 10) != 0 || lockf(fd, F_ULOCK, 10) != 0)
        return 10;
    if (ftruncate(fd, 5) != 0)
        return 11;
    errno = 0;
    if (fcntl(fd, F_GETFL) < 0 || fcntl(-1, F_GETFL) != -1 || errno != EBADF)
        return 12;
    close(fd);
    FILE *f = fopen(path, "a");
    if (!f || fprintf(f, "%d\n", 42) != 3 || fclose(f) != 0)
        return 13;
    f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof(buf), f) || strncmp(buf, "abc3442", 7) != 0 || fclose(f) != 0)
        return 14;
    /* freopen and close_range close fds behind close(2)'s back: the
     * names must follow (checked by the trace test: FD_CLOSE records). */
    f = fopen(path, "r");
    if (!f || !(f = freopen(path, "r+", f)) || fclose(f) != 0)
        return 15;
    int a = open(path, O_RDONLY), b = open(path, O_RDONLY);
    if (a < 0 || b < 0 || close_range((unsigned)a, (unsigned)b, 0) != 0)
        return 16;
    errno = 0;
    if (read(a, buf, 1) != -1 || errno != EBADF)
        return 17;
    puts("file_io: ok");
    return 0;
}
