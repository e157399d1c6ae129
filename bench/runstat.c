/* SPDX-License-Identifier: MIT */
/*
 * runstat.c — runs one command and writes what it cost into a file: wall
 * time, the peak RSS of the command (its own process tree, from wait4),
 * user and system CPU, exit status. bench/realprogs puts it right around
 * the program, inside `lockgraph run`, so the program's memory is measured
 * apart from the supervisor's and the analyzer's.
 *
 *   runstat OUTFILE CMD [ARGS...]
 *   OUTFILE gets one line: wall_s=… maxrss_kib=… user_s=… sys_s=… status=…
 * The command's own exit status is passed on (128+N for signal N).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    int status = 0, code;
    pid_t pid;
    FILE *f;

    if (argc < 3) {
        fprintf(stderr, "usage: runstat OUTFILE CMD [ARGS...]\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
        return 125;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runstat: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
            return 125;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    f = fopen(argv[1], "w");
    if (!f) {
        fprintf(stderr, "runstat: cannot write %s: %s\n", argv[1], strerror(errno));
        return 125;
    }
    fprintf(f, "wall_s=%.4f maxrss_kib=%ld user_s=%.3f sys_s=%.3f status=%d\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            ru.ru_maxrss, seconds(ru.ru_utime), seconds(ru.ru_stime), code);
    if (fclose(f) != 0)
        return 125;
    return code;
}
