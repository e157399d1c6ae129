/* SPDX-License-Identifier: MIT */
/*
 * symbolize.c — addresses → function, file:line with elfutils' libdwfl
 * (offline: each module reported from its path at the load bias the trace
 * recorded), lock names (a data symbol, a semaphore's name, or kind and
 * creation site) and each stack's user frame. Sits after the loader and
 * before the findings: cycles and reports speak in these names.
 */
#include "lg_analyze.h"

#include "lg_trace.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <regex.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct symmod {
    const char *path;   /* interned */
    uint64_t base;      /* the bias it was reported at: the first one asked for */
    Dwfl *dwfl;
    Dwfl_Module *mod;   /* NULL: the file could not be read */
};

struct symentry {       /* one resolved code address */
    int mod;
    uint64_t pc;
    const char *file, *function;
    int line;
};

struct lg_symbolizer {
    struct lg_strtab *strs;
    const char *cwd;
    size_t cwdlen;
    struct symmod *mods;
    int nmods, cap_mods;
    struct lg_map modmap;     /* hash(path ptr) -> mods index */
    struct symentry *cache;
    int ncache, cap_cache;
    struct lg_map pcmap;      /* hash(mod, pc) -> cache index */
};

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct lg_symbolizer *lg_symbolizer_new(struct lg_strtab *strs, const char *cwd)
{
    struct lg_symbolizer *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->strs = strs;
    s->cwd = cwd ? cwd : "";
    s->cwdlen = strlen(s->cwd);
    return s;
}

void lg_symbolizer_free(struct lg_symbolizer *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nmods; i++)
        if (s->mods[i].dwfl)
            dwfl_end(s->mods[i].dwfl);
    free(s->mods);
    free(s->cache);
    lg_map_free(&s->modmap);
    lg_map_free(&s->pcmap);
    free(s);
}

/* The cached Dwfl for path, reporting the module on first use at the bias
 * first asked for; *shift gets what to add to an address of an image that
 * loaded it at `base` (every process image, every exec of the same file,
 * shares one Dwfl: its debug information is read once, not once per
 * image). A module that cannot be opened is remembered as such
 * (mod == NULL). */
static int symmod_get(struct lg_symbolizer *s, const char *path, uint64_t base, uint64_t *shift)
{
    path = lg_intern_str(s->strs, path);
    if (!path)
        return -1;
    uint64_t h = lg_mix64((uint64_t)(uintptr_t)path);
    int idx;

    for (;;) {
        if (!lg_map_get(&s->modmap, h, &idx))
            break;
        if (s->mods[idx].path == path) {
            *shift = s->mods[idx].base - base;
            return idx;
        }
        h = lg_mix64(h + 1);
    }
    if (lg_grow((void **)&s->mods, &s->cap_mods, s->nmods + 1, sizeof(*s->mods)) < 0)
        return -1;
    idx = s->nmods++;
    struct symmod *sm = &s->mods[idx];
    sm->path = path;
    sm->base = base;
    *shift = 0;
    /* Only real files: not "linux-vdso.so.1" or "[vdso]". */
    if (path[0] == '/') {
        sm->dwfl = dwfl_begin(&offline_callbacks);
        if (sm->dwfl) {
            dwfl_report_begin(sm->dwfl);
            /* base is the load bias (dlpi_addr): add_p_vaddr = true makes
             * libdwfl add the segments' own p_vaddr to it. */
            sm->mod = dwfl_report_elf(sm->dwfl, path, path, -1, base, true);
            dwfl_report_end(sm->dwfl, NULL, NULL);
        }
    }
    lg_map_put(&s->modmap, h, idx);
    return idx;
}

/* A path as a person in this folder wants it: relative when inside cwd. */
static const char *display_path(struct lg_symbolizer *s, const char *file)
{
    if (!file)
        return NULL;
    if (s->cwdlen > 1 && strncmp(file, s->cwd, s->cwdlen) == 0 && file[s->cwdlen] == '/')
        file += s->cwdlen + 1;
    return lg_intern_str(s->strs, file);
}

/* The C++ runtime's demangler (libstdc++, always there with gcc), loaded
 * the first time a mangled name is met: a C or Python program's report,
 * and every lockgraph start, do not pay for loading the C++ runtime. It
 * returns a malloc'ed string, or NULL with *status != 0 for a name that is
 * not a mangled C++ name. NULL when the runtime cannot be loaded (names
 * then stay mangled). */
typedef char *cxa_demangle_fn(const char *mangled, char *buf, size_t *len, int *status);
static cxa_demangle_fn *cxa_demangle(void)
{
    static cxa_demangle_fn *fn;
    static bool tried;

    if (!tried) {
        tried = true;
        void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h)
            fn = (cxa_demangle_fn *)dlsym(h, "__cxa_demangle");
    }
    return fn;
}

/* The parameter list closes a demangled function name, possibly followed by
 * qualifiers (" const", " &&"): find its opening parenthesis, or NULL. */
static const char *params_start(const char *d)
{
    size_t n = strlen(d);
    while (n > 0 && d[n - 1] != ')') {
        char c = d[n - 1];
        if (c != ' ' && c != '&' && !(c >= 'a' && c <= 'z'))
            return NULL;   /* not a qualifier: no parameter list at the end */
        n--;
    }
    if (n == 0)
        return NULL;
    int depth = 0;
    for (size_t i = n; i-- > 0;) {
        if (d[i] == ')')
            depth++;
        else if (d[i] == '(' && --depth == 0)
            return i > 0 ? d + i : NULL;
    }
    return NULL;
}

const char *lg_demangle(struct lg_strtab *t, const char *name)
{
    int status = -1;
    char *d;

    if (!name || name[0] != '_' || name[1] != 'Z')
        return name ? lg_intern_str(t, name) : NULL;
    cxa_demangle_fn *demangle = cxa_demangle();
    if (!demangle)
        return lg_intern_str(t, name);
    d = demangle(name, NULL, NULL, &status);
    if (!d || status != 0) {
        free(d);
        return lg_intern_str(t, name);
    }
    const char *p = params_start(d);
    const char *out = lg_intern(t, d, p ? (size_t)(p - d) : strlen(d));
    free(d);
    return out;
}

bool lg_symbolizer_code(struct lg_symbolizer *s, const char *path, uint64_t base,
                        uint64_t pc, const char **file, int *line, const char **function)
{
    uint64_t shift = 0;
    int mi = symmod_get(s, path, base, &shift), idx;

    *file = *function = NULL;
    *line = 0;
    if (mi < 0 || !s->mods[mi].mod)
        return false;
    pc += shift;              /* into the address space the module was reported at */
    uint64_t key = ((uint64_t)mi << 44) ^ (pc - s->mods[mi].base);
    if (lg_map_get(&s->pcmap, key, &idx) && s->cache[idx].mod == mi && s->cache[idx].pc == pc) {
        *file = s->cache[idx].file;
        *line = s->cache[idx].line;
        *function = s->cache[idx].function;
        return *file || *function;
    }
    Dwfl_Module *mod = s->mods[mi].mod;
    const char *fn = dwfl_module_addrname(mod, pc);
    Dwfl_Line *dl = dwfl_module_getsrc(mod, pc);
    if (dl) {
        Dwarf_Addr a;
        int ln = 0, col = 0;
        const char *src = dwfl_lineinfo(dl, &a, &ln, &col, NULL, NULL);
        *file = display_path(s, src);
        *line = ln;
    }
    *function = fn ? lg_demangle(s->strs, fn) : NULL;
    if (lg_grow((void **)&s->cache, &s->cap_cache, s->ncache + 1, sizeof(*s->cache)) == 0) {
        s->cache[s->ncache] = (struct symentry){ mi, pc, *file, *function, *line };
        lg_map_put(&s->pcmap, key, s->ncache++);
    }
    return *file || *function;
}

bool lg_symbolizer_data(struct lg_symbolizer *s, const char *path, uint64_t base,
                        uint64_t addr, size_t elem, char *buf, size_t len)
{
    uint64_t shift = 0;
    int mi = symmod_get(s, path, base, &shift);
    GElf_Off off = 0;
    GElf_Sym sym;
    GElf_Word shndx;

    if (mi < 0 || !s->mods[mi].mod)
        return false;
    const char *name = dwfl_module_addrinfo(s->mods[mi].mod, addr + shift, &off, &sym, &shndx,
                                            NULL, NULL);
    if (!name || !name[0])
        return false;
    name = lg_demangle(s->strs, name);   /* a C++ global: ns::table_lock */
    if (!name)
        return false;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_OBJECT && type != STT_TLS && type != STT_COMMON)
        return false;
    if (sym.st_size ? off >= sym.st_size : off != 0)
        return false;
    /* An array of locks (the symbol a whole number of lock objects, the
     * address on a boundary): name the element, as the program does. */
    if (elem && sym.st_size > elem && sym.st_size % elem == 0 && off % elem == 0)
        snprintf(buf, len, "%s[%llu]", name, (unsigned long long)(off / elem));
    else if (off)
        snprintf(buf, len, "%s+%llu", name, (unsigned long long)off);
    else
        snprintf(buf, len, "%s", name);
    return true;
}

/* --- the model ----------------------------------------------------------------- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Modules whose frames are never the user's: the shim, the C library and
 * loader, the unwinder, the interpreter. */
static bool system_module(const char *path, bool python_exe)
{
    static const char *const prefixes[] = {
        "liblockgraph", "libc.so", "libc-", "libpthread", "ld-linux", "ld-", "libunwind",
        "libpython", "libgcc_s", "libdl.so", "librt.so", "libstdc++",
    };
    const char *b = base_name(path);
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
        if (strncmp(b, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return python_exe || strncmp(b, "python", 6) == 0;
}

static const struct lg_module_map *module_for(const struct lg_image *im, uint64_t pc)
{
    int lo = 0, hi = im->nmods - 1, best = -1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (im->mods[mid].lo <= pc) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    /* Ranges do not overlap, but look back a little in case of a zero-size one. */
    for (int i = best; i >= 0 && i > best - 4; i--)
        if (im->mods[i].lo <= pc && pc <= im->mods[i].hi)
            return &im->mods[i];
    return NULL;
}

/* A Python frame is the user's unless it is the standard library's own. */
bool lg_loc_python_user(const struct lg_loc *l)
{
    if (!l->file)
        return false;
    if (l->file[0] == '<')   /* <frozen ...>, <string> */
        return false;
    if (strstr(l->file, "/site-packages/") || strstr(l->file, "/dist-packages/"))
        return true;
    return !strstr(l->file, "/lib/python3");
}

const struct lg_loc *lg_stack_user_loc(const struct lg_stack *st)
{
    if (!st)
        return NULL;
    if (st->user >= 0) {
        if (st->npy)
            return st->user < (int)st->npy ? &st->py[st->user] : NULL;
        return st->user < (int)st->n ? &st->frames[st->user] : NULL;
    }
    if (st->npy)
        return &st->py[0];
    return st->n ? &st->frames[0] : NULL;
}

/* The Python half of a stack (no libdw): paths inside cwd made relative,
 * the user frame among the Python frames. Idempotent. */
static void symbolize_python(struct lg_model *m, struct lg_stack *st)
{
    struct lg_model_priv *p = m->priv;

    if (!st->npy)
        return;
    st->user = -1;
    for (uint32_t i = 0; i < st->npy; i++) {
        struct lg_loc *l = &st->py[i];
        if (l->file && p->cwd[0]) {
            size_t cl = strlen(p->cwd);
            if (strncmp(l->file, p->cwd, cl) == 0 && l->file[cl] == '/')
                l->file = (char *)lg_intern_str(&p->strs, l->file + cl + 1);
        }
        if (st->user < 0 && lg_loc_python_user(l))
            st->user = (int)i;
    }
    if (st->user < 0)
        st->user = 0;
}

static void symbolize_stack(struct lg_model *m, struct lg_symbolizer *sym, struct lg_stack *st,
                            int proc)
{
    struct lg_model_priv *p = m->priv;
    const struct lg_image *im = &p->images[proc];

    st->user = -1;
    for (uint32_t i = 0; i < st->n; i++) {
        struct lg_loc *l = &st->frames[i];
        const struct lg_module_map *mm = module_for(im, l->pc);
        if (!mm)
            continue;
        l->module = (char *)mm->path;
        /* Every frame is a return address (the shim's own frames are
         * removed, so even the innermost one is the return into the
         * caller of the lock function): look up pc-1, the call itself. */
        const char *file, *fn;
        int line;
        lg_symbolizer_code(sym, mm->path, mm->base, l->pc ? l->pc - 1 : 0, &file, &line, &fn);
        l->file = (char *)file;
        l->line = line;
        l->function = (char *)fn;
        if (st->user < 0 && !mm->system && (file || fn))
            st->user = (int)i;
    }
    symbolize_python(m, st);
}

/* sizeof the lock object of a kind on this platform (x86_64 glibc), 0
 * when too small to tell an array from a structure. */
static size_t lock_object_size(int kind)
{
    switch (kind) {
    case LG_LOCK_MUTEX: return 40;    /* pthread_mutex_t */
    case LG_LOCK_RWLOCK: return 56;   /* pthread_rwlock_t */
    case LG_LOCK_SEM: return 32;      /* sem_t */
    default: return 0;
    }
}

const char *lg_lock_kind_name(int kind)
{
    switch (kind) {
    case LG_LOCK_MUTEX: return "mutex";
    case LG_LOCK_RWLOCK: return "rwlock";
    case LG_LOCK_SPIN: return "spinlock";
    case LG_LOCK_SEM: return "semaphore";
    case LG_LOCK_NAMED_SEM: return "named semaphore";
    default: return "lock";
    }
}

/* --- Python lock names from the source line ----------------------------------- */

/* Source files read for lock names: a few, kept whole with line starts. */
struct srcfile {
    const char *path;   /* interned: compared by pointer */
    char *data;         /* NULL: could not be read */
    int *line_at;       /* offset of each line (1-based index) */
    int nlines;
};

struct srccache {
    struct srcfile files[32];
    int n, next;
};

static const char *source_line(struct srccache *c, const char *path, int line, size_t *len)
{
    struct srcfile *f = NULL;

    for (int i = 0; i < c->n; i++)
        if (c->files[i].path == path)
            f = &c->files[i];
    if (!f) {
        if (c->n < 32) {
            f = &c->files[c->n++];
        } else {   /* round robin */
            f = &c->files[c->next];
            c->next = (c->next + 1) % 32;
            free(f->data);
            free(f->line_at);
        }
        memset(f, 0, sizeof(*f));
        f->path = path;
        FILE *fp = fopen(path, "r");
        if (fp) {
            size_t cap = 0, n = 0, r;
            char buf[8192];
            /* Python sources are small; never read more than 4 MiB. */
            while ((r = fread(buf, 1, sizeof(buf), fp)) > 0 && n < (4u << 20)) {
                if (n + r + 1 > cap) {
                    cap = (n + r + 1) * 2;
                    char *d = realloc(f->data, cap);
                    if (!d)
                        break;
                    f->data = d;
                }
                memcpy(f->data + n, buf, r);
                n += r;
            }
            fclose(fp);
            if (f->data) {
                f->data[n] = 0;
                int lines = 1;
                for (size_t i = 0; i < n; i++)
                    lines += f->data[i] == '\n';
                f->line_at = malloc(((size_t)lines + 2) * sizeof(int));
                if (f->line_at) {
                    int k = 1;
                    f->line_at[k++] = 0;
                    for (size_t i = 0; i < n; i++)
                        if (f->data[i] == '\n')
                            f->line_at[k++] = (int)i + 1;
                    f->nlines = k - 1;
                }
            }
        }
    }
    if (!f->data || !f->line_at || line < 1 || line > f->nlines)
        return NULL;
    const char *start = f->data + f->line_at[line];
    const char *end = strchr(start, '\n');
    *len = end ? (size_t)(end - start) : strlen(start);
    return start;
}

static void srccache_free(struct srccache *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->files[i].data);
        free(c->files[i].line_at);
    }
}

/* `name = threading.Lock()` (also RLock, Semaphore, BoundedSemaphore,
 * multiprocessing's): the variable a Python program gave its lock. */
static bool python_lock_variable(struct srccache *c, const struct lg_loc *l, char *out, size_t n)
{
    static regex_t re;
    static int ready;
    size_t len;
    regmatch_t mt[2];
    char line[512];

    if (!l || !l->python || !l->file || !l->line)
        return false;
    if (!ready) {
        ready = regcomp(&re,
                        "^[[:space:]]*([A-Za-z_][A-Za-z0-9_.]*(\\[[^]=]*\\])?)[[:space:]]*="
                        "[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*(Lock|RLock|Semaphore|"
                        "BoundedSemaphore)[[:space:]]*\\(",
                        REG_EXTENDED) == 0 ? 1 : -1;
    }
    if (ready < 0)
        return false;
    const char *src = source_line(c, l->file, l->line, &len);
    if (!src || len >= sizeof(line))
        return false;
    memcpy(line, src, len);
    line[len] = 0;
    if (regexec(&re, line, 2, mt, 0) != 0 || mt[1].rm_so < 0)
        return false;
    snprintf(out, n, "%.*s", (int)(mt[1].rm_eo - mt[1].rm_so), line + mt[1].rm_so);
    return true;
}

static int str_ptr_cmp(const void *a, const void *b)
{
    const int *x = a, *y = b;
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* Names: a data symbol ("mutexA", "table+16"), a named semaphore's name,
 * else "<kind> at <file:line>" of the creation site; instances sharing a
 * name get " #2", " #3"... in index order. */
static void name_locks(struct lg_model *m, struct lg_symbolizer *sym)
{
    struct lg_model_priv *p = m->priv;
    struct srccache src = { 0 };
    char buf[512];

    for (int i = 0; i < m->nlocks; i++) {
        struct lg_lock *lk = &m->locks[i];
        struct lg_lock_extra *x = &p->lockx[i];
        const char *name = NULL;
        int proc = lk->process;

        if (lk->created_at && lk->created_at->npy &&
            python_lock_variable(&src, lg_stack_user_loc(lk->created_at), buf, sizeof(buf))) {
            name = lg_intern_str(&p->strs, buf);
        } else if (x->sem_name && x->sem_name[0]) {
            name = x->sem_name;
        } else if (lk->addr) {
            /* The first process that knew the lock has its module map. */
            if (proc < 0)
                proc = x->first_proc;
            if (proc >= 0) {
                const struct lg_module_map *mm = module_for(&p->images[proc], lk->addr);
                if (mm && lg_symbolizer_data(sym, mm->path, mm->base, lk->addr,
                                             lock_object_size(lk->kind), buf, sizeof(buf)))
                    name = lg_intern_str(&p->strs, buf);
            }
        }
        if (!name) {
            const struct lg_loc *l = lg_stack_user_loc(lk->created_at);
            /* A binary semaphore made from Python code is a threading.Lock
             * (or one of the locks the standard library builds on it). */
            const char *kind = lg_lock_kind_name(lk->kind);
            if (lk->kind == LG_LOCK_SEM && lk->sem_value == 1 && lk->created_at &&
                lk->created_at->npy)
                kind = "lock";
            if (l && l->file && l->line) {
                /* Short: the full path is in the locations. */
                const char *f = base_name(l->file);
                snprintf(buf, sizeof(buf), "%s at %s:%d", kind, f, l->line);
            } else if (l && l->function) {
                snprintf(buf, sizeof(buf), "%s in %s", lg_lock_kind_name(lk->kind), l->function);
            } else if (lk->addr) {
                snprintf(buf, sizeof(buf), "%s 0x%llx", lg_lock_kind_name(lk->kind),
                         (unsigned long long)lk->addr);
            } else {
                snprintf(buf, sizeof(buf), "%s #%llu", lg_lock_kind_name(lk->kind),
                         (unsigned long long)x->trace_id);
            }
            name = lg_intern_str(&p->strs, buf);
        }
        lk->name = (char *)name;
    }
    srccache_free(&src);
    /* Disambiguate: interned names compare by pointer. */
    int *pairs = malloc(((size_t)m->nlocks + 1) * 2 * sizeof(int));
    if (!pairs)
        return;
    for (int i = 0; i < m->nlocks; i++) {
        pairs[2 * i] = 0;
        pairs[2 * i + 1] = i;
    }
    /* Sort by name pointer via an index of interned strings. */
    struct lg_map ids = { 0 };
    int nid = 0;
    for (int i = 0; i < m->nlocks; i++) {
        int id;
        uint64_t key = (uint64_t)(uintptr_t)m->locks[i].name;
        if (!lg_map_get(&ids, key, &id)) {
            id = nid++;
            lg_map_put(&ids, key, id);
        }
        pairs[2 * i] = id;
    }
    lg_map_free(&ids);
    if (m->nlocks > 1)
        qsort(pairs, (size_t)m->nlocks, 2 * sizeof(int), str_ptr_cmp);
    for (int i = 0; i < m->nlocks;) {
        int j = i;
        while (j < m->nlocks && pairs[2 * j] == pairs[2 * i])
            j++;
        for (int k = i + 1; k < j; k++) {
            struct lg_lock *lk = &m->locks[pairs[2 * k + 1]];
            snprintf(buf, sizeof(buf), "%s #%d", lk->name, k - i + 1);
            lk->name = lg_arena_strdup(&p->arena, buf);
        }
        i = j;
    }
    free(pairs);
}

/* Which modules are the system's, and the Python half of every stack. */
static void symbolize_cheap(struct lg_model *m)
{
    struct lg_model_priv *p = m->priv;

    for (int i = 0; i < m->nprocs; i++) {
        struct lg_image *im = &p->images[i];
        for (int k = 0; k < im->nmods; k++)
            im->mods[k].system = system_module(im->mods[k].path, m->procs[i].python &&
                                               im->mods[k].path == lg_intern_str(&p->strs, m->procs[i].exe));
    }
    for (int i = 0; i < p->nstacks; i++)
        symbolize_python(m, p->stacks[i]);
}

int lg_symbolize_cheap(struct lg_model *m)
{
    struct lg_model_priv *p = m->priv;
    const char *unknown = lg_intern_str(&p->strs, "?");

    if (!unknown)
        return -ENOMEM;
    symbolize_cheap(m);
    for (int i = 0; i < m->nlocks; i++)
        m->locks[i].name = (char *)unknown;
    return 0;
}

struct lg_symbolizer *lg_model_symbolizer(struct lg_model *m)
{
    struct lg_model_priv *p = m->priv;

    if (!p->sym)
        p->sym = lg_symbolizer_new(&p->strs, p->cwd);
    return p->sym;
}

void lg_model_symbolizer_free(struct lg_model *m)
{
    lg_symbolizer_free(m->priv->sym);
    m->priv->sym = NULL;
}

int lg_symbolize_model(struct lg_model *m)
{
    struct lg_model_priv *p = m->priv;
    struct lg_symbolizer *sym = lg_model_symbolizer(m);

    if (!sym)
        return -ENOMEM;
    symbolize_cheap(m);
    for (int i = 0; i < p->nstacks; i++)
        symbolize_stack(m, sym, p->stacks[i], p->stack_proc[i]);
    name_locks(m, sym);
    /* Condition variables in misuse findings: named by their variable too. */
    for (int i = 0; i < p->nmisuse; i++) {
        struct lg_raw_misuse *u = &p->misuse[i];
        uint64_t addr = u->kind == LG_MISUSE_COND_NO_MUTEX ? u->other
                      : u->kind == LG_MISUSE_COND_TWO_MUTEXES ? (uint64_t)u->extra : 0;
        char buf[512];
        if (!addr || u->process < 0)
            continue;
        const struct lg_module_map *mm = module_for(&p->images[u->process], addr);
        if (mm && lg_symbolizer_data(sym, mm->path, mm->base, addr, 48 /* pthread_cond_t */,
                                     buf, sizeof(buf)))
            u->cond = lg_intern_str(&p->strs, buf);
    }
    return 0;
}
