/* SPDX-License-Identifier: MIT */
/*
 * lg_pyframes.h — Python source locations from inside the shim's hooks
 * (implemented in preload/pyframes.c). A read-only walk of the calling
 * thread's own CPython frames: no GIL needed, no allocation, no refcount
 * change, never runs Python code. Only for interpreter versions whose
 * frame layout it knows; otherwise it reports "unavailable" once.
 */
#ifndef LG_PYFRAMES_H
#define LG_PYFRAMES_H

#include <stdint.h>

struct lg_pyframe {
    const char *file;      /* points into the interpreter's own string; copy before the call returns */
    uint16_t file_len;
    const char *func;
    uint16_t func_len;
    uint32_t line;
};

/* Called once from the shim's (lazy) initialisation, never on a hot path:
 * looks up the interpreter (dlsym of Py_GetVersion etc.). Returns 1 when
 * Python frames can be captured in this process, 0 otherwise. Safe in a
 * non-Python process (it must avoid repeated failed dlsym: they malloc). */
int lg_py_init(void);

/* 1 when this process runs a supported interpreter and it is initialised. */
int lg_py_active(void);

/* Address range of the interpreter's runtime state (_PyRuntime), whose
 * mutexes and condvars are the GIL's: the shim keeps them out of the graph.
 * Sets lo = hi = 0 when there is no interpreter. */
void lg_py_runtime_range(uintptr_t *lo, uintptr_t *hi);

/* Fill up to max frames of the calling thread, innermost first. Returns
 * the number filled (0 when there is no Python frame or it is unsure). */
int lg_py_capture(struct lg_pyframe *out, int max);

#endif /* LG_PYFRAMES_H */
