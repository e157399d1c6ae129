/* SPDX-License-Identifier: MIT */
/*
 * supervise_fallback.c — built only while cli/supervise.c (the hang
 * supervisor, another owner's file) is absent from the tree: the same two
 * functions of lg_supervise.h without hang detection. The thread table is
 * still created so the shim finds the file it expects; the wait is a plain
 * waitpid for the root process. cli/CMakeLists.txt picks one or the other.
 */
#include "lg_supervise.h"
#include "lg_threadtable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int lg_threadtable_create(const char *outdir, pid_t root_pid_hint)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", outdir, LG_TT_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    struct lg_tt_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, LG_TT_MAGIC, sizeof LG_TT_MAGIC);
    h.version = LG_TT_VERSION;
    h.nslots = LG_TT_SLOTS;
    h.slot_size = sizeof(struct lg_tt_slot);
    h.root_pid = root_pid_hint;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    h.start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    int rc = 0;
    if (ftruncate(fd, (off_t)LG_TT_SIZE) != 0 || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        rc = -errno;
    close(fd);
    return rc;
}

int lg_supervise(pid_t root, const struct lg_supervise_opts *o, struct lg_supervise_result *res)
{
    int status;
    memset(res, 0, sizeof *res);
    while (waitpid(root, &status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    res->status = status;
    return 0;
}
