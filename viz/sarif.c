/* SPDX-License-Identifier: MIT */
/*
 * sarif.c — the report as a SARIF 2.1.0 log for CI code scanning: one
 * rule per finding kind, one result per finding with its first location
 * and the others as relatedLocations, a codeFlow per cycle or chain (one
 * threadFlow per thread), and the stacks behind it. File URIs are made
 * relative to the source root (LOCKGRAPH_SOURCE_ROOT, else the current
 * directory) through the SRCROOT base id when the path allows.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "viz_internal.h"

struct rule_text {
    const char *name, *level, *short_text, *help;
};

/* Indexed by enum lg_finding_kind; the order of LG_FINDING_KINDS. */
static const struct rule_text rules[LG_FK_MAX] = {
    [LG_FK_LOCK_ORDER_CYCLE] = {"LockOrderCycle", "error",
        "Locks taken in an order that can deadlock",
        "Two or more threads took the same locks in different orders (A then B in one, B then A "
        "in another). If they run at the same time, each can end up holding one lock and waiting "
        "for the other forever. Take the locks in one global order everywhere, or take them "
        "together under one outer lock."},
    [LG_FK_DEADLOCK] = {"Deadlock", "error", "The program deadlocked",
        "Threads were blocked in a cycle, each waiting for a lock held by the next one. The cycle "
        "shows which locks were held and where they were taken; change the order in which they "
        "are taken so that all threads agree."},
    [LG_FK_HANG] = {"Hang", "error", "Every thread of the program stopped making progress",
        "All threads of the process tree were blocked in waits that nothing could end (locks, "
        "joins, waitpid, pipes). The chain of waits shows what each one waited for."},
    [LG_FK_JOIN_BEFORE_DRAIN] = {"JoinBeforeDrain", "error",
        "A join waits for a child that waits for the joiner to read",
        "A thread or process joined a child that was blocked writing into a pipe or queue that "
        "only the joiner would read. Read (drain) the queue before joining the child."},
    [LG_FK_JOIN_BEFORE_DRAIN_RISK] = {"JoinBeforeDrainRisk", "warning",
        "A join was issued while the child still had unread data in a pipe",
        "The child had written data that the joiner had not read yet when the join started. It "
        "fit in the pipe this time; with a bigger item the child blocks and the join never ends. "
        "Drain the pipe or queue before joining."},
    [LG_FK_UNRELEASED_LOCK] = {"UnreleasedLock", "warning", "A lock was still held when its holder ended",
        "A thread or process ended, or the lock was destroyed, while the lock was held. Any other "
        "thread that takes it will wait forever. Release the lock on every path, including error "
        "paths and early returns."},
    [LG_FK_UNLOCK_NOT_OWNER] = {"UnlockNotOwner", "error", "A lock was released by a thread that does not own it",
        "A mutex was unlocked by a thread other than the one that locked it. POSIX leaves this "
        "undefined for default mutexes. Unlock in the thread that locked, or use a semaphore if "
        "another thread must signal."},
    [LG_FK_UNLOCK_UNLOCKED] = {"UnlockUnlocked", "error", "A lock was released that was not held",
        "The lock was unlocked while nobody held it, which is undefined behaviour for a default "
        "mutex. Look for a double unlock or an unlock on a path that never locked."},
    [LG_FK_SELF_DEADLOCK] = {"SelfDeadlock", "error", "A thread tried to take a lock it already holds",
        "A non-recursive lock was taken again by the thread that holds it: the thread waits for "
        "itself forever. Release it first, or restructure so the inner code does not lock again."},
    [LG_FK_DESTROY_LOCKED] = {"DestroyLocked", "error", "A lock was destroyed while held or waited on",
        "Destroying a lock that is held or has waiters is undefined behaviour. Make sure every "
        "thread is done with the lock before it is destroyed."},
    [LG_FK_COND_WAIT_MISUSE] = {"CondWaitMisuse", "error", "A condition variable was waited on incorrectly",
        "A condition wait was made without holding its mutex, or with different mutexes for the "
        "same condition variable. Always hold the one mutex that protects the condition."},
    [LG_FK_SEMAPHORE_OVERPOST] = {"SemaphoreOverpost", "warning",
        "A semaphore used as a lock was posted past its initial value",
        "The semaphore behaves as a lock (initial value 1) but was posted more times than it was "
        "waited on, so two threads can now enter the section it protects. Pair each post with a "
        "wait."},
    [LG_FK_LOCK_DISCIPLINE_RACE] = {"LockDisciplineRace", "error",
        "Shared data accessed by several threads or processes with no common lock",
        "The same file or shared object was read and written by several threads or processes "
        "with no lock held in common, so updates can be lost (the ticket-grab race). Protect "
        "every access with the same lock."},
};

struct sarif {
    struct lg_sb *b;
    const struct lg_model *m;
    char *root;             /* source root, no trailing slash; NULL if unknown */
    char *cwd;              /* where relative paths start */
    bool used_root;
};

static void jstr(struct lg_sb *b, const char *s)
{
    lg_sb_puts(b, "\"");
    lg_sb_json(b, s ? s : "");
    lg_sb_puts(b, "\"");
}

/* Percent-encodes what an RFC 3986 path may not hold as is. */
static void uri_path(struct lg_sb *b, const char *p)
{
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("/-._~!$&'()*+,;=:@", c))
            lg_sb_putn(b, p, 1);
        else
            lg_sb_printf(b, "%%%02X", c);
    }
}

static bool is_under(const char *root, const char *file);

/* Whether file lies under the source root; *rel is then the rest of it. */
static bool under_root(const struct sarif *s, const char *file, const char **rel)
{
    if (!s->root || file[0] != '/')
        return false;
    size_t n = strlen(s->root);
    if (!is_under(s->root, file))
        return false;
    *rel = file + (n == 1 ? 1 : n + 1);
    return **rel != '\0';
}

/* {"artifactLocation":...,"region":...} for a location with a file. The
 * analyzer writes paths under its working directory relative to it; they
 * are made absolute again first, then relative to the source root. */
static void physical(struct sarif *s, const struct lg_loc *l)
{
    struct lg_sb *b = s->b;
    struct lg_sb joined = {0};
    const char *file = l->file, *rel;
    while (strncmp(file, "./", 2) == 0)
        file += 2;
    if (file[0] != '/' && strncmp(file, "../", 3) != 0 && s->cwd) {
        /* Only when it is there: a library's DWARF names files relative to
         * its own build tree ("nptl/pthread_create.c"), not to ours. */
        lg_sb_printf(&joined, "%s/%s", strcmp(s->cwd, "/") ? s->cwd : "", file);
        if (!joined.failed && access(joined.s, F_OK) == 0)
            file = joined.s;
    }
    lg_sb_puts(b, "\"physicalLocation\":{\"artifactLocation\":{\"uri\":\"");
    if (under_root(s, file, &rel)) {
        uri_path(b, rel);
        lg_sb_puts(b, "\",\"uriBaseId\":\"SRCROOT\"}");
        s->used_root = true;
    } else if (file[0] == '/') {
        lg_sb_puts(b, "file://");
        uri_path(b, file);
        lg_sb_puts(b, "\"}");
    } else {
        uri_path(b, file);   /* relative to a build tree we do not know (a library's) */
        lg_sb_puts(b, "\"}");
    }
    lg_sb_free(&joined);
    if (l->line > 0)
        lg_sb_printf(b, ",\"region\":{\"startLine\":%d}", l->line);
    lg_sb_puts(b, "}");
}

/* A SARIF location object: physical when the file is known, the function
 * as a logical location, and an optional message. */
static void location(struct sarif *s, const struct lg_loc *l, int id, const char *message)
{
    struct lg_sb *b = s->b;
    bool comma = false;
    lg_sb_puts(b, "{");
    if (id >= 0) {
        lg_sb_printf(b, "\"id\":%d", id);
        comma = true;
    }
    if (l && l->file) {
        lg_sb_puts(b, comma ? "," : "");
        physical(s, l);
        comma = true;
    }
    if (l && l->function) {
        lg_sb_puts(b, comma ? "," : "");
        lg_sb_puts(b, "\"logicalLocations\":[{\"name\":");
        jstr(b, l->function);
        lg_sb_puts(b, ",\"kind\":\"function\"}]");
        comma = true;
    }
    if (message || !comma) {
        lg_sb_puts(b, comma ? "," : "");
        lg_sb_puts(b, "\"message\":{\"text\":");
        if (message)
            jstr(b, message);
        else if (l && l->module)
            jstr(b, lg_viz_basename(l->module));
        else
            jstr(b, "unknown location");
        lg_sb_puts(b, "}");
    }
    lg_sb_puts(b, "}");
}

static const char *lock_label(const struct lg_model *m, int lock, char *buf, size_t n)
{
    if (lock >= 0 && lock < m->nlocks && m->locks[lock].name)
        return m->locks[lock].name;
    snprintf(buf, n, "lock #%d", lock);
    return buf;
}

/* codeFlows: the cycle or chain, one threadFlow per thread in the order
 * the steps first name it; each of its steps is "holds A" then "wants B". */
static void code_flows(struct sarif *s, const struct lg_finding *f)
{
    const struct lg_model *m = s->m;
    struct lg_sb *b = s->b;
    struct lg_sb msg = {0};
    char l1[32], l2[32];
    int order = 0;
    lg_sb_puts(b, ",\"codeFlows\":[{\"message\":{\"text\":");
    jstr(b, lg_viz_is_hang_kind(f->kind) ? "what each blocked thread waits for"
            : f->nsteps > 1 ? "the cycle: each thread holds one lock and wants the next"
                            : "what each thread holds");
    lg_sb_puts(b, "},\"threadFlows\":[");
    bool first_flow = true;
    for (int i = 0; i < f->nsteps; i++) {
        int t = f->steps[i].thread;
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= f->steps[j].thread == t;
        if (seen)
            continue;
        lg_sb_puts(b, first_flow ? "{" : ",{");
        first_flow = false;
        msg.len = 0;
        lg_sb_puts(&msg, "thread ");
        lg_viz_thread_name(&msg, m, t);
        lg_sb_puts(b, "\"message\":{\"text\":");
        jstr(b, msg.s);
        lg_sb_puts(b, "},\"locations\":[");
        bool first_loc = true;
        for (int j = i; j < f->nsteps; j++) {
            const struct lg_step *st = &f->steps[j];
            if (st->thread != t)
                continue;
            const struct lg_witness *w = NULL;
            if (st->edge >= 0 && st->edge < m->nedges && st->witness >= 0 &&
                st->witness < m->edges[st->edge].nw)
                w = &m->edges[st->edge].w[st->witness];
            if (lg_viz_is_hang_kind(f->kind)) {
                /* At a hang a step names what its thread waits for. When
                 * there is one stack per step, it is that thread's. */
                const struct lg_loc *at = f->nstacks == f->nsteps ? lg_viz_user_frame(f->stacks[j]) : NULL;
                msg.len = 0;
                if (st->lock >= 0)
                    lg_sb_printf(&msg, "waits for %s", lock_label(m, st->lock, l1, sizeof l1));
                else
                    lg_sb_puts(&msg, "waits for the next thread of the chain");
                lg_sb_puts(b, first_loc ? "{" : ",{");
                first_loc = false;
                lg_sb_puts(b, "\"location\":");
                location(s, at, -1, msg.s);
                lg_sb_printf(b, ",\"executionOrder\":%d,\"importance\":\"essential\"}", order++);
                continue;
            }
            const char *held = lock_label(m, st->lock, l1, sizeof l1);
            msg.len = 0;
            lg_sb_printf(&msg, "holds %s", held);
            lg_sb_puts(b, first_loc ? "{" : ",{");
            first_loc = false;
            lg_sb_puts(b, "\"location\":");
            location(s, w ? lg_viz_user_frame(w->held_at) : NULL, -1, msg.s);
            lg_sb_printf(b, ",\"executionOrder\":%d}", order++);
            if (f->nsteps > 1) {
                const char *want = lock_label(m, f->steps[(j + 1) % f->nsteps].lock, l2, sizeof l2);
                msg.len = 0;
                lg_sb_printf(&msg, "wants %s while holding %s", want, held);
                lg_sb_puts(b, ",{\"location\":");
                location(s, w ? lg_viz_user_frame(w->acquired_at) : NULL, -1, msg.s);
                lg_sb_printf(b, ",\"executionOrder\":%d,\"importance\":\"essential\"}", order++);
            }
        }
        lg_sb_puts(b, "]}");
    }
    lg_sb_puts(b, "]}]");
    if (msg.failed)
        b->failed = true;
    lg_sb_free(&msg);
}

static void stacks(struct sarif *s, const struct lg_finding *f)
{
    struct lg_sb *b = s->b;
    bool any = false;
    for (int i = 0; i < f->nstacks; i++) {
        const struct lg_stack *st = f->stacks[i];
        if (!st)
            continue;
        lg_sb_puts(b, any ? ",{" : ",\"stacks\":[{");
        any = true;
        /* The message keeps two equal stacks distinct (uniqueItems). */
        lg_sb_printf(b, "\"message\":{\"text\":\"stack %d\"},\"frames\":[", i + 1);
        bool first = true;
        const struct lg_loc *frames[2] = {st->py, st->frames};
        uint32_t counts[2] = {st->py ? st->npy : 0, st->frames ? st->n : 0};
        for (int k = 0; k < 2; k++)
            for (uint32_t j = 0; j < counts[k]; j++) {
                const struct lg_loc *l = &frames[k][j];
                lg_sb_puts(b, first ? "{\"location\":" : ",{\"location\":");
                first = false;
                location(s, l, -1, NULL);
                if (l->module) {
                    lg_sb_puts(b, ",\"module\":");
                    jstr(b, l->module);
                }
                lg_sb_puts(b, "}");
            }
        lg_sb_puts(b, "]}");
    }
    if (any)
        lg_sb_puts(b, "]");
}

static void result(struct sarif *s, const struct lg_finding *f)
{
    struct lg_sb *b = s->b;
    int k = f->kind >= 0 && f->kind < LG_FK_MAX ? (int)f->kind : -1;
    lg_sb_puts(b, "{\"ruleId\":");
    jstr(b, lg_viz_kind_str(f->kind));
    if (k >= 0)
        lg_sb_printf(b, ",\"ruleIndex\":%d", k);
    lg_sb_printf(b, ",\"level\":\"%s\",\"message\":{\"text\":", lg_viz_sev_str(f->severity));
    struct lg_sb text = {0};
    lg_sb_puts(&text, f->message ? f->message : lg_viz_kind_str(f->kind));
    if (f->reason)
        lg_sb_printf(&text, " (%s)", f->reason);
    jstr(b, text.failed ? "" : text.s);
    lg_sb_free(&text);
    lg_sb_puts(b, "}");
    if (f->nloc > 0) {
        lg_sb_puts(b, ",\"locations\":[");
        location(s, &f->locations[0], -1, NULL);
        lg_sb_puts(b, "]");
    }
    if (f->nloc > 1) {
        lg_sb_puts(b, ",\"relatedLocations\":[");
        for (int i = 1; i < f->nloc; i++) {
            lg_sb_puts(b, i > 1 ? "," : "");
            location(s, &f->locations[i], i, NULL);
        }
        lg_sb_puts(b, "]");
    }
    bool steps_ok = f->nsteps > 0 && f->steps;
    for (int i = 0; steps_ok && i < f->nsteps; i++)
        steps_ok = f->steps[i].thread >= 0;
    if (steps_ok)
        code_flows(s, f);
    stacks(s, f);
    lg_sb_puts(b, "}");
}

static void rule(struct lg_sb *b, int k)
{
    const struct rule_text *r = &rules[k];
    lg_sb_puts(b, "{\"id\":");
    jstr(b, lg_viz_kind_str((enum lg_finding_kind)k));
    lg_sb_puts(b, ",\"name\":");
    jstr(b, r->name);
    lg_sb_puts(b, ",\"shortDescription\":{\"text\":");
    jstr(b, r->short_text);
    lg_sb_puts(b, "},\"fullDescription\":{\"text\":");
    jstr(b, r->help);
    lg_sb_puts(b, "},\"help\":{\"text\":");
    jstr(b, r->help);
    lg_sb_printf(b, "},\"defaultConfiguration\":{\"level\":\"%s\"}", r->level);
    lg_sb_puts(b, ",\"properties\":{\"tags\":[\"concurrency\"]}}");
}

/* The directory holding `file` that has a .git entry, or NULL. */
static char *git_root_of(const char *file)
{
    char *dir = strdup(file);
    if (!dir)
        return NULL;
    for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
        *slash = '\0';
        struct lg_sb probe = {0};
        lg_sb_printf(&probe, "%s/.git", *dir ? dir : "");
        bool found = !probe.failed && access(probe.s, F_OK) == 0;
        lg_sb_free(&probe);
        if (found && *dir)
            return dir;
    }
    free(dir);
    return NULL;
}

static bool is_under(const char *root, const char *file)
{
    size_t n = strlen(root);
    return strncmp(file, root, n) == 0 && (file[n] == '/' || n == 1);
}

/* The source root the URIs are made relative to: $LOCKGRAPH_SOURCE_ROOT;
 * else the current directory when the findings' files lie under it (the
 * analyzer then wrote them relative to it: the usual case in CI, run from
 * the checkout); else the git checkout that holds the first finding's
 * file; else none (absolute file: URIs). */
static char *source_root(const struct lg_model *m, const char *cwd)
{
    const char *env = getenv("LOCKGRAPH_SOURCE_ROOT");
    char *root = NULL;
    if (env && env[0] == '/') {
        root = strdup(env);
    } else {
        const char *first = NULL;
        bool in_cwd = false;
        for (int i = 0; i < m->nfindings; i++)
            for (int j = 0; j < m->findings[i].nloc; j++) {
                const char *file = m->findings[i].locations[j].file;
                if (!file)
                    continue;
                if (file[0] != '/')
                    in_cwd |= strncmp(file, "../", 3) != 0;
                else if (cwd && is_under(cwd, file))
                    in_cwd = true;
                else if (!first)
                    first = file;
            }
        if (in_cwd && cwd)
            root = strdup(cwd);
        else if (first)
            root = git_root_of(first);
    }
    if (!root)
        return NULL;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        root[--n] = '\0';
    return root;
}

void lg_report_sarif(const struct lg_model *m, FILE *out)
{
    struct lg_sb results = {0}, b = {0};
    char *cwd = getcwd(NULL, 0);
    struct sarif s = {.b = &results, .m = m, .root = source_root(m, cwd), .cwd = cwd};
    for (int i = 0; i < m->nfindings; i++) {
        lg_sb_puts(&results, i ? ",\n" : "\n");
        result(&s, &m->findings[i]);
    }

    lg_sb_puts(&b, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
                   "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"lockgraph\","
                   "\"shortDescription\":{\"text\":\"Deadlock, hang and lock-discipline finder\"},"
                   "\"rules\":[");
    for (int k = 0; k < LG_FK_MAX; k++) {
        lg_sb_puts(&b, k ? ",\n" : "\n");
        rule(&b, k);
    }
    lg_sb_puts(&b, "]}}");
    if (s.used_root && s.root) {
        lg_sb_puts(&b, ",\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://");
        uri_path(&b, s.root);
        lg_sb_puts(&b, strcmp(s.root, "/") ? "/\"}}" : "\"}}");
    }
    lg_sb_puts(&b, ",\"results\":[");
    lg_sb_putn(&b, results.s ? results.s : "", results.len);
    lg_sb_puts(&b, "]");
    if (m->dir) {
        lg_sb_puts(&b, ",\"properties\":{\"traceDirectory\":");
        jstr(&b, m->dir);
        lg_sb_puts(&b, "}");
    }
    lg_sb_puts(&b, "}]}\n");
    if (b.failed || results.failed)
        fputs("{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"lockgraph\"}},"
              "\"invocations\":[{\"executionSuccessful\":false,\"toolExecutionNotifications\":"
              "[{\"message\":{\"text\":\"out of memory while writing the report\"}}]}]}]}\n",
              out);
    else
        fwrite(b.s, 1, b.len, out);
    lg_sb_free(&b);
    lg_sb_free(&results);
    free(s.root);
    free(cwd);
}
