/* SPDX-License-Identifier: MIT */
/*
 * common.c — small pieces every viz/ output uses: the growable string,
 * escaping for HTML, Graphviz labels and JSON, and names from the model.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "viz_internal.h"

static void sb_reserve(struct lg_sb *b, size_t more)
{
    if (b->failed)
        return;
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void lg_sb_putn(struct lg_sb *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void lg_sb_puts(struct lg_sb *b, const char *s)
{
    if (s)
        lg_sb_putn(b, s, strlen(s));
}

void lg_sb_printf(struct lg_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    sb_reserve(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lg_sb_free(struct lg_sb *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void lg_sb_html(struct lg_sb *b, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': lg_sb_puts(b, "&amp;"); break;
        case '<': lg_sb_puts(b, "&lt;"); break;
        case '>': lg_sb_puts(b, "&gt;"); break;
        case '"': lg_sb_puts(b, "&quot;"); break;
        case '\'': lg_sb_puts(b, "&#39;"); break;
        default:
            /* Control characters have no place in a page; show them. */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                lg_sb_printf(b, "\\x%02x", (unsigned char)*s);
            else
                lg_sb_putn(b, s, 1);
        }
    }
}

void lg_sb_gvlabel(struct lg_sb *b, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        if (*s == '\\')
            lg_sb_puts(b, "\\\\");
        else if (*s == '\n')
            lg_sb_puts(b, "\\n");
        else if ((unsigned char)*s < 0x20)
            lg_sb_puts(b, " ");
        else
            lg_sb_putn(b, s, 1);
    }
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
          : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 2 && s[0] < 0xc2)
        return 0;   /* overlong */
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* JSON must be UTF-8: a path or name with other bytes (a Latin-1 file
 * name) gets U+FFFD for each of them rather than an unreadable report. */
void lg_sb_json(struct lg_sb *b, const char *s)
{
    if (!s)
        return;
    while (*s) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': lg_sb_puts(b, "\\\""); break;
        case '\\': lg_sb_puts(b, "\\\\"); break;
        case '\n': lg_sb_puts(b, "\\n"); break;
        case '\r': lg_sb_puts(b, "\\r"); break;
        case '\t': lg_sb_puts(b, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                lg_sb_printf(b, "\\u%04x", c);
            } else if (c >= 0x80) {
                int n = utf8_len((const unsigned char *)s);
                if (n == 0) {
                    lg_sb_puts(b, "\\ufffd");
                    s++;
                } else {
                    lg_sb_putn(b, s, (size_t)n);
                    s += n;
                }
                continue;
            } else {
                lg_sb_putn(b, s, 1);
            }
        }
        s++;
    }
}

/* Our own copies of the names, from the same X-macro as the analyzer's:
 * viz links without the analyzer library when it is not built. */
const char *lg_viz_kind_str(enum lg_finding_kind k)
{
    switch (k) {
#define LG_X_FK(name, str) case LG_FK_##name: return str;
        LG_FINDING_KINDS(LG_X_FK)
#undef LG_X_FK
    default: return "unknown";
    }
}

const char *lg_viz_sev_str(enum lg_severity s)
{
    switch (s) {
    case LG_SEV_ERROR: return "error";
    case LG_SEV_WARNING: return "warning";
    case LG_SEV_NOTE: return "note";
    }
    return "note";
}

const char *lg_viz_basename(const char *path)
{
    if (!path)
        return NULL;
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

const struct lg_loc *lg_viz_user_frame(const struct lg_stack *st)
{
    if (!st)
        return NULL;
    if (st->npy > 0 && st->py) {
        if (st->user >= 0 && (uint32_t)st->user < st->npy)
            return &st->py[st->user];
        return &st->py[0];
    }
    if (st->n > 0 && st->frames) {
        if (st->user >= 0 && (uint32_t)st->user < st->n)
            return &st->frames[st->user];
        return NULL;   /* every frame is libc or the shim: no user line */
    }
    return NULL;
}

void lg_viz_thread_name(struct lg_sb *b, const struct lg_model *m, int thread)
{
    if (thread < 0 || thread >= m->nthreads) {
        lg_sb_puts(b, "?");
        return;
    }
    const struct lg_thread *t = &m->threads[thread];
    if (t->name)
        lg_sb_puts(b, t->name);
    else
        lg_sb_printf(b, "T%d", thread + 1);
    /* Several processes: say whose thread it is, unless the analyzer's
     * name already does ("T1@4711"). */
    if (m->nprocs > 1 && t->process >= 0 && t->process < m->nprocs && !(t->name && strchr(t->name, '@')))
        lg_sb_printf(b, " [pid %d]", m->procs[t->process].pid);
}

bool lg_viz_is_hang_kind(enum lg_finding_kind k)
{
    return k == LG_FK_HANG || k == LG_FK_DEADLOCK || k == LG_FK_JOIN_BEFORE_DRAIN;
}

const char *lg_viz_errf(const char *fmt, ...)
{
    /* Two buffers in turn: a message may quote the previous one. */
    static char bufs[2][512];
    static int turn;
    char *buf = bufs[turn ^= 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return buf;
}

static char captured[256];
static int capture_on;
static agusererrf prev_errf;

/* Graphviz calls this for each message at or above the error level. */
static int capture_errf(char *msg)
{
    if (capture_on && !captured[0] && msg) {
        size_t n = strcspn(msg, "\n");
        if (n >= sizeof captured)
            n = sizeof captured - 1;
        memcpy(captured, msg, n);
        captured[n] = '\0';
    }
    return 0;
}

void lg_viz_errcapture_begin(void)
{
    captured[0] = '\0';
    capture_on = 1;
    prev_errf = agseterrf(capture_errf);
}

const char *lg_viz_errcapture_end(void)
{
    capture_on = 0;
    agseterrf(prev_errf);
    return captured[0] ? captured : NULL;
}
