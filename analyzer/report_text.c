/* SPDX-License-Identifier: MIT */
/*
 * report_text.c — the model's findings as compiler-style text: one block
 * per finding, "file:line: severity: message", the worded evidence
 * indented below, a lockdep-style scenario for deadlock cycles, and one
 * summary line. Reads only the model (lg_model.h).
 */
#include "lg_model.h"

#include <string.h>

static void print_prefix(const struct lg_finding *f, FILE *out)
{
    const struct lg_loc *l = f->nloc ? &f->locations[0] : NULL;

    if (l && l->file && l->line)
        fprintf(out, "%s:%d: ", l->file, l->line);
    else if (l && l->file)
        fprintf(out, "%s: ", l->file);
    else if (l && l->function)
        fprintf(out, "%s(): ", l->function);
    else
        fprintf(out, "lockgraph: ");
}

static const char *lock_name(const struct lg_model *m, int i)
{
    return i >= 0 && i < m->nlocks && m->locks[i].name ? m->locks[i].name : "?";
}

static const char *thread_name(const struct lg_model *m, int i)
{
    return i >= 0 && i < m->nthreads && m->threads[i].name ? m->threads[i].name : "?";
}

/* Two threads: lockdep's two columns. More: one line per action. */
static void print_scenario(const struct lg_model *m, const struct lg_finding *f, FILE *out)
{
    int n = f->nsteps;

    fprintf(out, "    possible scenario:\n");
    if (n == 2 && f->steps[0].thread != f->steps[1].thread) {
        const char *t0 = thread_name(m, f->steps[0].thread), *t1 = thread_name(m, f->steps[1].thread);
        int w = (int)strlen(t0);
        for (int i = 0; i < 2; i++) {
            int l = (int)strlen(lock_name(m, f->steps[i].lock)) + 6;
            if (l > w)
                w = l;
        }
        w += 4;
        fprintf(out, "      %-*s%s\n", w, t0, t1);
        fprintf(out, "      %-*s%s\n", w, "----", "----");
        fprintf(out, "      lock(%s)\n", lock_name(m, f->steps[0].lock));
        fprintf(out, "      %-*slock(%s)\n", w, "", lock_name(m, f->steps[1].lock));
        fprintf(out, "      lock(%s)\n", lock_name(m, f->steps[1].lock));
        fprintf(out, "      %-*slock(%s)\n", w, "", lock_name(m, f->steps[0].lock));
    } else {
        for (int i = 0; i < n; i++)
            fprintf(out, "      %s: lock(%s)\n", thread_name(m, f->steps[i].thread),
                    lock_name(m, f->steps[i].lock));
        for (int i = 0; i < n; i++) {
            int next = (i + 1) % n;
            fprintf(out, "      %s: lock(%s)   <- waits for %s\n",
                    thread_name(m, f->steps[i].thread), lock_name(m, f->steps[next].lock),
                    thread_name(m, f->steps[next].thread));
        }
    }
    fprintf(out, "      *** DEADLOCK ***\n");
}

void lg_report_text(const struct lg_model *m, FILE *out)
{
    for (int i = 0; i < m->nfindings; i++) {
        const struct lg_finding *f = &m->findings[i];

        print_prefix(f, out);
        fprintf(out, "%s: %s\n", lg_severity_name(f->severity), f->message ? f->message : "");
        for (int k = 0; k < f->ndetails; k++)
            fprintf(out, "    %s\n", f->details[k]);
        if (f->reason)
            fprintf(out, "    %s: %s\n",
                    f->kind == LG_FK_LOCK_ORDER_CYCLE ? "not a deadlock" : "why", f->reason);
        if (f->kind == LG_FK_LOCK_ORDER_CYCLE && f->severity == LG_SEV_ERROR && f->nsteps >= 2)
            print_scenario(m, f, out);
        fputc('\n', out);
    }
    for (int i = 0; i < m->nskipped; i++)
        fprintf(out, "lockgraph: skipped: %s\n", m->skipped[i]);
    fprintf(out, "lockgraph: %d errors, %d warnings, %d notes in %d processes, %d threads, %d locks\n",
            lg_model_count(m, LG_SEV_ERROR), lg_model_count(m, LG_SEV_WARNING),
            lg_model_count(m, LG_SEV_NOTE), m->nprocs, m->nthreads, m->nlocks);
}
