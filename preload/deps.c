/* SPDX-License-Identifier: MIT */
/*
 * deps.c — the records behind the lock-order graph and the misuse list:
 * DEP (a lock taken while others are held, written once per new held set)
 * and MISUSE (first occurrence per kind, lock and call site).
 */
#include <string.h>
#include <sys/mman.h>

#include "lg_shim.h"

uint32_t *lg_dep_record(struct lg_thread *t, struct lg_held_ent *acq)
{
    if (!acq->stack)
        acq->stack = lg_stack_capture(t, acq->pc);
    uint32_t nheld = (uint32_t)(acq - t->held);
    /* Announce every lock first: LOCK_NEW (and STACK) records precede the
     * DEP that names them, at least for this thread's own records. */
    uint64_t id = lg_lock_announce(acq->lock);
    uint32_t sid = lg_stack_id(acq->stack);
    for (uint32_t i = 0; i < nheld; i++) {
        lg_lock_announce(t->held[i].lock);
        lg_stack_id(t->held[i].stack);
    }
    struct lg_rec_hdr *h;
    struct lg_rec_dep *r = lg_rec_begin(sizeof *r + sizeof(struct lg_held) * nheld, &h);
    if (!r)
        return NULL;
    r->lock_id = id ? id : acq->lock_id;
    r->stack_id = sid;
    r->mode = acq->mode;
    r->flags = acq->flags;
    r->count = 1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < nheld; i++) {
        struct lg_held_ent *e = &t->held[i];
        if (e->cond_waiting)
            continue;
        r->held[k].lock_id = e->lock_id;
        r->held[k].pc = e->pc;
        r->held[k].stack_id = lg_stack_id(e->stack);
        r->held[k].mode = e->mode;
        r->held[k].flags = e->flags;
        k++;
    }
    r->nheld = k;
    lg_rec_commit(h, LG_REC_DEP, 0);
    return &r->count;
}

/* ---- misuse ---------------------------------------------------------- */

#define LG_MISUSE_SEEN 8192
static _Atomic uint64_t *lg_misuse_seen;

static int lg_misuse_first(uint64_t key)
{
    if (!lg_misuse_seen) {
        void *m = mmap(NULL, sizeof(uint64_t) * LG_MISUSE_SEEN, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return 1;
        void *expect = NULL;
        if (!__atomic_compare_exchange_n(&lg_misuse_seen, &expect, m, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            munmap(m, sizeof(uint64_t) * LG_MISUSE_SEEN);
    }
    if (!key)
        key = 1;
    uint32_t idx = (uint32_t)key & (LG_MISUSE_SEEN - 1);
    for (int p = 0; p < 64; p++, idx = (idx + 1) & (LG_MISUSE_SEEN - 1)) {
        uint64_t k = atomic_load(&lg_misuse_seen[idx]);
        if (k == key)
            return 0;
        if (k == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&lg_misuse_seen[idx], &zero, key))
                return 1;
            if (zero == key)
                return 0;
        }
    }
    return 1;   /* table crowded: record it again rather than lose it */
}

/* Contract: guard set. Writes a MISUSE record (with the current stack)
 * the first time this (kind, lock, call site) is seen in this process. */
void lg_misuse(struct lg_thread *t, int kind, struct lg_lock *l, uint64_t pc, uint64_t other, int64_t extra,
               int err)
{
    uint64_t id = l ? atomic_load(&l->lock_id) : 0;
    uint64_t key = ((uint64_t)kind * 0x9e3779b97f4a7c15ull) ^ (id * 0xff51afd7ed558ccdull) ^ pc;
    key ^= (uint64_t)lg_g.epoch << 48;
    if (!lg_misuse_first(key))
        return;
    struct lg_stackent *st = lg_stack_capture(t, pc);
    if (l)
        id = lg_lock_announce(l);
    uint32_t sid = lg_stack_id(st);
    struct lg_rec_hdr *h;
    struct lg_rec_misuse *r = lg_rec_begin(sizeof *r, &h);
    if (!r)
        return;
    r->misuse_kind = (uint32_t)kind;
    r->stack_id = sid;
    r->lock_id = id;
    r->other = other;
    r->extra = extra;
    r->err = err;
    lg_rec_commit(h, LG_REC_MISUSE, 0);
}
