/* SPDX-License-Identifier: MIT */
/*
 * real.c — resolves the real pthread/sem/process functions behind our
 * interposed names, by explicit default version (dlvsym), once.
 */
#include <dlfcn.h>
#include <stdatomic.h>

#include "lg_shim.h"

#define LG_REAL_DEF(name, ver) __typeof__(name) *real_##name;
LG_REALS(LG_REAL_DEF)

/* Contract: after return every real_* pointer is set (or stays NULL when
 * libc lacks the symbol). Lookups happen once: a failed dlsym mallocs and
 * every lookup takes the loader lock (FACTS §2), so never on a hot path.
 * Two threads racing here store the same values: harmless. */
void lg_real_resolve(void)
{
    static _Atomic int done;
    if (atomic_load_explicit(&done, memory_order_acquire))
        return;
    void *p;
#define LG_REAL_RESOLVE(name, ver)                      \
    p = dlvsym(RTLD_NEXT, #name, ver);                  \
    if (!p)                                             \
        p = dlsym(RTLD_NEXT, #name);                    \
    __atomic_store_n((void **)&real_##name, p, __ATOMIC_RELAXED);
    LG_REALS(LG_REAL_RESOLVE)
    atomic_store_explicit(&done, 1, memory_order_release);
}
