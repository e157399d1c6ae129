/* SPDX-License-Identifier: MIT */
/*
 * stacks.c — stack capture (libgcc's unwinder, libunwind as fallback) and
 * interning: each distinct stack
 * (native frames + Python frames) is kept once in a global lock-free table
 * and written as a STACK (+ PYSTACK) record the first time a record of the
 * current trace refers to it. Also the module map (MODULE records).
 */
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <unwind.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_pyframes.h"
#include "lg_shim.h"

#pragma weak lg_py_active
#pragma weak lg_py_capture
#pragma weak lg_py_site
#pragma weak lg_py_line_key

/*
 * The stack table: chains of arena nodes hanging off a small bucket array
 * (32 KiB of .bss, touched as buckets fill), so memory follows the number
 * of distinct stacks, not a fixed table (it was a 6 MiB mapping of which a
 * Python run touched ~2 MiB, one page per few stacks). Lock-free: a node
 * is complete before a CAS publishes it at its bucket's head; nodes are
 * never removed.
 */
#define LG_STACK_BUCKETS 4096           /* power of two */
#define LG_STACK_LIMIT (1u << 17)       /* distinct stacks kept, as before */
#define LG_STACK_BUSY 0xffffffffu

/*
 * A stack's frames are not copied per stack: they are chains of interned
 * frame nodes, innermost to outermost, so stacks that share their outer
 * part (every thread's start, the interpreter loop under each Python
 * frame) share its nodes. The CPython bench's 832 stacks held 600 KiB of
 * Python frame text and 190 KiB of return addresses as copies; as chains,
 * a few thousand nodes and a few hundred distinct Python frames. So the
 * lg_stackent's own pc and py stay NULL: STACK and PYSTACK records are
 * written from the chains (lg_stack_id).
 */
struct lg_inode {
    struct lg_inode *next;              /* bucket chain */
    const struct lg_inode *parent;      /* the next outer frame; NULL: outermost */
    uint64_t val;                       /* native: the pc; Python: its struct lg_pyblob * */
    uint64_t hash;                      /* of val and the parent's hash */
};

/* One Python frame as PYSTACK carries it (line, lengths, file tail, func). */
struct lg_pyblob {
    struct lg_pyblob *next;
    uint64_t hash;
    uint32_t len;
    uint8_t data[];
};

#ifndef LG_INODE_BUCKETS
#define LG_INODE_BUCKETS 2048           /* power of two; 16 KiB each (tests: smaller) */
#endif
static _Atomic(struct lg_inode *) lg_pcnodes0[LG_INODE_BUCKETS];
static _Atomic(struct lg_inode *) lg_pynodes0[LG_INODE_BUCKETS];
static _Atomic(struct lg_pyblob *) lg_pyblobs[LG_INODE_BUCKETS];

/* A node table grows by levels, so a program with a million distinct
 * frames does not walk chains of hundreds: past 8 nodes a bucket on
 * average, a 16 times larger bucket array is mapped (MAP_NORESERVE,
 * touched as it fills) and new nodes go there; lookups search every
 * level, newest first. Two threads may then make the same node in two
 * levels: a duplicate, never a wrong frame (stacks are told apart by
 * their content hashes in the stack table, not by node identity). */
#define LG_INODE_LEVELS 4
struct lg_itab {
    _Atomic(_Atomic(struct lg_inode *) *) lvl[LG_INODE_LEVELS];
    _Atomic uint32_t count;
    _Atomic int growing;
};
static struct lg_itab lg_pcnodes = {.lvl = {lg_pcnodes0}}, lg_pynodes = {.lvl = {lg_pynodes0}};

static inline uint32_t lg_itab_size(int level)
{
    return (uint32_t)LG_INODE_BUCKETS << (4 * level);
}

struct lg_stacknode {
    struct lg_stackent s;               /* first: callers hold &node->s */
    struct lg_stacknode *next;
    const struct lg_inode *pcs;         /* innermost native frame, nframes long */
    const struct lg_inode *pys;         /* innermost Python frame, npy long */
};

static _Atomic(struct lg_stacknode *) lg_stackbuckets[LG_STACK_BUCKETS];
static _Atomic uint32_t lg_nstacks;
static _Atomic uint32_t lg_next_stack_id = 1;
static _Atomic int lg_stacktab_full_said;

static inline uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* ---- modules ----------------------------------------------------------- */

#define LG_MAX_MODULES 2048
static struct {
    uintptr_t lo, hi;
    _Atomic int unwound;        /* its unwind tables were read since the last release */
} lg_mods[LG_MAX_MODULES];
static _Atomic int lg_nmods;

static int lg_pc_module(uintptr_t pc)
{
    int n = atomic_load_explicit(&lg_nmods, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (pc >= lg_mods[i].lo && pc < lg_mods[i].hi)
            return i;
    return -1;
}

static int lg_pc_known(uintptr_t pc) { return lg_pc_module(pc) >= 0; }

/* The address range an object's PT_LOAD segments span (hi 0: none). */
static void lg_module_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < *lo) *lo = a;
        if (a + ph->p_memsz > *hi) *hi = a + ph->p_memsz;
    }
}

/* Its index in lg_mods, or -1 when not recorded. */
static int lg_module_find(uintptr_t lo, uintptr_t hi)
{
    int n = atomic_load_explicit(&lg_nmods, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (lg_mods[i].lo == lo && lg_mods[i].hi == hi)
            return i;
    return -1;
}

/*
 * The unwind tables a capture reads (.eh_frame_hdr's search table and
 * .eh_frame) are file pages of the program's own objects, and the kernel
 * maps them 64 KiB at a time around each fault: a few hundred unwinds at
 * start-up left half a MiB of python3.11's and libcrypto's tables in the
 * program's RSS. So the pages of the tables read are given back
 * (MADV_DONTNEED: the mapping stays, a later read faults the same file
 * page in again), at most every few ms. Only read-only segments, and only
 * inside dl_iterate_phdr, under the loader's lock: an object cannot be
 * unloaded, and its range reused, meanwhile.
 */
#define LG_UNWIND_RELEASE_NS 2000000ull
static _Atomic uint64_t lg_unwind_released_ns;
static _Atomic int lg_unwind_pending;
/* 0: free; 1: a release is inside dl_iterate_phdr; 2: a fork is under
 * way. A fork must not copy the loader's lock held by a release running
 * in another thread: the child's first dl_iterate_phdr would wait for it
 * forever. */
static _Atomic int lg_unwind_gate;

/* Takes the gate as `as` (1: a scan or release, 2: a fork), spinning at
 * most `spins` times (a scan or release takes microseconds); a scan or
 * release never waits out a fork. 1 when taken. */
static int lg_gate_take(int as, long spins)
{
    for (long w = 0;; w++) {
        int free_ = 0;
        if (atomic_compare_exchange_weak(&lg_unwind_gate, &free_, as))
            return 1;
        if (w >= spins || (as == 1 && free_ == 2))
            return 0;
        __builtin_ia32_pause();
    }
}

static void lg_gate_give(void) { atomic_store(&lg_unwind_gate, 0); }

void lg_stacks_fork_prepare(void) { lg_gate_take(2, 20000000); }

void lg_stacks_fork_done(void) { lg_gate_give(); }

static void lg_unwind_note(void *const *pc, int n)
{
    for (int k = 0; k < n; k++) {
        int i = lg_pc_module((uintptr_t)pc[k]);
        if (i >= 0 && !atomic_load_explicit(&lg_mods[i].unwound, memory_order_relaxed)) {
            atomic_store_explicit(&lg_mods[i].unwound, 1, memory_order_relaxed);
            atomic_store_explicit(&lg_unwind_pending, 1, memory_order_release);
        }
    }
}

static int lg_unwind_release_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    const ElfW(Phdr) *hdr = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            hdr = &info->dlpi_phdr[i];
    uintptr_t lo, hi;
    lg_module_range(info, &lo, &hi);
    int m = hdr && hi ? lg_module_find(lo, hi) : -1;
    if (m < 0 || !atomic_exchange_explicit(&lg_mods[m].unwound, 0, memory_order_relaxed))
        return 0;
    /* From the search table's page to the end of the read-only segment
     * that holds it (.eh_frame follows .eh_frame_hdr there). */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = info->dlpi_addr + hdr->p_vaddr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || from < a || from - a >= ph->p_memsz)
            continue;
        if (ph->p_flags & PF_W)
            return 0;
        uintptr_t start = from & ~(page - 1), end = (a + ph->p_memsz) & ~(page - 1);
        if (start < (a & ~(page - 1)))
            start = a & ~(page - 1);
        if (end > start)
            madvise((void *)start, end - start, MADV_DONTNEED);
        return 0;
    }
    return 0;
}

/* Contract: guard set (dl_iterate_phdr takes the loader lock). */
static void lg_unwind_release(void)
{
    if (!atomic_load_explicit(&lg_unwind_pending, memory_order_acquire))
        return;
    uint64_t now = lg_now_ns(), last = atomic_load_explicit(&lg_unwind_released_ns, memory_order_relaxed);
    if (now - last < LG_UNWIND_RELEASE_NS ||
        !atomic_compare_exchange_strong(&lg_unwind_released_ns, &last, now))
        return;
    if (!lg_gate_take(1, 0))
        return;
    atomic_store_explicit(&lg_unwind_pending, 0, memory_order_relaxed);
    dl_iterate_phdr(lg_unwind_release_cb, NULL);
    lg_gate_give();
}

static void lg_module_record(struct dl_phdr_info *info, uintptr_t lo, uintptr_t hi)
{
    char exe[512];
    const char *path = info->dlpi_name;
    if (!path || !*path) {
        long n = syscall(SYS_readlinkat, -100 /* AT_FDCWD */, "/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        path = exe;
    }
    uint32_t plen = (uint32_t)strlen(path);
    struct lg_rec_hdr *h;
    struct lg_rec_module *r = lg_rec_begin(sizeof *r + plen + 1, &h);
    if (!r)
        return;
    r->base = info->dlpi_addr;
    r->lo = lo;
    r->hi = hi;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const char *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
                uint32_t len = nh->n_descsz > 20 ? 20 : nh->n_descsz;
                memcpy(r->build_id, desc, len);
                r->build_id_len = len;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    r->path_len = plen;
    memcpy(r->path, path, plen + 1);
    lg_rec_commit(h, LG_REC_MODULE, 0);
}

static int lg_module_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t lo, hi;
    lg_module_range(info, &lo, &hi);
    if (hi == 0 || lg_module_find(lo, hi) >= 0)
        return 0;
    int n = atomic_load(&lg_nmods);
    if (n >= LG_MAX_MODULES)
        return 0;
    lg_mods[n].lo = lo;
    lg_mods[n].hi = hi;
    atomic_store_explicit(&lg_nmods, n + 1, memory_order_release);
    lg_module_record(info, lo, hi);
    return 0;
}

/* Contract: a MODULE record for every loaded object not yet recorded in
 * this trace (dl_iterate_phdr takes the loader lock: guard set, slow path). */
void lg_modules_scan(void)
{
    /* Wait out another thread's scan or release, so the object that
     * called for this scan is recorded; not a fork. */
    if (!lg_gate_take(1, 20000000))
        return;
    dl_iterate_phdr(lg_module_cb, NULL);
    lg_gate_give();
}

/* Fork child: new trace, so ids and the module map start over. */
void lg_stacks_reset_for_child(void)
{
    atomic_store(&lg_next_stack_id, 1);
    atomic_store(&lg_nmods, 0);
    lg_gate_give();
}

/* ---- capture and intern ------------------------------------------------ */

static inline int lg_in_pytext(uint64_t pc)
{
    return pc && pc - lg_g.pytext_lo < lg_g.pytext_hi - lg_g.pytext_lo;
}

static const struct lg_inode *lg_inode_get(struct lg_itab *tab, const struct lg_inode *parent, uint64_t val)
{
    uint64_t h = mix64(parent ? parent->hash : 0x7f4a7c159e3779b9ull, val);
    uint32_t hb = (uint32_t)(h ^ (h >> 29));
    int top = 0;
    while (top + 1 < LG_INODE_LEVELS && atomic_load_explicit(&tab->lvl[top + 1], memory_order_acquire))
        top++;
    for (int l = top; l >= 0; l--) {
        _Atomic(struct lg_inode *) *b = atomic_load_explicit(&tab->lvl[l], memory_order_acquire);
        for (struct lg_inode *x = atomic_load_explicit(&b[hb & (lg_itab_size(l) - 1)], memory_order_acquire); x;
             x = x->next)
            if (x->hash == h && x->parent == parent && x->val == val)
                return x;
    }
    uint32_t count = atomic_fetch_add_explicit(&tab->count, 1, memory_order_relaxed);
    if (top + 1 < LG_INODE_LEVELS && count >= 8u * lg_itab_size(top) &&
        !atomic_exchange_explicit(&tab->growing, 1, memory_order_acquire)) {
        if (!atomic_load(&tab->lvl[top + 1])) {
            void *m = mmap(NULL, sizeof(struct lg_inode *) * lg_itab_size(top + 1), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m != MAP_FAILED)
                atomic_store_explicit(&tab->lvl[top + 1], (_Atomic(struct lg_inode *) *)m, memory_order_release);
        }
        atomic_store_explicit(&tab->growing, 0, memory_order_release);
    }
    _Atomic(struct lg_inode *) *lb = atomic_load_explicit(&tab->lvl[top], memory_order_acquire);
    _Atomic(struct lg_inode *) *bucket = &lb[hb & (lg_itab_size(top) - 1)];
    struct lg_inode *head = atomic_load_explicit(bucket, memory_order_acquire);
    for (struct lg_inode *x = head; x; x = x->next)
        if (x->hash == h && x->parent == parent && x->val == val)
            return x;
    struct lg_inode *node = lg_arena_alloc(sizeof *node);
    if (!node)
        return NULL;
    node->parent = parent;
    node->val = val;
    node->hash = h;
    for (;;) {
        node->next = head;
        if (atomic_compare_exchange_weak_explicit(bucket, &head, node, memory_order_release, memory_order_acquire))
            return node;
        for (struct lg_inode *x = head; x && x != node->next; x = x->next)
            if (x->hash == h && x->parent == parent && x->val == val)
                return x;
    }
}

static const struct lg_pyblob *lg_pyblob_get(const uint8_t *data, uint32_t len)
{
    uint64_t h = 0x3c6ef372fe94f82bull ^ len;
    for (uint32_t b = 0; b < len; b += 4) {
        uint32_t w;
        memcpy(&w, data + b, 4);
        h = mix64(h, w);
    }
    _Atomic(struct lg_pyblob *) *bucket = &lg_pyblobs[(h ^ (h >> 29)) & (LG_INODE_BUCKETS - 1)];
    struct lg_pyblob *head = atomic_load_explicit(bucket, memory_order_acquire);
    for (struct lg_pyblob *x = head; x; x = x->next)
        if (x->hash == h && x->len == len && !memcmp(x->data, data, len))
            return x;
    struct lg_pyblob *node = lg_arena_alloc(sizeof *node + len);
    if (!node)
        return NULL;
    node->hash = h;
    node->len = len;
    memcpy(node->data, data, len);
    for (;;) {
        node->next = head;
        if (atomic_compare_exchange_weak_explicit(bucket, &head, node, memory_order_release, memory_order_acquire))
            return node;
        for (struct lg_pyblob *x = head; x && x != node->next; x = x->next)
            if (x->hash == h && x->len == len && !memcmp(x->data, data, len))
                return x;
    }
}

/* pc[0..n) innermost first; py: the PYSTACK payload, frame k at pyoff[k]
 * (pyoff[npy] == py_len). */
static struct lg_stackent *lg_stack_intern(uint64_t key, void **pc, int n, const uint8_t *py, uint32_t py_len,
                                           uint32_t npy, const uint32_t *pyoff)
{
    if (!key)
        key = 1;
    _Atomic(struct lg_stacknode *) *bucket = &lg_stackbuckets[(key ^ (key >> 32)) & (LG_STACK_BUCKETS - 1)];
    struct lg_stacknode *head = atomic_load_explicit(bucket, memory_order_acquire);
    for (struct lg_stacknode *x = head; x; x = x->next)
        if (atomic_load_explicit(&x->s.key, memory_order_relaxed) == key)
            return &x->s;
    if (atomic_load_explicit(&lg_nstacks, memory_order_relaxed) >= LG_STACK_LIMIT) {
        if (!atomic_exchange(&lg_stacktab_full_said, 1))
            lg_say("stack table is full; new stacks are not recorded");
        return NULL;
    }
    /* 64-bit content hashes stand for the frames themselves (a collision
     * merges two stacks; accepted). */
    struct lg_stacknode *node = lg_arena_alloc(sizeof *node);
    if (!node)
        return NULL;
    const struct lg_inode *pcs = NULL, *pys = NULL;
    int ok = 1;
    for (int i = n; i-- > 0 && ok;)
        ok = (pcs = lg_inode_get(&lg_pcnodes, pcs, (uint64_t)(uintptr_t)pc[i])) != NULL;
    node->pcs = ok ? pcs : NULL;
    node->s.nframes = ok ? (uint32_t)n : 0;
    ok = 1;
    for (uint32_t i = npy; i-- > 0 && ok;) {
        const struct lg_pyblob *b = lg_pyblob_get(py + pyoff[i], pyoff[i + 1] - pyoff[i]);
        ok = b && (pys = lg_inode_get(&lg_pynodes, pys, (uint64_t)(uintptr_t)b)) != NULL;
    }
    node->pys = ok ? pys : NULL;
    node->s.py_len = ok ? py_len : 0;
    node->s.npy = ok ? npy : 0;
    atomic_store_explicit(&node->s.key, key, memory_order_relaxed);
    atomic_store_explicit(&node->s.ready, 1, memory_order_relaxed);
    for (;;) {
        node->next = head;
        if (atomic_compare_exchange_weak_explicit(bucket, &head, node, memory_order_release, memory_order_acquire))
            break;
        /* Lost a race: the nodes pushed since may hold this stack. (The
         * loser's node stays in the arena, unused: rare, and small.) */
        for (struct lg_stacknode *x = head; x && x != node->next; x = x->next)
            if (atomic_load_explicit(&x->s.key, memory_order_relaxed) == key)
                return &x->s;
    }
    atomic_fetch_add_explicit(&lg_nstacks, 1, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (!lg_pc_known((uintptr_t)pc[i])) {
            lg_modules_scan();   /* dlopen'ed since the last scan */
            break;
        }
    return &node->s;
}

/*
 * Which unwinder. libunwind (1.6) checks doubtful addresses by writing
 * them into a pipe it opens at low fd numbers and keeps for good; when a
 * program later reuses those numbers (a shell's `exec 4>file`, a daemon
 * closing every fd) libunwind reads from, writes into and even closes the
 * program's own files (seen: a bash script lost its output). libgcc's
 * unwinder (what glibc's backtrace() uses) touches no fd and, with glibc
 * 2.35+, finds unwind tables lock-free through _dl_find_object; it is
 * slower per capture (µs, not 100 ns), which only the slow path pays.
 * libunwind stays as the fallback when libgcc_s cannot be loaded.
 */
static _Unwind_Reason_Code (*lg_gcc_backtrace)(_Unwind_Trace_Fn, void *);
static _Unwind_Ptr (*lg_gcc_getip)(struct _Unwind_Context *);
static _Unwind_Word (*lg_gcc_getcfa)(struct _Unwind_Context *);

/* libunwind's, opened only when libgcc_s cannot be: linked into the shim
 * it would sit in the program's global scope, its _Unwind_* and
 * backtrace() ahead of libgcc_s's for the program's own use, and its
 * load (and liblzma's) would cost every run. */
static int (*lg_unw_backtrace)(void **, int);

static void lg_unwind_fallback(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h)
        lg_unw_backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
}

void lg_stacks_init(void)
{
    /* LOCKGRAPH_OPTIONS=unwinder=libunwind: the fallback, by choice
     * (a program whose libgcc_s unwinds wrongly; the fallback's test). */
    const char *o = getenv(LG_ENV_OPTIONS);
    if (o && strstr(o, "unwinder=libunwind")) {
        lg_unwind_fallback();
        return;
    }
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        lg_unwind_fallback();
        return;
    }
    lg_gcc_getip = (_Unwind_Ptr(*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetIP");
    lg_gcc_getcfa = (_Unwind_Word(*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetCFA");
    lg_gcc_backtrace = (_Unwind_Reason_Code(*)(_Unwind_Trace_Fn, void *))dlsym(h, "_Unwind_Backtrace");
    if (!lg_gcc_getip || !lg_gcc_backtrace) {
        lg_gcc_backtrace = NULL;
        lg_unwind_fallback();
    }
}

struct lg_bt {
    void **buf;
    uintptr_t *cfa;     /* per frame, _Unwind_GetCFA: its stack pointer (the CFA of the
                           frame it called, whose return address it is), or NULL */
    int n, max;
    uintptr_t stop_lo, stop_hi;     /* the last frame kept is the first one in here */
};

static _Unwind_Reason_Code lg_bt_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct lg_bt *bt = arg;
    uintptr_t ip = (uintptr_t)lg_gcc_getip(ctx);
    if (!ip)
        return _URC_END_OF_STACK;
    if (bt->cfa)
        bt->cfa[bt->n] = (uintptr_t)lg_gcc_getcfa(ctx);
    bt->buf[bt->n++] = (void *)ip;
    if (ip - bt->stop_lo < bt->stop_hi - bt->stop_lo)
        return _URC_END_OF_STACK;
    return bt->n >= bt->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* Fills buf (and cfa, when given and libgcc can say) innermost first;
 * returns the count and whether cfa was filled. With stop_hi > stop_lo,
 * the walk ends at the first frame in [stop_lo, stop_hi). */
static int lg_backtrace(void **buf, uintptr_t *cfa, int max, int *have_cfa, uintptr_t stop_lo, uintptr_t stop_hi)
{
    *have_cfa = 0;
    if (lg_gcc_backtrace) {
        struct lg_bt bt = {buf, lg_gcc_getcfa ? cfa : NULL, 0, max, stop_lo, stop_hi};
        lg_gcc_backtrace(lg_bt_frame, &bt);
        *have_cfa = bt.cfa != NULL;
        return bt.n;
    }
    return lg_unw_backtrace ? lg_unw_backtrace(buf, max) : 0;
}

/*
 * The Python site cache. In a Python process every new dependency used to
 * pay a full native unwind (tens of frames through the interpreter, µs
 * each time) before the stack table found a stack it already had: a run
 * of the CPython threading bench wrote 11,142 DEP records but had 436
 * distinct stacks. Now a capture first hashes the Python frames (cheap:
 * lg_py_site), and looks that site up here; an entry is taken only when
 * the native stack is *proven* the same: each of its return addresses is
 * read back from the slot, at a known distance from this function's frame,
 * where the unwind that made the entry found it. Same return addresses at
 * the same places is the same native stack (frames inside the shim are
 * cut anyway, and a different way through the shim only moves the slots:
 * a separate entry). So a hit gives exactly what a full capture would.
 *
 * Reads stay inside stack memory this thread has unwound through before:
 * [lg_stk_lo, lg_stk_hi), kept per thread from the captures that made
 * entries (one contiguous stack: a capture from another stack, e.g. a
 * signal's alternate stack, replaces the range instead of joining it).
 * Entries are immutable records in the arena; the table holds pointers
 * (32 KiB of .bss, touched as it fills); a full neighbourhood overwrites.
 */
#define LG_SITE_SLOTS 4096       /* power of two */
#define LG_SITE_PROBES 8
#define LG_SITE_MAXRECS 16384    /* entries made in all (~100 B each): a program that
                                    keeps making new code objects (exec, eval) makes
                                    new sites; past this, captures just unwind */

struct lg_siterec {
    uint64_t site;               /* lg_py_site() */
    struct lg_stackent *stack;
    uint32_t first;              /* frame address -> slot of pc[0] */
    uint32_t span;               /* frame address -> end of the last slot */
    uint32_t n;                  /* == stack->nframes */
    uint64_t pc0;                /* stack's innermost pc (a quick first check) */
    uint64_t pchash;             /* lg_pc_hash of all n pcs */
    uint16_t delta[];            /* slot k -> slot k + 1, n - 1 of them */
};

/* The slots are checked against a hash of the stack's return addresses,
 * not the addresses themselves: no walk through the stack's frame chain
 * (a cache miss per frame), and 64 bits, the same trust as the stack
 * table's own content hashes. */
static inline uint64_t lg_pc_hash(uint64_t h, uint64_t pc)
{
    h = (h ^ pc) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 31);
}

static _Atomic(struct lg_siterec *) lg_sitetab[LG_SITE_SLOTS];
static _Atomic uint32_t lg_site_rot, lg_site_nrecs;
static __thread uintptr_t lg_stk_lo LG_TLS, lg_stk_hi LG_TLS;

static inline uint64_t lg_load_slot(uintptr_t p)
{
    uint64_t v;
    memcpy(&v, (const void *)p, sizeof v);
    return v;
}

/* The entry for this capture: by site and hook_pc when the interpreter
 * called the wrapper (hook_pc nonzero; entries with n 0: the native part
 * is that address alone, nothing read back), else by site and the stack
 * slots read back from frame. */
static struct lg_stackent *lg_site_lookup(uint64_t site, uintptr_t frame, uint64_t hook_pc)
{
    uintptr_t lo = lg_stk_lo, hi = lg_stk_hi;
    if (!hook_pc && (frame < lo || frame >= hi))
        return NULL;
    uint32_t idx = (uint32_t)site & (LG_SITE_SLOTS - 1);
    for (int p = 0; p < LG_SITE_PROBES; p++, idx = (idx + 1) & (LG_SITE_SLOTS - 1)) {
        struct lg_siterec *r = atomic_load_explicit(&lg_sitetab[idx], memory_order_acquire);
        if (!r)
            return NULL;
        if (r->site != site || (r->n == 0) != (hook_pc != 0))
            continue;
        if (hook_pc) {
            if (r->pc0 == hook_pc)
                return r->stack;
            continue;
        }
        if (r->span > hi - frame)
            continue;
        uintptr_t at = frame + r->first;
        uint64_t v = lg_load_slot(at);
        if (v != r->pc0)
            continue;
        uint64_t h = lg_pc_hash(0x5851f42d4c957f2dull, v);
        for (uint32_t k = 0; k + 1 < r->n; k++) {
            at += r->delta[k];
            h = lg_pc_hash(h, lg_load_slot(at));
        }
        if (h == r->pchash)
            return r->stack;
    }
    return NULL;
}

/* A new entry with room for ndelta slot distances; NULL past the cap. */
static struct lg_siterec *lg_site_new(int ndelta)
{
    if (atomic_fetch_add_explicit(&lg_site_nrecs, 1, memory_order_relaxed) >= LG_SITE_MAXRECS)
        return NULL;
    return lg_arena_alloc(sizeof(struct lg_siterec) + sizeof(uint16_t) * (size_t)ndelta);
}

/* Into the first free slot of idx's neighbourhood; a full one loses an
 * entry, in turn. */
static void lg_site_put(uint32_t idx, struct lg_siterec *r)
{
    for (int p = 0; p < LG_SITE_PROBES; p++) {
        struct lg_siterec *zero = NULL;
        if (atomic_compare_exchange_strong_explicit(&lg_sitetab[(idx + p) & (LG_SITE_SLOTS - 1)], &zero, r,
                                                    memory_order_release, memory_order_relaxed))
            return;
    }
    uint32_t rot = atomic_fetch_add_explicit(&lg_site_rot, 1, memory_order_relaxed);
    atomic_store_explicit(&lg_sitetab[(idx + rot % LG_SITE_PROBES) & (LG_SITE_SLOTS - 1)], r,
                          memory_order_release);
}

/* After a full capture that found a new site (or a site with a native
 * stack not seen from here): make the entry, if every kept frame's return
 * address really sits just below the CFA libgcc gives for that frame's
 * context (the stack pointer of the frame, i.e. the CFA of the frame it
 * called), which a signal frame breaks: no entry then. i: frames cut
 * (ours); n: frames kept. */
static void lg_site_insert(uint64_t site, struct lg_stackent *s, uintptr_t frame, void **buf,
                           const uintptr_t *cfa, int i, int n)
{
    if (n < 1 || s->nframes != (uint32_t)n || !((const struct lg_stacknode *)s)->pcs)
        return;
    uint16_t delta[LG_STACK_MAX];
    uintptr_t first = cfa[i] - 8, prev = first;
    uint64_t pchash = 0x5851f42d4c957f2dull;
    if (first <= frame || first - frame >= (1u << 24))
        return;
    for (int k = 0; k < n; k++) {
        uintptr_t slot = cfa[i + k] - 8;
        if (k) {
            if (slot <= prev || slot - prev > 0xffff)
                return;
            delta[k - 1] = (uint16_t)(slot - prev);
        }
        if (lg_load_slot(slot) != (uint64_t)(uintptr_t)buf[i + k])
            return;
        pchash = lg_pc_hash(pchash, (uint64_t)(uintptr_t)buf[i + k]);
        prev = slot;
    }
    uintptr_t end = prev + 8;
    if (end - frame >= (1u << 24))
        return;
    /* This thread's readable range: [frame, end) is one stack. */
    if (lg_stk_hi && frame <= lg_stk_hi && end >= lg_stk_lo) {
        if (frame < lg_stk_lo)
            lg_stk_lo = frame;
        if (end > lg_stk_hi)
            lg_stk_hi = end;
    } else {
        lg_stk_lo = frame;
        lg_stk_hi = end;
    }
    uint32_t idx = (uint32_t)site & (LG_SITE_SLOTS - 1);
    for (int p = 0; p < LG_SITE_PROBES; p++) {
        struct lg_siterec *r = atomic_load_explicit(&lg_sitetab[(idx + p) & (LG_SITE_SLOTS - 1)], memory_order_acquire);
        if (!r)
            break;
        if (r->site == site && r->stack == s && r->first == (uint32_t)(first - frame))
            return;   /* another thread made it meanwhile */
    }
    struct lg_siterec *r = lg_site_new(n - 1);
    if (!r)
        return;
    r->site = site;
    r->stack = s;
    r->first = (uint32_t)(first - frame);
    r->span = (uint32_t)(end - frame);
    r->n = (uint32_t)n;
    r->pc0 = (uint64_t)(uintptr_t)buf[i];
    r->pchash = pchash;
    memcpy(r->delta, delta, sizeof(uint16_t) * (size_t)(n - 1));
    lg_site_put(idx, r);
}

/* After a capture the interpreter's call of a wrapper made (hook_pc). */
static void lg_site_insert_pc(uint64_t site, struct lg_stackent *s, uint64_t pc)
{
    if (!s || lg_site_lookup(site, 0, pc) == s)
        return;
    struct lg_siterec *r = lg_site_new(0);
    if (!r)
        return;
    r->site = site;
    r->stack = s;
    r->n = 0;
    r->pc0 = pc;
    lg_site_put((uint32_t)site & (LG_SITE_SLOTS - 1), r);
}

/* The full capture: unwind, cut our frames, Python frames, intern. frame:
 * lg_stack_capture's frame address; site: its Python site, 0 for none;
 * hook_pc: the wrapper's return address inside the interpreter, or 0
 * (with Python frames, it stands for the unwind; cleared when not used). */
static __attribute__((noinline)) struct lg_stackent *lg_stack_capture_full(uintptr_t frame, int py, uint64_t site,
                                                                           uint64_t hook_pc)
{
    void *buf[LG_STACK_MAX + 16];
    uintptr_t cfa[LG_STACK_MAX + 16];
    int have_cfa;
    struct lg_pyframe f[LG_PY_MAX];
    int np = py ? lg_py_capture(f, LG_PY_MAX) : 0;
    /* With Python frames, the native stack ends at the first frame inside
     * the interpreter: what lies below it is the interpreter's own (never
     * the user's; the Python frames tell that part), and not unwinding
     * through it keeps its unwind tables out of the program's memory. */
    int n;
    if (np && hook_pc) {
        /* The interpreter called the wrapper: the walk would cut our
         * frames and stop at this very address. */
        buf[0] = (void *)(uintptr_t)hook_pc;
        n = 1;
        have_cfa = 0;
    } else {
        int e = errno;
        n = lg_backtrace(buf, cfa, LG_STACK_MAX + 16, &have_cfa, np ? lg_g.pytext_lo : 0, np ? lg_g.pytext_hi : 0);
        errno = e;
        hook_pc = 0;
    }
    int i = 0;
    while (i < n && (uintptr_t)buf[i] - lg_g.self_lo < lg_g.self_hi - lg_g.self_lo)
        i++;
    void **pc = buf + i;
    n -= i;
    if (n > LG_STACK_MAX)
        n = LG_STACK_MAX;
    if (n < 0)
        n = 0;
    uint64_t key = 0x5bd1e995u;
    for (int k = 0; k < n; k++)
        key = mix64(key, (uint64_t)(uintptr_t)pc[k]);

    uint8_t pybuf[LG_PY_MAX * (8 + 160 + 64 + 4)];
    uint32_t pyoff[LG_PY_MAX + 1];
    uint32_t py_len = 0, npy = 0;
    pyoff[0] = 0;
    if (py) {
        for (int k = 0; k < np; k++) {
            uint16_t fl = f[k].file_len > 160 ? 160 : f[k].file_len;
            uint16_t nl = f[k].func_len > 64 ? 64 : f[k].func_len;
            uint8_t *p = pybuf + py_len;
            memcpy(p, &f[k].line, 4);
            memcpy(p + 4, &fl, 2);
            memcpy(p + 6, &nl, 2);
            if (fl)
                memcpy(p + 8, f[k].file + (f[k].file_len - fl), fl);  /* keep the file's tail */
            if (nl)
                memcpy(p + 8 + fl, f[k].func, nl);
            uint32_t len = (8u + fl + nl + 3u) & ~3u;
            memset(p + 8 + fl + nl, 0, len - (8u + fl + nl));
            for (uint32_t b = 0; b < len; b += 4) {
                uint32_t w;
                memcpy(&w, p + b, 4);
                key = mix64(key, w);
            }
            py_len += len;
            pyoff[++npy] = py_len;
        }
        key = mix64(key, npy);
    }
    struct lg_stackent *s = lg_stack_intern(key, pc, n, pybuf, py_len, npy, pyoff);
    if (s && site && hook_pc)
        lg_site_insert_pc(site, s, hook_pc);
    else if (s && site && have_cfa && npy)
        lg_site_insert(site, s, frame, buf, cfa, i, n);
    if (!hook_pc) {
        lg_unwind_note(pc, n);
        lg_unwind_release();
    }
    return s;
}

#ifdef LG_STACKS_VERIFY
/* Test builds: every site-cache hit is checked against a full capture. */
static _Atomic unsigned long lg_verify_hits, lg_verify_bad;
__attribute__((destructor)) static void lg_verify_say(void)
{
    char msg[128];
    unsigned long h = atomic_load(&lg_verify_hits), b = atomic_load(&lg_verify_bad);
    int len = 0;
    char num[2][24];
    unsigned long v[2] = {h, b};
    for (int j = 0; j < 2; j++) {
        int d = 0;
        char tmp[24];
        do tmp[d++] = (char)('0' + v[j] % 10); while ((v[j] /= 10) && d < 23);
        for (int q = 0; q < d; q++) num[j][q] = tmp[d - 1 - q];
        num[j][d] = 0;
    }
    len = 0;
    const char *parts[] = {"stack site cache: hits ", num[0], " mismatches ", num[1]};
    for (int j = 0; j < 4; j++) {
        size_t l = strlen(parts[j]);
        memcpy(msg + len, parts[j], l);
        len += (int)l;
    }
    msg[len] = 0;
    lg_say(msg);
}
#endif

struct lg_stackent *lg_stack_capture(struct lg_thread *t, uint64_t hook_pc)
{
    (void)t;
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    int py = lg_g.py && lg_py_active && lg_py_capture && lg_py_active();
    uint64_t site = 0;
    struct lg_stackent *s = NULL;
    if (!py || !lg_in_pytext(hook_pc))
        hook_pc = 0;
    if (py && lg_py_site && (hook_pc || lg_gcc_getcfa)) {
        site = lg_py_site(LG_PY_MAX);
        if (site)
            s = lg_site_lookup(site, frame, hook_pc);
    }
#ifdef LG_STACKS_VERIFY
    /* Test builds: every cache hit and every unwind-free capture is
     * checked against a full one. */
    int shortcut = s || hook_pc;
#endif
    if (!s)
        s = lg_stack_capture_full(frame, py, site, hook_pc);
#ifdef LG_STACKS_VERIFY
    if (shortcut) {
        atomic_fetch_add(&lg_verify_hits, 1);
        if (lg_stack_capture_full(frame, py, 0, 0) != s)
            atomic_fetch_add(&lg_verify_bad, 1);
    }
#endif
    return s;
}

/* A hash of the calling thread's innermost Python frame (its code object
 * and instruction), 0 when there is none. No name copy, no line lookup,
 * no allocation. */
uint64_t lg_py_where(void)
{
    if (!lg_g.py || !lg_py_line_key)
        return 0;
    return lg_py_line_key();
}

/* Contract: the stack's id in the current trace (1, 2, ...), writing its
 * STACK (and PYSTACK) record the first time; 0 for NULL or on failure. */
uint32_t lg_stack_id(struct lg_stackent *s)
{
    if (!s)
        return 0;
    uint64_t ep = (uint64_t)lg_g.epoch << 32;
    for (long w = 0; w < 10000000; w++) {
        uint64_t v = atomic_load_explicit(&s->epoch_id, memory_order_acquire);
        if ((v & ~0xffffffffull) == ep && (uint32_t)v != 0) {
            if ((uint32_t)v != LG_STACK_BUSY)
                return (uint32_t)v;
            __builtin_ia32_pause();
            continue;
        }
        if (!atomic_compare_exchange_strong(&s->epoch_id, &v, ep | LG_STACK_BUSY))
            continue;
        uint32_t id = atomic_fetch_add(&lg_next_stack_id, 1);
        struct lg_rec_hdr *h;
        struct lg_rec_stack *r = lg_rec_begin(sizeof *r + 8u * s->nframes, &h);
        if (r) {
            r->stack_id = id;
            r->nframes = s->nframes;
            const struct lg_inode *x = ((const struct lg_stacknode *)s)->pcs;
            for (uint32_t k = 0; k < s->nframes && x; k++, x = x->parent)
                r->pc[k] = x->val;
            lg_rec_commit(h, LG_REC_STACK, 0);
        }
        if (s->py_len) {
            struct lg_rec_pystack *p = lg_rec_begin(sizeof *p + s->py_len, &h);
            if (p) {
                p->stack_id = id;
                p->nframes = s->npy;
                uint32_t off = 0;
                for (const struct lg_inode *x = ((const struct lg_stacknode *)s)->pys; x && off < s->py_len;
                     x = x->parent) {
                    const struct lg_pyblob *b = (const struct lg_pyblob *)(uintptr_t)x->val;
                    memcpy(p->frames + off, b->data, b->len);
                    off += b->len;
                }
                lg_rec_commit(h, LG_REC_PYSTACK, 0);
            }
        }
        atomic_store_explicit(&s->epoch_id, ep | id, memory_order_release);
        return id;
    }
    return 0;
}
