/* SPDX-License-Identifier: MIT */
/*
 * model.c — the model's lifetime and small accessors (names of kinds and
 * severities, counts). Everything the model points to is owned by it:
 * strings and small arrays by its arena, the big tables by malloc.
 */
#include "lg_analyze.h"

#include <stdlib.h>

const char *lg_finding_kind_name(enum lg_finding_kind k)
{
    static const char *const names[] = {
#define LG_X_FKN(name, str) str,
        LG_FINDING_KINDS(LG_X_FKN)
#undef LG_X_FKN
    };
    return (unsigned)k < LG_FK_MAX ? names[k] : "unknown";
}

const char *lg_severity_name(enum lg_severity s)
{
    switch (s) {
    case LG_SEV_ERROR: return "error";
    case LG_SEV_WARNING: return "warning";
    case LG_SEV_NOTE: return "note";
    }
    return "unknown";
}

int lg_model_count(const struct lg_model *m, enum lg_severity s)
{
    int n = 0;
    if (!m)
        return 0;
    for (int i = 0; i < m->nfindings; i++)
        n += m->findings[i].severity == s;
    return n;
}

void lg_model_free(struct lg_model *m)
{
    if (!m)
        return;
    struct lg_model_priv *p = m->priv;
    if (p) {
        lg_symbolizer_free(p->sym);
        for (int i = 0; i < m->nprocs && p->images; i++)
            free(p->images[i].mods);
        free(p->images);
        free(p->lockx);
        free(p->stacks);
        free(p->stack_proc);
        free(p->held);
        free(p->misuse);
        free(p->wpool);
        free(p->wfirst);
        free(p->scc_comp);
        free(p->scc_size);
        if (p->scc_graph)
            lg_graph_free(p->scc_graph);
        free(p->scc_graph);
        lg_strtab_free(&p->strs);
        lg_arena_free(&p->arena);
        free(p);
    }
    free(m->procs);
    free(m->threads);
    free(m->locks);
    free(m->edges);
    free(m->findings);
    free(m->skipped);
    free(m);
}
