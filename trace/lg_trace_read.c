/* SPDX-License-Identifier: MIT */
/*
 * lg_trace_read.c — the trace reader: maps one trace file read-only and
 * walks its records. Sits between the files the shim wrote and the
 * analyzer's model builder. Never trusts the file: every size is checked
 * against the mapping before a byte is read.
 */
#include "lg_trace_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Smallest payload each known kind must have: the fixed part of its struct. */
static uint32_t min_payload(uint16_t kind)
{
    switch (kind) {
#define LG_X_MIN(name, num, type) case num: return (uint32_t)sizeof(type);
        LG_RECORD_KINDS(LG_X_MIN)
#undef LG_X_MIN
    default:
        return 0;
    }
}

int lg_trace_open(const char *path, struct lg_trace_file *tf, const char **why)
{
    static __thread char msg[256];
    struct stat st;
    int fd, rc = 0;

    memset(tf, 0, sizeof(*tf));
    tf->path = path;
    *why = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(msg, sizeof(msg), "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(msg, sizeof(msg), "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if ((size_t)st.st_size < sizeof(struct lg_trace_header)) {
        rc = -EINVAL;
        snprintf(msg, sizeof(msg), "%s: too short to be a trace (%lld bytes)", path,
                 (long long)st.st_size);
        goto out;
    }
    tf->size = (size_t)st.st_size;
    tf->map_size = tf->size;
    tf->base = mmap(NULL, tf->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (tf->base == MAP_FAILED) {
        tf->base = NULL;
        rc = -errno;
        snprintf(msg, sizeof(msg), "%s: cannot map: %s", path, strerror(errno));
        goto out;
    }
    tf->hdr = (const struct lg_trace_header *)tf->base;
    if (memcmp(tf->hdr->magic, LG_TRACE_MAGIC, sizeof(LG_TRACE_MAGIC)) != 0) {
        rc = -EINVAL;
        snprintf(msg, sizeof(msg), "%s: not a lockgraph trace (bad magic)", path);
        goto out;
    }
    if (tf->hdr->version > LG_TRACE_VERSION) {
        rc = -EPROTO;
        snprintf(msg, sizeof(msg),
                 "%s: trace format version %u is newer than this lockgraph reads (%u)",
                 path, tf->hdr->version, LG_TRACE_VERSION);
        goto out;
    }
    if (tf->hdr->header_size < sizeof(struct lg_trace_header) ||
        tf->hdr->header_size % LG_TRACE_ALIGN || tf->hdr->header_size > tf->size) {
        rc = -EINVAL;
        snprintf(msg, sizeof(msg), "%s: bad header size %u", path, tf->hdr->header_size);
        goto out;
    }
    /* A clean end tells the committed length; trust it only if it fits. */
    if (tf->hdr->end_offset >= tf->hdr->header_size && tf->hdr->end_offset <= tf->size)
        tf->size = (size_t)tf->hdr->end_offset;
    tf->pos = tf->hdr->header_size;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        if (tf->base)
            munmap((void *)tf->base, tf->map_size);
        tf->base = NULL;
        tf->hdr = NULL;
        *why = msg;
    }
    return rc;
}

/* True when every byte of [from, to) is zero: the unwritten tail. */
static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int lg_trace_next(struct lg_trace_file *tf, const struct lg_rec_hdr **rec)
{
    for (;;) {
        const struct lg_rec_hdr *r;
        size_t left;

        if (!tf->base || tf->problem[0])
            return 0;
        left = tf->size - tf->pos;
        if (left < sizeof(struct lg_rec_hdr)) {
            if (!all_zero(tf->base + tf->pos, left))
                snprintf(tf->problem, sizeof(tf->problem),
                         "%s: %zu stray bytes at the end (offset %zu)", tf->path, left, tf->pos);
            return 0;
        }
        r = (const struct lg_rec_hdr *)(tf->base + tf->pos);
        if (r->kind == 0) {
            /* Not committed: the end, or a hole left by a thread that died
             * between reserving and committing. Skip a hole only when its
             * size is plausible and a committed record follows it. */
            if (r->size >= sizeof(*r) && r->size % LG_TRACE_ALIGN == 0 && r->size <= left &&
                r->size < left) {
                const struct lg_rec_hdr *after =
                    (const struct lg_rec_hdr *)(tf->base + tf->pos + r->size);
                if (tf->size - (tf->pos + r->size) >= sizeof(*after) && after->kind != 0 &&
                    after->kind < LG_REC_KIND_MAX) {
                    tf->pos += r->size;
                    continue;
                }
            }
            if (!all_zero(tf->base + tf->pos, left < 4096 ? left : 4096))
                snprintf(tf->problem, sizeof(tf->problem),
                         "%s: uncommitted or garbled data at offset %zu; the rest is skipped",
                         tf->path, tf->pos);
            return 0;
        }
        if (r->size < sizeof(*r) || r->size % LG_TRACE_ALIGN || r->size > left) {
            snprintf(tf->problem, sizeof(tf->problem),
                     "%s: record at offset %zu has a bad size (%u); the rest is skipped",
                     tf->path, tf->pos, r->size);
            return 0;
        }
        if (r->kind >= LG_REC_KIND_MAX) {
            /* A newer writer's kind: skip it, its size is trustworthy. */
            tf->pos += r->size;
            continue;
        }
        if (lg_rec_payload_size(r) < min_payload(r->kind)) {
            snprintf(tf->problem, sizeof(tf->problem),
                     "%s: record at offset %zu (kind %u) is shorter than its kind; the rest is skipped",
                     tf->path, tf->pos, r->kind);
            return 0;
        }
        tf->pos += r->size;
        tf->nrecords++;
        *rec = r;
        return 1;
    }
}

void lg_trace_close(struct lg_trace_file *tf)
{
    if (tf->base)
        munmap((void *)tf->base, tf->map_size);
    memset(tf, 0, sizeof(*tf));
}
