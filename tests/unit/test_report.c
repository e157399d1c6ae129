/* SPDX-License-Identifier: MIT */
/* Unit tests: text and JSON reports (analyzer/report_text.c,
 * report_json.c): wording, layout, valid JSON, determinism. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_analyze.h"
#include "trace_writer.h"

#define PID 700

static char *dir;

static void setup(void)
{
    dir = tw_tmpdir();
}

static void teardown(void)
{
    tw_rmdir(dir);
}

TestSuite(report, .init = setup, .fini = teardown);

/* AB/BA with Python locations: T2 takes A at abba.py:5 then B at :6; T3
 * takes B at :9 then A at :10 (later, so it closes the cycle). */
static void write_abba(const char *exe)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    if (exe)
        tw_set_exe(w, exe);
    tw_pystack(w, 5, "abba.py", 5, "t1");
    tw_pystack(w, 6, "abba.py", 6, "t1");
    tw_pystack(w, 9, "abba.py", 9, "t2");
    tw_pystack(w, 10, "abba.py", 10, "t2");
    tw_pystack(w, 1, "abba.py", 1, "<module>");
    tw_pystack(w, 2, "abba.py", 2, "<module>");
    tw_lock(w, 1001, 1, 0, LG_LOCK_NAMED_SEM, 1, "mutexA");
    tw_lock(w, 1002, 2, 0, LG_LOCK_NAMED_SEM, 2, "mutexB");
    tw_thread_start(w, 701, 2000, PID);
    tw_thread_start(w, 702, 2001, PID);
    tw_dep(w, 701, 3000, 2, LG_MODE_WRITE, 0, 6, (struct lg_held[]){ { .lock_id = 1, .stack_id = 5 } }, 1);
    tw_dep(w, 702, 3001, 1, LG_MODE_WRITE, 0, 10, (struct lg_held[]){ { .lock_id = 2, .stack_id = 9 } }, 1);
    free(tw_close(w, true));
}

static char *render(struct lg_model *m, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (json)
        lg_report_json(m, f);
    else
        lg_report_text(m, f);
    fclose(f);
    return buf;
}

static struct lg_model *load(void)
{
    struct lg_model *m;
    const char *err;
    cr_assert_eq(lg_model_load(dir, &m, &err), 0, "%s", err ? err : "");
    return m;
}

Test(report, text_cycle_block)
{
    write_abba(NULL);
    struct lg_model *m = load();
    char *t = render(m, false);
    cr_assert(strstr(t, "abba.py:10: error: lock-order cycle mutexA -> mutexB -> mutexA (potential deadlock)\n"),
              "closing acquisition first:\n%s", t);
    cr_assert(strstr(t, "    T2 acquired mutexB at abba.py:6 while holding mutexA taken at abba.py:5\n"), "%s", t);
    cr_assert(strstr(t, "    T3 acquired mutexA at abba.py:10 while holding mutexB taken at abba.py:9\n"), "%s", t);
    cr_assert(strstr(t, "*** DEADLOCK ***"), "%s", t);
    cr_assert(strstr(t, "lockgraph: 1 errors, 0 warnings, 0 notes in 1 processes, 3 threads, 2 locks\n"), "%s", t);
    /* Locations: every acquisition and held acquisition, closing one first. */
    const struct lg_finding *f = &m->findings[0];
    cr_assert_eq(f->nloc, 6);
    cr_assert_eq(f->locations[0].line, 10);
    int lines[6];
    for (int i = 0; i < 6; i++)
        lines[i] = f->locations[i].line;
    int want[] = { 10, 6, 5, 9, 1, 2 };
    for (int i = 0; i < 6; i++)
        cr_assert_eq(lines[i], want[i], "location %d: %d", i, lines[i]);
    free(t);
    lg_model_free(m);
}

Test(report, text_is_deterministic)
{
    write_abba(NULL);
    struct lg_model *m1 = load(), *m2 = load();
    char *a = render(m1, false), *b = render(m2, false);
    char *ja = render(m1, true), *jb = render(m2, true);
    cr_assert_str_eq(a, b);
    cr_assert_str_eq(ja, jb);
    free(a); free(b); free(ja); free(jb);
    lg_model_free(m1);
    lg_model_free(m2);
}

/* Validate with Python's json module: a real parser, not a substring. */
static int python_check(const char *json, const char *expr)
{
    char path[600], script[600], cmd[1400];
    snprintf(path, sizeof(path), "%s/out.json", dir);
    snprintf(script, sizeof(script), "%s/check.py", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    f = fopen(script, "w");
    fprintf(f, "import json, sys\nd = json.load(open(sys.argv[1], encoding='utf-8'))\n"
               "sys.exit(0 if (%s) else 3)\n", expr);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", script, path);
    return system(cmd);
}

Test(report, json_is_valid_and_complete)
{
    write_abba("/tmp/we\"ird\\name\n\x01\xff\xc3\xa9");
    struct lg_model *m = load();
    char *j = render(m, true);
    cr_assert_eq(python_check(j, "d['version']==1"), 0, "not valid JSON:\n%s", j);
    cr_assert_eq(python_check(j, "d['program']=='/tmp/we\"ird\\\\name\\n\\x01\\ufffd\\u00e9'"), 0,
                 "escaping:\n%s", j);
    cr_assert_eq(python_check(j, "len(d['findings'])==1 and d['findings'][0]['kind']=='lock-order-cycle'"
                                 " and d['findings'][0]['severity']=='error'"), 0);
    cr_assert_eq(python_check(j, "d['findings'][0]['locations'][0]=={'file':'abba.py','line':10,"
                                 "'function':'t2','python':True}"), 0, "%s", j);
    cr_assert_eq(python_check(j, "[s['lock_name'] for s in d['findings'][0]['steps']]==['mutexA','mutexB']"), 0);
    cr_assert_eq(python_check(j, "len(d['threads'])==3 and len(d['locks'])==2 and len(d['processes'])==1"), 0);
    cr_assert_eq(python_check(j, "d['findings'][0]['reason'] is None and d['skipped']==[]"), 0);
    free(j);
    lg_model_free(m);
}

Test(report, warning_shows_reason_not_scenario)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_lock(w, 1001, 1, 0, LG_LOCK_NAMED_SEM, 0, "A");
    tw_lock(w, 1002, 2, 0, LG_LOCK_NAMED_SEM, 0, "B");
    tw_lock(w, 1003, 3, 0, LG_LOCK_NAMED_SEM, 0, "G");
    tw_thread_start(w, 701, 2000, PID);
    tw_thread_start(w, 702, 2001, PID);
    tw_dep_ids(w, 701, 3000, 2, (uint64_t[]){ 3, 1 }, 2, 0);
    tw_dep_ids(w, 702, 3001, 1, (uint64_t[]){ 3, 2 }, 2, 0);
    free(tw_close(w, true));
    struct lg_model *m = load();
    char *t = render(m, false);
    cr_assert(strstr(t, "warning: lock-order cycle A -> B -> A (serialised by gate lock G)"), "%s", t);
    cr_assert(strstr(t, "not a deadlock: gate lock"), "%s", t);
    cr_assert_null(strstr(t, "DEADLOCK"), "%s", t);
    cr_assert(strstr(t, "(also holding G)"), "%s", t);
    cr_assert(strstr(t, "lockgraph: 0 errors, 1 warnings, 0 notes"), "%s", t);
    free(t);
    lg_model_free(m);
}

Test(report, three_thread_scenario)
{
    struct tw *w = tw_open(dir, PID, 1, 0, 1000);
    tw_lock(w, 1001, 1, 0, LG_LOCK_NAMED_SEM, 0, "A");
    tw_lock(w, 1002, 2, 0, LG_LOCK_NAMED_SEM, 0, "B");
    tw_lock(w, 1003, 3, 0, LG_LOCK_NAMED_SEM, 0, "C");
    tw_dep_ids(w, 701, 3000, 2, (uint64_t[]){ 1 }, 1, 0);
    tw_dep_ids(w, 702, 3001, 3, (uint64_t[]){ 2 }, 1, 0);
    tw_dep_ids(w, 703, 3002, 1, (uint64_t[]){ 3 }, 1, 0);
    free(tw_close(w, true));
    struct lg_model *m = load();
    char *t = render(m, false);
    cr_assert(strstr(t, "T2: lock(B)   <- waits for T3\n"), "%s", t);
    cr_assert(strstr(t, "T4: lock(A)   <- waits for T2\n"), "%s", t);
    free(t);
    lg_model_free(m);
}
