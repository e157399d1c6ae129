/* SPDX-License-Identifier: MIT */
/*
 * lg_exec.h — what `lockgraph run` finds out about a command before it
 * starts it (cli/exec_check.c): where PATH puts it, whether it can be
 * executed at all, and whether the dynamic loader will honour LD_PRELOAD
 * for it (static binaries and setuid/setgid ones make it impossible).
 */
#ifndef LG_EXEC_H
#define LG_EXEC_H

#include <stddef.h>

enum lg_exec_kind {
    LG_EXEC_DYNAMIC = 0,   /* ELF with PT_INTERP: the loader runs, the shim loads */
    LG_EXEC_STATIC,        /* ELF without PT_INTERP: nothing can be interposed */
    LG_EXEC_SCRIPT,        /* "#!": the interpreter is what gets the shim */
    LG_EXEC_OTHER,         /* not ELF, no "#!": execve decides (ENOEXEC) */
};

struct lg_exec_info {
    char path[4096];       /* the file execve will be given */
    enum lg_exec_kind kind;
    int elf_class;         /* 32 or 64 for ELF files, else 0 */
    int secure;            /* 1: setuid/setgid for this user: the loader ignores LD_PRELOAD */
    char interp[4096];     /* SCRIPT: the interpreter after "#!"; DYNAMIC: the ELF loader (PT_INTERP) */
};

/*
 * Resolve `cmd` like execvp does (a name without '/' is looked up in PATH)
 * and inspect the file. Returns 0, or 127 (not found) / 126 (found but not
 * executable) with *why set to one line (static storage or `whybuf`).
 */
int lg_exec_resolve(const char *cmd, struct lg_exec_info *info,
                    char *whybuf, size_t whylen, const char **why);

#endif /* LG_EXEC_H */
