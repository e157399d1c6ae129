/* SPDX-License-Identifier: MIT */
/*
 * threadtable.c — the shim's side of the shared thread table
 * ($LOCKGRAPH_DIR/threads.lgt, trace/lg_threadtable.h): claims a slot per
 * thread and publishes "about to block in X, holding Y" just before a call
 * that may block, clearing it when the call returns.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_shim.h"

static struct lg_tt_header *lg_tt;
static struct lg_tt_slot *lg_tt_slots;
static uint32_t lg_tt_nslots;

/* Contract: maps the supervisor's table if it exists and looks right;
 * otherwise the thread table is skipped silently (plain `LOCKGRAPH_DIR=`
 * runs have none). */
void lg_tt_open(void)
{
    const char *dir = getenv(LG_ENV_DIR);
    if (!dir)
        return;
    char path[4200];
    size_t n = strlen(dir);
    if (n + sizeof(LG_TT_FILE) + 2 > sizeof path)
        return;
    memcpy(path, dir, n);
    path[n] = '/';
    memcpy(path + n + 1, LG_TT_FILE, sizeof(LG_TT_FILE));
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= sizeof(struct lg_tt_header))
        m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    syscall(SYS_close, fd);
    if (m == MAP_FAILED)
        return;
    struct lg_tt_header *h = m;
    if (memcmp(h->magic, LG_TT_MAGIC, 8) != 0 || h->version != LG_TT_VERSION ||
        h->slot_size != sizeof(struct lg_tt_slot) ||
        sizeof *h + (uint64_t)h->nslots * sizeof(struct lg_tt_slot) > (uint64_t)st.st_size) {
        munmap(m, (size_t)st.st_size);
        lg_say("threads.lgt has an unexpected layout; live hang detection is off for this process");
        return;
    }
    lg_tt_slots = (struct lg_tt_slot *)(h + 1);
    lg_tt_nslots = h->nslots;
    lg_tt = h;
}

static inline void tt_write_begin(struct lg_tt_slot *s)
{
    uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, q | 1u, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void tt_write_end(struct lg_tt_slot *s)
{
    uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, (q | 1u) + 1u, __ATOMIC_RELEASE);
}

static void tt_name(struct lg_tt_slot *s)
{
    char name[16] = {0};
    if (prctl(PR_GET_NAME, name, 0, 0, 0) == 0)
        memcpy(s->name, name, sizeof s->name);
}

void lg_tt_claim(struct lg_thread *t)
{
    if (!lg_tt || t->slot)
        return;
    int e = errno;
    for (uint32_t i = 0; i < lg_tt_nslots; i++) {
        struct lg_tt_slot *s = &lg_tt_slots[i];
        int32_t zero = 0;
        if (__atomic_load_n(&s->tid, __ATOMIC_RELAXED) != 0 ||
            !__atomic_compare_exchange_n(&s->tid, &zero, t->tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        tt_write_begin(s);
        s->pid = lg_g.pid;
        s->exec_seq = lg_trace_exec_seq;
        s->op = LG_BLOCK_NONE;
        s->flags = 0;
        s->since_ns = 0;
        s->nheld = 0;
        tt_name(s);
        tt_write_end(s);
        t->slot = s;
        errno = e;
        return;
    }
    __atomic_store_n(&lg_tt->overflow, 1, __ATOMIC_RELAXED);
    errno = e;
}

void lg_tt_free(struct lg_thread *t)
{
    struct lg_tt_slot *s = t->slot;
    if (!s)
        return;
    t->slot = NULL;
    tt_write_begin(s);
    s->op = LG_BLOCK_NONE;
    s->pid = 0;
    tt_write_end(s);
    __atomic_store_n(&s->tid, 0, __ATOMIC_RELEASE);
}

static void tt_obj(struct lg_tt_obj *o, struct lg_lock *l, const void *addr)
{
    memset(o, 0, sizeof *o);
    o->addr = (uint64_t)(uintptr_t)addr;
    if (!l)
        return;
    o->kind = l->kind < LG_KIND_COND ? l->kind : 0;
    o->id = o->kind ? lg_lock_announce(l) : 0;
    if (l->shared) {
        o->shared = 1;
        o->dev = l->shared->dev;
        o->ino = l->shared->ino;
        o->off = l->shared->off;
    }
}

/* Contract: guard set; t about to make a call that may block. Announces
 * the lock (LOCK_NEW) and the stack in the trace so the supervisor's ids
 * resolve, then fills the slot under its seqlock. */
void lg_tt_publish(struct lg_thread *t, const struct lg_publish *p)
{
    struct lg_tt_slot *s = t->slot;
    if (!s)
        return;
    int e = errno;
    lg_held_drop_stale(t);
    struct lg_stackent *st = p->stack ? p->stack : lg_stack_capture(t, 0);
    uint32_t sid = lg_stack_id(st);
    struct lg_tt_obj obj, held[LG_TT_MAX_HELD];
    tt_obj(&obj, p->lock, p->addr);
    if (p->ino) {
        obj.dev = p->dev;
        obj.ino = p->ino;
        obj.shared = 1;
    }
    uint32_t nh = t->nheld, k = 0;
    for (uint32_t i = 0; i < nh && k < LG_TT_MAX_HELD; i++)
        tt_obj(&held[k++], t->held[i].lock, (const void *)t->held[i].addr);
    int owner = p->lock ? atomic_load_explicit(&p->lock->owner, memory_order_relaxed) : 0;
    /* Mutexes and rwlocks name their (write) owner themselves; the
     * shim's fast path does not keep one for them. */
    if (p->lock && p->lock->kind == LG_LOCK_MUTEX)
        owner = ((const pthread_mutex_t *)p->addr)->__data.__owner;
    else if (p->lock && p->lock->kind == LG_LOCK_RWLOCK)
        owner = ((const pthread_rwlock_t *)p->addr)->__data.__cur_writer;
    tt_write_begin(s);
    s->op = (uint32_t)p->op;
    s->flags = (uint32_t)p->flags | (st && st->npy ? LG_TT_PYTHON : 0);
    s->since_ns = lg_now_ns();
    s->obj = obj;
    s->aux = p->aux;
    s->target_tid = p->target_tid;
    s->target_pid = p->target_pid;
    s->target_fd = p->target_fd;
    s->stack_id = sid;
    s->owner_tid = owner;
    s->nheld = nh;
    memcpy(s->held, held, sizeof held[0] * k);
    s->exec_seq = lg_trace_exec_seq;
    tt_write_end(s);
    errno = e;
}

void lg_tt_done(struct lg_thread *t)
{
    struct lg_tt_slot *s = t->slot;
    if (!s)
        return;
    tt_write_begin(s);
    s->op = LG_BLOCK_NONE;
    s->progress++;
    tt_write_end(s);
}

void lg_tt_child_reset(void)
{
    /* The mapping is inherited (MAP_SHARED); the slots of the parent's
     * threads stay theirs. The surviving thread claims a new slot. */
}
