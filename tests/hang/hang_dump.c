/* SPDX-License-Identifier: MIT */
/*
 * hang_dump.c — hang.lgt as text, one line per record, for the tests and
 * for a human looking at what the supervisor saw:
 *   verdict KIND still_ms=N
 *   node N KIND pid=P tid=T op=OP ... [cycle]
 *   edge A->B KIND [certain] [cycle]
 *   cycle N N N
 *   jbd waiter=N target=N writer=N pipe=N
 *   frame NODE #I file:line function [system]
 */
#include "hang_dump.h"
#include "lg_trace_read.h"

#include <inttypes.h>
#include <string.h>

static const char *nkind(unsigned k)
{
    static const char *n[] = {"?", "thread", "process", "lock", "pipe", "other"};
    return k < 6 ? n[k] : "?";
}

static const char *ekind(unsigned k)
{
    static const char *n[] = {"?", "waits", "holds", "joins", "waitpid", "thread-of",
                              "pipe-write", "pipe-read", "read-end", "write-end"};
    return k < 10 ? n[k] : "?";
}

int hang_dump(const char *path, FILE *out)
{
    struct lg_trace_file tf;
    const char *why;
    if (lg_trace_open(path, &tf, &why) < 0) {
        fprintf(out, "cannot read %s: %s\n", path, why ? why : "?");
        return -1;
    }
    const struct lg_rec_hdr *r;
    while (lg_trace_next(&tf, &r) == 1) {
        const void *p = lg_rec_payload(r);
        switch (r->kind) {
        case LG_REC_HANG: {
            const struct lg_rec_hang *h = p;
            fprintf(out, "verdict %s still_ms=%" PRIu64 " nodes=%u edges=%u\n",
                    h->verdict == LG_HANG_DEADLOCK ? "deadlock"
                    : h->verdict == LG_HANG_JOIN_BEFORE_DRAIN ? "join-before-drain" : "hang",
                    h->still_ns / 1000000, h->nnodes, h->nedges);
            break;
        }
        case LG_REC_WF_NODE: {
            const struct lg_rec_wf_node *n = p;
            fprintf(out, "node %u %s pid=%d tid=%d", n->node, nkind(n->node_kind), n->pid, n->tid);
            if (n->node_kind == LG_WFN_THREAD)
                fprintf(out, " op=%u sys=%d state=%c wchan=%s name=%s stack=%u%s", n->op, n->sysno,
                        n->state ? n->state : '?', n->wchan[0] ? n->wchan : "-", n->name, n->stack_id,
                        n->flags & LG_WFN_FROM_TABLE ? " table" : "");
            if (n->node_kind == LG_WFN_LOCK)
                fprintf(out, " addr=0x%" PRIx64 " kind=%u", n->addr, n->lock_kind);
            if (n->node_kind == LG_WFN_PIPE)
                fprintf(out, " ino=%" PRIu64 " queued=%" PRId64 " capacity=%" PRId64 " requested=%" PRId64,
                        n->ino, n->queued, n->capacity, n->requested);
            fprintf(out, "%s\n", n->flags & LG_WFN_ON_CYCLE ? " cycle" : "");
            break;
        }
        case LG_REC_WF_EDGE: {
            const struct lg_rec_wf_edge *e = p;
            fprintf(out, "edge %u->%u %s%s%s\n", e->from, e->to, ekind(e->edge_kind),
                    e->flags & LG_WFN_CERTAIN ? " certain" : "", e->flags & LG_WFN_ON_CYCLE ? " cycle" : "");
            break;
        }
        case LG_REC_HANG_CYCLE: {
            const struct lg_rec_hang_cycle *c = p;
            fprintf(out, "cycle");
            for (uint32_t i = 0; i < c->n && (i + 1) * 4 < lg_rec_payload_size(r); i++)
                fprintf(out, " %u", c->node[i]);
            fprintf(out, "\n");
            break;
        }
        case LG_REC_HANG_JBD: {
            const struct lg_rec_hang_jbd *j = p;
            fprintf(out, "jbd waiter=%u target=%u writer=%u pipe=%u\n", j->waiter, j->target, j->writer, j->pipe);
            break;
        }
        case LG_REC_HANG_FRAME: {
            const struct lg_rec_hang_frame *f = p;
            fprintf(out, "frame %u #%u %.*s:%d %.*s%s\n", f->node, f->index, f->file_len, f->text, f->line,
                    f->func_len, f->text + f->file_len, f->flags & LG_HFR_SYSTEM ? " system" : "");
            break;
        }
        default:
            break;
        }
    }
    lg_trace_close(&tf);
    return 0;
}
