/* SPDX-License-Identifier: MIT */
/*
 * report_json.c — the model as one JSON object (schema: docs/json-schema.md)
 * for tools and tests. Deterministic: the same model gives the same bytes.
 * Strings are escaped and made valid UTF-8 (bad bytes become U+FFFD).
 */
#include "lg_model.h"

#include <inttypes.h>
#include <string.h>

static void jstr(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", out); break;
            case '\t': fputs("\\t", out); break;
            case '\r': fputs("\\r", out); break;
            case '\b': fputs("\\b", out); break;
            case '\f': fputs("\\f", out); break;
            default: fprintf(out, "\\u%04x", c); break;
            }
            p++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            p++;
        } else {
            /* Copy one well-formed UTF-8 sequence, or emit U+FFFD. */
            int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
            int ok = len > 0;
            for (int k = 1; k < len && ok; k++)
                ok = (p[k] & 0xc0) == 0x80;
            if (ok && len == 3 && c == 0xe0 && p[1] < 0xa0)
                ok = 0;
            if (ok && len == 3 && c == 0xed && p[1] >= 0xa0)
                ok = 0;
            if (ok && len == 4 && c == 0xf0 && p[1] < 0x90)
                ok = 0;
            if (ok && len == 4 && c == 0xf4 && p[1] >= 0x90)
                ok = 0;
            if (ok) {
                fwrite(p, 1, (size_t)len, out);
                p += len;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    fputc('"', out);
}

static void jloc(FILE *out, const struct lg_loc *l)
{
    if (!l) {
        fputs("null", out);
        return;
    }
    fputs("{\"file\":", out);
    jstr(out, l->file);
    fprintf(out, ",\"line\":%d,\"function\":", l->line);
    jstr(out, l->function);
    if (l->python) {
        fputs(",\"python\":true", out);
    } else {
        fputs(",\"module\":", out);
        jstr(out, l->module);
        fprintf(out, ",\"pc\":\"0x%" PRIx64 "\"", l->pc);
    }
    fputc('}', out);
}

static const struct lg_loc *user_loc(const struct lg_stack *st)
{
    if (!st)
        return NULL;
    if (st->npy)
        return st->user >= 0 && st->user < (int)st->npy ? &st->py[st->user] : &st->py[0];
    if (st->n)
        return st->user >= 0 && st->user < (int)st->n ? &st->frames[st->user] : &st->frames[0];
    return NULL;
}

static void jstack(FILE *out, const struct lg_stack *st)
{
    if (!st) {
        fputs("null", out);
        return;
    }
    fputs("{\"frames\":[", out);
    for (uint32_t i = 0; i < st->n; i++) {
        if (i)
            fputc(',', out);
        jloc(out, &st->frames[i]);
    }
    fputs("],\"python\":[", out);
    for (uint32_t i = 0; i < st->npy; i++) {
        if (i)
            fputc(',', out);
        jloc(out, &st->py[i]);
    }
    fprintf(out, "],\"user\":%d}", st->user);
}

static const char *lock_kind(int k)
{
    switch (k) {
    case 1: return "mutex";
    case 2: return "rwlock";
    case 3: return "spinlock";
    case 4: return "semaphore";
    case 5: return "named-semaphore";
    default: return "unknown";
    }
}

static void jints(FILE *out, const int *v, int n)
{
    fputc('[', out);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%d", i ? "," : "", v[i]);
    fputc(']', out);
}

static void jfinding(const struct lg_model *m, const struct lg_finding *f, FILE *out)
{
    fprintf(out, "{\"id\":%d,\"kind\":", f->idx);
    jstr(out, lg_finding_kind_name(f->kind));
    fputs(",\"severity\":", out);
    jstr(out, lg_severity_name(f->severity));
    fputs(",\"message\":", out);
    jstr(out, f->message);
    fputs(",\"reason\":", out);
    jstr(out, f->reason);
    fputs(",\n   \"locations\":[", out);
    for (int i = 0; i < f->nloc; i++) {
        if (i)
            fputc(',', out);
        jloc(out, &f->locations[i]);
    }
    fputs("],\n   \"steps\":[", out);
    for (int i = 0; i < f->nsteps; i++) {
        const struct lg_step *s = &f->steps[i];
        const struct lg_witness *w = NULL;
        if (s->edge >= 0 && s->edge < m->nedges && s->witness >= 0 && s->witness < m->edges[s->edge].nw)
            w = &m->edges[s->edge].w[s->witness];
        if (i)
            fputc(',', out);
        fprintf(out, "{\"lock\":%d,\"lock_name\":", s->lock);
        jstr(out, s->lock >= 0 && s->lock < m->nlocks ? m->locks[s->lock].name : NULL);
        fprintf(out, ",\"thread\":%d,\"thread_name\":", s->thread);
        jstr(out, s->thread >= 0 && s->thread < m->nthreads ? m->threads[s->thread].name : NULL);
        fprintf(out, ",\"edge\":%d", s->edge);
        if (w) {
            int next = m->edges[s->edge].to;
            fprintf(out, ",\"acquires\":%d,\"acquires_name\":", next);
            jstr(out, m->locks[next].name);
            fprintf(out, ",\"mode\":\"%s\",\"held_mode\":\"%s\",\"trylock\":%s,\"acquired_at\":",
                    w->mode ? "read" : "write", w->held_mode ? "read" : "write",
                    (w->flags & 1) ? "true" : "false");
            jloc(out, user_loc(w->acquired_at));
            fputs(",\"held_at\":", out);
            jloc(out, user_loc(w->held_at));
            fputs(",\"gates\":", out);
            /* Other locks held: never the held lock itself (a shared
             * gate array of a thread holding many locks contains it). */
            fputc('[', out);
            for (int g = 0, k = 0; g < w->ngates; g++)
                if (w->gates[g] != m->edges[s->edge].from)
                    fprintf(out, "%s%d", k++ ? "," : "", w->gates[g]);
            fputc(']', out);
        }
        fputc('}', out);
    }
    fputs("],\n   \"threads\":", out);
    jints(out, f->threads, f->nthreads);
    fprintf(out, ",\"process\":%d,\"details\":[", f->process);
    for (int i = 0; i < f->ndetails; i++) {
        if (i)
            fputc(',', out);
        jstr(out, f->details[i]);
    }
    fputs("],\n   \"stacks\":[", out);
    for (int i = 0; i < f->nstacks; i++) {
        if (i)
            fputc(',', out);
        jstack(out, f->stacks[i]);
    }
    fputc(']', out);
    if (f->kind == LG_FK_LOCK_DISCIPLINE_RACE) {   /* the file and its sessions (analyzer/race.c) */
        fputs(",\n   \"file\":", out);
        jstr(out, f->race_file);
        fputs(",\"sessions\":[", out);
        for (int i = 0; i < f->nsessions; i++) {
            const struct lg_race_session *s = &f->sessions[i];
            fprintf(out, "%s{\"thread\":%d,\"thread_name\":", i ? "," : "", s->thread);
            jstr(out, s->thread >= 0 && s->thread < m->nthreads ? m->threads[s->thread].name : NULL);
            fprintf(out, ",\"process\":%d,\"pid\":%d,\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
                         ",\"reads\":%d,\"writes\":%d,\"held\":",
                    s->process, s->process >= 0 && s->process < m->nprocs ? m->procs[s->process].pid : 0,
                    s->start_ns, s->end_ns, s->nreads, s->nwrites);
            jstr(out, s->held);
            fputs(",\"open_at\":", out);
            jloc(out, s->open_at.file || s->open_at.function ? &s->open_at : NULL);
            fputs(",\"access_at\":", out);
            jloc(out, s->access_at.file || s->access_at.function ? &s->access_at : NULL);
            fprintf(out, ",\"overlapping\":%s}", s->overlapping ? "true" : "false");
        }
        fputc(']', out);
    }
    fputc('}', out);
}

void lg_report_json(const struct lg_model *m, FILE *out)
{
    fputs("{\"version\":1,\"program\":", out);
    jstr(out, m->nprocs ? m->procs[0].exe : NULL);
    fputs(",\"dir\":", out);
    jstr(out, m->dir);
    fprintf(out, ",\"hung\":%s,\"lock_ops\":%" PRIu64 ",\n\"summary\":{\"errors\":%d,\"warnings\":%d,"
            "\"notes\":%d,\"processes\":%d,\"threads\":%d,\"locks\":%d,\"edges\":%d},\n",
            m->hung ? "true" : "false", m->lock_ops, lg_model_count(m, LG_SEV_ERROR),
            lg_model_count(m, LG_SEV_WARNING), lg_model_count(m, LG_SEV_NOTE), m->nprocs,
            m->nthreads, m->nlocks, m->nedges);

    fputs("\"processes\":[", out);
    for (int i = 0; i < m->nprocs; i++) {
        const struct lg_process *p = &m->procs[i];
        fprintf(out, "%s\n {\"id\":%d,\"pid\":%d,\"ppid\":%d,\"exec_seq\":%u,\"parent\":%d,\"exe\":",
                i ? "," : "", p->idx, p->pid, p->ppid, p->exec_seq, p->parent);
        jstr(out, p->exe);
        fputs(",\"argv\":[", out);
        for (int k = 0; k < p->argc; k++) {
            if (k)
                fputc(',', out);
            jstr(out, p->argv[k]);
        }
        fprintf(out, "],\"end_how\":%d,\"exit_status\":%d,\"truncated\":%s,\"python\":%s}",
                p->end_how, p->exit_status, p->truncated ? "true" : "false",
                p->python ? "true" : "false");
    }
    fputs("],\n\"threads\":[", out);
    for (int i = 0; i < m->nthreads; i++) {
        const struct lg_thread *t = &m->threads[i];
        fprintf(out, "%s\n {\"id\":%d,\"name\":", i ? "," : "", t->idx);
        jstr(out, t->name);
        fprintf(out, ",\"process\":%d,\"pid\":%d,\"tid\":%d,\"creator\":%d,\"joined_by\":%d,"
                "\"created_at\":", t->process, m->procs[t->process].pid, t->tid, t->creator,
                t->joined_by);
        jloc(out, user_loc(t->created_at));
        fputc('}', out);
    }
    fputs("],\n\"locks\":[", out);
    for (int i = 0; i < m->nlocks; i++) {
        const struct lg_lock *l = &m->locks[i];
        fprintf(out, "%s\n {\"id\":%d,\"name\":", i ? "," : "", l->idx);
        jstr(out, l->name);
        fprintf(out, ",\"kind\":\"%s\",\"process\":%d,\"shared\":%s,\"addr\":\"0x%" PRIx64
                "\",\"created_at\":", lock_kind(l->kind), l->process, l->shared ? "true" : "false",
                l->addr);
        jloc(out, user_loc(l->created_at));
        fputc('}', out);
    }
    fputs("],\n\"findings\":[", out);
    for (int i = 0; i < m->nfindings; i++) {
        fputs(i ? ",\n  " : "\n  ", out);
        jfinding(m, &m->findings[i], out);
    }
    fputs("],\n\"skipped\":[", out);
    for (int i = 0; i < m->nskipped; i++) {
        if (i)
            fputc(',', out);
        jstr(out, m->skipped[i]);
    }
    fputs("]}\n", out);
}
