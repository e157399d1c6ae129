/* SPDX-License-Identifier: MIT */
/* Unit tests: damaged trace files never crash the analyzer; what can be
 * read is read and each problem is one line in m->skipped. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_analyze.h"
#include "trace_writer.h"

static char *dir;
static struct lg_model *model;

static void setup(void)
{
    dir = tw_tmpdir();
    model = NULL;
}

static void teardown(void)
{
    lg_model_free(model);
    tw_rmdir(dir);
}

TestSuite(garbled, .init = setup, .fini = teardown);

static char *good_trace(int pid, bool clean)
{
    struct tw *w = tw_open(dir, pid, 1, 0, 1000);
    for (uint64_t i = 1; i <= 50; i++)
        tw_lock(w, 1000 + i, i, 0, LG_LOCK_NAMED_SEM, 0, "L");
    for (uint64_t i = 1; i < 50; i++)
        tw_dep_ids(w, pid, 2000 + i, i + 1, (uint64_t[]){ i }, 1, 0);
    return tw_close(w, clean);
}

static bool skipped_mentions(const char *what)
{
    for (int i = 0; i < model->nskipped; i++)
        if (strstr(model->skipped[i], what))
            return true;
    return false;
}

static void load_ok(void)
{
    const char *err;
    cr_assert_eq(lg_model_load(dir, &model, &err), 0, "load: %s", err ? err : "");
}

Test(garbled, truncated_file)
{
    char *path = good_trace(400, false);
    long lock_rec = lg_rec_align(LG_REC_FIXED_SIZE(struct lg_rec_lock_new) + 2);
    long dep_rec = LG_REC_FIXED_SIZE(struct lg_rec_dep) + sizeof(struct lg_held);
    /* Cut in the middle of the eleventh dependency record. */
    cr_assert_eq(truncate(path, 4096 + 50 * lock_rec + 10 * dep_rec + 13), 0);
    load_ok();
    cr_assert_eq(model->nprocs, 1);
    cr_assert_eq(model->nlocks, 50, "every lock before the cut is there");
    cr_assert_eq(model->nedges, 10, "the ten whole dependencies are read");
    cr_assert(model->procs[0].truncated);
    cr_assert_geq(model->nskipped, 1);
    cr_assert(skipped_mentions(path), "the problem names the file");
    free(path);
}

Test(garbled, bad_magic_is_skipped_others_read)
{
    char *good = good_trace(401, true);
    char *bad = good_trace(402, true);
    FILE *f = fopen(bad, "r+b");
    fwrite("NOTATRC", 1, 7, f);
    fclose(f);
    load_ok();
    cr_assert_eq(model->nprocs, 1);
    cr_assert_eq(model->procs[0].pid, 401);
    cr_assert(skipped_mentions("bad magic"));
    cr_assert_eq(model->nskipped, 1);
    free(good);
    free(bad);
}

Test(garbled, newer_version_is_refused_with_a_line)
{
    char *path = good_trace(403, true);
    FILE *f = fopen(path, "r+b");
    uint32_t v = 99;
    fseek(f, 8, SEEK_SET);
    fwrite(&v, 4, 1, f);
    fclose(f);
    load_ok();
    cr_assert_eq(model->nprocs, 0);
    cr_assert(skipped_mentions("newer"));
    /* Reports still work on an empty model. */
    FILE *out = fopen("/dev/null", "w");
    lg_report_text(model, out);
    lg_report_json(model, out);
    fclose(out);
    free(path);
}

Test(garbled, random_bytes)
{
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/trace-%d-0.lgt", dir, 500 + round % 7);
        FILE *f = fopen(path, "wb");
        size_t n = (size_t)(rand_r(&seed) % 20000);
        /* Half the files keep a valid header so the record walk is fuzzed. */
        bool header = round % 2;
        for (size_t i = 0; i < n; i++) {
            int c = rand_r(&seed) & 0xff;
            if (header && i < 4096) {
                struct lg_trace_header h = { 0 };
                memcpy(h.magic, LG_TRACE_MAGIC, 8);
                h.version = 1;
                h.header_size = 4096;
                h.pid = 500 + round % 7;
                c = i < sizeof(h) ? ((uint8_t *)&h)[i] : 0;
            }
            fputc(c, f);
        }
        fclose(f);
        const char *err;
        struct lg_model *m = NULL;
        int rc = lg_model_load(dir, &m, &err);
        cr_assert_eq(rc, 0, "round %d: %s", round, err ? err : "");
        FILE *out = fopen("/dev/null", "w");
        lg_report_text(m, out);
        lg_report_json(m, out);
        fclose(out);
        lg_model_free(m);
    }
}

Test(garbled, records_with_lying_sizes)
{
    struct tw *w = tw_open(dir, 404, 1, 0, 1000);
    tw_lock(w, 1001, 1, 0, LG_LOCK_MUTEX, 0, NULL);
    /* A DEP that claims 1000 held locks but carries one. */
    struct {
        struct lg_rec_dep d;
        struct lg_held h;
    } dep = { { .lock_id = 2, .count = 1, .nheld = 1000 }, { .lock_id = 1 } };
    tw_record(w, LG_REC_DEP, 404, 2000, &dep, sizeof(dep));
    /* A STACK claiming a million frames. */
    struct {
        struct lg_rec_stack s;
        uint64_t pc;
    } st = { { .stack_id = 1, .nframes = 1000000 }, 0x1234 };
    tw_record(w, LG_REC_STACK, 404, 2000, &st, sizeof(st));
    /* A module and a lock whose strings run past the record. */
    struct lg_rec_module mod = { .path_len = 5000 };
    tw_record(w, LG_REC_MODULE, 404, 2000, &mod, sizeof(mod));
    struct lg_rec_lock_new ln = { .lock_id = 3, .lock_kind = LG_LOCK_NAMED_SEM, .name_len = 4000 };
    tw_record(w, LG_REC_LOCK_NEW, 404, 2000, &ln, sizeof(ln));
    /* A record of a kind from the future. */
    uint64_t future[2] = { 1, 2 };
    tw_record(w, 900, 404, 2000, future, sizeof(future));
    tw_dep_ids(w, 404, 3000, 1, (uint64_t[]){ 2 }, 1, 0);
    free(tw_close(w, true));
    load_ok();
    cr_assert_eq(model->nedges, 2, "both dependencies were read");
    cr_assert(skipped_mentions("held locks"));
}
