/* SPDX-License-Identifier: MIT */
/*
 * lg_viz.h — pictures and page formats from the model (viz/): Graphviz
 * diagrams through cgraph + gvc, the self-contained HTML page, SARIF.
 */
#ifndef LG_VIZ_H
#define LG_VIZ_H

#include <stdio.h>
#include "lg_model.h"

enum lg_viz_kind { LG_VIZ_AUTO = 0, LG_VIZ_LOCK_ORDER, LG_VIZ_WAIT_FOR };

struct lg_viz_opts {
    enum lg_viz_kind kind;   /* AUTO: wait-for when the run hung, else lock-order */
    int finding;             /* draw only this finding (index), -1 for all */
    int all;                 /* keep locks that are on no cycle */
};

/* Render to path; the format comes from its extension (.svg .png .pdf .dot).
 * Returns 0 or -1 with *err set to one line. */
int lg_viz_render_file(const struct lg_model *m, const struct lg_viz_opts *o,
                       const char *path, const char **err);

void lg_report_html(const struct lg_model *m, FILE *out);
void lg_report_sarif(const struct lg_model *m, FILE *out);

#endif /* LG_VIZ_H */
