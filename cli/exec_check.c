/* SPDX-License-Identifier: MIT */
/*
 * exec_check.c — `lockgraph run` decides before forking whether the command
 * exists (127), can be executed (126), and whether the shim can reach it:
 * it reads the ELF program headers itself (no PT_INTERP: static, nothing
 * to interpose) and the set-id bits (the loader drops LD_PRELOAD).
 */
#include "lg_exec.h"

#include <elf.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Read the PT_INTERP path (the program's loader) into interp. */
static void read_interp(int fd, uint64_t off, uint64_t size, char *interp, size_t len)
{
    if (size == 0 || size >= len || pread(fd, interp, size, (off_t)off) != (ssize_t)size)
        size = 0;
    interp[size] = '\0';
}

/* Does the ELF file open on fd have a PT_INTERP program header? Returns
 * 1 yes (its path in interp), 0 no, -1 when the headers cannot be read
 * (then nothing is said). Both ELF classes: a 32-bit program is reported
 * as such, since the 64-bit shim cannot load into it. */
static int elf_has_interp(int fd, int *elf_class, char *interp, size_t len)
{
    union { Elf64_Ehdr e64; Elf32_Ehdr e32; } eh = { 0 };   /* a short file reads as zeros */
    union { Elf64_Phdr p64; Elf32_Phdr p32; } ph;
    uint64_t phoff;
    unsigned phnum, phentsize, want;

    if (pread(fd, &eh, sizeof eh, 0) < (ssize_t)sizeof eh.e32)
        return -1;
    int is64 = eh.e64.e_ident[EI_CLASS] == ELFCLASS64;
    if (is64) {
        phoff = eh.e64.e_phoff, phnum = eh.e64.e_phnum, phentsize = eh.e64.e_phentsize;
        want = sizeof ph.p64;
    } else if (eh.e32.e_ident[EI_CLASS] == ELFCLASS32) {
        phoff = eh.e32.e_phoff, phnum = eh.e32.e_phnum, phentsize = eh.e32.e_phentsize;
        want = sizeof ph.p32;
    } else {
        return -1;
    }
    *elf_class = is64 ? 64 : 32;
    if (phentsize != want || phnum == 0 || phnum > 4096)
        return -1;
    for (unsigned i = 0; i < phnum; i++) {
        if (pread(fd, &ph, want, (off_t)(phoff + (uint64_t)i * want)) != (ssize_t)want)
            return -1;
        if ((is64 ? ph.p64.p_type : ph.p32.p_type) == PT_INTERP) {
            read_interp(fd, is64 ? ph.p64.p_offset : ph.p32.p_offset,
                        is64 ? ph.p64.p_filesz : ph.p32.p_filesz, interp, len);
            return 1;
        }
    }
    return 0;
}

/* Would the kernel start this file in secure mode (AT_SECURE), where
 * ld.so ignores LD_PRELOAD paths? Set-id bits that change our real ids,
 * unless the file system is mounted nosuid. */
static int runs_secure(const char *path, const struct stat *st)
{
    int changes = ((st->st_mode & S_ISUID) && st->st_uid != getuid()) ||
                  ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getgid());
    if (!changes)
        return 0;
    struct statvfs vfs;
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
        return 0;
    return 1;
}

/* Fill kind/elf_class/secure/interp for an executable regular file. */
static void inspect(struct lg_exec_info *info, const struct stat *st)
{
    info->kind = LG_EXEC_OTHER;
    info->elf_class = 0;
    info->interp[0] = '\0';
    info->secure = runs_secure(info->path, st);

    int fd = open(info->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {                 /* execute-only file: assume the common case */
        info->kind = LG_EXEC_DYNAMIC;
        return;
    }
    char head[512];
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    if (n >= 4 && memcmp(head, ELFMAG, SELFMAG) == 0) {
        int r = elf_has_interp(fd, &info->elf_class, info->interp, sizeof info->interp);
        info->kind = r == 0 ? LG_EXEC_STATIC : LG_EXEC_DYNAMIC;
    } else if (n >= 2 && head[0] == '#' && head[1] == '!') {
        head[n] = '\0';
        char *p = head + 2;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, " \t\r\n");
        if (len >= sizeof info->interp)
            len = sizeof info->interp - 1;
        memcpy(info->interp, p, len);
        info->interp[len] = '\0';
        info->kind = LG_EXEC_SCRIPT;
    }
    close(fd);
}

/* Check one candidate file. 0: executable regular file; 126: exists but
 * cannot be executed; 127: absent. */
static int check_candidate(const char *path, struct stat *st, const char **reason)
{
    if (stat(path, st) != 0) {
        *reason = strerror(errno);
        return (errno == ENOENT || errno == ENOTDIR) ? 127 : 126;
    }
    if (S_ISDIR(st->st_mode)) {
        *reason = "is a directory";
        return 126;
    }
    if (!S_ISREG(st->st_mode)) {
        *reason = "not a regular file";
        return 126;
    }
    if (access(path, X_OK) != 0) {
        *reason = "permission denied (the file is not executable)";
        return 126;
    }
    return 0;
}

int lg_exec_resolve(const char *cmd, struct lg_exec_info *info,
                    char *whybuf, size_t whylen, const char **why)
{
    struct stat st;
    const char *reason = NULL;
    *why = whybuf;

    if (cmd[0] == '\0') {
        snprintf(whybuf, whylen, "an empty command name cannot be run");
        return 127;
    }
    if (strchr(cmd, '/')) {
        if (strlen(cmd) >= sizeof info->path) {
            snprintf(whybuf, whylen, "%.64s...: path too long", cmd);
            return 127;
        }
        strcpy(info->path, cmd);
        int r = check_candidate(info->path, &st, &reason);
        if (r == 127) {
            snprintf(whybuf, whylen, "%s: no such file", cmd);
            return 127;
        }
        if (r == 126) {
            snprintf(whybuf, whylen, "%s: cannot execute: %s", cmd, reason);
            return 126;
        }
    } else {
        /* execvp's search: each PATH element, an empty one meaning ".";
         * a file found but not executable gives 126 unless a later
         * element has an executable one. */
        const char *path = getenv("PATH");
        if (!path)
            path = "/usr/local/bin:/usr/bin:/bin";
        int found_unusable = 0;
        char unusable[4096] = "";
        const char *unusable_reason = NULL;
        const char *p = path;
        for (;;) {
            const char *end = strchr(p, ':');
            size_t dlen = end ? (size_t)(end - p) : strlen(p);
            int n = dlen == 0
                ? snprintf(info->path, sizeof info->path, "%s", cmd)
                : snprintf(info->path, sizeof info->path, "%.*s/%s", (int)dlen, p, cmd);
            if (n > 0 && (size_t)n < sizeof info->path) {
                int r = check_candidate(info->path, &st, &reason);
                if (r == 0)
                    goto found;
                if (r == 126 && !found_unusable) {
                    found_unusable = 1;
                    snprintf(unusable, sizeof unusable, "%s", info->path);
                    unusable_reason = reason;
                }
            }
            if (!end)
                break;
            p = end + 1;
        }
        if (found_unusable) {
            snprintf(whybuf, whylen, "%s: cannot execute: %s", unusable, unusable_reason);
            return 126;
        }
        snprintf(whybuf, whylen, "%s: command not found (searched PATH)", cmd);
        return 127;
    }
found:
    inspect(info, &st);
    if (info->kind == LG_EXEC_SCRIPT && info->interp[0]) {
        struct stat ist;
        const char *ireason;
        if (check_candidate(info->interp, &ist, &ireason) != 0) {
            snprintf(whybuf, whylen, "%s: bad interpreter %s: %s", info->path, info->interp, ireason);
            return 126;
        }
    }
    if (info->kind == LG_EXEC_DYNAMIC && info->interp[0] && access(info->interp, F_OK) != 0) {
        /* execve would fail with ENOENT: a binary built for another system. */
        snprintf(whybuf, whylen, "%s: cannot execute: its loader %s is missing (built for another system?)",
                 info->path, info->interp);
        return 127;
    }
    return 0;
}
