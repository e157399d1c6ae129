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
    const char *file;      /* UTF-8, not NUL-terminated: into the interpreter's own string, or
                              (non-ASCII names) a per-thread buffer; copy before the next call */
    uint16_t file_len;     /* file is NULL, len 0, when a name does not fit that buffer (512 B) */
    const char *func;      /* co_name, same rules as file */
    uint16_t func_len;
    uint32_t line;         /* 0 when the instruction has no line */
};

/* Called once from the shim's (lazy) initialisation, never on a hot path:
 * looks up the interpreter (dlsym of Py_GetVersion etc.). Returns 1 when
 * Python frames can be captured in this process, 0 otherwise. Safe in a
 * non-Python process (it must avoid repeated failed dlsym: they malloc). */
int lg_py_init(void);

/* The running interpreter's version ("3.12.1") once lg_py_init has run, or
 * NULL when there is no interpreter. With lg_py_init() == 0 it is what the
 * shim names, once, when it says Python lines are unavailable. */
const char *lg_py_version(void);

/* 1 when this process runs a supported interpreter and it is initialised. */
int lg_py_active(void);

/* Address range of the interpreter's runtime state (_PyRuntime), whose
 * mutexes and condvars are the GIL's: the shim keeps them out of the graph.
 * Known for any CPython version found (3.12 too), not only supported ones.
 * Sets lo = hi = 0 when there is no interpreter. */
void lg_py_runtime_range(uintptr_t *lo, uintptr_t *hi);

/* Address range of the interpreter's own code (the executable segment of
 * python3.X or libpython3.X.so), when its frames can be walked (the
 * shim's stacks end at the first native frame inside it: the Python
 * frames say the rest). Sets lo = hi = 0 otherwise. */
void lg_py_text_range(uintptr_t *lo, uintptr_t *hi);

/* Fill up to max frames of the calling thread, innermost first. Returns
 * the number filled (0 when there is no Python frame or it is unsure).
 * Any thread, GIL held or not; 0 for a thread without Python state, before
 * Py_Initialize and once finalisation has begun. No lock, no allocation,
 * no system call. Cost (tests/python bench): about 75-90 ns per frame of
 * a small function, 0.9-1.1 us for 12 frames; the line lookup scans the
 * code object's line table, so a frame far into a long module body costs
 * up to some microseconds. Capture when something new is recorded. */
int lg_py_capture(struct lg_pyframe *out, int max);

/* A hash that stands for what lg_py_capture(out, max) would return now:
 * the same hash means the same frames (file, function, line), up to a
 * 64-bit collision. Made from the code objects and instructions only (no
 * line table scan, no name copy), so a few ns per frame: the shim keys its
 * per-process cache of whole stacks with it (stacks.c). 0: no frame. */
uint64_t lg_py_site(int max);

/* A hash of the innermost frame's code object and instruction (what the
 * shim's dependency cache is keyed by in a Python process: the same hash
 * means the same file, function and line), 0 when there is none. No line
 * lookup: about ten ns. */
uint64_t lg_py_line_key(void);

/* The variable that the result of the call now being made will be stored
 * into, for naming a lock where it is created (sem_init, sem_open): from
 * the innermost frame outside the standard library and site-packages, the
 * target of the assignment that follows the call ("account_lock",
 * "self.lock", "lock_a" for lock_a = multiprocessing.Lock()), following
 * `return` out to the caller. Returns 1 and sets name/len (valid until
 * this thread's next lg_py_* call: copy it), 0 when there is none. Same
 * rules as lg_py_capture: any thread, read-only, no allocation. */
int lg_py_assigned_name(const char **name, uint16_t *len);

#endif /* LG_PYFRAMES_H */
