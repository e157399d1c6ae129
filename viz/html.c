/* SPDX-License-Identifier: MIT */
/*
 * html.c — the report as one self-contained page for people: a summary,
 * the run's main picture, then one section per finding with its message,
 * locations, scenario, diagram (inline SVG from gvRenderData) and folded
 * stacks. Inline CSS, no script, nothing fetched from the network.
 */
#include <stdlib.h>
#include <string.h>
#include "viz_internal.h"

/* Each diagram is a dot layout: past this many the page takes minutes
 * to write and is too long to read anyway. */
#define MAX_DIAGRAMS 60

static const char css[] =
    ":root{--err:#c62828;--warn:#e65100;--note:#1565c0;--ink:#1f2328;--muted:#57606a;"
    "--line:#d0d7de;--bg:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "color:var(--ink);background:var(--bg)}"
    "main{max-width:1100px;margin:0 auto;padding:24px 20px 48px}"
    "header h1{margin:0 0 4px;font-size:26px}header h1 span{color:var(--muted);font-weight:400}"
    "code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px}"
    ".cmd{background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px 10px;"
    "display:inline-block;margin:4px 0 12px;word-break:break-all}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0 16px}"
    ".card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:120px}"
    ".card b{display:block;font-size:22px}.card span{color:var(--muted);font-size:13px}"
    ".card.error b{color:var(--err)}.card.warning b{color:var(--warn)}.card.note b{color:var(--note)}"
    ".banner{border-radius:8px;padding:10px 14px;margin:8px 0 16px;font-weight:600}"
    ".banner.bad{background:#ffebe9;border:1px solid #ffcecb;color:#82071e}"
    ".banner.good{background:#dafbe1;border:1px solid #aceebb;color:#116329}"
    ".banner.skip{background:#fff8c5;border:1px solid #eed888;color:#6c4400;font-weight:400}"
    "nav ol{margin:4px 0 20px;padding-left:22px}nav a{color:inherit}"
    "section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;"
    "margin:0 0 20px;box-shadow:0 1px 2px rgba(0,0,0,.04)}"
    "section.error{border-left:6px solid var(--err)}section.warning{border-left:6px solid var(--warn)}"
    "section.note{border-left:6px solid var(--note)}"
    "h2{margin:0 0 8px;font-size:19px}h3{margin:14px 0 6px;font-size:15px;color:var(--muted)}"
    ".badge{display:inline-block;border-radius:12px;padding:1px 10px;font-size:12px;color:#fff;"
    "vertical-align:2px;margin-right:6px;text-transform:uppercase;letter-spacing:.03em}"
    ".badge.error{background:var(--err)}.badge.warning{background:var(--warn)}.badge.note{background:var(--note)}"
    ".kind{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:15px;color:var(--muted)}"
    ".message{font-size:17px;font-weight:600;margin:6px 0}"
    ".reason{color:var(--muted);font-style:italic}"
    "ul.locs,ol.steps,ul.details{margin:0;padding-left:22px}ul.locs li::marker{color:var(--muted)}"
    ".fn{color:var(--muted)}"
    ".diagram{margin:12px 0;padding:8px;border:1px solid var(--line);border-radius:8px;"
    "background:#fff;overflow:auto;text-align:center}"
    ".diagram svg{max-width:100%;height:auto}"
    "details{margin-top:10px}summary{cursor:pointer;color:var(--muted);font-weight:600}"
    "ol.stack{margin:4px 0 10px;padding-left:28px}ol.stack li.user{font-weight:700}"
    ".mod{color:var(--muted)}.err{color:var(--err)}"
    "footer{color:var(--muted);font-size:13px;text-align:center}";

static void loc_html(struct lg_sb *b, const struct lg_loc *l)
{
    lg_sb_puts(b, "<code>");
    if (l->file) {
        lg_sb_html(b, l->file);
        if (l->line > 0)
            lg_sb_printf(b, ":%d", l->line);
    } else if (l->module) {
        lg_sb_html(b, lg_viz_basename(l->module));
        lg_sb_printf(b, "+0x%llx", (unsigned long long)l->pc);
    } else {
        lg_sb_puts(b, "?");
    }
    lg_sb_puts(b, "</code>");
    if (l->function) {
        lg_sb_puts(b, " <span class=\"fn\">");
        lg_sb_html(b, l->function);
        lg_sb_puts(b, l->python ? "" : "()");
        lg_sb_puts(b, "</span>");
    }
}

static void frames_html(struct lg_sb *b, const struct lg_loc *frames, uint32_t n, int user)
{
    lg_sb_puts(b, "<ol class=\"stack\" start=\"0\">");
    for (uint32_t i = 0; i < n; i++) {
        lg_sb_puts(b, (int)i == user ? "<li class=\"user\">" : "<li>");
        loc_html(b, &frames[i]);
        if (frames[i].module && frames[i].file) {
            lg_sb_puts(b, " <span class=\"mod\">");
            lg_sb_html(b, lg_viz_basename(frames[i].module));
            lg_sb_puts(b, "</span>");
        }
        lg_sb_puts(b, "</li>");
    }
    lg_sb_puts(b, "</ol>");
}

static void stack_html(struct lg_sb *b, const struct lg_stack *st, int i)
{
    if (!st)
        return;
    lg_sb_printf(b, "<h3>stack %d</h3>", i + 1);
    if (st->npy && st->py) {
        lg_sb_puts(b, "<div>Python frames, innermost first</div>");
        frames_html(b, st->py, st->npy, st->user);
    }
    if (st->n && st->frames) {
        if (st->npy)
            lg_sb_puts(b, "<div>native frames</div>");
        frames_html(b, st->frames, st->n, st->npy ? -1 : st->user);
    }
}

static void user_line(struct lg_sb *b, const struct lg_stack *st)
{
    const struct lg_loc *l = lg_viz_user_frame(st);
    if (l && (l->file || l->function)) {
        lg_sb_puts(b, " at ");
        loc_html(b, l);
    }
}

static void lock_name(struct lg_sb *b, const struct lg_model *m, int lock)
{
    lg_sb_puts(b, "<b>");
    if (lock >= 0 && lock < m->nlocks && m->locks[lock].name)
        lg_sb_html(b, m->locks[lock].name);
    else
        lg_sb_printf(b, "lock #%d", lock);
    lg_sb_puts(b, "</b>");
}

/* The cycle or chain told step by step: who holds what, and wants what. */
static void steps_html(struct lg_sb *b, const struct lg_model *m, const struct lg_finding *f)
{
    /* A hang's steps name what each thread waits for, not what it holds:
     * its details lines tell that chain already. */
    if (f->nsteps < 1 || lg_viz_is_hang_kind(f->kind))
        return;
    bool cycle = f->nsteps > 1;
    lg_sb_puts(b, "<h3>Scenario</h3><ol class=\"steps\">");
    for (int i = 0; i < f->nsteps; i++) {
        const struct lg_step *s = &f->steps[i];
        const struct lg_witness *w = NULL;
        if (s->edge >= 0 && s->edge < m->nedges && s->witness >= 0 && s->witness < m->edges[s->edge].nw)
            w = &m->edges[s->edge].w[s->witness];
        int thread = s->thread >= 0 ? s->thread : w ? w->thread : -1;
        lg_sb_puts(b, "<li>thread <b>");
        struct lg_sb t = {0};
        lg_viz_thread_name(&t, m, thread);
        lg_sb_html(b, t.s);
        lg_sb_free(&t);
        lg_sb_puts(b, "</b> holds ");
        lock_name(b, m, s->lock);
        if (w)
            user_line(b, w->held_at);
        if (cycle) {
            lg_sb_puts(b, " and wants ");
            lock_name(b, m, f->steps[(i + 1) % f->nsteps].lock);
            if (w)
                user_line(b, w->acquired_at);
        }
        lg_sb_puts(b, "</li>");
    }
    lg_sb_puts(b, "</ol>");
}

static void diagram_html(struct lg_sb *b, GVC_t *gvc, const struct lg_model *m,
                         const struct lg_viz_opts *o, const char *id)
{
    char *svg = NULL;
    const char *err = NULL;
    lg_sb_puts(b, "<div class=\"diagram\">");
    if (!gvc)
        lg_sb_puts(b, "<p class=\"err\">diagram not available: graphviz has no context</p>");
    else if (lg_viz_svg(gvc, m, o, id, &svg, &err) == 0)
        lg_sb_puts(b, svg);
    else {
        lg_sb_puts(b, "<p class=\"err\">diagram not available: ");
        lg_sb_html(b, err);
        lg_sb_puts(b, "</p>");
    }
    free(svg);
    lg_sb_puts(b, "</div>");
}

static void finding_html(struct lg_sb *b, GVC_t *gvc, const struct lg_model *m, int fi)
{
    const struct lg_finding *f = &m->findings[fi];
    const char *sev = lg_viz_sev_str(f->severity);
    lg_sb_printf(b, "<section class=\"finding %s\" id=\"finding-%d\">", sev, fi + 1);
    lg_sb_printf(b, "<h2><span class=\"badge %s\">%s</span>#%d <span class=\"kind\">%s</span></h2>", sev,
                 sev, fi + 1, lg_viz_kind_str(f->kind));
    lg_sb_puts(b, "<p class=\"message\">");
    lg_sb_html(b, f->message ? f->message : lg_viz_kind_str(f->kind));
    lg_sb_puts(b, "</p>");
    if (f->reason) {
        lg_sb_puts(b, "<p class=\"reason\">");
        lg_sb_html(b, f->reason);
        lg_sb_puts(b, "</p>");
    }
    if (f->nloc > 0) {
        lg_sb_puts(b, "<h3>Locations</h3><ul class=\"locs\">");
        for (int i = 0; i < f->nloc; i++) {
            lg_sb_puts(b, "<li>");
            loc_html(b, &f->locations[i]);
            lg_sb_puts(b, "</li>");
        }
        lg_sb_puts(b, "</ul>");
    }
    steps_html(b, m, f);
    if (f->ndetails > 0) {
        lg_sb_puts(b, "<h3>Details</h3><ul class=\"details\">");
        for (int i = 0; i < f->ndetails; i++) {
            lg_sb_puts(b, "<li>");
            lg_sb_html(b, f->details[i]);
            lg_sb_puts(b, "</li>");
        }
        lg_sb_puts(b, "</ul>");
    }
    struct lg_viz_opts o = {LG_VIZ_AUTO, fi, 0};
    char id[32];
    snprintf(id, sizeof id, "f%d", fi + 1);
    if (fi < MAX_DIAGRAMS)
        diagram_html(b, gvc, m, &o, id);
    else
        lg_sb_printf(b, "<p class=\"fn\">No diagram: the page draws the first %d findings. "
                        "<code>lockgraph graph DIR --finding %d -o finding.svg</code> draws this one.</p>",
                     MAX_DIAGRAMS, fi);
    if (f->nstacks > 0) {
        lg_sb_printf(b, "<details><summary>Stacks (%d)</summary>", f->nstacks);
        for (int i = 0; i < f->nstacks; i++)
            stack_html(b, f->stacks[i], i);
        lg_sb_puts(b, "</details>");
    }
    lg_sb_puts(b, "</section>");
}

static const struct lg_process *root_process(const struct lg_model *m)
{
    for (int i = 0; i < m->nprocs; i++)
        if (m->procs[i].parent < 0)
            return &m->procs[i];
    return m->nprocs > 0 ? &m->procs[0] : NULL;
}

/* From the first to the last event of the trace; a process that did not
 * end (killed at a hang) ended after its last event, so the card says so. */
/* What the root process finally ran: the last image its pid exec'd
 * (python3 behind /usr/bin/env and a pyenv shim). */
static const char *program_name(const struct lg_model *m, const struct lg_process *root)
{
    const struct lg_process *last = root;
    for (int i = 0; i < m->nprocs; i++)
        if (m->procs[i].pid == root->pid && m->procs[i].exec_seq > last->exec_seq && m->procs[i].exe)
            last = &m->procs[i];
    return last->exe ? lg_viz_basename(last->exe) : NULL;
}

static void duration_html(struct lg_sb *b, const struct lg_model *m)
{
    uint64_t start = 0, end = 0;
    bool open_end = false;
    for (int i = 0; i < m->nprocs; i++) {
        const struct lg_process *p = &m->procs[i];
        open_end |= p->end_ns == 0;
        if (p->start_ns && (!start || p->start_ns < start))
            start = p->start_ns;
        if (p->end_ns > end)
            end = p->end_ns;
    }
    for (int i = 0; i < m->nthreads; i++) {
        const struct lg_thread *t = &m->threads[i];
        if (t->start_ns && (!start || t->start_ns < start))
            start = t->start_ns;
        if (t->end_ns > end)
            end = t->end_ns;
        if (t->start_ns > end)
            end = t->start_ns;
    }
    if (!start || end <= start)
        lg_sb_puts(b, "?");
    else if (end - start >= 1000000000ull)
        lg_sb_printf(b, "%.2f s", (double)(end - start) / 1e9);
    else
        lg_sb_printf(b, "%.1f ms", (double)(end - start) / 1e6);
    lg_sb_puts(b, open_end && start && end > start ? "</b><span>to the last event (it did not end)</span>"
                                                   : "</b><span>duration</span>");
}

static void card(struct lg_sb *b, const char *cls, const char *label, int n)
{
    lg_sb_printf(b, "<div class=\"card %s\"><b>%d</b><span>%s</span></div>", cls, n, label);
}

static void page_html(struct lg_sb *b, const struct lg_model *m, GVC_t *gvc)
{
    const struct lg_process *root = root_process(m);
    int count[3] = {0, 0, 0};
    for (int i = 0; i < m->nfindings; i++)
        if (m->findings[i].severity <= LG_SEV_NOTE)
            count[m->findings[i].severity]++;

    const char *program = root ? program_name(m, root) : NULL;
    lg_sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>lockgraph report");
    if (program) {
        lg_sb_puts(b, ": ");
        lg_sb_html(b, program);
    }
    lg_sb_puts(b, "</title><style>");
    lg_sb_puts(b, css);
    lg_sb_puts(b, "</style></head><body><main><header><h1>lockgraph report");
    if (program) {
        lg_sb_puts(b, " <span>");
        lg_sb_html(b, program);
        lg_sb_puts(b, "</span>");
    }
    lg_sb_puts(b, "</h1>");
    if (root) {
        lg_sb_puts(b, "<div class=\"cmd\"><code>");
        if (root->argc > 0 && root->argv)
            for (int i = 0; i < root->argc; i++) {
                if (i)
                    lg_sb_puts(b, " ");
                lg_sb_html(b, root->argv[i]);
            }
        else
            lg_sb_html(b, root->exe);
        lg_sb_puts(b, "</code></div>");
    }
    if (m->dir) {
        lg_sb_puts(b, "<div class=\"fn\">trace: <code>");
        lg_sb_html(b, m->dir);
        lg_sb_puts(b, "</code></div>");
    }
    lg_sb_puts(b, "<div class=\"cards\"><div class=\"card\"><b>");
    duration_html(b, m);
    lg_sb_puts(b, "</div>");
    card(b, "", m->nprocs == 1 ? "process" : "processes", m->nprocs);
    card(b, "", m->nthreads == 1 ? "thread" : "threads", m->nthreads);
    card(b, "", m->nlocks == 1 ? "lock" : "locks", m->nlocks);
    card(b, "error", count[0] == 1 ? "error" : "errors", count[0]);
    card(b, "warning", count[1] == 1 ? "warning" : "warnings", count[1]);
    card(b, "note", count[2] == 1 ? "note" : "notes", count[2]);
    lg_sb_puts(b, "</div>");
    if (m->hung)
        lg_sb_puts(b, "<div class=\"banner bad\">The run hung: every thread was blocked. "
                      "The wait-for graph below shows why.</div>");
    if (m->nfindings == 0)
        lg_sb_puts(b, "<div class=\"banner good\">No findings: no lock-order cycle, hang or "
                      "lock misuse was seen in this run.</div>");
    else if (count[0])
        lg_sb_printf(b, "<div class=\"banner bad\">%d error%s: this program can deadlock or "
                        "misuses its locks.</div>", count[0], count[0] == 1 ? "" : "s");
    if (m->nskipped > 0) {
        lg_sb_puts(b, "<div class=\"banner skip\">Left out of this report:<ul>");
        for (int i = 0; i < m->nskipped; i++) {
            lg_sb_puts(b, "<li>");
            lg_sb_html(b, m->skipped[i]);
            lg_sb_puts(b, "</li>");
        }
        lg_sb_puts(b, "</ul></div>");
    }
    if (m->nfindings > 0) {
        lg_sb_puts(b, "<nav><b>Findings</b><ol>");
        for (int i = 0; i < m->nfindings; i++) {
            const struct lg_finding *f = &m->findings[i];
            lg_sb_printf(b, "<li><a href=\"#finding-%d\"><span class=\"badge %s\">%s</span>", i + 1,
                         lg_viz_sev_str(f->severity), lg_viz_sev_str(f->severity));
            lg_sb_html(b, f->message ? f->message : lg_viz_kind_str(f->kind));
            lg_sb_puts(b, "</a></li>");
        }
        lg_sb_puts(b, "</ol></nav>");
    }
    lg_sb_puts(b, "</header>");

    /* The run's main picture, unless it would only repeat the one finding's. */
    bool main_waitfor = m->hung && m->waitfor;
    bool repeats = m->nfindings == 1 &&
                   main_waitfor == (lg_viz_is_hang_kind(m->findings[0].kind) && m->waitfor != NULL);
    if (!repeats) {
        lg_sb_printf(b, "<section class=\"overview\" id=\"overview\"><h2>%s</h2>",
                     m->hung && m->waitfor ? "Wait-for graph at the hang" : "Lock-order graph");
        struct lg_viz_opts o = {LG_VIZ_AUTO, -1, 0};
        diagram_html(b, gvc, m, &o, "ov");
        lg_sb_puts(b, "</section>");
    }
    for (int i = 0; i < m->nfindings; i++)
        finding_html(b, gvc, m, i);
    lg_sb_puts(b, "<footer>generated by lockgraph &middot; diagrams drawn with Graphviz</footer>"
                  "</main></body></html>\n");
}

void lg_report_html(const struct lg_model *m, FILE *out)
{
    struct lg_sb b = {0};
    lg_viz_errcapture_begin();
    GVC_t *gvc = lg_viz_context();
    lg_viz_errcapture_end();
    page_html(&b, m, gvc);
    if (b.failed)
        fputs("<!DOCTYPE html>\n<html><body><p>lockgraph: out of memory while writing the "
              "report</p></body></html>\n", out);
    else
        fwrite(b.s, 1, b.len, out);
    lg_sb_free(&b);
}
