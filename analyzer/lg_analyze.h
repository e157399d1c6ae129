/* SPDX-License-Identifier: MIT */
/*
 * lg_analyze.h — the analyzer's internals, shared by its files and its
 * unit tests (tests/unit/), never by reports or viz (they read only
 * lg_model.h): containers, the model's private state, the symbolizer, the
 * lock-order graph with its cycle search, and cycle classification.
 */
#ifndef LG_ANALYZE_H
#define LG_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lg_model.h"

/* --- containers (util.c) --------------------------------------------- */

/* Bump allocator; everything it hands out is zeroed and lives until
 * lg_arena_free. The model's strings and small arrays come from here. */
struct lg_arena_block;
struct lg_arena {
    struct lg_arena_block *head;
};
void *lg_arena_alloc(struct lg_arena *a, size_t n);
char *lg_arena_strdup(struct lg_arena *a, const char *s);
char *lg_arena_strndup(struct lg_arena *a, const char *s, size_t len);
void lg_arena_free(struct lg_arena *a);

/* Open addressing from a 64-bit key (any value but UINT64_MAX) to an int. */
struct lg_map_slot {
    uint64_t key;
    int val;
};
struct lg_map {
    struct lg_map_slot *slots;   /* key and value side by side: one cache miss */
    size_t cap, n;
};
bool lg_map_get(const struct lg_map *m, uint64_t key, int *val);
int lg_map_put(struct lg_map *m, uint64_t key, int val);   /* insert or overwrite; 0 or -ENOMEM */
/* One probe: *val gets the existing value (returns 0) or newval, which is
 * inserted (returns 1); -ENOMEM. */
int lg_map_upsert(struct lg_map *m, uint64_t key, int newval, int *val);
void lg_map_free(struct lg_map *m);
uint64_t lg_mix64(uint64_t x);

/* Interned strings (arena-owned): equal strings share one pointer. */
struct lg_strtab {
    struct lg_map map;
    char **strs;
    int n, cap;
    struct lg_arena *arena;
};
const char *lg_intern(struct lg_strtab *t, const char *s, size_t len);
const char *lg_intern_str(struct lg_strtab *t, const char *s);
void lg_strtab_free(struct lg_strtab *t);

/* Grow *arr (elements of size elem, capacity *cap) to hold need; new
 * elements zeroed. 0 or -ENOMEM. */
int lg_grow(void **arr, int *cap, int need, size_t elem);
/* The same without zeroing (big arrays whose elements the caller fills:
 * untouched capacity then costs no memory), growing by 1.5x when large. */
int lg_grow_raw(void **arr, int *cap, int need, size_t elem);

/* A sequential sweep of a mapped trace, now at offset pos, gives back the
 * pages it has left behind, every 64 MiB (*dropped: bytes given back so
 * far, 0 at the start). Without it a sweep of a big trace leaves the whole
 * file resident in the analyzer. The mapping is private and read-only: a
 * later look at an earlier record reads it from the file again. */
void lg_trace_drop_behind(const void *base, size_t pos, size_t *dropped);

/* --- the model's private state (load.c) ------------------------------- */

struct lg_module_map {       /* one MODULE record of one process image */
    uint64_t base, lo, hi;
    const char *path;        /* interned */
    bool system;             /* shim, libc, ld.so, libunwind, interpreter: never a user frame */
};

struct lg_image {            /* per process (same index as m->procs) */
    struct lg_module_map *mods;   /* sorted by lo after loading */
    int nmods, cap;
};

struct lg_lock_extra {       /* per lock (same index as m->locks) */
    const char *sem_name;    /* named semaphore, interned */
    uint64_t dev, ino, offset;
    uint32_t flags;          /* enum lg_lock_new_flags */
    uint64_t trace_id;       /* lock_id in its first trace */
    int first_proc;          /* process that announced it first */
};

struct lg_raw_held {         /* a HELD_AT record worth a finding */
    int lock, thread, process, how, mode;
    struct lg_stack *at;
};

struct lg_raw_misuse {       /* a MISUSE record */
    int kind, lock, thread, process, err;
    uint64_t other;
    int64_t extra;
    struct lg_stack *at;
    const char *cond;        /* condition variable's name (symbolizer), NULL unknown */
};

struct lg_model_priv {
    struct lg_arena arena;
    struct lg_strtab strs;
    struct lg_image *images;
    struct lg_lock_extra *lockx;
    struct lg_stack **stacks;     /* every stack, for symbolization */
    int *stack_proc;              /* process image each stack belongs to */
    int nstacks, cap_stacks;
    struct lg_raw_held *held;
    int nheld, cap_held;
    struct lg_raw_misuse *misuse;
    int nmisuse, cap_misuse;
    struct lg_witness *wpool;     /* witnesses of edges that keep them all (one malloc) */
    struct lg_witness *wfirst;    /* first witness of every edge (one malloc) */
    int *scc_comp, *scc_size;     /* components of the lock-order graph, when the
                                     loader already needed them (else NULL) */
    struct lg_graph *scc_graph;   /* the graph they were found in (malloc'ed), or NULL:
                                     the cycle search takes it rather than build it again */
    int cap_procs, cap_threads, cap_locks, cap_edges, cap_findings, cap_skipped;
    struct lg_symbolizer *sym;    /* lg_model_symbolizer, NULL until used */
    bool probe;                   /* lg_model_load_opts' probe: names unresolved, the finding
                                     passes stop at their first finding */
    char cwd[4096];
};

/* Add one line to m->skipped (printf-style). */
void lg_model_skip(struct lg_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- symbolization (symbolize.c) -------------------------------------- */

/* Resolve every frame of every stack, pick each stack's user frame, and
 * name every lock. Needs the module maps in priv->images. Never fails on a
 * missing file or missing debug information: frames stay unresolved. */
int lg_symbolize_model(struct lg_model *m);
/* The part of it that needs no debug information: which modules are the
 * system's, the Python half of every stack (paths relative to cwd, the
 * user frame). Every lock is named "?" until lg_symbolize_model. What
 * the finding passes decide (not what they print) depends only on this. */
int lg_symbolize_cheap(struct lg_model *m);
/* The model's symbolizer (Dwfl per module file, cached lookups), made on
 * first use; NULL when out of memory. lg_model_symbolizer_free gives its
 * memory back (the next use makes a new one); the model's end does too. */
struct lg_symbolizer *lg_model_symbolizer(struct lg_model *m);
void lg_model_symbolizer_free(struct lg_model *m);

/* A standalone symbolizer for one module (tests, tools). */
struct lg_symbolizer;
struct lg_symbolizer *lg_symbolizer_new(struct lg_strtab *strs, const char *cwd);
void lg_symbolizer_free(struct lg_symbolizer *s);
/* Code address (already adjusted: pass pc-1 for return addresses) in the
 * module `path` loaded with bias `base`: file (relative to cwd when inside
 * it), line and function, each NULL/0 when unknown. True if any is known. */
bool lg_symbolizer_code(struct lg_symbolizer *s, const char *path, uint64_t base,
                        uint64_t pc, const char **file, int *line, const char **function);
/* Data address: "var" or "var+16" when a data symbol covers it, or
 * "var[2]" when the symbol is an array of objects of size elem (0: no
 * array naming). */
bool lg_symbolizer_data(struct lg_symbolizer *s, const char *path, uint64_t base,
                        uint64_t addr, size_t elem, char *buf, size_t len);

/* A symbol name as people write it, interned: a mangled C++ name
 * ("_ZN2ns5Cache5touchEi") demangled by the C++ runtime's __cxa_demangle
 * without its parameter list ("ns::Cache::touch"; the reports add "()"),
 * any other name as it is. NULL for NULL. */
const char *lg_demangle(struct lg_strtab *t, const char *name);

/* The location a person should look at in a stack: its user frame, or the
 * innermost frame, or NULL for an empty/absent stack. */
const struct lg_loc *lg_stack_user_loc(const struct lg_stack *st);
/* A Python frame of the program's own code (not the standard library's). */
bool lg_loc_python_user(const struct lg_loc *l);

/* --- lock-order graph and cycles (graph.c) ---------------------------- */

/* Adjacency (CSR) of the lock-order graph: out-edges of node v are
 * edge_of[off[v] .. off[v+1]), each an index into the edge array. */
struct lg_graph {
    int nnodes, nedges;
    int *off;
    int *edge_of;
    int *to;      /* target node of each edge (by edge index) */
    int *from;
};
int lg_graph_build(struct lg_graph *g, int nnodes, const struct lg_edge *edges, int nedges);
void lg_graph_free(struct lg_graph *g);

/* Strongly connected components, iteratively (no recursion: graphs may
 * have millions of nodes). comp[v] gets a component number; *ncomp the
 * count; size[c] (caller-allocated, nnodes ints) the size of each. */
int lg_graph_scc(const struct lg_graph *g, int *comp, int *size, int *ncomp);

struct lg_cycle {
    int n;          /* number of locks = number of edges */
    int *locks;     /* locks[0] is the smallest lock index */
    int *edges;     /* edges[i] goes locks[i] -> locks[(i+1) % n] */
};

/* Elementary cycles inside non-trivial components: every two-lock cycle,
 * then for every other edge the shortest cycle through it (BFS), taking
 * edges in `order` (edge indexes, ended early by -1; NULL for index order),
 * deduplicated by canonical rotation. BFS work is bounded by `budget`
 * edge visits; *truncated is set when it ran out. Cycles are sorted
 * (length, then lock sequence). */
int lg_cycles_find(const struct lg_graph *g, const int *comp, const int *size,
                   const int *order, long budget, struct lg_cycle **out, int *nout,
                   bool *truncated);
void lg_cycles_free(struct lg_cycle *c, int n);

/* --- classification (classify.c) -------------------------------------- */

enum lg_cycle_verdict {
    LG_CYCLE_DEADLOCK = 0,    /* a feasible witness assignment exists */
    LG_CYCLE_TRYLOCK,         /* warning: some edge exists only through trylocks */
    LG_CYCLE_GATE,            /* warning: a common gate lock serialises it */
    LG_CYCLE_SINGLE_THREAD,   /* note: one thread made every edge */
    LG_CYCLE_NO_OVERLAP,      /* note: the threads never lived at the same time */
    LG_CYCLE_READ_READ,       /* note: an rwlock held and wanted only for reading */
    LG_CYCLE_COUNTING,        /* warning: through a semaphore with several permits */
};

struct lg_cycle_class {
    enum lg_cycle_verdict verdict;
    int *chosen;              /* witness index per edge (caller array of c->n) */
    int gate;                 /* LG_CYCLE_GATE: the gate lock */
    int edge;                 /* LG_CYCLE_TRYLOCK: the try-only edge (position in cycle) */
    int lock;                 /* LG_CYCLE_READ_READ: the rwlock; LG_CYCLE_COUNTING: the semaphore */
    int thread_a, thread_b;   /* SINGLE_THREAD (a) / NO_OVERLAP (a ended before b began) */
    bool budget_hit;          /* search stopped early; verdict is conservative */
};

/* Birth and (known) death time of a thread: death is when its end became
 * visible to others (joined, its process reaped or replaced), 0 unknown. */
uint64_t lg_thread_born(const struct lg_model *m, int t);
uint64_t lg_thread_gone(const struct lg_model *m, int t);
bool lg_threads_may_overlap(const struct lg_model *m, int a, int b);

/* Search a witness assignment for cycle c; fills cls (cls->chosen must
 * point to c->n ints). budget bounds the search steps. */
void lg_cycle_classify(const struct lg_model *m, const struct lg_cycle *c, long budget,
                       struct lg_cycle_class *cls);

/* --- findings (findings.c) -------------------------------------------- */

int lg_findings_build(struct lg_model *m);
void lg_findings_sort(struct lg_model *m);
/* Append a finding (zeroed, arena-owned arrays to be filled by the caller). */
struct lg_finding *lg_finding_add(struct lg_model *m, enum lg_finding_kind kind,
                                  enum lg_severity sev);

const char *lg_lock_kind_name(int kind);

#endif /* LG_ANALYZE_H */
