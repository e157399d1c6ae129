/* SPDX-License-Identifier: MIT */
/* Healthy: a reader blocks on a pipe while its producer computes for a few
 * seconds before writing. Not a hang: the producer is running. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double spin(double secs)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    volatile double x = 0;
    do {
        for (int i = 0; i < 100000; i++)
            x += i * 0.5;
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < secs);
    return x;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        double x = spin(secs);
        if (write(p[1], &x, sizeof x) != sizeof x)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    double x;
    ssize_t n = read(p[0], &x, sizeof x);
    int st;
    waitpid(c, &st, 0);
    return n == sizeof x && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
