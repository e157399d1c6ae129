/* SPDX-License-Identifier: MIT */
/*
 * gen_trace.c — writes a synthetic trace folder for the analysis-scale
 * benchmark (bench/analyze_scale): many locks, many dependency records,
 * thousands of threads, and long lock-order cycles whose count is known,
 * so `lockgraph report` can be timed and its answer checked.
 *
 *   gen_trace DIR [locks] [deps] [threads] [cycles] [cycle_len]
 *   defaults:      1000000 10000000 4000   10       100
 *
 * Acyclic background: every dependency goes from a lower-numbered lock to
 * a higher-numbered one. Each planted cycle is cycle_len locks taken in a
 * ring, one edge per thread, so each is a real (error) cycle.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lg_trace.h"

static FILE *out;
static uint64_t now_ns = 1000000000ull;

static void put_rec(uint16_t kind, int32_t tid, const void *payload, uint32_t len)
{
    struct lg_rec_hdr h = {0};
    static const uint8_t zeros[8];
    uint32_t size = lg_rec_align((uint32_t)sizeof(h) + len);

    h.size = size;
    h.kind = kind;
    h.tid = tid;
    h.time_ns = now_ns++;
    fwrite(&h, sizeof(h), 1, out);
    fwrite(payload, len, 1, out);
    fwrite(zeros, size - sizeof(h) - len, 1, out);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void put_dep(int32_t tid, uint64_t held, uint64_t acquired, uint32_t stack)
{
    struct {
        struct lg_rec_dep d;
        struct lg_held h[1];
    } r;
    memset(&r, 0, sizeof(r));
    r.d.lock_id = acquired;
    r.d.stack_id = stack;
    r.d.count = 1;
    r.d.nheld = 1;
    r.h[0].lock_id = held;
    r.h[0].pc = 0x401000 + (held % 64) * 16;
    put_rec(LG_REC_DEP, tid, &r, sizeof(r));
}

int main(int argc, char **argv)
{
    const char *dir;
    uint64_t nlocks = 1000000, ndeps = 10000000, nthreads = 4000, ncycles = 10, cyclen = 100;
    struct lg_trace_header hdr;
    char path[4096];
    int32_t pid = 4242;

    if (argc < 2) {
        fprintf(stderr, "usage: gen_trace DIR [locks] [deps] [threads] [cycles] [cycle_len]\n");
        return 2;
    }
    dir = argv[1];
    if (argc > 2) nlocks = strtoull(argv[2], NULL, 10);
    if (argc > 3) ndeps = strtoull(argv[3], NULL, 10);
    if (argc > 4) nthreads = strtoull(argv[4], NULL, 10);
    if (argc > 5) ncycles = strtoull(argv[5], NULL, 10);
    if (argc > 6) cyclen = strtoull(argv[6], NULL, 10);
    if (nlocks < ncycles * cyclen + 2 || nthreads < 2 || cyclen < 2) {
        fprintf(stderr, "gen_trace: need locks >= cycles*cycle_len+2, threads >= 2, cycle_len >= 2\n");
        return 2;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "gen_trace: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/" LG_TRACE_FILE_FMT, dir, pid, 0u);
    out = fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "gen_trace: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 22);

    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, LG_TRACE_MAGIC, sizeof(LG_TRACE_MAGIC));
    hdr.version = LG_TRACE_VERSION;
    hdr.header_size = LG_TRACE_HEADER_SIZE;
    hdr.pid = pid;
    hdr.ppid = 1;
    hdr.start_ns = now_ns;
    snprintf(hdr.exe, sizeof(hdr.exe), "/synthetic/bench");
    fwrite(&hdr, sizeof(hdr), 1, out);
    {
        static uint8_t pad[LG_TRACE_HEADER_SIZE];
        fwrite(pad, LG_TRACE_HEADER_SIZE - sizeof(hdr), 1, out);
    }

    /* A few stacks, shared by all deps. */
    for (uint32_t s = 1; s <= 16; s++) {
        struct {
            struct lg_rec_stack st;
            uint64_t pc[4];
        } r = {{s, 4}, {0x401000 + s * 16, 0x402000, 0x403000, 0x404000}};
        put_rec(LG_REC_STACK, pid, &r, sizeof(r));
    }
    /* Threads: all alive at once (created at the start, exit at the end). */
    for (uint64_t t = 0; t < nthreads; t++) {
        struct lg_rec_thread_start ts = {t ? pid : 0, 1, 0x7f0000000000ull + t * 4096, 0x401100};
        put_rec(LG_REC_THREAD_START, pid + (int32_t)t, &ts, sizeof(ts));
    }
    for (uint64_t l = 1; l <= nlocks; l++) {
        struct lg_rec_lock_new ln;
        memset(&ln, 0, sizeof(ln));
        ln.lock_id = l;
        ln.addr = 0x10000000ull + l * 64;
        ln.lock_kind = LG_LOCK_MUTEX;
        ln.site_stack = 1 + (uint32_t)(l % 16);
        put_rec(LG_REC_LOCK_NEW, pid, &ln, sizeof(ln));
    }
    /* Planted cycles use locks 1 .. ncycles*cyclen; edge i of a cycle by
     * thread (i % nthreads), so consecutive edges have distinct threads. */
    uint64_t planted = 0;
    for (uint64_t c = 0; c < ncycles; c++) {
        uint64_t first = 1 + c * cyclen;
        for (uint64_t i = 0; i < cyclen; i++) {
            uint64_t a = first + i, b = first + (i + 1) % cyclen;
            put_dep(pid + (int32_t)((c * cyclen + i) % nthreads), a, b, 2);
            planted++;
        }
    }
    /* Background: acyclic edges lo -> hi among the other locks. */
    uint64_t base = ncycles * cyclen + 1, span = nlocks - base + 1;
    for (uint64_t d = planted; d < ndeps; d++) {
        uint64_t a = base + rnd() % span, b = base + rnd() % span;
        if (a == b)
            b = a == nlocks ? base : a + 1;
        if (a > b) {
            uint64_t t = a;
            a = b;
            b = t;
        }
        put_dep(pid + (int32_t)(rnd() % nthreads), a, b, 3 + (uint32_t)(d % 14));
    }
    for (uint64_t t = 1; t < nthreads; t++) {
        struct lg_rec_thread_exit te = {LG_END_RETURN, 0};
        put_rec(LG_REC_THREAD_EXIT, pid + (int32_t)t, &te, sizeof(te));
    }
    {
        struct lg_rec_proc_exit pe = {LG_END_EXIT, 0};
        put_rec(LG_REC_PROC_EXIT, pid, &pe, sizeof(pe));
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "gen_trace: write error on %s\n", path);
        return 1;
    }
    printf("gen_trace: %s: %llu locks, %llu dependency records, %llu threads, "
           "%llu cycles of %llu locks\n",
           path, (unsigned long long)nlocks, (unsigned long long)ndeps,
           (unsigned long long)nthreads, (unsigned long long)ncycles, (unsigned long long)cyclen);
    return 0;
}
