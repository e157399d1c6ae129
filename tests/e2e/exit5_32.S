/* SPDX-License-Identifier: MIT */
/* exit5_32.S — the smallest dynamically linked 32-bit x86 program (no
 * libc needed to build it): exits 5. For the e2e test that lockgraph says
 * the 64-bit shim cannot enter it and passes its status through. */
    .globl _start
_start:
    movl $1, %eax       /* SYS_exit (i386) */
    movl $5, %ebx
    int $0x80
