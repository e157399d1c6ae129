/* SPDX-License-Identifier: MIT */
/*
 * trace_writer.c — synthetic trace files for the unit tests (see
 * trace_writer.h). Records are laid out exactly as the shim lays them out:
 * a 4096-byte header, then 8-aligned records with kind set.
 */
#include "trace_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tw {
    char *dir;
    struct lg_trace_header hdr;
    uint8_t *buf;
    size_t len, cap;
};

char *tw_tmpdir(void)
{
    char tmpl[] = "/tmp/lgunit-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void tw_rmdir(char *dir)
{
    char cmd[512];
    if (!dir)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

struct tw *tw_open(const char *dir, int pid, int ppid, unsigned exec_seq, uint64_t start_ns)
{
    struct tw *w = calloc(1, sizeof(*w));
    w->dir = strdup(dir);
    memcpy(w->hdr.magic, LG_TRACE_MAGIC, sizeof(LG_TRACE_MAGIC));
    w->hdr.version = LG_TRACE_VERSION;
    w->hdr.header_size = LG_TRACE_HEADER_SIZE;
    w->hdr.pid = pid;
    w->hdr.ppid = ppid;
    w->hdr.exec_seq = exec_seq;
    w->hdr.start_ns = start_ns;
    w->hdr.argc = 1;
    snprintf(w->hdr.exe, sizeof(w->hdr.exe), "/usr/bin/synthetic");
    snprintf(w->hdr.args, sizeof(w->hdr.args), "synthetic");
    return w;
}

void tw_set_exe(struct tw *w, const char *exe)
{
    snprintf(w->hdr.exe, sizeof(w->hdr.exe), "%s", exe);
}

void tw_set_flags(struct tw *w, uint32_t flags)
{
    w->hdr.flags = flags;
}

void tw_set_fork(struct tw *w, uint64_t fork_ns, int parent_tid)
{
    w->hdr.flags |= LG_TRACE_F_FORKED;
    w->hdr.fork_ns = fork_ns;
    w->hdr.fork_parent_tid = parent_tid;
}

void tw_record(struct tw *w, uint16_t kind, int tid, uint64_t time, const void *payload, size_t len)
{
    struct lg_rec_hdr h = { 0 };
    size_t size = lg_rec_align((uint32_t)(sizeof(h) + len));

    if (w->len + size > w->cap) {
        w->cap = (w->len + size) * 2 + 4096;
        w->buf = realloc(w->buf, w->cap);
    }
    h.size = (uint32_t)size;
    h.kind = kind;
    h.tid = tid;
    h.time_ns = time;
    memset(w->buf + w->len, 0, size);
    memcpy(w->buf + w->len, &h, sizeof(h));
    memcpy(w->buf + w->len + sizeof(h), payload, len);
    w->len += size;
}

void tw_module(struct tw *w, uint64_t base, uint64_t lo, uint64_t hi, const char *path)
{
    size_t pl = strlen(path);
    size_t len = sizeof(struct lg_rec_module) + pl + 1;
    struct lg_rec_module *m = calloc(1, len);
    m->base = base;
    m->lo = lo;
    m->hi = hi;
    m->path_len = (uint32_t)pl;
    memcpy(m->path, path, pl);
    tw_record(w, LG_REC_MODULE, w->hdr.pid, w->hdr.start_ns, m, len);
    free(m);
}

void tw_stack(struct tw *w, uint32_t id, const uint64_t *pcs, uint32_t n)
{
    size_t len = sizeof(struct lg_rec_stack) + n * sizeof(uint64_t);
    struct lg_rec_stack *s = calloc(1, len);
    s->stack_id = id;
    s->nframes = n;
    memcpy(s->pc, pcs, n * sizeof(uint64_t));
    tw_record(w, LG_REC_STACK, w->hdr.pid, w->hdr.start_ns, s, len);
    free(s);
}

void tw_pystack(struct tw *w, uint32_t id, const char *file, int line, const char *func)
{
    uint8_t buf[1024] = { 0 };
    struct lg_rec_pystack *p = (struct lg_rec_pystack *)buf;
    uint16_t fl = (uint16_t)strlen(file), fn = (uint16_t)strlen(func);
    uint32_t ln = (uint32_t)line;
    p->stack_id = id;
    p->nframes = 1;
    memcpy(p->frames, &ln, 4);
    memcpy(p->frames + 4, &fl, 2);
    memcpy(p->frames + 6, &fn, 2);
    memcpy(p->frames + 8, file, fl);
    memcpy(p->frames + 8 + fl, func, fn);
    size_t len = sizeof(*p) + ((8 + fl + fn + 3) & ~3u);
    tw_record(w, LG_REC_PYSTACK, w->hdr.pid, w->hdr.start_ns, p, len);
}

void tw_lock_full(struct tw *w, uint64_t time, const struct lg_rec_lock_new *l, const char *name)
{
    size_t nl = name ? strlen(name) : 0;
    size_t len = sizeof(*l) + nl + 1;
    struct lg_rec_lock_new *r = calloc(1, len);
    *r = *l;
    r->name_len = (uint32_t)nl;
    if (nl)
        memcpy(r->name, name, nl);
    tw_record(w, LG_REC_LOCK_NEW, w->hdr.pid, time, r, len);
    free(r);
}

void tw_lock(struct tw *w, uint64_t time, uint64_t lock_id, uint64_t addr, int kind,
             uint32_t site_stack, const char *name)
{
    struct lg_rec_lock_new l = { 0 };
    l.lock_id = lock_id;
    l.addr = addr;
    l.lock_kind = (uint32_t)kind;
    l.site_stack = site_stack;
    l.sem_value = 1;
    tw_lock_full(w, time, &l, name);
}

void tw_dep(struct tw *w, int tid, uint64_t time, uint64_t lock, uint16_t mode, uint16_t flags,
            uint32_t stack, const struct lg_held *held, uint32_t nheld)
{
    size_t len = sizeof(struct lg_rec_dep) + nheld * sizeof(struct lg_held);
    struct lg_rec_dep *d = calloc(1, len);
    d->lock_id = lock;
    d->stack_id = stack;
    d->mode = mode;
    d->flags = flags;
    d->count = 1;
    d->nheld = nheld;
    memcpy(d->held, held, nheld * sizeof(*held));
    tw_record(w, LG_REC_DEP, tid, time, d, len);
    free(d);
}

void tw_dep_ids(struct tw *w, int tid, uint64_t time, uint64_t lock, const uint64_t *held,
                uint32_t nheld, uint16_t flags)
{
    struct lg_held h[64] = { 0 };
    for (uint32_t i = 0; i < nheld && i < 64; i++)
        h[i].lock_id = held[i];
    tw_dep(w, tid, time, lock, LG_MODE_WRITE, flags, 0, h, nheld);
}

void tw_thread_start(struct tw *w, int tid, uint64_t time, int creator)
{
    struct lg_rec_thread_start t = { 0 };
    t.creator_tid = creator;
    tw_record(w, LG_REC_THREAD_START, tid, time, &t, sizeof(t));
}

void tw_thread_start_pt(struct tw *w, int tid, uint64_t time, int creator, uint64_t pthread)
{
    struct lg_rec_thread_start t = { 0 };
    t.creator_tid = creator;
    t.pthread = pthread;
    tw_record(w, LG_REC_THREAD_START, tid, time, &t, sizeof(t));
}

void tw_join_pt(struct tw *w, int tid, uint64_t time, int joined, uint64_t pthread)
{
    struct lg_rec_join j = { 0 };
    j.joined_tid = joined;
    j.pthread = pthread;
    tw_record(w, LG_REC_JOIN, tid, time, &j, sizeof(j));
}

void tw_thread_exit(struct tw *w, int tid, uint64_t time, uint32_t how)
{
    struct lg_rec_thread_exit t = { how, 0 };
    tw_record(w, LG_REC_THREAD_EXIT, tid, time, &t, sizeof(t));
}

void tw_join(struct tw *w, int tid, uint64_t time, int joined)
{
    struct lg_rec_join j = { 0 };
    j.joined_tid = joined;
    tw_record(w, LG_REC_JOIN, tid, time, &j, sizeof(j));
}

void tw_held_at(struct tw *w, int tid, uint64_t time, uint64_t lock, uint32_t stack, uint16_t how)
{
    struct lg_rec_held_at h = { 0 };
    h.lock_id = lock;
    h.stack_id = stack;
    h.how = how;
    h.holder_tid = tid;
    tw_record(w, LG_REC_HELD_AT, tid, time, &h, sizeof(h));
}

void tw_misuse(struct tw *w, int tid, uint64_t time, uint32_t kind, uint64_t lock,
               uint32_t stack, uint64_t other, int64_t extra, int err)
{
    struct lg_rec_misuse m = { 0 };
    m.misuse_kind = kind;
    m.lock_id = lock;
    m.stack_id = stack;
    m.other = other;
    m.extra = extra;
    m.err = err;
    tw_record(w, LG_REC_MISUSE, tid, time, &m, sizeof(m));
}

void tw_wait(struct tw *w, int tid, uint64_t time, int pid)
{
    struct lg_rec_wait r = { 0 };
    r.arg_pid = pid;
    r.ret_pid = pid;
    tw_record(w, LG_REC_WAIT, tid, time, &r, sizeof(r));
}

void tw_proc_exit(struct tw *w, int tid, uint64_t time, uint32_t how, int status)
{
    struct lg_rec_proc_exit p = { how, status };
    tw_record(w, LG_REC_PROC_EXIT, tid, time, &p, sizeof(p));
}

char *tw_close(struct tw *w, bool clean)
{
    char *path = malloc(strlen(w->dir) + 64);
    sprintf(path, "%s/" LG_TRACE_FILE_FMT, w->dir, w->hdr.pid, w->hdr.exec_seq);
    if (clean) {
        w->hdr.flags |= LG_TRACE_F_CLEAN_END;
        w->hdr.end_offset = LG_TRACE_HEADER_SIZE + w->len;
        w->hdr.end_ns = w->hdr.start_ns + 1000000000ull;
    }
    FILE *f = fopen(path, "wb");
    uint8_t header[LG_TRACE_HEADER_SIZE] = { 0 };
    memcpy(header, &w->hdr, sizeof(w->hdr));
    if (!f || fwrite(header, 1, sizeof(header), f) != sizeof(header) ||
        (w->len && fwrite(w->buf, 1, w->len, f) != w->len)) {
        if (f)
            fclose(f);
        free(path);
        path = NULL;
    } else {
        /* A writer leaves zeroed room after the last record. */
        uint8_t zero[64] = { 0 };
        fwrite(zero, 1, sizeof(zero), f);
        fclose(f);
    }
    free(w->buf);
    free(w->dir);
    free(w);
    return path;
}
