/* SPDX-License-Identifier: MIT */
/*
 * stacks.c — stack capture (libgcc's unwinder, libunwind as fallback) and
 * interning: each distinct stack
 * (native frames + Python frames) is kept once in a global lock-free table
 * and written as a STACK (+ PYSTACK) record the first time a record of the
 * current trace refers to it. Also the module map (MODULE records).
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <unwind.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_pyframes.h"
#include "lg_shim.h"

#pragma weak lg_py_active
#pragma weak lg_py_capture

#define LG_STACKTAB_BITS 17
#define LG_STACKTAB_SIZE (1u << LG_STACKTAB_BITS)
#define LG_STACK_BUSY 0xffffffffu

static struct lg_stackent *lg_stacktab;
static _Atomic uint32_t lg_next_stack_id = 1;
static _Atomic int lg_stacktab_full_said;

static inline uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static int lg_stacktab_init(void)
{
    static _Atomic int spin;
    if (lg_stacktab)
        return 0;
    while (atomic_exchange_explicit(&spin, 1, memory_order_acquire))
        __builtin_ia32_pause();
    if (!lg_stacktab) {
        void *m = mmap(NULL, sizeof(struct lg_stackent) * LG_STACKTAB_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m != MAP_FAILED)
            __atomic_store_n(&lg_stacktab, (struct lg_stackent *)m, __ATOMIC_RELEASE);
    }
    atomic_store_explicit(&spin, 0, memory_order_release);
    return lg_stacktab ? 0 : -1;
}

/* ---- modules ----------------------------------------------------------- */

#define LG_MAX_MODULES 2048
static struct { uintptr_t lo, hi; } lg_mods[LG_MAX_MODULES];
static _Atomic int lg_nmods;
static _Atomic int lg_mod_spin;

static int lg_pc_known(uintptr_t pc)
{
    int n = atomic_load_explicit(&lg_nmods, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (pc >= lg_mods[i].lo && pc < lg_mods[i].hi)
            return 1;
    return 0;
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
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo) lo = a;
        if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
    }
    if (hi == 0)
        return 0;
    int n = atomic_load(&lg_nmods);
    for (int i = 0; i < n; i++)
        if (lg_mods[i].lo == lo && lg_mods[i].hi == hi)
            return 0;
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
    if (atomic_exchange_explicit(&lg_mod_spin, 1, memory_order_acquire))
        return;   /* another thread is scanning right now */
    dl_iterate_phdr(lg_module_cb, NULL);
    atomic_store_explicit(&lg_mod_spin, 0, memory_order_release);
}

/* Fork child: new trace, so ids and the module map start over. */
void lg_stacks_reset_for_child(void)
{
    atomic_store(&lg_next_stack_id, 1);
    atomic_store(&lg_nmods, 0);
    atomic_store(&lg_mod_spin, 0);
}

/* ---- capture and intern ------------------------------------------------ */

static struct lg_stackent *lg_stack_intern(uint64_t key, void **pc, int n, const uint8_t *py, uint32_t py_len,
                                           uint32_t npy)
{
    if (lg_stacktab_init() != 0)
        return NULL;
    if (!key)
        key = 1;
    uint32_t idx = (uint32_t)(key >> 20) & (LG_STACKTAB_SIZE - 1);
    for (uint32_t probe = 0; probe < 64; probe++, idx = (idx + 1) & (LG_STACKTAB_SIZE - 1)) {
        struct lg_stackent *s = &lg_stacktab[idx];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == 0) {
            uint64_t zero = 0;
            if (!atomic_compare_exchange_strong(&s->key, &zero, key)) {
                k = zero;
                goto compare;
            }
            /* Won the slot: 64-bit content hashes stand for the frames
             * themselves (a collision merges two stacks; accepted). */
            uint64_t *cp = lg_arena_alloc(sizeof(uint64_t) * (size_t)n);
            uint8_t *pyc = py_len ? lg_arena_alloc(py_len) : NULL;
            if (cp)
                for (int i = 0; i < n; i++)
                    cp[i] = (uint64_t)(uintptr_t)pc[i];
            if (pyc)
                memcpy(pyc, py, py_len);
            s->pc = cp;
            s->nframes = cp ? (uint32_t)n : 0;
            s->py = pyc;
            s->py_len = pyc ? py_len : 0;
            s->npy = pyc ? npy : 0;
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            for (int i = 0; i < n; i++)
                if (!lg_pc_known((uintptr_t)pc[i])) {
                    lg_modules_scan();   /* dlopen'ed since the last scan */
                    break;
                }
            return s;
        }
    compare:
        if (k == key) {
            for (long w = 0; !atomic_load_explicit(&s->ready, memory_order_acquire); w++)
                if (w > 10000000)
                    return NULL;
            return s;
        }
    }
    if (!atomic_exchange(&lg_stacktab_full_said, 1))
        lg_say("stack table is full; new stacks are not recorded");
    return NULL;
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

void lg_stacks_init(void)
{
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    lg_gcc_getip = (_Unwind_Ptr(*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetIP");
    lg_gcc_backtrace = (_Unwind_Reason_Code(*)(_Unwind_Trace_Fn, void *))dlsym(h, "_Unwind_Backtrace");
    if (!lg_gcc_getip)
        lg_gcc_backtrace = NULL;
}

struct lg_bt {
    void **buf;
    int n, max;
};

static _Unwind_Reason_Code lg_bt_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct lg_bt *bt = arg;
    uintptr_t ip = (uintptr_t)lg_gcc_getip(ctx);
    if (!ip)
        return _URC_END_OF_STACK;
    bt->buf[bt->n++] = (void *)ip;
    return bt->n >= bt->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

static int lg_backtrace(void **buf, int max)
{
    if (lg_gcc_backtrace) {
        struct lg_bt bt = {buf, 0, max};
        lg_gcc_backtrace(lg_bt_frame, &bt);
        return bt.n;
    }
    return unw_backtrace(buf, max);
}

struct lg_stackent *lg_stack_capture(struct lg_thread *t, int flags)
{
    void *buf[LG_STACK_MAX + 16];
    int e = errno;
    int n = lg_backtrace(buf, LG_STACK_MAX + 16);
    errno = e;
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
    uint32_t py_len = 0, npy = 0;
    if (lg_g.py && lg_py_active && lg_py_capture && lg_py_active()) {
        struct lg_pyframe f[LG_PY_MAX];
        int np = lg_py_capture(f, LG_PY_MAX);
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
            npy++;
        }
        key = mix64(key, npy);
    }
    return lg_stack_intern(key, pc, n, py_len ? pybuf : NULL, py_len, npy);
}

/* A hash of the calling thread's innermost Python frame (file, function,
 * line), 0 when there is none. One frame: tens of ns, no allocation. */
uint64_t lg_py_where(void)
{
    if (!lg_g.py || !lg_py_active || !lg_py_capture || !lg_py_active())
        return 0;
    struct lg_pyframe f;
    if (lg_py_capture(&f, 1) != 1)
        return 0;
    uint64_t h = mix64(0x51afd7ed558ccdffull, (uint64_t)(uintptr_t)f.file);
    h = mix64(h, ((uint64_t)f.file_len << 32) | f.func_len);
    h = mix64(h, (uint64_t)(uintptr_t)f.func);
    return mix64(h, f.line);
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
            memcpy(r->pc, s->pc, 8u * s->nframes);
            lg_rec_commit(h, LG_REC_STACK, 0);
        }
        if (s->py_len) {
            struct lg_rec_pystack *p = lg_rec_begin(sizeof *p + s->py_len, &h);
            if (p) {
                p->stack_id = id;
                p->nframes = s->npy;
                memcpy(p->frames, s->py, s->py_len);
                lg_rec_commit(h, LG_REC_PYSTACK, 0);
            }
        }
        atomic_store_explicit(&s->epoch_id, ep | id, memory_order_release);
        return id;
    }
    return 0;
}
