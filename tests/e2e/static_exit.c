/* SPDX-License-Identifier: MIT */
/*
 * static_exit.c — built with -static for the e2e test of a static binary:
 * prints its first argument and exits 3, a status lockgraph must pass on.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("static: %s\n", argc > 1 ? argv[1] : "");
    return 3;
}
