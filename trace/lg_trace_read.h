/* SPDX-License-Identifier: MIT */
/*
 * lg_trace_read.h — reading one trace file (the analyzer's only door into
 * the format). Maps the file read-only, validates the header, and walks
 * records, stopping cleanly at the end of what was committed; a garbled
 * or truncated file yields what can be read plus a one-line reason.
 */
#ifndef LG_TRACE_READ_H
#define LG_TRACE_READ_H

#include <stddef.h>
#include <stdint.h>
#include "lg_trace.h"

struct lg_trace_file {
    const char *path;
    const uint8_t *base;      /* whole file, mapped read-only */
    size_t size;              /* bytes that may hold records (committed length if known) */
    size_t map_size;          /* bytes mapped */
    const struct lg_trace_header *hdr;
    size_t pos;               /* offset of the next record */
    char problem[256];        /* why reading stopped early, "" if it did not */
    uint64_t nrecords;
};

/* Open and validate. Returns 0, or -errno / -EINVAL (bad magic),
 * -EPROTO (newer version); *why gets one line in those cases. While any
 * trace is open the reader handles SIGBUS: a file cut shorter under its
 * mapping reads as ending at the cut; other SIGBUS keep their handler. */
int lg_trace_open(const char *path, struct lg_trace_file *tf, const char **why);

/* Next record: 1 and *rec set, 0 at the end, or 0 with tf->problem set
 * when the rest could not be read (bad size, unknown kind, short payload).
 * Records of unknown kinds from a newer writer are skipped, not fatal. */
int lg_trace_next(struct lg_trace_file *tf, const struct lg_rec_hdr **rec);

/* Payload pointer and its byte length (record size minus header). */
static inline const void *lg_rec_payload(const struct lg_rec_hdr *r) { return r + 1; }
static inline uint32_t lg_rec_payload_size(const struct lg_rec_hdr *r)
{
    return r->size - (uint32_t)sizeof(struct lg_rec_hdr);
}

/* Variable parts (held[], pc[], names) are the consumer's to check:
 * 1 when a payload of `fixed` bytes followed by `count` elements of
 * `elem` bytes fits in the record. */
static inline int lg_rec_fits(const struct lg_rec_hdr *r, uint64_t fixed, uint64_t count,
                              uint64_t elem)
{
    return fixed + count * elem <= (uint64_t)lg_rec_payload_size(r) && count < (1u << 28);
}

void lg_trace_close(struct lg_trace_file *tf);

#endif /* LG_TRACE_READ_H */
