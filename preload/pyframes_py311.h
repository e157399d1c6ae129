/* SPDX-License-Identifier: MIT */
/*
 * pyframes_py311.h — the few CPython 3.11 memory layouts that the frame
 * walker in pyframes.c reads, as byte offsets for LP64 (x86_64, aarch64),
 * so that the shim builds on machines without Python headers.
 * tests/python/py311_offsets.c checks every number here against offsetof()
 * over the real 3.11 headers (Debian's and pyenv's) whenever they exist.
 * Source of each: Include/cpython/pystate.h, Include/internal/pycore_frame.h,
 * Include/internal/pycore_runtime.h,
 * Include/cpython/code.h, Include/cpython/unicodeobject.h, bytesobject.h.
 */
#ifndef LG_PYFRAMES_PY311_H
#define LG_PYFRAMES_PY311_H

/* PyObject / PyVarObject (release builds: no Py_TRACE_REFS fields). */
#define LG_PY311_OB_TYPE                  8
#define LG_PY311_OB_SIZE                 16

/* PyThreadState (struct _ts) */
#define LG_PY311_TSTATE_CFRAME           56
#define LG_PY311_TSTATE_THREAD_ID       152    /* unsigned long: pthread_self() */

/* _PyRuntimeState (Include/internal/pycore_runtime.h): what
 * Py_IsInitialized() returns, and the GIL holder's thread state. */
#define LG_PY311_RUNTIME_INITIALIZED     16    /* int */
#define LG_PY311_RUNTIME_TSTATE_CURRENT 576    /* gilstate.tstate_current */

/* _PyCFrame */
#define LG_PY311_CFRAME_CURRENT_FRAME     8

/* _PyInterpreterFrame */
#define LG_PY311_FRAME_F_CODE            32
#define LG_PY311_FRAME_PREVIOUS          48
#define LG_PY311_FRAME_PREV_INSTR        56
#define LG_PY311_FRAME_IS_ENTRY          68    /* bool */
#define LG_PY311_FRAME_OWNER             69
#define LG_PY311_FRAME_OWNED_BY_GENERATOR 1

/* PyCodeObject; Py_SIZE(code) counts 2-byte code units. */
#define LG_PY311_CODE_NAMES              32    /* tuple of str */
#define LG_PY311_CODE_FIRSTLINENO        72
#define LG_PY311_CODE_LOCALSPLUSNAMES    96    /* tuple of str */
#define LG_PY311_CODE_FILENAME          112
#define LG_PY311_CODE_NAME              120
#define LG_PY311_CODE_LINETABLE         136
#define LG_PY311_CODE_FIRSTTRACEABLE    168
#define LG_PY311_CODE_CODE_ADAPTIVE     184
#define LG_PY311_CODEUNIT_SIZE            2

/* PyTupleObject */
#define LG_PY311_TUPLE_ITEMS             24

/* PyBytesObject */
#define LG_PY311_BYTES_SVAL              32

/* PyASCIIObject / PyCompactUnicodeObject */
#define LG_PY311_STR_LENGTH              16
#define LG_PY311_STR_STATE               32
#define LG_PY311_STR_STATE_COMPACT     0x20u   /* state.compact bit */
#define LG_PY311_STR_STATE_ASCII       0x40u   /* state.ascii bit */
#define LG_PY311_STR_STATE_KIND        0x1cu   /* state.kind: 1, 2 or 4 bytes */
#define LG_PY311_STR_STATE_KIND_SHIFT     2
#define LG_PY311_STR_ASCII_DATA          48    /* sizeof(PyASCIIObject) */
#define LG_PY311_STR_COMPACT_DATA        72    /* sizeof(PyCompactUnicodeObject) */
#define LG_PY311_STR_UTF8_LENGTH         48
#define LG_PY311_STR_UTF8                56

/* Line table (Objects/locations.md, 3.11): entries start with a byte that
 * has bit 7 set; bits 3-6 are the kind, bits 0-2 the length - 1 in code
 * units. */
#define LG_PY311_LOC_ONE_LINE0           10
#define LG_PY311_LOC_ONE_LINE1           11
#define LG_PY311_LOC_ONE_LINE2           12
#define LG_PY311_LOC_NO_COLUMNS          13
#define LG_PY311_LOC_LONG                14
#define LG_PY311_LOC_NONE                15

/* Opcodes (Include/opcode.h, 3.11), with the specialised forms the
 * adaptive interpreter writes into co_code_adaptive, and the number of
 * inline cache units that follow some of them (_PyOpcode_Caches). A code
 * unit is opcode | oparg << 8. */
#define LG_PY311_OP_RETURN_VALUE         83
#define LG_PY311_OP_STORE_NAME           90
#define LG_PY311_OP_STORE_GLOBAL         97
#define LG_PY311_OP_STORE_FAST          125
#define LG_PY311_OP_STORE_FAST__LOAD_FAST 161
#define LG_PY311_OP_STORE_FAST__STORE_FAST 167
#define LG_PY311_OP_STORE_DEREF         138
#define LG_PY311_OP_STORE_ATTR           95
#define LG_PY311_OP_STORE_ATTR_ADAPTIVE 153
#define LG_PY311_OP_STORE_ATTR_INSTANCE_VALUE 154
#define LG_PY311_OP_STORE_ATTR_SLOT     158
#define LG_PY311_OP_STORE_ATTR_WITH_HINT 159
#define LG_PY311_OP_LOAD_FAST           124
#define LG_PY311_OP_LOAD_NAME           101
#define LG_PY311_OP_EXTENDED_ARG        144
#define LG_PY311_OP_EXTENDED_ARG_QUICK   34
#define LG_PY311_OP_CALL                171
#define LG_PY311_OP_CALL_ADAPTIVE        22
#define LG_PY311_OP_CALL_PY_EXACT_ARGS   23
#define LG_PY311_OP_CALL_PY_WITH_DEFAULTS 24
#define LG_PY311_OP_CALL_FUNCTION_EX    142
#define LG_PY311_OP_PRECALL             166
#define LG_PY311_CACHES_PRECALL           1
#define LG_PY311_CACHES_CALL              4

/* The PRECALL forms that make the call themselves, then skip the CALL
 * (ceval.c SKIP_CALL): PRECALL_ADAPTIVE .. PRECALL_PYFUNC. */
#define LG_PY311_PRECALL_FORMS(X) \
    X(64) X(65) X(66) X(67) X(72) X(73) X(76) X(77) X(78) X(79) X(80) X(81) \
    X(113) X(121) X(127) X(141) X(143)

#endif /* LG_PYFRAMES_PY311_H */
