/* SPDX-License-Identifier: MIT */
/*
 * trace_check.c — reads every trace file of a LOCKGRAPH_DIR with the
 * trace reader and checks what the shim tests expect of it; --dump prints
 * the records (one line each) for a person debugging the shim.
 *
 *   trace_check DIR [--dump] [checks...]
 *     --kind NAME[:MIN]     at least MIN (1) records of kind NAME, all files
 *     --nokind NAME         no record of kind NAME
 *     --files N             exactly N trace files
 *     --forked-child        a trace with LG_TRACE_F_FORKED, fork_ns and fork_parent_tid set
 *     --clean-all           every trace ends with LG_TRACE_F_CLEAN_END
 *     --truncated           a trace has LG_TRACE_F_TRUNCATED (and what it has reads cleanly)
 *     --dep-held N          a DEP record with at least N held locks, each announced by LOCK_NEW
 *     --misuse K[:MIN]      MISUSE records of kind K (number)
 *     --exec-seq            a pid with both trace-<pid>-0 and trace-<pid>-1 (exec)
 *     --held-at HOW         a HELD_AT record with that how (number)
 *     --lock-flag F         a LOCK_NEW with flags bit F set
 *     --cycle               DEP records give A->B and B->A for two locks
 *     --thread-exit-held    a THREAD_EXIT with nheld > 0
 *     --held-pyline F:L     a DEP's held lock was acquired at Python line F:L (innermost frame)
 *     --no-held-pyline F:L  ... and never at F:L
 *     --vfork N             at least N FORK records with vfork = 1 (posix_spawn, vfork+exec)
 *     --exe SUFFIX[:MIN]    MIN (1) traces whose executable path ends with SUFFIX
 *   trace_check --make-ttable DIR   create DIR/threads.lgt as `lockgraph run` does
 * Exit 0 when every check holds, 1 (with one line per failed check) else.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_threadtable.h"
#include "lg_trace_read.h"

static const char *kind_name(int k)
{
    switch (k) {
#define X(name, num, type) case num: return #name;
        LG_RECORD_KINDS(X)
#undef X
    }
    return "?";
}

static int kind_num(const char *name)
{
#define X(n, num, type) if (!strcmp(name, #n)) return num;
    LG_RECORD_KINDS(X)
#undef X
    return -1;
}

#define MAXF 256
#define MAXK 256
struct tfile {
    char name[300];
    struct lg_trace_header hdr;
    long count[MAXK];
};
static struct tfile files[MAXF];
static int nfiles;
static long total[MAXK];
static unsigned long long dep_count_sum;
static long misuse[16];
static long held_at_how[16];
static unsigned lock_flags_seen;
static int max_dep_held, dep_held_ok = 1, thread_exit_held, nvfork;
/* lock-order pairs by lock id, per file (ids are per trace) */
static struct { int file; uint64_t a, b; } pairs[100000];
static int npairs;
static uint64_t announced[MAXF][4096];
/* innermost Python frame of each PYSTACK ("base.py:LINE"), and the stack
 * ids DEP records cite for their held locks */
static struct { int file; uint32_t id; char where[96]; } pyst[20000];
static int npyst;
static struct { int file; uint32_t id; } heldst[20000];
static int nheldst;
static int nannounced[MAXF];

static int is_announced(int f, uint64_t id)
{
    for (int i = 0; i < nannounced[f]; i++)
        if (announced[f][i] == id)
            return 1;
    return 0;
}

static void dump(const struct lg_rec_hdr *r)
{
    const void *p = lg_rec_payload(r);
    printf("  %-12s tid=%d", kind_name(r->kind), r->tid);
    switch (r->kind) {
    case LG_REC_LOCK_NEW: {
        const struct lg_rec_lock_new *l = p;
        printf(" id=%llu kind=%u sub=%u val=%d site=%u flags=%#x ino=%llu name=%s", (unsigned long long)l->lock_id,
               l->lock_kind, l->subtype, l->sem_value, l->site_stack, l->flags, (unsigned long long)l->ino,
               l->name_len ? l->name : "");
        break;
    }
    case LG_REC_DEP: {
        const struct lg_rec_dep *d = p;
        printf(" lock=%llu stack=%u mode=%u flags=%u count=%u held=[", (unsigned long long)d->lock_id, d->stack_id,
               d->mode, d->flags, d->count);
        for (uint32_t i = 0; i < d->nheld; i++)
            printf("%s%llu@%u", i ? " " : "", (unsigned long long)d->held[i].lock_id, d->held[i].stack_id);
        printf("]");
        break;
    }
    case LG_REC_MISUSE: {
        const struct lg_rec_misuse *m = p;
        printf(" kind=%u lock=%llu other=%llu extra=%lld err=%d stack=%u", m->misuse_kind,
               (unsigned long long)m->lock_id, (unsigned long long)m->other, (long long)m->extra, m->err, m->stack_id);
        break;
    }
    case LG_REC_STACK: {
        const struct lg_rec_stack *s = p;
        printf(" id=%u n=%u", s->stack_id, s->nframes);
        for (uint32_t i = 0; i < s->nframes && i < 4; i++)
            printf(" %#llx", (unsigned long long)s->pc[i]);
        break;
    }
    case LG_REC_PYSTACK: {
        const struct lg_rec_pystack *s = p;
        printf(" id=%u n=%u", s->stack_id, s->nframes);
        const uint8_t *f = s->frames;
        for (uint32_t i = 0; i < s->nframes && i < 3; i++) {
            uint32_t line;
            uint16_t fl, nl;
            memcpy(&line, f, 4), memcpy(&fl, f + 4, 2), memcpy(&nl, f + 6, 2);
            printf(" %.*s:%u(%.*s)", fl, (const char *)f + 8, line, nl, (const char *)f + 8 + fl);
            f += (8u + fl + nl + 3u) & ~3u;
        }
        break;
    }
    case LG_REC_THREAD_START: {
        const struct lg_rec_thread_start *s = p;
        printf(" creator=%d stack=%u", s->creator_tid, s->create_stack);
        break;
    }
    case LG_REC_THREAD_EXIT: {
        const struct lg_rec_thread_exit *s = p;
        printf(" how=%u nheld=%u", s->how, s->nheld);
        break;
    }
    case LG_REC_HELD_AT: {
        const struct lg_rec_held_at *h = p;
        printf(" lock=%llu how=%u holder=%d stack=%u", (unsigned long long)h->lock_id, h->how, h->holder_tid, h->stack_id);
        break;
    }
    case LG_REC_JOIN: {
        const struct lg_rec_join *j = p;
        printf(" joined=%d ret=%d flags=%u", j->joined_tid, j->ret, j->flags);
        break;
    }
    case LG_REC_FORK: {
        const struct lg_rec_fork *f = p;
        printf(" child=%d nheld=%u", f->child_pid, f->nheld);
        break;
    }
    case LG_REC_EXEC: {
        const struct lg_rec_exec *e = p;
        printf(" err=%d path=%.*s", e->err, (int)e->path_len, e->path);
        break;
    }
    case LG_REC_WAIT: {
        const struct lg_rec_wait *w = p;
        printf(" arg=%d ret=%d status=%#x", w->arg_pid, w->ret_pid, w->status);
        break;
    }
    case LG_REC_PROC_EXIT: {
        const struct lg_rec_proc_exit *e = p;
        printf(" how=%u status=%d", e->how, e->status);
        break;
    }
    case LG_REC_MODULE: {
        const struct lg_rec_module *m = p;
        printf(" %s bid=%u", m->path, m->build_id_len);
        break;
    }
    case LG_REC_COND_USE: {
        const struct lg_rec_cond_use *c = p;
        printf(" cond=%#llx mutex=%llu", (unsigned long long)c->cond_addr, (unsigned long long)c->mutex_id);
        break;
    }
    }
    printf("\n");
}

static int load(const char *dir, int dodump)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) && nfiles < MAXF) {
        if (strncmp(e->d_name, "trace-", 6) || !strstr(e->d_name, ".lgt"))
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct lg_trace_file tf;
        const char *why = NULL;
        if (lg_trace_open(path, &tf, &why) != 0) {
            fprintf(stderr, "%s: %s\n", path, why ? why : "cannot open");
            return -1;
        }
        int fi = nfiles++;
        struct tfile *f = &files[fi];
        snprintf(f->name, sizeof f->name, "%s", e->d_name);
        f->hdr = *tf.hdr;
        if (dodump)
            printf("%s pid=%d ppid=%d seq=%u flags=%#x fork_parent_tid=%d exe=%s\n", f->name, f->hdr.pid, f->hdr.ppid,
                   f->hdr.exec_seq, f->hdr.flags, f->hdr.fork_parent_tid, f->hdr.exe);
        const struct lg_rec_hdr *r;
        while (lg_trace_next(&tf, &r) == 1) {
            if (dodump)
                dump(r);
            if (r->kind < MAXK) {
                f->count[r->kind]++;
                total[r->kind]++;
            }
            const void *p = lg_rec_payload(r);
            if (r->kind == LG_REC_LOCK_NEW) {
                const struct lg_rec_lock_new *l = p;
                if (nannounced[fi] < 4096)
                    announced[fi][nannounced[fi]++] = l->lock_id;
                lock_flags_seen |= l->flags;
            } else if (r->kind == LG_REC_DEP) {
                const struct lg_rec_dep *dp = p;
                dep_count_sum += dp->count;
                if ((int)dp->nheld > max_dep_held)
                    max_dep_held = (int)dp->nheld;
                if (!is_announced(fi, dp->lock_id))
                    dep_held_ok = 0;
                for (uint32_t i = 0; i < dp->nheld; i++) {
                    if (!is_announced(fi, dp->held[i].lock_id))
                        dep_held_ok = 0;
                    if (dp->held[i].stack_id && nheldst < 20000)
                        heldst[nheldst].file = fi, heldst[nheldst++].id = dp->held[i].stack_id;
                    if (npairs < 100000)
                        pairs[npairs].file = fi, pairs[npairs].a = dp->held[i].lock_id, pairs[npairs++].b = dp->lock_id;
                }
            } else if (r->kind == LG_REC_PYSTACK) {
                const struct lg_rec_pystack *ps = p;
                if (ps->nframes && npyst < 20000) {
                    uint32_t line;
                    uint16_t fl, nl;
                    memcpy(&line, ps->frames, 4), memcpy(&fl, ps->frames + 4, 2), memcpy(&nl, ps->frames + 6, 2);
                    const char *f = (const char *)ps->frames + 8, *b = f;
                    for (int k = 0; k < fl; k++)
                        if (f[k] == '/')
                            b = f + k + 1;
                    pyst[npyst].file = fi;
                    pyst[npyst].id = ps->stack_id;
                    snprintf(pyst[npyst++].where, 96, "%.*s:%u", (int)(fl - (b - f)), b, line);
                }
            } else if (r->kind == LG_REC_MISUSE) {
                const struct lg_rec_misuse *m = p;
                if (m->misuse_kind < 16)
                    misuse[m->misuse_kind]++;
            } else if (r->kind == LG_REC_HELD_AT) {
                const struct lg_rec_held_at *h = p;
                if (h->how < 16)
                    held_at_how[h->how]++;
            } else if (r->kind == LG_REC_FORK) {
                const struct lg_rec_fork *fk = p;
                if (fk->vfork && fk->child_pid > 0)
                    nvfork++;
            } else if (r->kind == LG_REC_THREAD_EXIT) {
                const struct lg_rec_thread_exit *x = p;
                if (x->nheld)
                    thread_exit_held = 1;
            }
        }
        if (tf.problem[0]) {
            fprintf(stderr, "%s: %s\n", path, tf.problem);
            return -1;
        }
        lg_trace_close(&tf);
    }
    closedir(d);
    return 0;
}

static int fails;
static void check(int ok, const char *what, const char *arg)
{
    if (!ok) {
        fprintf(stderr, "trace_check: FAILED: %s %s\n", what, arg ? arg : "");
        fails++;
    }
}

static void name_min(const char *arg, char *name, size_t n, long *min)
{
    snprintf(name, n, "%s", arg);
    char *c = strchr(name, ':');
    *min = 1;
    if (c) {
        *c = 0;
        *min = atol(c + 1);
    }
}

static int make_ttable(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, LG_TT_FILE);
    FILE *f = fopen(path, "w+");
    if (!f)
        return 1;
    struct lg_tt_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, LG_TT_MAGIC, 8);
    h.version = LG_TT_VERSION;
    h.nslots = LG_TT_SLOTS;
    h.slot_size = sizeof(struct lg_tt_slot);
    fwrite(&h, sizeof h, 1, f);
    fclose(f);
    return truncate(path, (off_t)LG_TT_SIZE) != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--make-ttable"))
        return make_ttable(argv[2]);
    if (argc < 2) {
        fprintf(stderr, "usage: trace_check DIR [--dump] [checks]\n");
        return 2;
    }
    int dodump = 0;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--dump"))
            dodump = 1;
    if (load(argv[1], dodump) != 0)
        return 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        char name[64];
        long min;
        if (!strcmp(a, "--dump")) {
            continue;
        } else if (!strcmp(a, "--kind")) {
            name_min(v, name, sizeof name, &min);
            int k = kind_num(name);
            check(k > 0 && total[k] >= min, "--kind", v);
            i++;
        } else if (!strcmp(a, "--dep-records")) {   /* MIN:MAX DEP records */
            long lo = atol(v), hi = strchr(v, ':') ? atol(strchr(v, ':') + 1) : lo;
            check(total[LG_REC_DEP] >= lo && total[LG_REC_DEP] <= hi, "--dep-records", v);
            i++;
        } else if (!strcmp(a, "--dep-count-sum")) { /* the counts of all DEPs add up to N */
            check(dep_count_sum == strtoull(v, NULL, 10), "--dep-count-sum", v);
            i++;
        } else if (!strcmp(a, "--nokind")) {
            int k = kind_num(v);
            check(k > 0 && total[k] == 0, "--nokind", v);
            i++;
        } else if (!strcmp(a, "--files")) {
            check(nfiles == atoi(v), "--files", v);
            i++;
        } else if (!strcmp(a, "--forked-child")) {
            int ok = 0;
            for (int f = 0; f < nfiles; f++)
                if ((files[f].hdr.flags & LG_TRACE_F_FORKED) && files[f].hdr.fork_ns && files[f].hdr.fork_parent_tid)
                    ok = 1;
            check(ok, a, NULL);
        } else if (!strcmp(a, "--clean-all")) {
            for (int f = 0; f < nfiles; f++)
                check(files[f].hdr.flags & LG_TRACE_F_CLEAN_END, "--clean-all", files[f].name);
        } else if (!strcmp(a, "--truncated")) {
            int ok = 0;
            for (int f = 0; f < nfiles; f++)
                if (files[f].hdr.flags & LG_TRACE_F_TRUNCATED)
                    ok = 1;
            check(ok, a, NULL);
        } else if (!strcmp(a, "--dep-held")) {
            check(max_dep_held >= atoi(v) && dep_held_ok, "--dep-held", v);
            i++;
        } else if (!strcmp(a, "--misuse")) {
            name_min(v, name, sizeof name, &min);
            int k = atoi(name);
            check(k > 0 && k < 16 && misuse[k] >= min, "--misuse", v);
            i++;
        } else if (!strcmp(a, "--held-at")) {
            int k = atoi(v);
            check(k > 0 && k < 16 && held_at_how[k] > 0, "--held-at", v);
            i++;
        } else if (!strcmp(a, "--lock-flag")) {
            check(lock_flags_seen & (unsigned)strtoul(v, NULL, 0), "--lock-flag", v);
            i++;
        } else if (!strcmp(a, "--exec-seq")) {
            int ok = 0;
            for (int f = 0; f < nfiles; f++)
                for (int g = 0; g < nfiles; g++)
                    if (files[f].hdr.pid == files[g].hdr.pid && files[f].hdr.exec_seq == 0 && files[g].hdr.exec_seq == 1)
                        ok = 1;
            check(ok, a, NULL);
        } else if (!strcmp(a, "--cycle")) {
            int ok = 0;
            for (int x = 0; x < npairs && !ok; x++)
                for (int y = 0; y < npairs; y++)
                    if (pairs[x].file == pairs[y].file && pairs[x].a == pairs[y].b && pairs[x].b == pairs[y].a &&
                        pairs[x].a != pairs[x].b) {
                        ok = 1;
                        break;
                    }
            check(ok, a, NULL);
        } else if (!strcmp(a, "--exe")) {
            name_min(v, name, sizeof name, &min);
            int ok = 0;
            size_t vl = strlen(name);
            for (int f = 0; f < nfiles; f++) {
                size_t el = strlen(files[f].hdr.exe);
                if (el >= vl && !strcmp(files[f].hdr.exe + el - vl, name))
                    ok++;
            }
            check(ok >= min, "--exe", v);
            i++;
        } else if (!strcmp(a, "--held-pyline") || !strcmp(a, "--no-held-pyline")) {
            int found = 0;
            for (int h = 0; h < nheldst; h++)
                for (int q = 0; q < npyst; q++)
                    if (pyst[q].file == heldst[h].file && pyst[q].id == heldst[h].id && !strcmp(pyst[q].where, v))
                        found = 1;
            check(a[2] == 'n' ? !found : found, a, v);
            i++;
        } else if (!strcmp(a, "--vfork")) {
            check(nvfork >= atoi(v), "--vfork", v);
            i++;
        } else if (!strcmp(a, "--thread-exit-held")) {
            check(thread_exit_held, a, NULL);
        } else {
            fprintf(stderr, "trace_check: unknown check %s\n", a);
            return 2;
        }
    }
    if (!nfiles) {
        fprintf(stderr, "trace_check: no trace file in %s\n", argv[1]);
        return 1;
    }
    return fails ? 1 : 0;
}
