/* SPDX-License-Identifier: MIT */
/*
 * ticket_fork_flock.c — ticket_fork.c done right: each buyer takes an
 * exclusive flock on the counter file around its read-modify-write, so
 * exactly one ticket is sold. Must come out clean.
 * LG-CLEAN
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_sample.h"

#define DB "ticket_fork_flock.db"
#define BUYERS 4

static void put(int left)
{
    char buf[32];
    int fd = open(DB, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = snprintf(buf, sizeof(buf), "%d\n", left);
    if (fd < 0 || write(fd, buf, (size_t)n) != n)
        exit(1);
    close(fd);
}

static int buy(void)
{
    char buf[32] = { 0 };
    int fd = open(DB, O_RDWR);
    if (fd < 0 || flock(fd, LOCK_EX) != 0)
        return 0;
    int sold = 0;
    if (read(fd, buf, sizeof(buf) - 1) > 0) {
        int left = atoi(buf);
        sleep_ms(50);
        if (left > 0) {
            int n = snprintf(buf, sizeof(buf), "%d\n", left - 1);
            lseek(fd, 0, SEEK_SET);
            sold = write(fd, buf, (size_t)n) == n;
        }
    }
    flock(fd, LOCK_UN);
    close(fd);
    return sold;
}

int main(void)
{
    put(1);
    for (int i = 0; i < BUYERS; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(buy() ? 0 : 1);
        if (pid < 0)
            return 1;
    }
    int sold = 0, status;
    while (wait(&status) > 0)
        sold += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("1 ticket, %d sold\n", sold);
    unlink(DB);
    return 0;
}
