/* SPDX-License-Identifier: MIT */
/*
 * hang_drive.c — a minimal stand-in for `lockgraph run` that exercises the
 * supervisor alone: creates OUTDIR/threads.lgt, starts the command (with
 * LD_PRELOAD=$LOCKGRAPH_SHIM when that is set), calls lg_supervise, and
 * prints the result and OUTDIR/hang.lgt as text (hang_dump format).
 *   hang_drive [--hang-timeout S] [--no-kill] OUTDIR -- cmd args...
 */
#include "lg_supervise.h"
#include "hang_dump.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    double timeout = 10;
    int kill_on_hang = 1;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]; i++) {
        if (!strcmp(argv[i], "--hang-timeout") && i + 1 < argc)
            timeout = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-kill"))
            kill_on_hang = 0;
        else {
            fprintf(stderr, "hang_drive: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) {
        fprintf(stderr, "usage: hang_drive [--hang-timeout S] [--no-kill] OUTDIR -- cmd...\n");
        return 2;
    }
    char outdir[4096];
    mkdir(argv[i], 0755);
    if (!realpath(argv[i], outdir)) {
        perror(argv[i]);
        return 2;
    }
    char **cmd = &argv[i + 2];
    char hp[4200];
    snprintf(hp, sizeof hp, "%s/hang.lgt", outdir);
    unlink(hp);
    int rc = lg_threadtable_create(outdir, 0);
    if (rc < 0) {
        fprintf(stderr, "hang_drive: thread table: %s\n", strerror(-rc));
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        const char *shim = getenv("LOCKGRAPH_SHIM");
        if (shim && *shim)
            setenv("LD_PRELOAD", shim, 1);
        setenv("LOCKGRAPH_DIR", outdir, 1);
        execvp(cmd[0], cmd);
        _exit(127);
    }
    struct lg_supervise_opts o = {.outdir = outdir, .hang_timeout = timeout, .kill_on_hang = kill_on_hang};
    struct lg_supervise_result res;
    rc = lg_supervise(pid, &o, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);     /* the supervisor's own CPU, not the program's */
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("supervise rc=%d hung=%d exited=%d code=%d signaled=%d sig=%d elapsed=%.2f supervisor_cpu=%.3f\n", rc,
           res.hung, WIFEXITED(res.status), WIFEXITED(res.status) ? WEXITSTATUS(res.status) : -1,
           WIFSIGNALED(res.status), WIFSIGNALED(res.status) ? WTERMSIG(res.status) : 0, secs, cpu);
    if (access(hp, R_OK) == 0)
        hang_dump(hp, stdout);
    return rc < 0 ? 2 : 0;
}
