/* SPDX-License-Identifier: MIT */
/*
 * test_viz.c — viz/ on hand-made models: the pictures checked by their
 * SVG structure (nodes, edges, colours, labels), the other formats by
 * their magic, the HTML page by its contents, errors by their message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fixtures.h"
#include "lg_viz.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/lg_viz_test.XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
}

/* Renders m to tmpdir/name and returns the file's text. */
static char *render(const struct lg_model *m, const struct lg_viz_opts *o, const char *name)
{
    char path[128];
    const char *err = NULL;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    int rc = lg_viz_render_file(m, o, path, &err);
    cr_assert_eq(rc, 0, "render %s failed: %s", name, err ? err : "(no message)");
    return slurp(path, NULL);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Counts the SVG <g class="edge"> (or "node") groups that contain `what`
 * (NULL: all of them). */
static int count_groups(const char *svg, const char *cls, const char *what)
{
    char open[32];
    snprintf(open, sizeof open, "class=\"%s\"", cls);
    int n = 0;
    for (const char *p = svg; (p = strstr(p, open)); p += strlen(open)) {
        const char *end = strstr(p, "</g>");
        cr_assert(end, "unterminated group");
        if (!what) {
            n++;
            continue;
        }
        const char *hit = strstr(p, what);
        if (hit && hit < end)
            n++;
    }
    return n;
}

static const struct lg_viz_opts all_findings = {LG_VIZ_AUTO, -1, 0};

TestSuite(viz, .init = setup, .fini = teardown);

Test(viz, abba_cycle_draws_both_locks_and_two_red_labelled_edges)
{
    struct lg_model *m = fx_abba();
    char *svg = render(m, &all_findings, "abba.svg");
    cr_expect(strstr(svg, ">mutexA</text>"), "lock name mutexA missing");
    cr_expect(strstr(svg, ">mutexB</text>"), "lock name mutexB missing");
    cr_expect_eq(count_groups(svg, "edge", NULL), 2, "expected exactly 2 edges");
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 2, "both edges must be red");
    cr_expect(strstr(svg, "T1 @ abba.c:14"), "edge label thread + line missing");
    cr_expect(strstr(svg, "T2 @ abba.c:24"), "edge label thread + line missing");
    cr_expect(strstr(svg, "stroke-width=\"3\""), "error cycle edges must be thick");
    cr_expect(strstr(svg, ">deadlock cycle (error)</text>"), "legend missing");
    /* The legend is the graph's label: the only nodes are the two locks. */
    cr_expect_eq(count_groups(svg, "node", NULL), 2);
    cr_expect_eq(count_groups(svg, "cluster", NULL), 0);
    free(svg);
    fx_free(m);
}

Test(viz, three_lock_cycle_has_three_red_edges)
{
    struct lg_model *m = fx_philosophers(3);
    char *svg = render(m, &all_findings, "phil.svg");
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, ">fork%d</text>", i);
        cr_expect(strstr(svg, name), "%s missing", name);
    }
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 3);
    cr_expect(strstr(svg, "T3 @ philosophers.c:31"));
    cr_expect(strstr(svg, "1 cycle (1 error, 0 hazard)"), "title must count the cycle");
    free(svg);
    fx_free(m);
}

Test(viz, warning_cycle_is_orange_dashed_not_red)
{
    struct lg_model *m = fx_warning();
    char *svg = render(m, &all_findings, "warn.svg");
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 0, "a warning cycle is not red");
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"orange\""), 2);
    cr_expect_eq(count_groups(svg, "edge", "stroke-dasharray"), 2, "hazard edges are dashed");
    cr_expect(strstr(svg, ">cacheLock</text>") && strstr(svg, ">statsLock</text>"));
    free(svg);
    fx_free(m);
}

Test(viz, locks_on_no_cycle_are_left_out_unless_all)
{
    struct lg_model *m = fx_bystander();
    char *svg = render(m, &all_findings, "default.svg");
    cr_expect_null(strstr(svg, ">logLock</text>"), "logLock is on no cycle: not drawn");
    cr_expect(strstr(svg, "+1 more locks on no cycle"), "the omitted lock must be counted");
    cr_expect_eq(count_groups(svg, "edge", NULL), 2);
    free(svg);

    struct lg_viz_opts all = {LG_VIZ_LOCK_ORDER, -1, 1};
    svg = render(m, &all, "all.svg");
    cr_expect(strstr(svg, ">logLock</text>"), "--all draws every lock");
    cr_expect_eq(count_groups(svg, "edge", NULL), 3);
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 2, "only the cycle is red");
    cr_expect(strstr(svg, "T1 @ abba.c:40"), "the off-cycle edge is labelled too");
    cr_expect_null(strstr(svg, "more locks"));
    free(svg);
    fx_free(m);
}

Test(viz, five_thousand_locks_draw_only_cycle_neighbourhoods)
{
    struct lg_model *m = fx_big(5000);
    struct lg_viz_opts all = {LG_VIZ_LOCK_ORDER, -1, 1};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *svg = render(m, &all, "big.svg");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(secs, 10.0, "5000 locks took %.1f s", secs);
    int nodes = count_groups(svg, "node", NULL);
    /* 6 cycle locks, their chain neighbours (<= 6 more) and the note. */
    cr_expect_leq(nodes, 13, "drew %d nodes", nodes);
    cr_expect_geq(nodes, 10);
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 6, "3 two-lock cycles");
    cr_expect(strstr(svg, ">lock0010</text>") && strstr(svg, ">lock0011</text>"));
    cr_expect(strstr(svg, ">lock0009</text>"), "neighbour of a cycle lock must be drawn");
    cr_expect(strstr(svg, ">lock4901</text>"));
    cr_expect_null(strstr(svg, ">lock3000</text>"), "far from any cycle: not drawn");
    cr_expect(strstr(svg, "more locks"), "the rest is counted in a note");
    free(svg);

    svg = render(m, &all_findings, "big-default.svg");
    cr_expect_null(strstr(svg, ">lock0009</text>"), "without --all only cycle locks");
    cr_expect(strstr(svg, "+4994 more locks on no cycle"));
    free(svg);
    fx_free(m);
}

Test(viz, one_finding_draws_only_its_cycle)
{
    struct lg_model *m = fx_mixed();
    struct lg_viz_opts one = {LG_VIZ_AUTO, 1, 0};
    char *svg = render(m, &one, "one.svg");
    cr_expect(strstr(svg, ">cacheLock</text>"));
    cr_expect_null(strstr(svg, ">mutexA</text>"), "finding 2 does not involve mutexA");
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"orange\""), 2);
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 0);
    free(svg);
    fx_free(m);
}

Test(viz, self_deadlock_shows_holder_waiting_for_its_own_lock)
{
    struct lg_model *m = fx_mixed();
    struct lg_viz_opts one = {LG_VIZ_AUTO, 3, 0};
    char *svg = render(m, &one, "self.svg");
    cr_expect(strstr(svg, ">mutexB</text>"));
    cr_expect(strstr(svg, "<ellipse"), "the thread is an ellipse");
    cr_expect(strstr(svg, ">holds</text>"));
    cr_expect(strstr(svg, ">waits for</text>"));
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 1, "the relock edge is the error");
    free(svg);
    fx_free(m);
}

Test(viz, wait_for_graph_groups_threads_by_process_and_reddens_the_cycle)
{
    struct lg_model *m = fx_hang();
    char *svg = render(m, &all_findings, "hang.svg");
    cr_expect(strstr(svg, "process 4711 (python3)"), "cluster per process");
    cr_expect(strstr(svg, "process 4712 (python3)"));
    cr_expect_eq(count_groups(svg, "cluster", NULL), 2, "one box per process");
    cr_expect_eq(count(svg, "<ellipse"), 3, "three threads as ellipses");
    cr_expect(strstr(svg, ">pipe 81234 (full)</text>"));
    cr_expect(strstr(svg, ">queue._rlock</text>"));
    cr_expect_null(strstr(svg, ">idle lock</text>"), "an object on no edge is left out");
    cr_expect_eq(count_groups(svg, "edge", NULL), 6);
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 4, "the chain is red");
    cr_expect(strstr(svg, ">waitpid at bigput.py:21</text>"), "edge labelled, path cut to its name");
    cr_expect_null(strstr(svg, "/work/samples/python/bigput.py"));
    /* "ends with" starts at a process, not a thread: not a wait, so solid. */
    cr_expect_eq(count_groups(svg, "edge", "stroke-dasharray"), 3, "the three waits are dashed");
    cr_expect(strstr(svg, ">waits for</text>") && strstr(svg, ">holds</text>"));
    cr_expect(strstr(svg, ">ends with</text>"), "a label that says what the edge is stays alone");
    cr_expect_eq(count(svg, ">holds</text>"), 2, "no \"holds holds\"");
    free(svg);

    struct lg_viz_opts lo = {LG_VIZ_LOCK_ORDER, -1, 1};
    svg = render(m, &lo, "hang-lo.svg");
    cr_expect_null(strstr(svg, "process 4712 (python3)"), "--kind lock-order draws locks only");
    free(svg);
    fx_free(m);
}

Test(viz, wait_for_graph_without_a_hang_is_an_error)
{
    struct lg_model *m = fx_abba();
    struct lg_viz_opts wf = {LG_VIZ_WAIT_FOR, -1, 0};
    char path[128];
    const char *err = NULL;
    snprintf(path, sizeof path, "%s/none.svg", tmpdir);
    cr_expect_eq(lg_viz_render_file(m, &wf, path, &err), -1);
    cr_expect(err && strstr(err, "did not hang"), "message: %s", err ? err : "(none)");
    cr_expect_neq(access(path, F_OK), 0, "no file on error");
    fx_free(m);
}

Test(viz, png_pdf_and_dot_are_what_their_names_say)
{
    struct lg_model *m = fx_abba();
    size_t len;
    char path[128];
    const char *err = NULL;

    snprintf(path, sizeof path, "%s/abba.png", tmpdir);
    cr_assert_eq(lg_viz_render_file(m, &all_findings, path, &err), 0, "%s", err);
    char *png = slurp(path, &len);
    cr_expect(len > 2000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "not a PNG");
    free(png);

    snprintf(path, sizeof path, "%s/abba.PDF", tmpdir);
    cr_assert_eq(lg_viz_render_file(m, &all_findings, path, &err), 0, "%s", err);
    char *pdf = slurp(path, &len);
    cr_expect(len > 1000 && memcmp(pdf, "%PDF-", 5) == 0, "not a PDF");
    free(pdf);

    char *dot = render(m, &all_findings, "abba.dot");
    cr_expect(strncmp(dot, "digraph", 7) == 0, "not DOT: %.20s", dot);
    cr_expect(strstr(dot, "mutexA") && strstr(dot, "mutexB"));
    cr_expect_eq(count(dot, " -> "), 2, "two edges");
    cr_expect_eq(count(dot, "fontcolor=red"), 2, "the two cycle edges are red");
    cr_expect(strstr(dot, "pos="), "the DOT output is laid out");
    free(dot);
    fx_free(m);
}

Test(viz, bad_paths_and_formats_fail_with_one_line)
{
    struct lg_model *m = fx_abba();
    const char *err = NULL;
    cr_expect_eq(lg_viz_render_file(m, &all_findings, "/tmp/x.jpeg", &err), -1);
    cr_expect(err && strstr(err, ".svg, .png, .pdf or .dot"), "%s", err);
    err = NULL;
    cr_expect_eq(lg_viz_render_file(m, &all_findings, "/nonexistent/dir/x.svg", &err), -1);
    cr_expect(err && strstr(err, "/nonexistent/dir/x.svg") && !strchr(err, '\n'), "%s", err);
    struct lg_viz_opts bad = {LG_VIZ_AUTO, 7, 0};
    err = NULL;
    cr_expect_eq(lg_viz_render_file(m, &bad, "/tmp/x.svg", &err), -1);
    cr_expect(err && strstr(err, "finding 8 does not exist"), "%s", err);
    fx_free(m);
}

Test(viz, names_with_graphviz_and_xml_specials_are_escaped)
{
    struct lg_model *m = fx_abba();
    free(m->locks[0].name);
    m->locks[0].name = strdup("a<b>&\"c\\N");
    char *svg = render(m, &all_findings, "esc.svg");
    cr_expect(strstr(svg, "a&lt;b&gt;&amp;&quot;c\\N</text>"), "escaped name missing");
    free(svg);
    fx_free(m);
}

static char *html_of(const struct lg_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    lg_report_html(m, f);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

Test(viz, html_page_has_summary_every_finding_and_inline_svg)
{
    struct lg_model *m = fx_mixed();
    char *html = html_of(m);
    cr_expect(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    for (int i = 0; i < m->nfindings; i++) {
        if (strchr(m->findings[i].message, '<'))
            continue;
        cr_expect(strstr(html, m->findings[i].message), "finding %d message missing", i);
    }
    cr_expect(strstr(html, "no common lock &lt;a&amp;b&gt;"), "message must be escaped");
    cr_expect_null(strstr(html, "<a&b>"));
    /* One diagram per finding plus the overview. */
    cr_expect_eq(count(html, "<svg"), m->nfindings + 1);
    cr_expect_null(strstr(html, "<?xml"), "inline SVG has no XML prolog");
    cr_expect(strstr(html, "id=\"f1_graph0\"") || strstr(html, "id=\"f1\""),
              "SVG ids are prefixed per diagram");
    cr_expect(strstr(html, "<details><summary>Stacks"), "stacks are folded");
    /* Element ids are unique across the page and its inline SVGs. */
    for (const char *p = html; (p = strstr(p, " id=\"")); p += 5) {
        const char *end = strchr(p + 5, '"');
        cr_assert(end);
        char id[128];
        snprintf(id, sizeof id, "%.*s\"", (int)(end - p), p);
        cr_expect_eq(count(html, id), 1, "duplicate %s", id);
    }
    cr_expect(strstr(html, "/work/samples/c/abba.c:14"), "locations file:line");
    cr_expect(strstr(html, ">2</b><span>errors</span>"), "summary counts errors");
    cr_expect(strstr(html, ">2</b><span>warnings</span>"));
    cr_expect(strstr(html, "1.53 s"), "duration");
    cr_expect_null(strstr(html, "src=\"http"), "nothing fetched from the network");
    cr_expect_null(strstr(html, "<link"), "no external stylesheet");
    cr_expect_null(strstr(html, "<script"));
    free(html);
    fx_free(m);
}

Test(viz, html_of_a_hang_shows_the_wait_for_graph)
{
    struct lg_model *m = fx_hang();
    char *html = html_of(m);
    cr_expect(strstr(html, "The run hung"));
    cr_expect(strstr(html, ">wait&#45;for graph at the hang"), "the finding's diagram is the wait-for graph");
    cr_expect_eq(count(html, "<svg"), 1, "one finding, one picture: no repeated overview");
    cr_expect(strstr(html, "process 4712 (python3)"));
    cr_expect(strstr(html, "join before drain"));
    free(html);
    fx_free(m);
}

Test(viz, html_of_a_clean_run_says_so)
{
    struct lg_model *m = fx_new();
    fx_proc(m, 99, "/bin/true");
    char *html = html_of(m);
    cr_expect(strstr(html, "No findings"));
    cr_expect(strstr(html, ">0</b><span>errors</span>"));
    free(html);
    fx_free(m);
}

Test(viz, misuse_without_steps_draws_the_lock_its_message_names)
{
    struct lg_model *m = fx_abba();
    int u = fx_finding(m, LG_FK_UNRELEASED_LOCK, LG_SEV_ERROR,
                       "mutexB is still held when thread T2 exits");
    fx_add_loc(m, u, "/work/samples/c/unreleased.c", 17, "worker");
    fx_add_thread(m, u, 1);
    int n = fx_finding(m, LG_FK_UNLOCK_NOT_OWNER, LG_SEV_ERROR,
                       "T1 unlocks mutexA, which T2 holds");
    fx_add_loc(m, n, "/work/samples/c/notowner.c", 30, "main");
    fx_add_thread(m, n, 0);

    struct lg_viz_opts one = {LG_VIZ_AUTO, u, 0};
    char *svg = render(m, &one, "unreleased.svg");
    cr_expect(strstr(svg, ">mutexB</text>"), "the lock the message names is drawn");
    cr_expect_null(strstr(svg, ">mutexA</text>"), "mutexA is not in this finding");
    cr_expect(strstr(svg, ">never released</text>"));
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 1, "the held lock is the error");
    cr_expect_eq(count(svg, "<ellipse"), 1, "the thread that ended holding it");
    free(svg);

    one.finding = n;
    svg = render(m, &one, "notowner.svg");
    cr_expect(strstr(svg, ">mutexA</text>"));
    cr_expect(strstr(svg, ">unlocks</text>"));
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 1);
    free(svg);
    fx_free(m);
}

Test(viz, sarif_is_utf8_and_escaped_whatever_the_names_hold)
{
    struct lg_model *m = fx_abba();
    free(m->findings[0].message);
    m->findings[0].message = strdup("caf\xe9 \"quoted\" back\\slash\ttab \xc3\xa9t\xc3\xa9");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    lg_report_sarif(m, f);
    cr_assert_eq(fclose(f), 0);
    cr_expect(strstr(buf, "caf\\ufffd \\\"quoted\\\" back\\\\slash\\ttab \xc3\xa9t\xc3\xa9"),
              "invalid byte replaced, valid UTF-8 kept, specials escaped");
    cr_expect_null(strchr(buf, '\t'));
    cr_expect(strstr(buf, "\"version\":\"2.1.0\""));
    free(buf);
    fx_free(m);
}

Test(viz, html_draws_the_first_sixty_findings_and_says_how_to_draw_the_rest)
{
    struct lg_model *m = fx_abba();
    for (int i = 0; i < 61; i++) {
        int fi = fx_finding(m, LG_FK_SELF_DEADLOCK, LG_SEV_ERROR, "T1 locks mutexA again while holding it");
        fx_add_loc(m, fi, "/work/samples/c/relock.c", 10 + i, "relock");
        fx_add_thread(m, fi, 0);
    }
    char *html = html_of(m);
    cr_expect_eq(count(html, "<svg"), 60 + 1, "60 findings and the overview");
    cr_expect(strstr(html, "--finding 61 -o finding.svg"), "the 62nd finding tells how to draw it");
    cr_expect_eq(count(html, "class=\"finding "), 62, "every finding has its section");
    free(html);
    fx_free(m);
}

Test(viz, out_of_range_indexes_and_missing_names_do_not_crash)
{
    struct lg_model *m = fx_abba();
    free(m->locks[1].name);
    m->locks[1].name = NULL;
    free(m->threads[0].name);
    m->threads[0].name = NULL;
    m->threads[1].process = 42;
    m->edges[0].w[0].acquired_at->user = 77;
    int bad = fx_edge(m, 0, 1, 9, "/x.c", 3);
    m->edges[bad].from = -3;
    int f = fx_finding(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_WARNING, NULL);
    fx_add_step(m, f, 99, 7);
    fx_add_step(m, f, 0, -1);
    m->findings[f].steps[0].edge = 1000;
    m->findings[f].steps[0].witness = 1000;
    int h = fx_finding(m, LG_FK_HANG, LG_SEV_ERROR, "hang");
    fx_add_step(m, h, -1, 55);
    fx_add_thread(m, h, 123);
    int n0 = fx_wf_node(m, LG_WF_THREAD, NULL, 17, true);
    fx_wf_node(m, (enum lg_wf_node_kind)9, "odd", -1, false);
    fx_wf_edge(m, n0, 99, LG_WF_WAITS_FOR, NULL, true);
    fx_wf_edge(m, n0, 1, LG_WF_HOLDS, NULL, false);

    const struct lg_viz_opts cases[] = {
        {LG_VIZ_AUTO, -1, 0}, {LG_VIZ_LOCK_ORDER, -1, 1}, {LG_VIZ_WAIT_FOR, -1, 0},
        {LG_VIZ_AUTO, f, 0}, {LG_VIZ_AUTO, h, 0}, {LG_VIZ_LOCK_ORDER, h, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "odd%zu.svg", i);
        free(render(m, &cases[i], name));
    }
    char *html = html_of(m);
    cr_expect(strstr(html, "</html>"));
    free(html);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    lg_report_sarif(m, out);
    fclose(out);
    cr_expect(strstr(buf, "\"results\""));
    free(buf);
    fx_free(m);
}

Test(viz, thousands_of_cycles_are_capped_and_counted)
{
    struct lg_model *m = fx_new();
    int p = fx_proc(m, 4711, "/work/samples/bin/many");
    int t1 = fx_thread(m, p, "T1"), t2 = fx_thread(m, p, "T2");
    char name[32];
    for (int i = 0; i < 1200; i++) {
        snprintf(name, sizeof name, "m%04d", i);
        fx_lock(m, name);
    }
    for (int i = 0; i < 1200; i += 2) {
        fx_edge(m, i, i + 1, t1, "/work/samples/c/many.c", 10);
        fx_edge(m, i + 1, i, t2, "/work/samples/c/many.c", 20);
        int locks[] = {i, i + 1}, threads[] = {t1, t2};
        fx_cycle(m, LG_FK_LOCK_ORDER_CYCLE, LG_SEV_ERROR, "inversion", locks, threads, 2);
    }
    struct timespec t0, t1s;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *svg = render(m, &all_findings, "many.svg");
    clock_gettime(CLOCK_MONOTONIC, &t1s);
    double secs = (double)(t1s.tv_sec - t0.tv_sec) + (double)(t1s.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(secs, 20.0, "600 cycles took %.1f s", secs);
    int nodes = count_groups(svg, "node", NULL);
    cr_expect_leq(nodes, 121, "drew %d nodes", nodes);
    cr_expect(strstr(svg, "+540 more cycles (see the report)"), "the cycles left out are counted");
    cr_expect(strstr(svg, "600 cycles (600 error, 0 hazard, some not drawn)"));
    free(svg);
    fx_free(m);
}

Test(viz, same_model_gives_the_same_page_byte_for_byte)
{
    struct lg_model *m = fx_mixed();
    char *a = html_of(m), *b = html_of(m);
    cr_expect_str_eq(a, b, "the HTML page must be deterministic");
    free(a);
    free(b);
    fx_free(m);
}

/* Two threads' read-modify-writes of tickets.db overlap; main's setup
 * write came first and is ordered before both. */
static struct lg_model *race_model(void)
{
    struct lg_model *m = fx_new();
    int p = fx_proc(m, 4711, "/work/samples/bin/tickets");
    int t1 = fx_thread(m, p, "T1");
    int t2 = fx_thread(m, p, "T2");
    int t3 = fx_thread(m, p, "T3");
    int fi = fx_finding(m, LG_FK_LOCK_DISCIPLINE_RACE, LG_SEV_ERROR,
                        "lock-discipline race on tickets.db: two read-modify-write sequences by "
                        "T2 and T3 are not ordered and hold no lock in common");
    fx_add_loc(m, fi, "tickets.c", 27, "buy");
    fx_add_thread(m, fi, t2);
    fx_add_thread(m, fi, t3);
    struct lg_finding *f = &m->findings[fi];
    f->race_file = strdup("tickets.db");
    f->sessions = calloc(3, sizeof *f->sessions);
    cr_assert(f->race_file && f->sessions);
    f->nsessions = 3;
    static char file[] = "tickets.c", fn_main[] = "main", fn_buy[] = "buy";
    f->sessions[0] = (struct lg_race_session){ .thread = t1, .process = p, .start_ns = 1000,
        .end_ns = 1000, .nwrites = 1, .open_at = { file, 40, fn_main }, .access_at = { file, 41, fn_main } };
    f->sessions[1] = (struct lg_race_session){ .thread = t2, .process = p, .start_ns = 5000,
        .end_ns = 105000, .nreads = 1, .nwrites = 1, .open_at = { file, 24, fn_buy },
        .access_at = { file, 27, fn_buy }, .overlapping = true };
    f->sessions[2] = (struct lg_race_session){ .thread = t3, .process = p, .start_ns = 6000,
        .end_ns = 106000, .nreads = 1, .nwrites = 1, .open_at = { file, 24, fn_buy },
        .access_at = { file, 27, fn_buy }, .overlapping = true };
    return m;
}

static void race_model_free(struct lg_model *m)
{
    free(m->findings[0].race_file);
    free(m->findings[0].sessions);
    fx_free(m);
}

Test(viz, race_draws_the_file_each_actor_and_the_racing_sessions_red)
{
    struct lg_model *m = race_model();
    struct lg_viz_opts o = {LG_VIZ_AUTO, 0, 0};
    char *svg = render(m, &o, "race.svg");
    cr_expect(strstr(svg, ">tickets.db</text>"), "the file's box is missing");
    cr_expect(strstr(svg, ">T1</text>"), "actor T1 is missing");
    cr_expect(strstr(svg, ">T2</text>"), "actor T2 is missing");
    cr_expect(strstr(svg, ">T3</text>"), "actor T3 is missing");
    /* file + 3 actors + 3 sessions; the ordering edges are invisible */
    cr_expect_eq(count_groups(svg, "node", NULL), 7);
    cr_expect_eq(count_groups(svg, "edge", NULL), 3, "one edge per session, to the file");
    cr_expect_eq(count_groups(svg, "edge", "stroke=\"red\""), 2, "the two racing sessions' edges are red");
    cr_expect_eq(count_groups(svg, "edge", "&gt;tickets.db</title>"), 3, "every edge goes to the file");
    cr_expect_eq(count_groups(svg, "edge", ">tickets.c:27</text>"), 2, "edges carry the line");
    cr_expect_eq(count_groups(svg, "edge", ">read, write</text>"), 2);
    cr_expect_eq(count_groups(svg, "edge", ">write</text>"), 1);
    cr_expect_eq(count_groups(svg, "node", "stroke=\"red\""), 2, "the racing sessions are red");
    cr_expect(strstr(svg, ">opened at tickets.c:24</text>"));
    cr_expect(strstr(svg, ">races: not ordered, no lock in common</text>"), "legend missing");
    free(svg);
    char *html = html_of(m);
    const char *sec = strstr(html, "id=\"finding-1\"");
    cr_assert(sec, "the finding's section is missing");
    cr_expect(strstr(sec, ">tickets.db</text>"), "the section's diagram does not draw the file");
    cr_expect(strstr(sec, "stroke=\"red\""), "the section's diagram has no red edge");
    free(html);
    race_model_free(m);
}
