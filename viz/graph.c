/* SPDX-License-Identifier: MIT */
/*
 * graph.c — the model turned into a cgraph graph, ready for gvc to lay
 * out: the lock-order graph (cycles, their neighbours when asked), the
 * wait-for graph at a hang, one finding's picture, and the legend.
 * Shapes and colours are set here only, so they mean the same thing in
 * every picture:
 *   lock            box, yellow          thread   ellipse, blue, in a
 *   pipe            box, green                    "process PID (exe)" box
 *   process waited  box3d, grey          other    dashed box
 *   file            box, slate, bold     session  rounded box, in its
 *                                                 actor's row (a race)
 *   red, thick      the error: a deadlock cycle, the hang's cycle or chain
 *   orange, dashed  a hazard: a warning or note cycle
 *   grey            lock order seen but on no cycle
 *   dashed          "waits for" (wants, not holds)
 */
#include <stdlib.h>
#include <string.h>
#include "viz_internal.h"

/* Past these, the picture stops being readable and dot gets slow: the
 * cycles come first, then their neighbours, the rest is counted in a
 * "+N more locks" note. */
#define MAX_LOCKS 120
#define MAX_EDGES 300

#define FONT "Helvetica,Arial,sans-serif"
#define C_ERROR "red"
#define C_HAZARD "orange"
#define C_ORDER "gray45"
#define C_WAIT "gray20"
#define FILL_LOCK "#fff4c2"
#define LINE_LOCK "#8a6d00"
#define FILL_THREAD "#e3f2fd"
#define LINE_THREAD "#1565c0"
#define FILL_PIPE "#dff5e1"
#define FILL_PROC "#eeeeee"
#define FILL_FILE "#eceff1"
#define LINE_FILE "#37474f"
#define FILL_RACING "#ffebee"

enum cls { CLS_NONE = 0, CLS_HAZARD = 1, CLS_ERROR = 2 };

struct builder {
    const struct lg_model *m;
    Agraph_t *g;
    const char *err;
    Agnode_t **lock_node;     /* per lock; NULL while not drawn */
    Agnode_t **thread_node;   /* per thread */
    Agraph_t **proc_cluster;  /* per process */
    int nnodes;               /* for unique names */
    struct lg_sb title;       /* the picture's title, above the legend */
};

/* One edge between two locks to draw: a model edge (edge >= 0) or one a
 * finding's steps name without a model edge behind it. */
struct draw_edge {
    int from, to, edge, witness, thread;
    enum cls cls;
};

static int set(struct builder *b, void *obj, const char *key, const char *value)
{
    if (agsafeset(obj, (char *)key, (char *)value, "") != 0) {
        b->err = lg_viz_errf("graphviz: cannot set attribute %s", key);
        return -1;
    }
    return 0;
}

/* A node named `name` in `sub` (the root or a cluster), a fresh one even
 * when the name is taken (two locks may share a display name). */
static Agnode_t *new_node(struct builder *b, Agraph_t *sub, const char *name)
{
    struct lg_sb nm = {0};
    lg_sb_puts(&nm, name && *name ? name : "node");
    while (!nm.failed && agnode(b->g, nm.s, 0) != NULL) {
        nm.len = 0;
        lg_sb_printf(&nm, "%s #%d", name && *name ? name : "node", ++b->nnodes);
    }
    Agnode_t *n = nm.failed ? NULL : agnode(sub, nm.s, 1);
    lg_sb_free(&nm);
    if (!n)
        b->err = lg_viz_errf("graphviz: cannot create node %s", name ? name : "");
    return n;
}

static int set_label(struct builder *b, void *obj, const char *text)
{
    struct lg_sb l = {0};
    lg_sb_gvlabel(&l, text);
    lg_sb_puts(&l, "");
    int rc = l.failed ? -1 : set(b, obj, "label", l.s ? l.s : "");
    lg_sb_free(&l);
    if (rc && !b->err)
        b->err = "out of memory";
    return rc;
}

static const char *lock_title(const struct lg_model *m, int lock, struct lg_sb *tmp)
{
    const struct lg_lock *l = &m->locks[lock];
    tmp->len = 0;
    if (l->name && *l->name)
        lg_sb_puts(tmp, l->name);
    else
        lg_sb_printf(tmp, "lock #%d", lock);
    if (l->shared)
        lg_sb_puts(tmp, "\n(shared between processes)");
    return tmp->failed ? "lock" : tmp->s;
}

/* The lock's box, created on first use, styled for the worst cycle it is on. */
static Agnode_t *lock_node(struct builder *b, int lock, enum cls cls)
{
    if (b->lock_node[lock])
        return b->lock_node[lock];
    struct lg_sb t = {0};
    const char *title = lock_title(b->m, lock, &t);
    Agnode_t *n = new_node(b, b->g, title);
    if (n && (set_label(b, n, title) || set(b, n, "shape", "box") ||
              set(b, n, "style", "filled") || set(b, n, "fillcolor", FILL_LOCK) ||
              set(b, n, "color", cls == CLS_ERROR ? C_ERROR : cls == CLS_HAZARD ? C_HAZARD : LINE_LOCK) ||
              set(b, n, "penwidth", cls != CLS_NONE ? "2" : "1")))
        n = NULL;
    lg_sb_free(&t);
    b->lock_node[lock] = n;
    return n;
}

/* The "process PID (exe)" cluster threads of process p are drawn in. */
static Agraph_t *proc_cluster(struct builder *b, int p)
{
    const struct lg_model *m = b->m;
    if (p < 0 || p >= m->nprocs)
        return b->g;
    if (b->proc_cluster[p])
        return b->proc_cluster[p];
    char name[32];
    snprintf(name, sizeof name, "cluster_p%d", p);
    Agraph_t *sg = agsubg(b->g, name, 1);
    if (!sg) {
        b->err = "graphviz: cannot create a process cluster";
        return NULL;
    }
    struct lg_sb l = {0};
    const char *exe = lg_viz_basename(m->procs[p].exe);
    lg_sb_printf(&l, "process %d", m->procs[p].pid);
    if (exe)
        lg_sb_printf(&l, " (%s)", exe);
    if (set_label(b, sg, l.failed ? "process" : l.s) || set(b, sg, "style", "rounded,filled") ||
        set(b, sg, "fillcolor", "#fafafa") || set(b, sg, "color", "#90a4ae") ||
        set(b, sg, "labeljust", "l"))
        sg = NULL;
    lg_sb_free(&l);
    b->proc_cluster[p] = sg;
    return sg;
}

static int style_thread(struct builder *b, Agnode_t *n, enum cls cls)
{
    const char *line = cls == CLS_ERROR ? C_ERROR : cls == CLS_HAZARD ? C_HAZARD : LINE_THREAD;
    if (set(b, n, "shape", "ellipse") || set(b, n, "style", "filled") ||
        set(b, n, "fillcolor", FILL_THREAD) || set(b, n, "color", line) ||
        set(b, n, "penwidth", cls != CLS_NONE ? "2" : "1"))
        return -1;
    return 0;
}

static Agnode_t *thread_node(struct builder *b, int t, enum cls cls)
{
    if (b->thread_node[t])
        return b->thread_node[t];
    struct lg_sb nm = {0};
    lg_sb_puts(&nm, "thread ");
    lg_viz_thread_name(&nm, b->m, t);
    if (nm.failed) {
        b->err = "out of memory";
        return NULL;
    }
    Agraph_t *sub = proc_cluster(b, b->m->threads[t].process);
    Agnode_t *n = sub ? new_node(b, sub, nm.s) : NULL;
    if (n && (set_label(b, n, nm.s + strlen("thread ")) || style_thread(b, n, cls)))
        n = NULL;
    lg_sb_free(&nm);
    b->thread_node[t] = n;
    return n;
}

enum ekind { E_ORDER, E_HOLDS, E_WAITS, E_OTHER };

/* Draw one edge. 0 on success (a self-loop is skipped: a node waiting for
 * itself cannot be real, and Graphviz 2.42's dot double-frees a labelled
 * loop in gvFreeLayout); -1 with b->err set on failure. */
static int new_edge(struct builder *b, Agnode_t *from, Agnode_t *to, enum ekind k,
                    enum cls cls, const char *label)
{
    if (from == to)
        return 0;
    Agedge_t *e = agedge(b->g, from, to, NULL, 1);
    if (!e) {
        b->err = "graphviz: cannot create an edge";
        return -1;
    }
    const char *color = cls == CLS_ERROR ? C_ERROR : cls == CLS_HAZARD ? C_HAZARD
                        : k == E_ORDER ? C_ORDER : C_WAIT;
    const char *style = cls == CLS_HAZARD || k == E_WAITS ? "dashed" : "solid";
    if (set_label(b, e, label ? label : "") || set(b, e, "color", color) ||
        set(b, e, "fontcolor", cls != CLS_NONE ? color : "gray25") || set(b, e, "style", style) ||
        set(b, e, "penwidth", cls == CLS_ERROR ? "3" : cls == CLS_HAZARD ? "2" : "1"))
        return -1;
    if (k == E_WAITS && set(b, e, "arrowhead", "empty"))
        return -1;
    return 0;
}

/* "T2 @ bank.c:14" — who took `to` while holding `from`, and where. */
static void order_label(struct lg_sb *l, const struct lg_model *m, const struct draw_edge *d)
{
    const struct lg_edge *e = d->edge >= 0 ? &m->edges[d->edge] : NULL;
    const struct lg_witness *w = NULL;
    if (e && e->nw > 0)
        w = &e->w[d->witness >= 0 && d->witness < e->nw ? d->witness : 0];
    int thread = w ? w->thread : d->thread;
    if (thread >= 0)
        lg_viz_thread_name(l, m, thread);
    const struct lg_loc *at = w ? lg_viz_user_frame(w->acquired_at) : NULL;
    if (at && at->file)
        lg_sb_printf(l, " @ %s:%d", lg_viz_basename(at->file), at->line);
    else if (at && at->function)
        lg_sb_printf(l, " in %s()", at->function);
    int seen = e ? (e->nw_seen > e->nw ? e->nw_seen : e->nw) : 0;
    if (seen > 1)
        lg_sb_printf(l, "\n(+%d more)", seen - 1);
}

static int find_edge(const struct lg_model *m, int from, int to)
{
    for (int i = 0; i < m->nedges; i++)
        if (m->edges[i].from == from && m->edges[i].to == to)
            return i;
    return -1;
}

static bool valid_lock(const struct lg_model *m, int l) { return l >= 0 && l < m->nlocks; }
static bool valid_thread(const struct lg_model *m, int t) { return t >= 0 && t < m->nthreads; }

static bool is_cycle(const struct lg_model *m, const struct lg_finding *f)
{
    if (f->nsteps < 2 || !f->steps)
        return false;
    for (int i = 0; i < f->nsteps; i++)
        if (!valid_lock(m, f->steps[i].lock))
            return false;
    return true;
}

static enum cls sev_cls(enum lg_severity s) { return s == LG_SEV_ERROR ? CLS_ERROR : CLS_HAZARD; }

/* Adds the cycle of f to the edges to draw (deduplicated: several
 * findings may share an edge; the worst class wins). */
static int add_cycle(const struct lg_model *m, const struct lg_finding *f, struct draw_edge **de,
                     int *nde, int *edge_slot, unsigned char *in, unsigned char *lockcls, int *nin)
{
    enum cls cls = sev_cls(f->severity);
    for (int i = 0; i < f->nsteps; i++) {
        const struct lg_step *s = &f->steps[i];
        int a = s->lock, c = f->steps[(i + 1) % f->nsteps].lock;
        if (!in[a]) {
            in[a] = 1;
            (*nin)++;
        }
        if (lockcls[a] < cls)
            lockcls[a] = (unsigned char)cls;
        int e = s->edge;
        if (e < 0 || e >= m->nedges || m->edges[e].from != a || m->edges[e].to != c)
            e = find_edge(m, a, c);
        int slot = -1;
        if (e >= 0)
            slot = edge_slot[e];
        else
            for (int j = 0; j < *nde; j++)
                if ((*de)[j].edge < 0 && (*de)[j].from == a && (*de)[j].to == c)
                    slot = j;
        if (slot >= 0) {
            if ((*de)[slot].cls < cls)
                (*de)[slot].cls = cls;
            continue;
        }
        struct draw_edge *grown = realloc(*de, (size_t)(*nde + 1) * sizeof **de);
        if (!grown)
            return -1;
        *de = grown;
        grown[*nde] = (struct draw_edge){a, c, e, s->witness, s->thread, cls};
        if (e >= 0)
            edge_slot[e] = *nde;
        (*nde)++;
    }
    return 0;
}

static Agnode_t *note_node(struct builder *b, const char *name, const char *text)
{
    Agnode_t *n = new_node(b, b->g, name);
    if (n && (set_label(b, n, text) || set(b, n, "shape", "note") || set(b, n, "style", "filled") ||
              set(b, n, "fillcolor", "#f5f5f5") || set(b, n, "color", "gray60") ||
              set(b, n, "fontcolor", "gray30")))
        return NULL;
    return n;
}

/* The lock-order graph: every cycle (or only finding `only`), with the
 * edges among the drawn locks; with `all`, the other locks too, or when
 * there are too many, the cycles' neighbours and a count of the rest. */
static int build_lock_order(struct builder *b, int only, bool all)
{
    const struct lg_model *m = b->m;
    int rc = -1, nin = 0, nde = 0, ncycles = 0, cycles_left = 0, nerr = 0, nhaz = 0;
    struct draw_edge *de = NULL;
    unsigned char *in = calloc((size_t)m->nlocks + 1, 1);
    unsigned char *lockcls = calloc((size_t)m->nlocks + 1, 1);
    int *edge_slot = malloc(((size_t)m->nedges + 1) * sizeof *edge_slot);
    struct lg_sb l = {0};
    if (!in || !lockcls || !edge_slot)
        goto oom;
    for (int i = 0; i < m->nedges; i++)
        edge_slot[i] = -1;

    for (int fi = 0; fi < m->nfindings; fi++) {
        const struct lg_finding *f = &m->findings[fi];
        if ((only >= 0 && fi != only) || !is_cycle(m, f))
            continue;
        ncycles++;
        if (f->severity == LG_SEV_ERROR)
            nerr++;
        else
            nhaz++;
        if (only < 0 && nin > 0 && nin + f->nsteps > MAX_LOCKS) {
            cycles_left++;
            continue;
        }
        if (add_cycle(m, f, &de, &nde, edge_slot, in, lockcls, &nin))
            goto oom;
    }

    if (only < 0 && all) {
        if (m->nlocks <= MAX_LOCKS) {
            for (int i = 0; i < m->nlocks; i++)
                if (!in[i]) {
                    in[i] = 2;
                    nin++;
                }
        } else {
            /* Neighbours of the cycles first; with no cycle at all, the
             * first locks seen, so the picture is never empty. */
            for (int i = 0; i < m->nedges && nin < MAX_LOCKS; i++) {
                int a = m->edges[i].from, c = m->edges[i].to;
                if (!valid_lock(m, a) || !valid_lock(m, c))
                    continue;
                if (in[a] == 1 && !in[c]) {
                    in[c] = 2;
                    nin++;
                } else if (in[c] == 1 && !in[a]) {
                    in[a] = 2;
                    nin++;
                }
            }
            for (int i = 0; i < m->nlocks && nin < MAX_LOCKS && ncycles == 0; i++)
                if (!in[i]) {
                    in[i] = 2;
                    nin++;
                }
        }
    }

    /* Draw the locks in id order so the layout does not depend on the
     * order findings name them. */
    for (int i = 0; i < m->nlocks; i++)
        if (in[i] && !lock_node(b, i, (enum cls)lockcls[i]))
            goto out;

    int drawn = 0, edges_left = 0;
    for (int i = 0; i < nde; i++) {
        Agnode_t *a = b->lock_node[de[i].from], *c = b->lock_node[de[i].to];
        l.len = 0;
        order_label(&l, m, &de[i]);
        if (l.failed)
            goto oom;
        if (new_edge(b, a, c, E_ORDER, de[i].cls, l.s ? l.s : ""))
            goto out;
        drawn++;
    }
    if (only < 0) {
        for (int i = 0; i < m->nedges; i++) {
            const struct lg_edge *e = &m->edges[i];
            if (edge_slot[i] >= 0 || !valid_lock(m, e->from) || !valid_lock(m, e->to) ||
                !in[e->from] || !in[e->to])
                continue;
            if (drawn >= MAX_EDGES) {
                edges_left++;
                continue;
            }
            struct draw_edge d = {e->from, e->to, i, 0, -1, CLS_NONE};
            l.len = 0;
            order_label(&l, m, &d);
            if (l.failed)
                goto oom;
            if (new_edge(b, b->lock_node[e->from], b->lock_node[e->to], E_ORDER, CLS_NONE,
                          l.s ? l.s : ""))
                goto out;
            drawn++;
        }
    }

    l.len = 0;
    int left = m->nlocks - nin;
    if (m->nlocks == 0)
        lg_sb_puts(&l, "no lock was taken while another was held");
    else if (left > 0 && all)
        lg_sb_printf(&l, "+%d more locks\n(only the cycles and their neighbours are drawn)", left);
    else if (left > 0 && only < 0)
        lg_sb_printf(&l, "+%d more locks on no cycle\n(--all draws them)", left);
    if (cycles_left > 0)
        lg_sb_printf(&l, "%s+%d more cycles (see the report)", l.len ? "\n" : "", cycles_left);
    if (edges_left > 0)
        lg_sb_printf(&l, "%s+%d more edges", l.len ? "\n" : "", edges_left);
    if (l.failed)
        goto oom;
    if (l.len > 0 && only < 0 && !note_node(b, "more", l.s))
        goto out;

    l.len = 0;
    if (only >= 0)
        lg_sb_printf(&l, "finding #%d: %s (%s)", only + 1, lg_viz_kind_str(m->findings[only].kind),
                     lg_viz_sev_str(m->findings[only].severity));
    else if (ncycles == 0)
        lg_sb_puts(&l, "lock-order graph: no cycle");
    else
        lg_sb_printf(&l, "lock-order graph: %d cycle%s (%d error, %d hazard%s)", ncycles,
                     ncycles == 1 ? "" : "s", nerr, nhaz,
                     cycles_left ? ", some not drawn" : "");
    if (l.failed)
        goto oom;
    b->title.len = 0;
    lg_sb_puts(&b->title, l.s);
    rc = 0;
    goto out;
oom:
    b->err = "out of memory";
out:
    lg_sb_free(&l);
    free(in);
    free(lockcls);
    free(edge_slot);
    free(de);
    return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Appends text with every absolute path cut to its last component: the
 * picture has room for "abba.c:20", not for the checkout's location. */
static void put_short_paths(struct lg_sb *l, const char *text)
{
    for (const char *p = text; *p;) {
        if (*p == '/' && (p == text || p[-1] == ' ' || p[-1] == '(')) {
            const char *end = p + strcspn(p, " ),");
            const char *base = p;
            for (const char *q = p; q < end; q++)
                if (*q == '/')
                    base = q + 1;
            lg_sb_putn(l, base, (size_t)(end - base));
            p = end;
        } else {
            lg_sb_putn(l, p, 1);
            p++;
        }
    }
}

/* "holds" or "waits for", then the label the analyzer gave the edge (the
 * call and its source line), unless that label already says what the
 * edge is ("holds", "ends with"). An edge that starts at an object, not
 * a thread, cannot be a wait (the model's waits-for edges go from a
 * blocked thread): it is drawn as a holds edge, such as a pipe's read
 * end held by a process. */
static enum lg_wf_edge_kind wf_edge_kind(const struct lg_waitfor *wf, const struct lg_wf_edge *e)
{
    if (e->kind == LG_WF_WAITS_FOR && wf->nodes[e->from].kind != LG_WF_THREAD)
        return LG_WF_HOLDS;
    return e->kind;
}

static void wf_edge_label(struct lg_sb *l, enum lg_wf_edge_kind kind, const struct lg_wf_edge *e)
{
    const char *label = e->label ? e->label : "";
    bool says_it = kind == LG_WF_HOLDS ? starts_with(label, "holds") || starts_with(label, "ends with")
                                       : starts_with(label, "waits");
    if (!says_it) {
        lg_sb_puts(l, kind == LG_WF_HOLDS ? "holds" : "waits for");
        if (*label)
            lg_sb_puts(l, "\n");
    }
    put_short_paths(l, label);
}

/* The wait-for graph recorded at the hang, as the supervisor saw it. */
static int build_waitfor(struct builder *b)
{
    const struct lg_model *m = b->m;
    const struct lg_waitfor *wf = m->waitfor;
    int rc = -1, ncycle = 0;
    Agnode_t **node = calloc((size_t)wf->nnodes + 1, sizeof *node);
    struct lg_sb l = {0};
    if (!node) {
        b->err = "out of memory";
        return -1;
    }
    /* An object nobody holds or waits for says nothing about the hang:
     * left out. Every thread is drawn, blocked or not. */
    bool *linked = calloc((size_t)wf->nnodes + 1, sizeof *linked);
    if (!linked) {
        free(node);
        b->err = "out of memory";
        return -1;
    }
    for (int i = 0; i < wf->nedges; i++) {
        const struct lg_wf_edge *e = &wf->edges[i];
        if (e->from >= 0 && e->from < wf->nnodes && e->to >= 0 && e->to < wf->nnodes)
            linked[e->from] = linked[e->to] = true;
    }
    for (int i = 0; i < wf->nnodes; i++) {
        const struct lg_wf_node *w = &wf->nodes[i];
        const char *label = w->label && *w->label ? w->label : "?";
        if (!linked[i] && w->kind != LG_WF_THREAD)
            continue;
        /* A process waited for is drawn inside its own process's box,
         * beside its threads. */
        Agraph_t *sub = w->kind == LG_WF_THREAD || w->kind == LG_WF_PROCESS
                        ? proc_cluster(b, w->process) : b->g;
        Agnode_t *n = sub ? new_node(b, sub, label) : NULL;
        if (!n || set_label(b, n, label))
            goto out;
        int bad = 0;
        const char *border = w->on_cycle ? C_ERROR : NULL;
        switch (w->kind) {
        case LG_WF_THREAD:
            bad = style_thread(b, n, w->on_cycle ? CLS_ERROR : CLS_NONE);
            break;
        case LG_WF_LOCK:
            bad = set(b, n, "shape", "box") || set(b, n, "style", "filled") ||
                  set(b, n, "fillcolor", FILL_LOCK) || set(b, n, "color", border ? border : LINE_LOCK);
            break;
        case LG_WF_PIPE:
            bad = set(b, n, "shape", "box") || set(b, n, "style", "filled") ||
                  set(b, n, "fillcolor", FILL_PIPE) || set(b, n, "color", border ? border : "#2e7d32");
            break;
        case LG_WF_PROCESS:
            bad = set(b, n, "shape", "box3d") || set(b, n, "style", "filled") ||
                  set(b, n, "fillcolor", FILL_PROC) || set(b, n, "color", border ? border : "gray30");
            break;
        default:
            bad = set(b, n, "shape", "box") || set(b, n, "style", "dashed") ||
                  set(b, n, "color", border ? border : "gray30");
        }
        if (bad || (w->on_cycle && set(b, n, "penwidth", "2")))
            goto out;
        node[i] = n;
        if (w->on_cycle)
            ncycle++;
    }
    for (int i = 0; i < wf->nedges; i++) {
        const struct lg_wf_edge *e = &wf->edges[i];
        if (e->from < 0 || e->from >= wf->nnodes || e->to < 0 || e->to >= wf->nnodes)
            continue;
        enum lg_wf_edge_kind kind = wf_edge_kind(wf, e);
        l.len = 0;
        wf_edge_label(&l, kind, e);
        if (l.failed) {
            b->err = "out of memory";
            goto out;
        }
        if (new_edge(b, node[e->from], node[e->to], kind == LG_WF_HOLDS ? E_HOLDS : E_WAITS,
                      e->on_cycle ? CLS_ERROR : CLS_NONE, l.s))
            goto out;
    }
    lg_sb_puts(&b->title, ncycle ? "wait-for graph at the hang (the cycle or chain in red)"
                                 : "wait-for graph at the hang");
    rc = 0;
out:
    lg_sb_free(&l);
    free(node);
    free(linked);
    return rc;
}

/* What a thread named by a finding (not its owner) did to its lock. */
static const char *verb_for(enum lg_finding_kind k)
{
    switch (k) {
    case LG_FK_SELF_DEADLOCK: return "waits for";
    case LG_FK_UNLOCK_NOT_OWNER: return "unlocks";
    case LG_FK_UNLOCK_UNLOCKED: return "unlocks";
    case LG_FK_DESTROY_LOCKED: return "destroys";
    case LG_FK_COND_WAIT_MISUSE: return "waits on";
    case LG_FK_SEMAPHORE_OVERPOST: return "posts";
    default: return "uses";
    }
}

static void loc_text(struct lg_sb *l, const struct lg_loc *at)
{
    if (at && at->file)
        lg_sb_printf(l, "%s:%d", lg_viz_basename(at->file), at->line);
    else if (at && at->function)
        lg_sb_printf(l, "%s()", at->function);
}

/* Whether `name` occurs in `text` as a whole (not inside a longer name). */
static bool names(const char *text, const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return false;
    for (const char *p = text; (p = strstr(p, name)); p++) {
        char before = p == text ? ' ' : p[-1], after = p[n];
        bool word_before = before == '_' || (before >= '0' && before <= '9') ||
                           ((before | 32) >= 'a' && (before | 32) <= 'z');
        bool word_after = after == '_' || (after >= '0' && after <= '9') ||
                          ((after | 32) >= 'a' && (after | 32) <= 'z');
        if (!word_before && !word_after)
            return true;
    }
    return false;
}

/* The locks a finding is about: its steps' locks; for the kinds the
 * analyzer reports without steps (unreleased locks, misuse), the locks
 * its message names. Returns how many were put in out[]. */
static int finding_locks(const struct lg_model *m, const struct lg_finding *f, int *out, int max)
{
    int n = 0;
    for (int i = 0; i < f->nsteps && n < max; i++)
        if (valid_lock(m, f->steps[i].lock))
            out[n++] = f->steps[i].lock;
    if (n > 0 || !f->message || lg_viz_is_hang_kind(f->kind) || f->kind == LG_FK_LOCK_DISCIPLINE_RACE)
        return n;
    for (int l = 0; l < m->nlocks && n < max; l++)
        if (m->locks[l].name && names(f->message, m->locks[l].name))
            out[n++] = l;
    return n;
}

/* A finding that is not a cycle: its locks; the thread that holds each
 * ("holds", from lock to owner, as in the wait-for graph); for a
 * self-deadlock the owner waiting for its own lock; the other threads it
 * names with what they did (unlocks, destroys...). The edge that is the
 * finding is drawn in its severity's colour. A note when no lock is known. */
static int build_finding(struct builder *b, int fi)
{
    const struct lg_model *m = b->m;
    const struct lg_finding *f = &m->findings[fi];
    enum cls cls = sev_cls(f->severity);
    const struct lg_loc *first = f->nloc > 0 ? &f->locations[0] : NULL;
    bool owner_kind = f->kind == LG_FK_UNRELEASED_LOCK || f->kind == LG_FK_SELF_DEADLOCK;
    struct lg_sb l = {0};
    int rc = -1, locks[16];
    int nlocks = finding_locks(m, f, locks, 16);

    for (int i = 0; i < nlocks; i++) {
        Agnode_t *ln = lock_node(b, locks[i], cls);
        if (!ln)
            goto out;
        /* Who holds it: the step's thread, or the one thread of an
         * unreleased lock or self-deadlock. */
        int owner = -1;
        const struct lg_loc *held = NULL;
        for (int j = 0; j < f->nsteps; j++) {
            const struct lg_step *s = &f->steps[j];
            if (s->lock != locks[i] || !valid_thread(m, s->thread))
                continue;
            owner = s->thread;
            if (s->edge >= 0 && s->edge < m->nedges && s->witness >= 0 &&
                s->witness < m->edges[s->edge].nw)
                held = lg_viz_user_frame(m->edges[s->edge].w[s->witness].held_at);
        }
        if (owner < 0 && owner_kind && f->nthreads > 0 && valid_thread(m, f->threads[0]))
            owner = f->threads[0];
        if (owner < 0)
            continue;
        Agnode_t *tn = thread_node(b, owner, cls);
        if (!tn)
            goto out;
        l.len = 0;
        lg_sb_puts(&l, "holds\n");
        loc_text(&l, held ? held : first);
        if (f->kind == LG_FK_UNRELEASED_LOCK)
            lg_sb_puts(&l, "\nnever released");
        if (l.failed ||
            new_edge(b, ln, tn, E_HOLDS, f->kind == LG_FK_UNRELEASED_LOCK ? cls : CLS_NONE, l.s))
            goto fail;
        if (f->kind == LG_FK_SELF_DEADLOCK) {
            l.len = 0;
            lg_sb_puts(&l, "waits for\n");
            loc_text(&l, first);
            if (l.failed || new_edge(b, tn, ln, E_WAITS, cls, l.s))
                goto fail;
        }
    }
    for (int i = 0; i < f->nthreads; i++) {
        int t = f->threads[i];
        if (!valid_thread(m, t) || b->thread_node[t])
            continue;
        Agnode_t *tn = thread_node(b, t, cls);
        if (!tn)
            goto out;
        if (owner_kind)
            continue;
        for (int j = 0; j < nlocks; j++) {
            l.len = 0;
            lg_sb_printf(&l, "%s\n", verb_for(f->kind));
            loc_text(&l, first);
            if (l.failed || new_edge(b, tn, b->lock_node[locks[j]], E_OTHER, cls, l.s))
                goto fail;
        }
    }
    if (nlocks == 0) {
        l.len = 0;
        lg_sb_puts(&l, f->message ? f->message : lg_viz_kind_str(f->kind));
        for (int i = 0; i < f->nloc && i < 6; i++) {
            lg_sb_puts(&l, "\n");
            loc_text(&l, &f->locations[i]);
            if (f->locations[i].function && f->locations[i].file)
                lg_sb_printf(&l, " %s()", f->locations[i].function);
        }
        if (l.failed || !note_node(b, "finding", l.s))
            goto fail;
    }
    l.len = 0;
    lg_sb_printf(&l, "finding #%d: %s (%s)", fi + 1, lg_viz_kind_str(f->kind),
                 lg_viz_sev_str(f->severity));
    if (l.failed)
        goto fail;
    b->title.len = 0;
    lg_sb_puts(&b->title, l.s);
    rc = 0;
    goto out;
fail:
    if (!b->err)
        b->err = "out of memory";
out:
    lg_sb_free(&l);
    return rc;
}

/* An edge that only orders its two nodes: never drawn. */
static Agedge_t *invisible_edge(struct builder *b, Agnode_t *from, Agnode_t *to)
{
    Agedge_t *e = agedge(b->g, from, to, NULL, 1);
    if (!e) {
        b->err = "graphviz: cannot create an edge";
        return NULL;
    }
    if (set(b, e, "style", "invis"))
        return NULL;
    return e;
}

/* "12.5 ms" from the run's first session. */
static void rel_time(struct lg_sb *l, uint64_t t, uint64_t t0)
{
    double ms = (double)(t - t0) / 1e6;
    if (ms < 10)
        lg_sb_printf(l, "%.3f ms", ms);
    else if (ms < 10000)
        lg_sb_printf(l, "%.1f ms", ms);
    else
        lg_sb_printf(l, "%.2f s", ms / 1000);
}

/* Same actor: the same thread, or (thread unknown) the same process. */
static bool same_actor(const struct lg_race_session *a, const struct lg_race_session *c)
{
    return a->thread >= 0 ? a->thread == c->thread : (c->thread < 0 && a->process == c->process);
}

/* A lock-discipline race: the file as a box; one lane (row) per actor,
 * its name then its sessions as boxes in time order (rank=same, ordered
 * by invisible edges); an edge from each session to the file labelled
 * with what it did and where. Sessions that race with another actor's,
 * and their edges, in red. */
static int build_race(struct builder *b, int fi)
{
    const struct lg_model *m = b->m;
    const struct lg_finding *f = &m->findings[fi];
    struct lg_sb l = {0}, nm = {0};
    int rc = -1, nlanes = 0;
    Agnode_t **lane_head = calloc((size_t)f->nsessions + 1, sizeof *lane_head);
    Agnode_t **lane_last = calloc((size_t)f->nsessions + 1, sizeof *lane_last);
    Agraph_t **lane_row = calloc((size_t)f->nsessions + 1, sizeof *lane_row);
    int *lane_of = calloc((size_t)f->nsessions + 1, sizeof *lane_of);
    if (!lane_head || !lane_last || !lane_row || !lane_of)
        goto fail;

    const char *path = f->race_file ? f->race_file : "the file";
    Agraph_t *sink = agsubg(b->g, "file_rank", 1);
    if (!sink || set(b, sink, "rank", "sink")) {
        b->err = b->err ? b->err : "graphviz: cannot create a subgraph";
        goto out;
    }
    lg_sb_printf(&l, "%s\n(file)", path);
    if (l.failed)
        goto fail;
    Agnode_t *file = new_node(b, sink, path);
    if (!file || set_label(b, file, l.s) || set(b, file, "shape", "box") ||
        set(b, file, "style", "filled,bold") || set(b, file, "fillcolor", FILL_FILE) ||
        set(b, file, "color", LINE_FILE))
        goto out;

    uint64_t t0 = f->nsessions ? f->sessions[0].start_ns : 0;
    for (int i = 0; i < f->nsessions; i++)
        if (f->sessions[i].start_ns < t0)
            t0 = f->sessions[i].start_ns;
    for (int i = 0; i < f->nsessions; i++) {
        const struct lg_race_session *s = &f->sessions[i];
        int lane = -1;
        for (int j = 0; j < i && lane < 0; j++)
            if (same_actor(&f->sessions[j], s))
                lane = lane_of[j];
        if (lane < 0) {
            /* a new lane: a rank=same row headed by the actor */
            lane = nlanes++;
            char sub[32];
            snprintf(sub, sizeof sub, "lane%d", lane);
            Agraph_t *row = agsubg(b->g, sub, 1);
            if (!row || set(b, row, "rank", "same")) {
                b->err = b->err ? b->err : "graphviz: cannot create a subgraph";
                goto out;
            }
            nm.len = 0;
            if (s->thread >= 0 && s->thread < m->nthreads)
                lg_viz_thread_name(&nm, m, s->thread);
            else if (s->process >= 0 && s->process < m->nprocs)
                lg_sb_printf(&nm, "process %d", m->procs[s->process].pid);
            else
                lg_sb_puts(&nm, "?");
            if (nm.failed)
                goto fail;
            Agnode_t *head = new_node(b, row, nm.s);
            if (!head || set_label(b, head, nm.s) || style_thread(b, head, CLS_NONE))
                goto out;
            if (nlanes > 1 && !invisible_edge(b, lane_head[lane - 1], head))
                goto out;
            lane_head[lane] = lane_last[lane] = head;
            lane_row[lane] = row;
        }
        lane_of[i] = lane;

        l.len = 0;
        lg_sb_printf(&l, "#%d: ", i + 1);   /* the order across rows */
        if (s->nreads)
            lg_sb_printf(&l, "%d read%s", s->nreads, s->nreads == 1 ? "" : "s");
        if (s->nwrites)
            lg_sb_printf(&l, "%s%d write%s", s->nreads ? ", " : "", s->nwrites,
                         s->nwrites == 1 ? "" : "s");
        lg_sb_puts(&l, "\n");
        rel_time(&l, s->start_ns, t0);
        if (s->end_ns > s->start_ns) {
            lg_sb_puts(&l, " .. ");
            rel_time(&l, s->end_ns, t0);
        }
        if (s->open_at.file || s->open_at.function) {
            lg_sb_puts(&l, "\nopened at ");
            loc_text(&l, &s->open_at);
        }
        lg_sb_printf(&l, "\nholding %s", s->held ? s->held : "no lock");
        nm.len = 0;
        lg_sb_printf(&nm, "session %d", i + 1);
        if (l.failed || nm.failed)
            goto fail;
        Agnode_t *n = new_node(b, lane_row[lane], nm.s);
        if (!n || set_label(b, n, l.s) || set(b, n, "shape", "box") ||
            set(b, n, "style", "rounded,filled") ||
            set(b, n, "fillcolor", s->overlapping ? FILL_RACING : "white") ||
            set(b, n, "color", s->overlapping ? C_ERROR : "gray45") ||
            set(b, n, "penwidth", s->overlapping ? "2" : "1"))
            goto out;
        if (!invisible_edge(b, lane_last[lane], n))
            goto out;
        lane_last[lane] = n;

        l.len = 0;
        lg_sb_puts(&l, s->nreads && s->nwrites ? "read, write" : s->nwrites ? "write" : "read");
        if (s->access_at.file || s->access_at.function) {
            lg_sb_puts(&l, "\n");
            loc_text(&l, &s->access_at);
        }
        if (l.failed)
            goto fail;
        if (new_edge(b, n, file, E_OTHER, s->overlapping ? CLS_ERROR : CLS_NONE, l.s))
            goto out;
    }
    l.len = 0;
    lg_sb_printf(&l, "finding #%d: %s (%s): %s, its sessions in time order, the racing ones red", fi + 1,
                 lg_viz_kind_str(f->kind), lg_viz_sev_str(f->severity), lg_viz_basename(path));
    if (l.failed)
        goto fail;
    b->title.len = 0;
    lg_sb_puts(&b->title, l.s);
    rc = 0;
    goto out;
fail:
    if (!b->err)
        b->err = "out of memory";
out:
    lg_sb_free(&l);
    lg_sb_free(&nm);
    free(lane_head);
    free(lane_last);
    free(lane_row);
    free(lane_of);
    return rc;
}

enum legend { LEG_ORDER, LEG_WAITFOR, LEG_FINDING, LEG_RACE };

/* The graph's label: the title, and under it the legend, as one
 * HTML-like table. Being the graph's label, the legend adds no node or
 * edge to the picture that a reader (or a tool) would count. */
static int add_legend(struct builder *b, enum legend kind)
{
    struct { const char *cell, *sample, *text; } e[8];
    int n = 0;
#define ENTRY(c, s, t) (e[n].cell = (c), e[n].sample = (s), e[n].text = (t), n++)
    if (kind == LEG_RACE) {
        ENTRY("BORDER=\"1\" COLOR=\"" LINE_FILE "\" BGCOLOR=\"" FILL_FILE "\"", "file",
              "the file both use");
        ENTRY("BORDER=\"1\" STYLE=\"ROUNDED\" COLOR=\"gray45\"", "session",
              "open .. close, in its actor's row, left to right in time");
    } else {
        ENTRY("BORDER=\"1\" COLOR=\"" LINE_LOCK "\" BGCOLOR=\"" FILL_LOCK "\"", "lock",
              "mutex, rwlock, spinlock, semaphore");
    }
    if (kind != LEG_ORDER)
        ENTRY("BORDER=\"1\" COLOR=\"" LINE_THREAD "\" BGCOLOR=\"" FILL_THREAD "\"", "thread",
              kind == LEG_RACE ? "ellipse, heads its row" : "ellipse, in its process");
    if (kind == LEG_WAITFOR) {
        ENTRY("BORDER=\"1\" BGCOLOR=\"" FILL_PIPE "\"", "pipe", "pipe, FIFO, socketpair");
        ENTRY("BORDER=\"1\" BGCOLOR=\"" FILL_PROC "\"", "process", "child waited for");
    }
    if (kind == LEG_ORDER) {
        ENTRY("", "<FONT COLOR=\"" C_ERROR "\">&#9473;&#9473;&#9473;&#9654;</FONT>", "deadlock cycle (error)");
        ENTRY("", "<FONT COLOR=\"" C_HAZARD "\">&#9476;&#9476;&#9476;&#9654;</FONT>",
              "hazard cycle (warning, note)");
        ENTRY("", "<FONT COLOR=\"" C_ORDER "\">&#9472;&#9472;&#9472;&#9654;</FONT>",
              "A &#8594; B: B taken while A held");
    } else if (kind == LEG_RACE) {
        ENTRY("", "<FONT COLOR=\"" C_WAIT "\">&#9472;&#9472;&#9472;&#9654;</FONT>",
              "read, write: the first call's line");
        ENTRY("BORDER=\"1\" STYLE=\"ROUNDED\" COLOR=\"" C_ERROR "\" BGCOLOR=\"" FILL_RACING "\"",
              "<FONT COLOR=\"" C_ERROR "\">&#9473;&#9473;&#9654;</FONT>",
              "races: not ordered, no lock in common");
    } else {
        ENTRY("", "<FONT COLOR=\"" C_WAIT "\">&#9472;&#9472;&#9472;&#9654;</FONT>", "holds: lock &#8594; owner");
        ENTRY("", "<FONT COLOR=\"" C_WAIT "\">&#9476;&#9476;&#9476;&#9655;</FONT>", "waits for");
        ENTRY("", "<FONT COLOR=\"" C_ERROR "\">&#9473;&#9473;&#9473;&#9654;</FONT>",
              kind == LEG_WAITFOR ? "the cycle or chain that hangs" : "the error");
    }
#undef ENTRY
    struct lg_sb t = {0};
    lg_sb_puts(&t, "<TABLE BORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"2\"><TR><TD><FONT POINT-SIZE=\"13\">");
    lg_sb_html(&t, b->title.s ? b->title.s : "lockgraph");
    lg_sb_puts(&t, "</FONT></TD></TR><TR><TD>"
                   "<TABLE BORDER=\"1\" STYLE=\"ROUNDED\" COLOR=\"gray70\" CELLBORDER=\"0\" "
                   "CELLSPACING=\"3\" CELLPADDING=\"1\">");
    int per_row = (n + 1) / 2;
    for (int i = 0; i < n; i++) {
        if (i % per_row == 0)
            lg_sb_puts(&t, i ? "</TR><TR>" : "<TR>");
        lg_sb_printf(&t, "<TD %s><FONT POINT-SIZE=\"9\">%s</FONT></TD>"
                         "<TD ALIGN=\"LEFT\"><FONT POINT-SIZE=\"9\" COLOR=\"gray25\">%s</FONT></TD>",
                     e[i].cell, e[i].sample, e[i].text);
    }
    lg_sb_puts(&t, "</TR></TABLE></TD></TR></TABLE>");
    if (t.failed) {
        lg_sb_free(&t);
        b->err = "out of memory";
        return -1;
    }
    char *html = agstrdup_html(b->g, t.s);
    lg_sb_free(&t);
    if (!html) {
        b->err = "graphviz: cannot make the legend label";
        return -1;
    }
    int rc = set(b, b->g, "label", html);
    agstrfree(b->g, html);
    return rc;
}

static int graph_defaults(struct builder *b)
{
    Agraph_t *g = b->g;
    if (!agattr(g, AGRAPH, "fontname", FONT) || !agattr(g, AGRAPH, "fontsize", "12") ||
        !agattr(g, AGRAPH, "labelloc", "t") || !agattr(g, AGRAPH, "nodesep", "0.5") ||
        !agattr(g, AGRAPH, "ranksep", "0.45") || !agattr(g, AGRAPH, "pad", "0.2") ||
        !agattr(g, AGRAPH, "bgcolor", "white") || !agattr(g, AGNODE, "fontname", FONT) ||
        !agattr(g, AGNODE, "fontsize", "11") || !agattr(g, AGNODE, "margin", "0.12,0.06") ||
        !agattr(g, AGEDGE, "fontname", FONT) || !agattr(g, AGEDGE, "fontsize", "9") ||
        !agattr(g, AGEDGE, "arrowsize", "0.8")) {
        b->err = "graphviz: cannot set default attributes";
        return -1;
    }
    return 0;
}

int lg_viz_build(const struct lg_model *m, const struct lg_viz_opts *o, const char *name,
                 Agraph_t **out, const char **err)
{
    struct lg_viz_opts def = {LG_VIZ_AUTO, -1, 0};
    struct builder b = {.m = m};
    int rc = -1;
    if (!o)
        o = &def;
    *out = NULL;
    if (o->finding >= m->nfindings || o->finding < -1) {
        *err = lg_viz_errf("finding %d does not exist: the run has %d finding%s", o->finding + 1,
                           m->nfindings, m->nfindings == 1 ? "" : "s");
        return -1;
    }
    const struct lg_finding *f = o->finding >= 0 ? &m->findings[o->finding] : NULL;
    enum lg_viz_kind kind = o->kind;
    if (kind == LG_VIZ_AUTO) {
        if (f)
            kind = lg_viz_is_hang_kind(f->kind) && m->waitfor ? LG_VIZ_WAIT_FOR : LG_VIZ_LOCK_ORDER;
        else
            kind = m->hung && m->waitfor ? LG_VIZ_WAIT_FOR : LG_VIZ_LOCK_ORDER;
    }
    if (kind == LG_VIZ_WAIT_FOR && !m->waitfor) {
        *err = "no wait-for graph: the run did not hang (draw the lock-order graph instead)";
        return -1;
    }

    b.lock_node = calloc((size_t)m->nlocks + 1, sizeof *b.lock_node);
    b.thread_node = calloc((size_t)m->nthreads + 1, sizeof *b.thread_node);
    b.proc_cluster = calloc((size_t)m->nprocs + 1, sizeof *b.proc_cluster);
    if (!b.lock_node || !b.thread_node || !b.proc_cluster) {
        b.err = "out of memory";
        goto out;
    }
    b.g = agopen((char *)(name ? name : "lockgraph"), Agdirected, NULL);
    if (!b.g) {
        b.err = "graphviz: cannot create a graph";
        goto out;
    }
    if (graph_defaults(&b))
        goto out;
    enum legend leg;
    if (kind == LG_VIZ_WAIT_FOR) {
        leg = LEG_WAITFOR;
        if (build_waitfor(&b))
            goto out;
    } else if (f && f->kind == LG_FK_LOCK_DISCIPLINE_RACE && f->nsessions > 0) {
        leg = LEG_RACE;
        if (build_race(&b, o->finding))
            goto out;
    } else if (f && !is_cycle(m, f)) {
        leg = LEG_FINDING;
        if (build_finding(&b, o->finding))
            goto out;
    } else {
        leg = LEG_ORDER;
        /* Left to right, the two edges of an A/B inversion arc above and
         * below each other and their labels do not collide. */
        if (agsafeset(b.g, "rankdir", "LR", "") != 0) {
            b.err = "graphviz: cannot set rankdir";
            goto out;
        }
        if (build_lock_order(&b, o->finding, o->all != 0))
            goto out;
    }
    if (add_legend(&b, leg))
        goto out;
    *out = b.g;
    b.g = NULL;
    rc = 0;
out:
    if (b.g)
        agclose(b.g);
    free(b.lock_node);
    free(b.thread_node);
    free(b.proc_cluster);
    lg_sb_free(&b.title);
    if (rc)
        *err = b.err ? b.err : "graphviz: cannot build the graph";
    return rc;
}
