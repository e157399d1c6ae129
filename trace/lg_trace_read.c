/* SPDX-License-Identifier: MIT */
/*
 * lg_trace_read.c — the trace reader: maps one trace file read-only and
 * walks its records. Sits between the files the shim wrote and the
 * analyzer's model builder. Never trusts the file: every size is checked
 * against the mapping before a byte is read, and a file cut shorter while
 * it is mapped reads as a truncated trace, not as SIGBUS.
 */
#include "lg_trace_read.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A trace can get shorter while it is mapped: when a program is killed
 * while forking, a child that lives a moment longer still closes its
 * trace, and the writer cuts the file to the bytes it used
 * (lg_trace_finish). Reading a mapped page past the new end of the file
 * raises SIGBUS. So while any trace is mapped a SIGBUS handler is in place;
 * for a fault inside a trace mapping it maps zero pages from the faulting
 * page to the end of that mapping (the file ends before that page, so
 * all of it was cut) and returns: the reader sees the zeros it already
 * takes for the unwritten end, and the trace reads as a truncated one.
 * Any other SIGBUS gets its former disposition back and faults again.
 *
 * The handler finds the mappings in a registry it reads without a lock:
 * blocks of slots that are never freed, so it never follows a freed
 * pointer, each slot's (base, size) published under a sequence count so
 * a slot another thread is rewriting is skipped, not misread (the slot of
 * the mapping being read cannot be changing: it is still open). Opening
 * and closing serialize on a mutex the handler never takes.
 */
#define GUARD_SLOTS 64

struct guard_slot {
    atomic_uint seq;           /* odd while base and size are being written */
    atomic_uintptr_t base;     /* 0: free */
    atomic_size_t size;        /* bytes mapped, whole pages */
};

struct guard_block {
    struct guard_slot slot[GUARD_SLOTS];
    struct guard_block *_Atomic next;
};

/* The handler may only touch lock-free atomics. */
static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2 &&
              ATOMIC_POINTER_LOCK_FREE == 2, "the SIGBUS handler needs lock-free atomics");

static struct guard_block guard_first;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned guard_mapped;          /* registered mappings; under guard_lock */
static struct sigaction guard_old;     /* SIGBUS disposition before ours */
static size_t guard_page;              /* sysconf is not async-signal-safe */

static void guard_slot_write(struct guard_slot *s, uintptr_t base, size_t size)
{
    unsigned q = atomic_load_explicit(&s->seq, memory_order_relaxed);

    atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->base, base, memory_order_relaxed);
    atomic_store_explicit(&s->size, size, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

/* True when slot s holds, unchanged while read, a mapping covering addr. */
static bool guard_slot_covers(struct guard_slot *s, uintptr_t addr, uintptr_t *base, size_t *size)
{
    unsigned q = atomic_load_explicit(&s->seq, memory_order_acquire);

    *base = atomic_load_explicit(&s->base, memory_order_relaxed);
    *size = atomic_load_explicit(&s->size, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if ((q & 1) || atomic_load_explicit(&s->seq, memory_order_relaxed) != q || !*base)
        return false;
    return addr - *base < *size;
}

/* Maps zeros over what was cut from the trace mapping holding addr, if
 * one does: true when done. Async-signal-safe: atomics and mmap only. */
static bool guard_zero_cut(uintptr_t addr)
{
    uintptr_t base;
    size_t size;

    for (struct guard_block *b = &guard_first; b;
         b = atomic_load_explicit(&b->next, memory_order_acquire)) {
        for (int i = 0; i < GUARD_SLOTS; i++) {
            if (!guard_slot_covers(&b->slot[i], addr, &base, &size))
                continue;
            uintptr_t page = addr & ~(uintptr_t)(guard_page - 1);
            return mmap((void *)page, base + size - page, PROT_READ,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
        }
    }
    return false;
}

/* BUS_ADRERR: a kernel fault on a page past the end of the file (or one
 * it could not read: the rest of the trace is lost just the same). A
 * SIGBUS that is not ours, or zeros that could not be mapped, get the
 * former disposition back: a fault happens again on return, into it; a
 * SIGBUS sent by kill() or a memory error report (BUS_MCEERR_AO) does
 * not, so it is raised again, to be delivered once the handler returns. */
static void guard_sigbus(int sig, siginfo_t *si, void *ctx)
{
    int saved_errno = errno;

    if (si->si_code != BUS_ADRERR || !guard_zero_cut((uintptr_t)si->si_addr)) {
        sigaction(SIGBUS, &guard_old, NULL);
        if (si->si_code <= 0 || si->si_code == BUS_MCEERR_AO)
            raise(SIGBUS);
    }
    errno = saved_errno;
}

/* The slot holding base, or a free one for base 0; NULL if none. Called
 * with guard_lock held: only its holder writes slots. */
static struct guard_slot *guard_find(uintptr_t base, struct guard_block **last)
{
    for (struct guard_block *b = &guard_first; b;
         b = atomic_load_explicit(&b->next, memory_order_relaxed)) {
        *last = b;
        for (int i = 0; i < GUARD_SLOTS; i++)
            if (atomic_load_explicit(&b->slot[i].base, memory_order_relaxed) == base)
                return &b->slot[i];
    }
    return NULL;
}

/* Registers the mapping [base, base + size) and, for the first one,
 * installs the handler. Returns 0 or a negative errno. */
static int guard_add(const void *base, size_t size)
{
    struct guard_block *last;
    struct guard_slot *s;
    int rc = 0;

    pthread_mutex_lock(&guard_lock);
    if (!(s = guard_find(0, &last))) {
        struct guard_block *b = calloc(1, sizeof(*b));
        if (!b) {
            rc = -ENOMEM;
            goto out;
        }
        atomic_store_explicit(&last->next, b, memory_order_release);
        s = &b->slot[0];
    }
    if (!guard_mapped) {
        struct sigaction sa = { .sa_sigaction = guard_sigbus, .sa_flags = SA_SIGINFO };
        sigemptyset(&sa.sa_mask);
        guard_page = (size_t)sysconf(_SC_PAGESIZE);
        if (sigaction(SIGBUS, NULL, &guard_old) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) {
            rc = -errno;
            goto out;
        }
    }
    guard_slot_write(s, (uintptr_t)base, (size + guard_page - 1) & ~(guard_page - 1));
    guard_mapped++;
out:
    pthread_mutex_unlock(&guard_lock);
    return rc;
}

/* Forgets the mapping at base; called before it is unmapped, so the
 * handler never maps zeros over whatever is mapped there next. The last
 * one gives SIGBUS back, unless someone replaced the handler since. */
static void guard_remove(const void *base)
{
    struct guard_block *last;
    struct guard_slot *s;

    pthread_mutex_lock(&guard_lock);
    if ((s = guard_find((uintptr_t)base, &last))) {
        guard_slot_write(s, 0, 0);
        struct sigaction now;
        if (--guard_mapped == 0 && sigaction(SIGBUS, NULL, &now) == 0 &&
            (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == guard_sigbus)
            sigaction(SIGBUS, &guard_old, NULL);
    }
    pthread_mutex_unlock(&guard_lock);
}

/* Unregister, then unmap (see guard_remove). */
static void trace_unmap(struct lg_trace_file *tf)
{
    guard_remove(tf->base);
    munmap((void *)tf->base, tf->map_size);
}

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
    /* Before the first byte is read: even the header may be cut. */
    if ((rc = guard_add(tf->base, tf->map_size)) < 0) {
        munmap((void *)tf->base, tf->map_size);
        tf->base = NULL;
        snprintf(msg, sizeof(msg), "%s: cannot map: %s", path, strerror(-rc));
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
            trace_unmap(tf);
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
        trace_unmap(tf);
    memset(tf, 0, sizeof(*tf));
}
