/* SPDX-License-Identifier: MIT */
/* hang_dump.h — print a hang.lgt (supervisor record) as text, for tests. */
#ifndef HANG_DUMP_H
#define HANG_DUMP_H
#include <stdio.h>
/* 0, or -1 when the file cannot be read as a hang record. */
int hang_dump(const char *path, FILE *out);
#endif
