/* SPDX-License-Identifier: MIT */
/*
 * viz_sample.c — writes a hand-made model's outputs for the CTest checks
 * that run outside Criterion (SARIF against the schema, the HTML page in
 * a browser): viz_sample MODEL OUTDIR writes OUTDIR/MODEL.{html,sarif,svg,png}.
 */
#include <stdio.h>
#include <string.h>
#include "fixtures.h"
#include "lg_viz.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: viz_sample abba|philosophers|warning|hang|mixed|big OUTDIR\n");
        return 2;
    }
    const char *name = argv[1];
    struct lg_model *m = !strcmp(name, "abba") ? fx_abba()
                       : !strcmp(name, "philosophers") ? fx_philosophers(3)
                       : !strcmp(name, "warning") ? fx_warning()
                       : !strcmp(name, "hang") ? fx_hang()
                       : !strcmp(name, "mixed") ? fx_mixed()
                       : !strcmp(name, "big") ? fx_big(5000) : NULL;
    if (!m) {
        fprintf(stderr, "viz_sample: no model named %s\n", name);
        return 2;
    }
    char path[4096];
    int rc = 0;
    const char *ext[] = {"html", "sarif"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", argv[2], name, ext[i]);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            rc = 1;
            continue;
        }
        if (i == 0)
            lg_report_html(m, f);
        else
            lg_report_sarif(m, f);
        if (fclose(f) != 0) {
            perror(path);
            rc = 1;
        }
    }
    const char *pic[] = {"svg", "png"};
    for (int i = 0; i < 2; i++) {
        struct lg_viz_opts o = {LG_VIZ_AUTO, -1, 0};
        const char *err = NULL;
        snprintf(path, sizeof path, "%s/%s.%s", argv[2], name, pic[i]);
        if (lg_viz_render_file(m, &o, path, &err) != 0) {
            fprintf(stderr, "viz_sample: %s\n", err);
            rc = 1;
        }
    }
    fx_free(m);
    return rc;
}
