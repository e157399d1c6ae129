/* SPDX-License-Identifier: MIT */
/*
 * render.c — lays out the graph built by graph.c with gvc's "dot" engine
 * and renders it: to a file whose extension names the format, or to
 * memory as SVG for the HTML page. Graphviz's demo.c order: context,
 * graph, layout, render, free layout, close, free context.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "viz_internal.h"

/* One gvc context for the whole process, made on first use and never
 * freed. Graphviz 2.42's pango plugin keeps a pointer to the last font
 * name it measured, and that name lives in the context's font table: a
 * context freed between two pictures leaves the plugin reading freed
 * memory on the next one (AddressSanitizer shows it). */
GVC_t *lg_viz_context(void)
{
    static GVC_t *gvc;
    if (!gvc)
        gvc = gvContext();
    return gvc;
}

/* The gvc render format for a file name, or NULL. ".dot" is the laid
 * out graph as DOT text, written by gvc's own "dot" renderer. */
static const char *format_for(const char *path)
{
    static const struct { const char *ext, *format; } formats[] = {
        {".svg", "svg"}, {".png", "png"}, {".pdf", "pdf"}, {".dot", "dot"}, {".gv", "dot"},
    };
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcasecmp(dot, formats[i].ext) == 0)
            return formats[i].format;
    return NULL;
}

/* We open the file ourselves and hand gvRender the stream: Graphviz
 * 2.42's gvRenderFilename returns 0 when it cannot open its output (it
 * only prints a line on stderr), so a bad path would pass for success. */
int lg_viz_render_file(const struct lg_model *m, const struct lg_viz_opts *o, const char *path,
                       const char **err)
{
    const char *format = format_for(path);
    GVC_t *gvc = NULL;
    Agraph_t *g = NULL;
    FILE *f = NULL;
    bool laid_out = false, created = false;
    int rc = -1;
    const char *e = NULL;

    if (!format) {
        *err = lg_viz_errf("%s: unknown picture format (use a name ending in .svg, .png, .pdf or .dot)",
                           path ? path : "(null)");
        return -1;
    }
    lg_viz_errcapture_begin();
    gvc = lg_viz_context();
    if (!gvc) {
        e = "graphviz: cannot create a context";
        goto out;
    }
    if (lg_viz_build(m, o, "lockgraph", &g, &e))
        goto out;
    if (gvLayout(gvc, g, "dot") != 0) {
        e = "graphviz: dot layout failed";
        goto out;
    }
    laid_out = true;
    f = fopen(path, "wb");
    if (!f) {
        e = lg_viz_errf("%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    created = true;
    if (gvRender(gvc, g, format, f) != 0) {
        e = lg_viz_errf("graphviz: cannot render %s to %s", format, path);
        goto out;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0) {
        e = lg_viz_errf("%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc && created)
        unlink(path);   /* no half-written picture left behind */
    if (laid_out && gvFreeLayout(gvc, g) != 0 && rc == 0) {
        e = "graphviz: cannot free the layout";
        rc = -1;
    }
    if (g)
        agclose(g);
    const char *captured = lg_viz_errcapture_end();
    if (rc)
        *err = captured && e && strncmp(e, "graphviz:", 9) == 0 ? lg_viz_errf("%s: %s", e, captured)
                                                                : (e ? e : "graphviz: failed");
    return rc;
}

int lg_viz_svg(GVC_t *gvc, const struct lg_model *m, const struct lg_viz_opts *o, const char *id,
               char **svg, const char **err)
{
    Agraph_t *g = NULL;
    char *data = NULL;
    unsigned len = 0;
    int rc = -1;
    bool laid_out = false;
    const char *e = NULL;

    *svg = NULL;
    lg_viz_errcapture_begin();
    if (lg_viz_build(m, o, id ? id : "lockgraph", &g, &e))
        goto out;
    /* Graphviz prefixes every object id in the SVG with the graph's id. */
    if (id && agsafeset(g, "id", (char *)id, "") != 0) {
        e = "graphviz: cannot set the graph id";
        goto out;
    }
    if (gvLayout(gvc, g, "dot") != 0) {
        e = "graphviz: dot layout failed";
        goto out;
    }
    laid_out = true;
    if (gvRenderData(gvc, g, "svg", &data, &len) != 0 || !data) {
        e = "graphviz: cannot render SVG";
        goto out;
    }
    /* Inline SVG in HTML starts at <svg: the XML declaration, DOCTYPE
     * and comments before it belong to a standalone file only. */
    const char *start = NULL;
    for (const char *p = data; p < data + len && (p = memchr(p, '<', (size_t)(data + len - p)));
         p++)
        if (len - (unsigned)(p - data) >= 4 && strncmp(p, "<svg", 4) == 0) {
            start = p;
            break;
        }
    if (!start) {
        e = "graphviz: the SVG has no <svg> element";
        goto out;
    }
    size_t n = len - (size_t)(start - data);
    *svg = malloc(n + 1);
    if (!*svg) {
        e = "out of memory";
        goto out;
    }
    memcpy(*svg, start, n);
    (*svg)[n] = '\0';
    rc = 0;
out:
    if (data)
        gvFreeRenderData(data);
    if (laid_out && gvFreeLayout(gvc, g) != 0 && rc == 0) {
        free(*svg);
        *svg = NULL;
        e = "graphviz: cannot free the layout";
        rc = -1;
    }
    if (g)
        agclose(g);
    const char *captured = lg_viz_errcapture_end();
    if (rc)
        *err = captured && e && strncmp(e, "graphviz:", 9) == 0 ? lg_viz_errf("%s: %s", e, captured)
                                                                : (e ? e : "graphviz: failed");
    return rc;
}
