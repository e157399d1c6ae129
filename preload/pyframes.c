/* SPDX-License-Identifier: MIT */
/*
 * pyframes.c — Python source locations for the shim's hooks (lg_pyframes.h).
 * Finds the interpreter once with dlsym, then walks the calling thread's
 * own CPython 3.11 frame stack read-only: no GIL, no allocation, no
 * refcount change, no Python code. The layouts it reads are in
 * pyframes_py311.h; any other version is reported and left alone.
 */
#include "lg_pyframes.h"
#include "pyframes_py311.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#if defined(__LP64__) || defined(_LP64)
#define LG_PY_WALKER 1          /* the offsets in pyframes_py311.h are LP64 */
#else
#define LG_PY_WALKER 0
#endif

/* A walk never follows more links than this, complete or not: a damaged or
 * misread frame chain costs the rest of the stack, never a hang. */
#define LG_PY_MAX_WALK 512

enum { PY_UNTRIED, PY_BUSY, PY_DONE };

static struct {
    int state;                          /* PY_*, changed atomically */
    int found;                          /* an interpreter is linked in */
    int supported;                      /* ... and its layout is known */
    int (*is_initialized)(void);
    void *(*this_tstate)(void);         /* PyGILState_GetThisThreadState */
    const void *code_type;              /* &PyCode_Type */
    const void *unicode_type;           /* &PyUnicode_Type */
    const void *bytes_type;             /* &PyBytes_Type */
    uintptr_t runtime_lo, runtime_hi;   /* &_PyRuntime, + its st_size */
    int runtime_fast;                   /* read it directly (this_tstate) */
    uintptr_t text_lo, text_hi;         /* the interpreter's executable segment */
    char version[32];                   /* "3.11.7", from Py_GetVersion */
#ifdef LG_PYFRAMES_SELFTEST
    int (*addr2line)(const void *code, int addrq);  /* PyCode_Addr2Line */
#endif
} py;

#ifdef LG_PYFRAMES_SELFTEST
/* Test builds (tests/python) check every decoded line against the
 * interpreter's own PyCode_Addr2Line, which is read-only in 3.11 too. */
static unsigned long selftest_lines, selftest_mismatches;
void lg_py_selftest_counts(unsigned long *lines, unsigned long *mismatches)
{
    *lines = __atomic_load_n(&selftest_lines, __ATOMIC_RELAXED);
    *mismatches = __atomic_load_n(&selftest_mismatches, __ATOMIC_RELAXED);
}
#endif

static inline const char *load_ptr(const char *base, size_t off)
{
    const char *p;
    memcpy(&p, base + off, sizeof p);
    return p;
}

static inline int64_t load_i64(const char *base, size_t off)
{
    int64_t v;
    memcpy(&v, base + off, sizeof v);
    return v;
}

static inline int32_t load_i32(const char *base, size_t off)
{
    int32_t v;
    memcpy(&v, base + off, sizeof v);
    return v;
}

/* Looks a symbol up once. Failed lookups malloc (FACTS §2), which is why
 * this runs only from lg_py_init, and stops at the first missing symbol. */
static void *lookup(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

/* Records [&_PyRuntime, +size): the GIL's mutexes and condvars live there. */
static void find_runtime_range(void)
{
    void *runtime = lookup("_PyRuntime");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;

    if (!runtime)
        return;
    if (!dladdr1(runtime, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
        sym->st_size == 0)
        return;
    py.runtime_lo = (uintptr_t)runtime;
    py.runtime_hi = (uintptr_t)runtime + sym->st_size;
}

/* The executable segment of the object that defines `fn` (python3.X
 * itself, or libpython3.X.so). */
static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t fn = (uintptr_t)data;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && fn - lo < ph->p_memsz) {
            py.text_lo = lo;
            py.text_hi = lo + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

static void copy_version(const char *full)
{
    size_t n = 0;

    while (full[n] && full[n] != ' ' && n < sizeof py.version - 1)
        n++;
    memcpy(py.version, full, n);
    py.version[n] = '\0';
}

static int supported(void)
{
    return __atomic_load_n(&py.state, __ATOMIC_ACQUIRE) == PY_DONE &&
           py.supported;
}

/* Py_IsInitialized(), read from _PyRuntime when its layout is known. */
static inline int interp_initialized(void)
{
    if (py.runtime_fast)
        return load_i32((const char *)py.runtime_lo, LG_PY311_RUNTIME_INITIALIZED) != 0;
    return py.is_initialized();
}

static void init_once(void)
{
    const char *(*get_version)(void) =
        (const char *(*)(void))lookup("Py_GetVersion");

    if (!get_version)
        return;                         /* not a Python process: one miss */
    py.found = 1;
    copy_version(get_version());
    find_runtime_range();
    dl_iterate_phdr(find_text, (void *)(uintptr_t)get_version);
    if (!LG_PY_WALKER || strncmp(py.version, "3.11.", 5) != 0)
        return;
    py.is_initialized = (int (*)(void))lookup("Py_IsInitialized");
    if (py.is_initialized)
        py.this_tstate = (void *(*)(void))lookup("PyGILState_GetThisThreadState");
    if (py.this_tstate)
        py.code_type = lookup("PyCode_Type");
    if (py.code_type)
        py.unicode_type = lookup("PyUnicode_Type");
    if (py.unicode_type)
        py.bytes_type = lookup("PyBytes_Type");
#ifdef LG_PYFRAMES_SELFTEST
    if (py.bytes_type)
        py.addr2line = (int (*)(const void *, int))lookup("PyCode_Addr2Line");
    if (!py.addr2line)
        return;
#endif
    py.supported = py.bytes_type != NULL;
    py.runtime_fast = py.runtime_hi - py.runtime_lo >= LG_PY311_RUNTIME_TSTATE_CURRENT + 8;
}

/* Thread-safe and idempotent; a caller that races a running init sees 0
 * until it has finished (the shim calls it once, from its lazy init). */
int lg_py_init(void)
{
    int expected = PY_UNTRIED;

    if (__atomic_compare_exchange_n(&py.state, &expected, PY_BUSY, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        init_once();
        __atomic_store_n(&py.state, PY_DONE, __ATOMIC_RELEASE);
    }
    return supported();
}

const char *lg_py_version(void)
{
    if (__atomic_load_n(&py.state, __ATOMIC_ACQUIRE) != PY_DONE || !py.found)
        return NULL;
    return py.version;
}

int lg_py_active(void)
{
    return supported() && interp_initialized();
}

void lg_py_text_range(uintptr_t *lo, uintptr_t *hi)
{
    if (!supported()) {
        *lo = *hi = 0;
        return;
    }
    *lo = py.text_lo;
    *hi = py.text_hi;
}

void lg_py_runtime_range(uintptr_t *lo, uintptr_t *hi)
{
    if (__atomic_load_n(&py.state, __ATOMIC_ACQUIRE) != PY_DONE) {
        *lo = *hi = 0;
        return;
    }
    *lo = py.runtime_lo;
    *hi = py.runtime_hi;
}

/* An object pointer we may dereference for its type: non-NULL, aligned. */
static inline int plausible(const char *obj)
{
    return obj && ((uintptr_t)obj & 7) == 0;
}

static inline int has_type(const char *obj, const void *type)
{
    return plausible(obj) && load_ptr(obj, LG_PY311_OB_TYPE) == type;
}

/* Where non-ASCII names are encoded to UTF-8 during one capture. Per
 * thread, initial-exec (no allocation on first touch, FACTS §2); what it
 * holds is valid until the thread's next capture, which the header's
 * "copy before the call returns" already covers. */
#define LG_PY_SCRATCH 512
static __thread char scratch_buf[LG_PY_SCRATCH] __attribute__((tls_model("initial-exec")));

struct scratch {
    char *next;
    size_t left;
};

/* Encodes `count` code points of a compact str of kind 1, 2 or 4 bytes
 * into the scratch area. Lone surrogates U+DC80..U+DCFF stand for the raw
 * bytes of an undecodable file name (surrogateescape) and get them back. */
static int encode_utf8(const char *data, int kind, int64_t count,
                       struct scratch *s, const char **text, uint16_t *len)
{
    char *start = s->next, *o = s->next, *end = s->next + s->left;

    for (int64_t i = 0; i < count; i++) {
        uint32_t c;

        if (kind == 1)
            c = ((const uint8_t *)data)[i];
        else if (kind == 2) {
            uint16_t u;
            memcpy(&u, data + 2 * i, 2);
            c = u;
        } else {
            memcpy(&c, data + 4 * i, 4);
        }
        if (end - o < 4)
            return 0;                   /* no room: name unknown */
        if (c < 0x80) {
            *o++ = (char)c;
        } else if (c >= 0xDC80 && c <= 0xDCFF) {
            *o++ = (char)(c - 0xDC00);
        } else if (c < 0x800) {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 63));
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF)
                c = '?';                /* other lone surrogates */
            if (c < 0x80) {
                *o++ = (char)c;
                continue;
            }
            *o++ = (char)(0xE0 | (c >> 12));
            *o++ = (char)(0x80 | ((c >> 6) & 63));
            *o++ = (char)(0x80 | (c & 63));
        } else if (c < 0x110000) {
            *o++ = (char)(0xF0 | (c >> 18));
            *o++ = (char)(0x80 | ((c >> 12) & 63));
            *o++ = (char)(0x80 | ((c >> 6) & 63));
            *o++ = (char)(0x80 | (c & 63));
        } else {
            return 0;
        }
    }
    if (o == start)
        return 0;
    *text = start;
    *len = (uint16_t)(o - start);
    s->left -= (size_t)(o - start);
    s->next = o;
    return 1;
}

/* The UTF-8 bytes of a str without creating any object: the inline data
 * of a compact ASCII string, else CPython's own UTF-8 cache when filled,
 * else an encoding of a compact string into the scratch area. Returns 0
 * (name unknown) otherwise. */
static int str_view(const char *obj, struct scratch *s, const char **text, uint16_t *len)
{
    uint32_t state;
    int64_t n;
    const char *data;
    int kind;

    if (!has_type(obj, py.unicode_type))
        return 0;
    memcpy(&state, obj + LG_PY311_STR_STATE, sizeof state);
    if ((state & LG_PY311_STR_STATE_COMPACT) && (state & LG_PY311_STR_STATE_ASCII)) {
        data = obj + LG_PY311_STR_ASCII_DATA;
        n = load_i64(obj, LG_PY311_STR_LENGTH);
    } else {
        data = load_ptr(obj, LG_PY311_STR_UTF8);
        n = load_i64(obj, LG_PY311_STR_UTF8_LENGTH);
    }
    if (data && n > 0) {
        *text = data;
        *len = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
        return 1;
    }
    kind = (int)((state & LG_PY311_STR_STATE_KIND) >> LG_PY311_STR_STATE_KIND_SHIFT);
    n = load_i64(obj, LG_PY311_STR_LENGTH);
    if (!(state & LG_PY311_STR_STATE_COMPACT) || n <= 0 ||
        (kind != 1 && kind != 2 && kind != 4))
        return 0;
    return encode_utf8(obj + LG_PY311_STR_COMPACT_DATA, kind, n, s, text, len);
}

static unsigned scan_varint(const uint8_t **p, const uint8_t *end)
{
    unsigned byte, value, shift = 0;

    if (*p >= end)
        return 0;
    byte = *(*p)++;
    value = byte & 63;
    while ((byte & 64) && *p < end && shift < 24) {
        byte = *(*p)++;
        shift += 6;
        value |= (byte & 63) << shift;
    }
    return value;
}

static int scan_signed_varint(const uint8_t **p, const uint8_t *end)
{
    unsigned u = scan_varint(p, end);

    return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

/* The line of code unit `lasti`, decoded from a 3.11 co_linetable the way
 * _PyCode_CheckLineNumber does (Objects/codeobject.c); 0 when the
 * instruction has no line or the table ends first. */
static uint32_t line_of(const char *code, int64_t lasti)
{
    const char *table = load_ptr(code, LG_PY311_CODE_LINETABLE);
    int line = load_i32(code, LG_PY311_CODE_FIRSTLINENO);
    const uint8_t *p, *end;
    int64_t start = 0, size;

    if (lasti < 0)
        return line > 0 ? (uint32_t)line : 0;
    if (!has_type(table, py.bytes_type))
        return 0;
    size = load_i64(table, LG_PY311_OB_SIZE);
    if (size <= 0)
        return 0;
    p = (const uint8_t *)table + LG_PY311_BYTES_SVAL;
    end = p + size;
    while (p < end) {
        uint8_t first = *p++;
        int kind = (first >> 3) & 15;
        int64_t stop = start + (first & 7) + 1;

        if (!(first & 128))
            return 0;                   /* not at an entry: unsure */
        switch (kind) {
        case LG_PY311_LOC_NONE:
            break;
        case LG_PY311_LOC_NO_COLUMNS:
        case LG_PY311_LOC_LONG:
            line += scan_signed_varint(&p, end);
            break;
        case LG_PY311_LOC_ONE_LINE1:
            line += 1;
            break;
        case LG_PY311_LOC_ONE_LINE2:
            line += 2;
            break;
        default:                        /* short forms, ONE_LINE0: same line */
            break;
        }
        if (lasti < stop)
            return (kind == LG_PY311_LOC_NONE || line <= 0) ? 0 : (uint32_t)line;
        while (p < end && !(*p & 128))
            p++;                        /* column data of this entry */
        start = stop;
    }
    return 0;
}

/* The line of code unit `lasti` of `code`, through a small global cache:
 * decoding scans the line table from its start, which on a long function
 * is most of what a capture costs, and the shim asks for the same few
 * hundred (code, instruction) pairs again and again. One 64-bit word per
 * entry (never torn): the top 40 bits of a hash of the code object, its
 * line table, first line and the instruction, the low 24 bits the line. A
 * code object freed and another made at the same address with the same
 * line table address, first line and instruction would get a stale line:
 * accepted, like a 64-bit stack hash collision. */
#define LG_PY_LINECACHE 4096            /* power of two; 32 KiB of .bss, touched lazily */
#define LG_PY_LINE_BITS 24
static uint64_t line_cache[LG_PY_LINECACHE];

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static inline uint64_t rotl64(uint64_t v, int r)
{
    return (v << r) | (v >> (64 - r));
}

/* What a code object's lines depend on, beyond its address (a freed code
 * object's address, and its line table's, are reused by the next one of the
 * same size, as exec/eval of generated code does): the line table's
 * address, size, first and last 8 bytes, and the first line. Not a
 * proof, but two generations of code alike in all of these and in the
 * instruction asked about, yet with different lines, are far-fetched.
 * with_tail 0 leaves the last 8 bytes out, for the key read on every
 * acquisition (lg_py_line_key): the table's tail is a line of memory the
 * interpreter never touches, a cache miss per call. What the tail guards
 * against there would only make a repeat of the same locks cite the
 * older code's line (the key's locks are the locks). */
static inline uint64_t line_identity(const char *code, int with_tail)
{
    const char *table = load_ptr(code, LG_PY311_CODE_LINETABLE);
    uint64_t head = 0, tail = 0;
    int64_t size = 0;

    if (has_type(table, py.bytes_type)) {
        const char *data = table + LG_PY311_BYTES_SVAL;

        size = load_i64(table, LG_PY311_OB_SIZE);
        if (size >= 8)
            memcpy(&head, data, 8);
        if (with_tail && size >= 16)
            memcpy(&tail, data + size - 8, 8);
    }
    return mix((uint64_t)(uintptr_t)table ^ ((uint64_t)size << 40) ^ (uint32_t)load_i32(code, LG_PY311_CODE_FIRSTLINENO),
               head ^ rotl64(tail, 29));
}

static uint32_t line_of_cached(const char *code, int64_t lasti)
{
    uint64_t h = mix(mix((uint64_t)(uintptr_t)code, line_identity(code, 1)), (uint64_t)lasti);
    uint64_t tag = h & ~((1ull << LG_PY_LINE_BITS) - 1);
    uint64_t *slot = &line_cache[h & (LG_PY_LINECACHE - 1)];
    uint64_t v = __atomic_load_n(slot, __ATOMIC_RELAXED);
    uint32_t line;

    if (tag && (v & ~((1ull << LG_PY_LINE_BITS) - 1)) == tag)
        return (uint32_t)(v & ((1ull << LG_PY_LINE_BITS) - 1));
    line = line_of(code, lasti);
    if (tag && line < (1u << LG_PY_LINE_BITS))
        __atomic_store_n(slot, tag | line, __ATOMIC_RELAXED);
    return line;
}

/* The calling thread's frames, innermost first: tstate->cframe->
 * current_frame, then ->previous. Reading is safe because only the calling
 * thread changes its own frame stack, and it is here, inside a hook, not
 * changing it. Frames still being set up (_PyFrame_IsIncomplete) are
 * skipped; an object whose type is not what the layout says ends the walk.
 * Known gap: a daemon thread that enters a GIL-free hook while another
 * thread is finalising the interpreter may read its thread state as it is
 * freed; Py_IsInitialized() is already 0 by then in all but a tiny window. */
struct walk {
    const char *frame;
    const char *inner;                  /* the frame visited before, or NULL */
    int steps;
    int callee_inlined;                 /* the frame inside this one was pushed
                                           by CALL itself, not through C */
    const char *code;                   /* of the frame last returned */
    int64_t lasti, units;               /* its instruction, its code size */
};

/* The calling thread's thread state. With the GIL held (every hook
 * reached from Python code but a blocking wait's), it is the GIL
 * holder's, _PyRuntime.gilstate.tstate_current, whose thread_id says so:
 * two loads instead of PyGILState_GetThisThreadState() (a TLS key
 * lookup), which remains for a thread without the GIL. The holder's pointer read racily by such a
 * thread may be stale; its thread_id is then not ours. */
static inline const char *this_tstate(void)
{
    if (py.runtime_fast) {
        const char *cur = __atomic_load_n(
            (const char *const *)(py.runtime_lo + LG_PY311_RUNTIME_TSTATE_CURRENT), __ATOMIC_RELAXED);

        if (plausible(cur) && (uint64_t)load_i64(cur, LG_PY311_TSTATE_THREAD_ID) ==
                                  (uint64_t)pthread_self())
            return cur;
    }
    return py.this_tstate();
}

static int walk_start(struct walk *w)
{
    const char *tstate, *cframe;

    if (!supported() || !interp_initialized())
        return 0;
    tstate = this_tstate();
    if (!plausible(tstate))
        return 0;
    cframe = load_ptr(tstate, LG_PY311_TSTATE_CFRAME);
    if (!plausible(cframe))
        return 0;
    w->frame = load_ptr(cframe, LG_PY311_CFRAME_CURRENT_FRAME);
    w->inner = NULL;
    w->steps = 0;
    return 1;
}

/* Advances to the next complete frame; 0 at the end or when unsure. */
static int walk_next(struct walk *w)
{
    while (plausible(w->frame) && w->steps++ < LG_PY_MAX_WALK) {
        const char *frame = w->frame;
        const char *code = load_ptr(frame, LG_PY311_FRAME_F_CODE);
        const char *instr = load_ptr(frame, LG_PY311_FRAME_PREV_INSTR);
        const char *first, *traceable;

        const char *inner = w->inner;

        if (!has_type(code, py.code_type))
            return 0;
        w->inner = frame;
        w->frame = load_ptr(frame, LG_PY311_FRAME_PREVIOUS);
        first = code + LG_PY311_CODE_CODE_ADAPTIVE;
        traceable = first + LG_PY311_CODEUNIT_SIZE *
                    (int64_t)load_i32(code, LG_PY311_CODE_FIRSTTRACEABLE);
        if (*(frame + LG_PY311_FRAME_OWNER) != LG_PY311_FRAME_OWNED_BY_GENERATOR &&
            instr < traceable)
            continue;                   /* incomplete: not started yet */
        w->units = load_i64(code, LG_PY311_OB_SIZE);
        w->lasti = (instr - first) / LG_PY311_CODEUNIT_SIZE;
        if (w->lasti >= w->units)
            return 0;                   /* outside its own code: unsure */
        w->code = code;
        w->callee_inlined = inner && !*(inner + LG_PY311_FRAME_IS_ENTRY);
        return 1;
    }
    return 0;
}

int lg_py_capture(struct lg_pyframe *out, int max)
{
    struct walk w;
    struct scratch names = { scratch_buf, sizeof scratch_buf };
    int n = 0;

    if (max <= 0 || !walk_start(&w))
        return 0;
    while (n < max && walk_next(&w)) {
        struct lg_pyframe *f = &out[n++];

        f->line = line_of_cached(w.code, w.lasti);
#ifdef LG_PYFRAMES_SELFTEST
        {
            int want = py.addr2line(w.code, (int)(w.lasti * LG_PY311_CODEUNIT_SIZE));
            __atomic_add_fetch(&selftest_lines, 1, __ATOMIC_RELAXED);
            if ((uint32_t)(want < 0 ? 0 : want) != f->line)
                __atomic_add_fetch(&selftest_mismatches, 1, __ATOMIC_RELAXED);
        }
#endif
        if (!str_view(load_ptr(w.code, LG_PY311_CODE_FILENAME), &names, &f->file, &f->file_len)) {
            f->file = NULL;
            f->file_len = 0;
        }
        if (!str_view(load_ptr(w.code, LG_PY311_CODE_NAME), &names, &f->func, &f->func_len)) {
            f->func = NULL;
            f->func_len = 0;
        }
    }
    return n;
}

/* What lg_py_capture's result depends on for one frame's names: the str
 * objects themselves, and, for one that is not compact ASCII, whether its
 * UTF-8 cache is filled (str_view reads it then). */
static inline uint64_t name_identity(const char *obj)
{
    uint32_t state;

    if (!has_type(obj, py.unicode_type))
        return (uint64_t)(uintptr_t)obj;    /* str_view: name unknown */
    memcpy(&state, obj + LG_PY311_STR_STATE, sizeof state);
    if ((state & LG_PY311_STR_STATE_COMPACT) && (state & LG_PY311_STR_STATE_ASCII))
        return (uint64_t)(uintptr_t)obj;
    return (uint64_t)(uintptr_t)obj ^ ((uint64_t)(uintptr_t)load_ptr(obj, LG_PY311_STR_UTF8) << 1) ^ state;
}

uint64_t lg_py_site(int max)
{
    struct walk w;
    uint64_t h = 0x2f8d3a1c6b5e4907ull;
    int n = 0;

    if (max <= 0 || !walk_start(&w))
        return 0;
    while (n < max && walk_next(&w)) {
        const char *code = w.code;

        /* The code object and instruction; what its line and names
         * depend on besides (line_identity, name_identity). */
        h = mix(h, (uint64_t)(uintptr_t)code ^ ((uint64_t)w.lasti << 47) ^ ((uint64_t)w.lasti >> 17));
        h = mix(h, line_identity(code, 1));
        h = mix(h, name_identity(load_ptr(code, LG_PY311_CODE_FILENAME)) ^
                   rotl64(name_identity(load_ptr(code, LG_PY311_CODE_NAME)), 32));
        n++;
    }
    if (!n)
        return 0;
    h = mix(h, (uint64_t)n);
    return h ? h : 1;
}

uint64_t lg_py_line_key(void)
{
    struct walk w;
    uint64_t h;

    if (!walk_start(&w) || !walk_next(&w))
        return 0;
    /* The code object and instruction, and what its line depends on
     * besides (line_identity, its tail left out): no line table scan,
     * no cache probe. */
    h = mix((uint64_t)(uintptr_t)w.code ^ ((uint64_t)w.lasti << 47) ^ ((uint64_t)w.lasti >> 17),
            line_identity(w.code, 0));
    h = mix(h, (uint64_t)(uintptr_t)load_ptr(w.code, LG_PY311_CODE_FILENAME) ^
               rotl64((uint64_t)(uintptr_t)load_ptr(w.code, LG_PY311_CODE_NAME), 32));
    return h ? h : 1;
}

/* --- the variable a new lock is stored into -------------------------------- */

enum { USER_CODE, LIBRARY_CODE, IMPORT_CODE };

/* Whose code this is: the import system's (frozen importlib), the standard
 * library's or an installed package's (other frozen modules, files under
 * .../lib/python3.X/ with site-packages, Debian's /usr/lib/python3/), or
 * the user's. */
static int code_owner(const char *code)
{
    const char *obj = load_ptr(code, LG_PY311_CODE_FILENAME);
    const char *text;
    int64_t n;
    uint32_t state;

    if (!has_type(obj, py.unicode_type))
        return USER_CODE;
    memcpy(&state, obj + LG_PY311_STR_STATE, sizeof state);
    if (!(state & LG_PY311_STR_STATE_COMPACT) || !(state & LG_PY311_STR_STATE_ASCII))
        return USER_CODE;               /* a non-ASCII path is the user's */
    text = obj + LG_PY311_STR_ASCII_DATA;
    n = load_i64(obj, LG_PY311_STR_LENGTH);
    if (n >= 17 && memcmp(text, "<frozen importlib", 17) == 0)
        return IMPORT_CODE;
    if (n >= 8 && memcmp(text, "<frozen ", 8) == 0)
        return LIBRARY_CODE;
    if (memmem(text, (size_t)n, "/lib/python3.", 13) ||      /* stdlib, site-packages */
        memmem(text, (size_t)n, "/lib/python3/", 13))        /* Debian's dist-packages */
        return LIBRARY_CODE;
    return USER_CODE;
}

/* The instruction at code unit `at` (EXTENDED_ARG prefixes folded in). */
static int instr_at(const char *code, int64_t units, int64_t *at, int *op, uint32_t *arg)
{
    const uint16_t *unit = (const uint16_t *)(code + LG_PY311_CODE_CODE_ADAPTIVE);
    uint32_t ext = 0;

    for (int prefixes = 0; *at < units && prefixes < 4; prefixes++) {
        uint16_t u = unit[*at];

        *op = u & 255;
        *arg = ext << 8 | (uint32_t)(u >> 8);
        if (*op != LG_PY311_OP_EXTENDED_ARG && *op != LG_PY311_OP_EXTENDED_ARG_QUICK)
            return 1;
        ext = *arg;
        (*at)++;
    }
    return 0;
}

/* Item `i` of a tuple of names, as text. */
static int name_at(const char *tuple, uint32_t i, struct scratch *s,
                   const char **text, uint16_t *len)
{
    if (!plausible(tuple) || (int64_t)i >= load_i64(tuple, LG_PY311_OB_SIZE))
        return 0;
    return str_view(load_ptr(tuple, LG_PY311_TUPLE_ITEMS + 8 * (size_t)i), s, text, len);
}

static int is_precall_form(int op)
{
#define LG_X(n) || op == n
    return op == LG_PY311_OP_PRECALL LG_PY311_PRECALL_FORMS(LG_X);
#undef LG_X
}

static int is_store_attr(int op)
{
    return op == LG_PY311_OP_STORE_ATTR || op == LG_PY311_OP_STORE_ATTR_ADAPTIVE ||
           op == LG_PY311_OP_STORE_ATTR_INSTANCE_VALUE || op == LG_PY311_OP_STORE_ATTR_SLOT ||
           op == LG_PY311_OP_STORE_ATTR_WITH_HINT;
}

enum { TARGET_NONE = -1, TARGET_RETURNED = 0, TARGET_FOUND = 1 };

static int is_call(int op)
{
    return op == LG_PY311_OP_CALL || op == LG_PY311_OP_CALL_ADAPTIVE ||
           op == LG_PY311_OP_CALL_PY_EXACT_ARGS || op == LG_PY311_OP_CALL_PY_WITH_DEFAULTS;
}

/* What the frame does with the result of the call it is making: stores it
 * in a name (TARGET_FOUND: "lock", "self.lock"), returns it to its caller
 * (TARGET_RETURNED), or anything else (TARGET_NONE). `inlined`: the callee
 * is a Python frame that CALL pushed itself, which leaves prev_instr on
 * CALL's last cache unit (ceval.c: JUMPBY(INLINE_CACHE_ENTRIES_CALL)
 * before the push); otherwise prev_instr is the calling instruction. */
static int store_target(const char *code, int64_t lasti, int64_t units, int inlined,
                        struct scratch *s, const char **text, uint16_t *len)
{
    const char *names = load_ptr(code, LG_PY311_CODE_NAMES);
    const char *locals = load_ptr(code, LG_PY311_CODE_LOCALSPLUSNAMES);
    int64_t at = lasti;
    int op;
    uint32_t arg;

    if (inlined) {
        at = lasti - LG_PY311_CACHES_CALL;
        if (at < 0 || !instr_at(code, units, &at, &op, &arg) || !is_call(op) ||
            at != lasti - LG_PY311_CACHES_CALL)
            return TARGET_NONE;
    } else if (!instr_at(code, units, &at, &op, &arg)) {
        return TARGET_NONE;
    }
    if (is_call(op))
        at += 1 + LG_PY311_CACHES_CALL;
    else if (is_precall_form(op))       /* made the call itself, skips CALL */
        at += 1 + LG_PY311_CACHES_PRECALL + 1 + LG_PY311_CACHES_CALL;
    else if (op == LG_PY311_OP_CALL_FUNCTION_EX)
        at += 1;
    else
        return TARGET_NONE;
    if (!instr_at(code, units, &at, &op, &arg))
        return TARGET_NONE;
    switch (op) {
    case LG_PY311_OP_RETURN_VALUE:
        return TARGET_RETURNED;
    case LG_PY311_OP_STORE_NAME:
    case LG_PY311_OP_STORE_GLOBAL:
        return name_at(names, arg, s, text, len) ? TARGET_FOUND : TARGET_NONE;
    case LG_PY311_OP_STORE_FAST:
    case LG_PY311_OP_STORE_FAST__LOAD_FAST:
    case LG_PY311_OP_STORE_FAST__STORE_FAST:
    case LG_PY311_OP_STORE_DEREF:
        return name_at(locals, arg, s, text, len) ? TARGET_FOUND : TARGET_NONE;
    case LG_PY311_OP_LOAD_FAST:
    case LG_PY311_OP_LOAD_NAME: {        /* obj.attr = <call>: load obj, store attr */
        const char *obj_text, *attr_text;
        uint16_t obj_len, attr_len;
        uint32_t obj_arg = arg;
        int load = op;
        char *joined = s->next;

        at++;
        if (!instr_at(code, units, &at, &op, &arg) || !is_store_attr(op))
            return TARGET_NONE;
        if (!name_at(load == LG_PY311_OP_LOAD_FAST ? locals : names, obj_arg, s,
                     &obj_text, &obj_len) ||
            !name_at(names, arg, s, &attr_text, &attr_len))
            return TARGET_NONE;
        if ((size_t)obj_len + 1 + attr_len > (size_t)(scratch_buf + sizeof scratch_buf - joined))
            return TARGET_NONE;
        /* The names may already sit at the start of the scratch area
         * (encoded there): move through a copy-safe order. */
        memmove(joined + obj_len + 1, attr_text, attr_len);
        memmove(joined, obj_text, obj_len);
        joined[obj_len] = '.';
        *text = joined;
        *len = (uint16_t)(obj_len + 1 + attr_len);
        s->next = joined + *len;
        s->left = (size_t)(scratch_buf + sizeof scratch_buf - s->next);
        return TARGET_FOUND;
    }
    default:
        return TARGET_NONE;
    }
}

int lg_py_assigned_name(const char **name, uint16_t *len)
{
    struct walk w;
    struct scratch s = { scratch_buf, sizeof scratch_buf };

    if (!walk_start(&w))
        return 0;
    while (walk_next(&w)) {
        int r;
        int owner = code_owner(w.code);

        if (owner == IMPORT_CODE)
            return 0;                   /* a lock of the import system, or of a
                                           module being imported */
        if (owner == LIBRARY_CODE)
            continue;
        r = store_target(w.code, w.lasti, w.units, w.callee_inlined, &s, name, len);
        if (r == TARGET_FOUND)
            return 1;
        if (r == TARGET_NONE)
            return 0;
    }
    return 0;
}
