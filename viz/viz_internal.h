/* SPDX-License-Identifier: MIT */
/*
 * viz_internal.h — what the files of viz/ share and nobody else sees: a
 * growable string, escaping for each output language, the model's
 * names, and the cgraph builder that graph.c gives render.c and html.c.
 */
#ifndef LG_VIZ_INTERNAL_H
#define LG_VIZ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include "lg_viz.h"

/* A growable NUL-terminated string. After an allocation failure `failed`
 * is set and every later append is a no-op, so callers check once. */
struct lg_sb {
    char *s;
    size_t len, cap;
    bool failed;
};

void lg_sb_puts(struct lg_sb *b, const char *s);
void lg_sb_putn(struct lg_sb *b, const char *s, size_t n);
void lg_sb_printf(struct lg_sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lg_sb_free(struct lg_sb *b);

/* Escapers append `s` (NULL appends nothing) to b. */
void lg_sb_html(struct lg_sb *b, const char *s);      /* HTML/XML text and attributes */
void lg_sb_gvlabel(struct lg_sb *b, const char *s);   /* plain Graphviz label: \ is an escape there */
void lg_sb_json(struct lg_sb *b, const char *s);      /* JSON string body, without the quotes */

const char *lg_viz_kind_str(enum lg_finding_kind k);
const char *lg_viz_sev_str(enum lg_severity s);
const char *lg_viz_basename(const char *path);

/* The user frame of a stack (py[] when there are Python frames, else
 * frames[]), or NULL when the stack is NULL or has none. */
const struct lg_loc *lg_viz_user_frame(const struct lg_stack *st);

/* "T2", or "T2 [pid 4711]" when the model has several processes. */
void lg_viz_thread_name(struct lg_sb *b, const struct lg_model *m, int thread);

/* Kinds whose picture is the wait-for graph when the model has one. */
bool lg_viz_is_hang_kind(enum lg_finding_kind k);

/* Build the picture for o (NULL: the run's main picture) into a new
 * cgraph graph named `name`. Returns 0 and *out, or -1 with *err set to
 * one line (static storage). The caller agclose()s *out. */
int lg_viz_build(const struct lg_model *m, const struct lg_viz_opts *o,
                 const char *name, Agraph_t **out, const char **err);

/* The process's gvc context (see render.c for why there is only one). */
GVC_t *lg_viz_context(void);

/* Lay out and render to memory as SVG, the XML prolog cut off so it can
 * be inlined in HTML; ids inside it are prefixed with `id` so several
 * pictures can share a page. Returns 0 and a malloc'd *svg, or -1. */
int lg_viz_svg(GVC_t *gvc, const struct lg_model *m, const struct lg_viz_opts *o,
               const char *id, char **svg, const char **err);

/* Graphviz reports problems through agerr(); while a capture is active
 * the first message is kept so our own error line can name it. */
void lg_viz_errcapture_begin(void);
const char *lg_viz_errcapture_end(void);

/* A one-line error in static storage. */
const char *lg_viz_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LG_VIZ_INTERNAL_H */
