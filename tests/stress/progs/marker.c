/* SPDX-License-Identifier: MIT */
/* marker.c — a library a program preloads on its own: says it was loaded. */
#include <unistd.h>

__attribute__((constructor)) static void marker_loaded(void)
{
    static const char msg[] = "marker library loaded\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(3);
}
