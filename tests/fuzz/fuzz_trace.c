/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace.c — libFuzzer target for the trace reader: any byte string
 * written as a trace file must open or be refused with a reason, and its
 * records must walk to an end without reading outside the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_trace_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct lg_trace_file tf;
    const struct lg_rec_hdr *r;
    const char *why;
    FILE *f;

    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/lg-fuzz-%d.lgt", (int)getpid());
    f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (lg_trace_open(path, &tf, &why) != 0) {
        if (!why || !*why)
            abort(); /* a refusal must say why */
        return 0;
    }
    while (lg_trace_next(&tf, &r)) {
        /* Touch the whole record: ASan catches any read past the mapping. */
        const uint8_t *p = (const uint8_t *)r;
        volatile uint8_t sum = 0;
        for (uint32_t i = 0; i < r->size; i++)
            sum ^= p[i];
        (void)sum;
    }
    lg_trace_close(&tf);
    return 0;
}
