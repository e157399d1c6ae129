/* SPDX-License-Identifier: MIT */
/* Unit tests: the symbolizer (analyzer/symbolize.c) on this very test
 * binary: a MODULE record describing /proc/self/exe, code addresses to
 * function and file:line, data addresses to variable names. */
#include <criterion/criterion.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_analyze.h"
#include "trace_writer.h"

pthread_mutex_t unit_global_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t unit_mutex_table[4];
struct pair {
    int count;
    pthread_mutex_t second;
} unit_pair;

enum { MARKER_LINE = __LINE__ + 1 };
__attribute__((noinline)) int unit_marker_function(int x) { return x * 3 + 1; }

/* The return address into its caller: what the shim records. */
__attribute__((noinline)) static uint64_t return_address(void)
{
    return (uint64_t)__builtin_return_address(0);
}

/* A known call site: the call to return_address() on CAPTURE_LINE. */
enum { CAPTURE_LINE = __LINE__ + 3 };
__attribute__((noinline)) uint64_t unit_capture_site(void)
{
    uint64_t ra = return_address();
    __asm__ volatile("" ::: "memory");   /* keep it a call, not a tail call */
    return ra;
}

struct self_map {
    uint64_t base, lo, hi;
    char path[4096];
    uint64_t libc_base, libc_lo, libc_hi;
    char libc[4096];
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct self_map *s = arg;
    uint64_t lo = UINT64_MAX, hi = 0;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (info->dlpi_addr + ph->p_vaddr < lo)
            lo = info->dlpi_addr + ph->p_vaddr;
        if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
            hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    if (!info->dlpi_name[0] && !s->path[0]) {
        s->base = info->dlpi_addr;
        s->lo = lo;
        s->hi = hi;
        ssize_t n = readlink("/proc/self/exe", s->path, sizeof(s->path) - 1);
        s->path[n > 0 ? n : 0] = 0;
    } else if (strstr(info->dlpi_name, "libc.so")) {
        s->libc_base = info->dlpi_addr;
        s->libc_lo = lo;
        s->libc_hi = hi;
        snprintf(s->libc, sizeof(s->libc), "%s", info->dlpi_name);
    }
    return 0;
}

static struct self_map self;
static char *dir;
static struct lg_model *model;

static void setup(void)
{
    memset(&self, 0, sizeof(self));
    dl_iterate_phdr(phdr_cb, &self);
    cr_assert(self.path[0], "found the main program");
    dir = tw_tmpdir();
    model = NULL;
    cr_assert_eq(chdir(LG_SOURCE_DIR), 0);
}

static void teardown(void)
{
    lg_model_free(model);
    tw_rmdir(dir);
}

TestSuite(symbolize, .init = setup, .fini = teardown);

Test(symbolize, function_in_this_binary)
{
    struct lg_arena arena = { 0 };
    struct lg_strtab strs = { .arena = &arena };
    struct lg_symbolizer *s = lg_symbolizer_new(&strs, LG_SOURCE_DIR);
    const char *file, *fn;
    int line;

    cr_assert(lg_symbolizer_code(s, self.path, self.base, (uint64_t)(uintptr_t)&unit_marker_function,
                                 &file, &line, &fn));
    cr_assert_str_eq(fn, "unit_marker_function");
    cr_assert_not_null(file);
    cr_assert_str_eq(file, "tests/unit/test_symbolize.c", "relative to the current folder: %s", file);
    cr_assert_eq(line, MARKER_LINE);
    /* Same answer from the cache. */
    cr_assert(lg_symbolizer_code(s, self.path, self.base, (uint64_t)(uintptr_t)&unit_marker_function,
                                 &file, &line, &fn));
    cr_assert_eq(line, MARKER_LINE);
    lg_symbolizer_free(s);
    lg_strtab_free(&strs);
    lg_arena_free(&arena);
}

Test(symbolize, data_symbols_name_global_locks)
{
    struct lg_arena arena = { 0 };
    struct lg_strtab strs = { .arena = &arena };
    struct lg_symbolizer *s = lg_symbolizer_new(&strs, NULL);
    char buf[256];

    cr_assert(lg_symbolizer_data(s, self.path, self.base, (uint64_t)(uintptr_t)&unit_global_mutex,
                                 sizeof(pthread_mutex_t), buf, sizeof(buf)));
    cr_assert_str_eq(buf, "unit_global_mutex");
    cr_assert(lg_symbolizer_data(s, self.path, self.base,
                                 (uint64_t)(uintptr_t)&unit_mutex_table[2], sizeof(pthread_mutex_t),
                                 buf, sizeof(buf)));
    cr_assert_str_eq(buf, "unit_mutex_table[2]", "an array element by its index");
    cr_assert(lg_symbolizer_data(s, self.path, self.base,
                                 (uint64_t)(uintptr_t)&unit_mutex_table[2], 0, buf, sizeof(buf)));
    char want[64];
    snprintf(want, sizeof(want), "unit_mutex_table+%zu", 2 * sizeof(pthread_mutex_t));
    cr_assert_str_eq(buf, want, "without an element size: an offset");
    cr_assert(lg_symbolizer_data(s, self.path, self.base,
                                 (uint64_t)(uintptr_t)&unit_pair.second, sizeof(pthread_mutex_t),
                                 buf, sizeof(buf)));
    snprintf(want, sizeof(want), "unit_pair+%zu", offsetof(struct pair, second));
    cr_assert_str_eq(buf, want, "a lock inside a structure: an offset");
    /* A code address is not a variable. */
    cr_assert_not(lg_symbolizer_data(s, self.path, self.base,
                                     (uint64_t)(uintptr_t)&unit_marker_function, 0, buf, sizeof(buf)));
    /* A missing file is not an error, just unknown. */
    const char *file, *fn;
    int line;
    cr_assert_not(lg_symbolizer_code(s, "/nonexistent/lib.so", 0x1000, 0x1234, &file, &line, &fn));
    lg_symbolizer_free(s);
    lg_strtab_free(&strs);
    lg_arena_free(&arena);
}

Test(symbolize, model_stacks_user_frame_and_lock_names)
{
    uint64_t ra = unit_capture_site();
    const int call_line = CAPTURE_LINE;
    struct tw *w = tw_open(dir, 600, 1, 0, 1000);
    tw_set_exe(w, self.path);
    tw_module(w, self.base, self.lo, self.hi, "");   /* the main program: named by the header */
    cr_assert(self.libc[0]);
    tw_module(w, self.libc_base, self.libc_lo, self.libc_hi, self.libc);
    /* Innermost frame in libc (skipped), then this file. */
    /* Any address inside libc (not &fprintf: a sanitizer build intercepts it). */
    uint64_t libc_pc = self.libc_lo + (self.libc_hi - self.libc_lo) / 4;
    tw_stack(w, 1, (uint64_t[]){ libc_pc, ra }, 2);
    tw_lock(w, 1001, 1, (uint64_t)(uintptr_t)&unit_global_mutex, LG_LOCK_MUTEX, 0, NULL);
    tw_lock(w, 1002, 2, 0x10, LG_LOCK_MUTEX, 1, NULL);   /* heap lock: named by its site */
    tw_dep(w, 600, 2000, 2, LG_MODE_WRITE, 0, 1,
           (struct lg_held[]){ { .lock_id = 1, .stack_id = 1 } }, 1);
    free(tw_close(w, true));
    const char *err;
    cr_assert_eq(lg_model_load(dir, &model, &err), 0, "%s", err ? err : "");

    cr_assert_str_eq(model->locks[0].name, "unit_global_mutex");
    char want[128];
    snprintf(want, sizeof(want), "mutex at test_symbolize.c:%d", call_line);
    cr_assert_str_eq(model->locks[1].name, want, "a site name is short: the file's base name");
    const struct lg_stack *st = model->edges[0].w[0].acquired_at;
    cr_assert_eq(st->n, 2);
    cr_assert_eq(st->user, 1, "the libc frame is not the user's");
    cr_assert_str_eq(st->frames[0].module, self.libc);
    cr_assert_str_eq(st->frames[1].function, "unit_capture_site",
                     "function: %s", st->frames[1].function);
    cr_assert_eq(st->frames[1].line, call_line, "pc-1 of a return address is the call line");
    cr_assert_str_eq(st->frames[1].file, "tests/unit/test_symbolize.c", "relative to the cwd");
    const struct lg_loc *l = lg_stack_user_loc(st);
    cr_assert_eq(l, &st->frames[1]);
}

/* A fork child's trace has no MODULE record of its own (it inherited the
 * parent's address space and the shim's table of known modules): its
 * stacks, and a grandchild's, resolve through the parent's module map; a
 * child that mapped something of its own keeps it beside the borrowed ones. */
Test(symbolize, fork_children_borrow_their_ancestors_modules)
{
    uint64_t ra = unit_capture_site();
    struct tw *w = tw_open(dir, 700, 1, 0, 1000);
    tw_set_exe(w, self.path);
    tw_module(w, self.base, self.lo, self.hi, "");
    tw_module(w, self.libc_base, self.libc_lo, self.libc_hi, self.libc);
    free(tw_close(w, true));

    /* Child 701 (forked at 1500) and grandchild 702 (forked by 701 at 1600),
     * each taking lock 2 while holding lock 1 at the captured call site. */
    for (int pid = 701; pid <= 702; pid++) {
        w = tw_open(dir, pid, pid - 1, 0, pid == 701 ? 1500 : 1600);
        tw_set_exe(w, self.path);
        tw_set_fork(w, pid == 701 ? 1500 : 1600, pid - 1);
        if (pid == 702)   /* one module of its own, elsewhere */
            tw_module(w, 0x10000000, 0x10000000, 0x10001000, "/nonexistent/libown.so");
        tw_stack(w, 1, (uint64_t[]){ ra }, 1);
        tw_lock(w, pid * 10 + 1, 1, 0x100, LG_LOCK_MUTEX, 1, NULL);
        tw_lock(w, pid * 10 + 2, 2, 0x200, LG_LOCK_MUTEX, 1, NULL);
        tw_dep(w, pid, pid * 10 + 3, 2, LG_MODE_WRITE, 0, 1,
               (struct lg_held[]){ { .lock_id = 1, .stack_id = 1 } }, 1);
        free(tw_close(w, true));
    }
    const char *err;
    cr_assert_eq(lg_model_load(dir, &model, &err), 0, "%s", err ? err : "");
    cr_assert_eq(model->nprocs, 3);
    int seen = 0;
    for (int e = 0; e < model->nedges; e++) {
        const struct lg_edge *ed = &model->edges[e];
        for (int k = 0; k < ed->nw; k++) {
            const struct lg_stack *st = ed->w[k].acquired_at;
            int pid = model->procs[model->threads[ed->w[k].thread].process].pid;
            cr_assert_not_null(st);
            cr_assert_str_eq(st->frames[0].function ? st->frames[0].function : "(none)",
                             "unit_capture_site", "process %d's frame is symbolized", pid);
            cr_assert_eq(st->frames[0].line, CAPTURE_LINE, "process %d", pid);
            cr_assert_str_eq(st->frames[0].file, "tests/unit/test_symbolize.c");
            cr_assert_eq(st->user, 0);
            seen++;
        }
    }
    cr_assert_eq(seen, 2, "both children's witnesses: %d", seen);
    /* The locks are named by their site in the child, too. */
    char want[128];
    snprintf(want, sizeof(want), "mutex at test_symbolize.c:%d", (int)CAPTURE_LINE);
    cr_assert_str_eq(model->locks[0].name, want, "name: %s", model->locks[0].name);
}

/* A C function under a C++ symbol name: what a C++ program's frames look
 * like to the symbolizer. */
enum { CXX_LINE = __LINE__ + 2 };
__attribute__((noinline)) int unit_cxx_touch(int x) __asm__("_ZN4unit5Cache5touchEi");
__attribute__((noinline)) int unit_cxx_touch(int x) { return x * 5 + 2; }

Test(symbolize, cxx_names_are_demangled)
{
    struct lg_arena arena = { 0 };
    struct lg_strtab strs = { .arena = &arena };

    cr_assert_str_eq(lg_demangle(&strs, "_Z34default_asm_output_source_filenameP8_IO_FILEPKc"),
                     "default_asm_output_source_filename");
    cr_assert_str_eq(lg_demangle(&strs, "_ZNK2ns5Queue4sizeEv"), "ns::Queue::size",
                     "a const member function: name only");
    cr_assert_str_eq(lg_demangle(&strs, "_ZN2ns5tableE"), "ns::table", "a variable");
    cr_assert_str_eq(lg_demangle(&strs, "_ZSt4swapIiEvRT_S1_"), "void std::swap<int>");
    cr_assert_str_eq(lg_demangle(&strs, "main"), "main", "a C name stays");
    cr_assert_str_eq(lg_demangle(&strs, "_Znot_mangled!"), "_Znot_mangled!", "not a valid name: kept");
    cr_assert_null(lg_demangle(&strs, NULL));

    /* Through the symbolizer, from this binary's symbol table. */
    struct lg_symbolizer *s = lg_symbolizer_new(&strs, LG_SOURCE_DIR);
    const char *file, *fn;
    int line;
    cr_assert(lg_symbolizer_code(s, self.path, self.base, (uint64_t)(uintptr_t)&unit_cxx_touch,
                                 &file, &line, &fn));
    cr_assert_str_eq(fn, "unit::Cache::touch");
    cr_assert_eq(line, CXX_LINE);
    lg_symbolizer_free(s);
    lg_strtab_free(&strs);
    lg_arena_free(&arena);
}
