/* SPDX-License-Identifier: MIT */
/*
 * py311_offsets.c — checks preload/pyframes_py311.h, the layouts the frame
 * walker reads without Python headers, against the real CPython 3.11
 * headers (Py_BUILD_CORE, internal/pycore_frame.h). Built once per header
 * set found (Debian's libpython3.11-dev, pyenv's); prints each mismatch.
 */
#define Py_BUILD_CORE 1
#define NEED_OPCODE_TABLES 1        /* _PyOpcode_Caches, _PyOpcode_Deopt */
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_runtime.h>
#include <internal/pycore_opcode.h>

#include <stdio.h>
#include <string.h>

#include "pyframes_py311.h"

#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION != 11
#error "py311_offsets.c needs the CPython 3.11 headers"
#endif

static int failures;

static void expect(const char *what, size_t real, size_t mirrored)
{
    if (real != mirrored) {
        printf("MISMATCH %-40s headers say %zu, pyframes_py311.h says %zu\n",
               what, real, mirrored);
        failures++;
    }
}

#define OFF(type, field, mirrored) expect(#type "." #field, offsetof(type, field), mirrored)

/* The bit a single-field assignment sets in PyASCIIObject.state. */
#define STATE_BITS(field, value)                                    \
    ({ PyASCIIObject a; uint32_t w;                                 \
       memset(&a, 0, sizeof a); a.state.field = value;              \
       memcpy(&w, (char *)&a + offsetof(PyASCIIObject, state), 4); w; })

int main(void)
{
    OFF(PyObject, ob_type, LG_PY311_OB_TYPE);
    OFF(PyVarObject, ob_size, LG_PY311_OB_SIZE);
    OFF(PyThreadState, cframe, LG_PY311_TSTATE_CFRAME);
    OFF(PyThreadState, thread_id, LG_PY311_TSTATE_THREAD_ID);
    expect("sizeof(PyThreadState.thread_id)", sizeof(((PyThreadState *)0)->thread_id), 8);
    OFF(_PyRuntimeState, initialized, LG_PY311_RUNTIME_INITIALIZED);
    OFF(_PyRuntimeState, gilstate.tstate_current, LG_PY311_RUNTIME_TSTATE_CURRENT);
    OFF(_PyCFrame, current_frame, LG_PY311_CFRAME_CURRENT_FRAME);
    OFF(_PyInterpreterFrame, f_code, LG_PY311_FRAME_F_CODE);
    OFF(_PyInterpreterFrame, previous, LG_PY311_FRAME_PREVIOUS);
    OFF(_PyInterpreterFrame, prev_instr, LG_PY311_FRAME_PREV_INSTR);
    OFF(_PyInterpreterFrame, is_entry, LG_PY311_FRAME_IS_ENTRY);
    OFF(_PyInterpreterFrame, owner, LG_PY311_FRAME_OWNER);
    expect("sizeof(_PyInterpreterFrame.owner)",
           sizeof(((_PyInterpreterFrame *)0)->owner), 1);
    expect("FRAME_OWNED_BY_GENERATOR", FRAME_OWNED_BY_GENERATOR,
           LG_PY311_FRAME_OWNED_BY_GENERATOR);
    OFF(PyCodeObject, co_names, LG_PY311_CODE_NAMES);
    OFF(PyCodeObject, co_localsplusnames, LG_PY311_CODE_LOCALSPLUSNAMES);
    OFF(PyTupleObject, ob_item, LG_PY311_TUPLE_ITEMS);
    OFF(PyCodeObject, co_firstlineno, LG_PY311_CODE_FIRSTLINENO);
    OFF(PyCodeObject, co_filename, LG_PY311_CODE_FILENAME);
    OFF(PyCodeObject, co_name, LG_PY311_CODE_NAME);
    OFF(PyCodeObject, co_linetable, LG_PY311_CODE_LINETABLE);
    OFF(PyCodeObject, _co_firsttraceable, LG_PY311_CODE_FIRSTTRACEABLE);
    OFF(PyCodeObject, co_code_adaptive, LG_PY311_CODE_CODE_ADAPTIVE);
    expect("sizeof(_Py_CODEUNIT)", sizeof(_Py_CODEUNIT), LG_PY311_CODEUNIT_SIZE);
    OFF(PyBytesObject, ob_sval, LG_PY311_BYTES_SVAL);
    OFF(PyASCIIObject, length, LG_PY311_STR_LENGTH);
    OFF(PyASCIIObject, state, LG_PY311_STR_STATE);
    expect("sizeof(PyASCIIObject)", sizeof(PyASCIIObject), LG_PY311_STR_ASCII_DATA);
    expect("sizeof(PyCompactUnicodeObject)", sizeof(PyCompactUnicodeObject),
           LG_PY311_STR_COMPACT_DATA);
    OFF(PyCompactUnicodeObject, utf8_length, LG_PY311_STR_UTF8_LENGTH);
    OFF(PyCompactUnicodeObject, utf8, LG_PY311_STR_UTF8);
    expect("state.compact bit", STATE_BITS(compact, 1), LG_PY311_STR_STATE_COMPACT);
    expect("state.ascii bit", STATE_BITS(ascii, 1), LG_PY311_STR_STATE_ASCII);
    expect("state.kind bits", STATE_BITS(kind, 7), LG_PY311_STR_STATE_KIND);
    expect("state.kind = 1BYTE", STATE_BITS(kind, PyUnicode_1BYTE_KIND),
           (uint32_t)PyUnicode_1BYTE_KIND << LG_PY311_STR_STATE_KIND_SHIFT);
    expect("PY_CODE_LOCATION_INFO_NONE", PY_CODE_LOCATION_INFO_NONE, LG_PY311_LOC_NONE);
    expect("PY_CODE_LOCATION_INFO_LONG", PY_CODE_LOCATION_INFO_LONG, LG_PY311_LOC_LONG);
    expect("PY_CODE_LOCATION_INFO_NO_COLUMNS", PY_CODE_LOCATION_INFO_NO_COLUMNS,
           LG_PY311_LOC_NO_COLUMNS);
    expect("PY_CODE_LOCATION_INFO_ONE_LINE0", PY_CODE_LOCATION_INFO_ONE_LINE0,
           LG_PY311_LOC_ONE_LINE0);
    expect("PY_CODE_LOCATION_INFO_ONE_LINE1", PY_CODE_LOCATION_INFO_ONE_LINE1,
           LG_PY311_LOC_ONE_LINE1);
    expect("PY_CODE_LOCATION_INFO_ONE_LINE2", PY_CODE_LOCATION_INFO_ONE_LINE2,
           LG_PY311_LOC_ONE_LINE2);
#define OPC(name) expect("opcode " #name, name, LG_PY311_OP_##name)
    OPC(RETURN_VALUE); OPC(STORE_NAME); OPC(STORE_GLOBAL); OPC(STORE_FAST);
    OPC(STORE_FAST__LOAD_FAST); OPC(STORE_FAST__STORE_FAST); OPC(STORE_DEREF);
    OPC(STORE_ATTR); OPC(STORE_ATTR_ADAPTIVE); OPC(STORE_ATTR_INSTANCE_VALUE);
    OPC(STORE_ATTR_SLOT); OPC(STORE_ATTR_WITH_HINT); OPC(LOAD_FAST); OPC(LOAD_NAME);
    OPC(EXTENDED_ARG); OPC(EXTENDED_ARG_QUICK); OPC(CALL); OPC(CALL_ADAPTIVE);
    OPC(CALL_PY_EXACT_ARGS); OPC(CALL_PY_WITH_DEFAULTS); OPC(CALL_FUNCTION_EX);
    OPC(PRECALL);
    expect("_PyOpcode_Caches[PRECALL]", _PyOpcode_Caches[PRECALL], LG_PY311_CACHES_PRECALL);
    expect("_PyOpcode_Caches[CALL]", _PyOpcode_Caches[CALL], LG_PY311_CACHES_CALL);
    {
        /* Every PRECALL form, and nothing else, is in LG_PY311_PRECALL_FORMS. */
        static const int forms[] = {
#define LG_X(n) n,
            LG_PY311_PRECALL_FORMS(LG_X)
#undef LG_X
        };
        int listed = 0;
        for (int op = 0; op < 256; op++) {
            int in_list = 0;
            for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
                in_list |= forms[i] == op;
            if (op != PRECALL && _PyOpcode_Deopt[op] == PRECALL) {
                listed++;
                expect("PRECALL form listed", in_list, 1);
            } else if (in_list) {
                expect("listed op is a PRECALL form", 0, 1);
            }
        }
        expect("number of PRECALL forms", listed, sizeof forms / sizeof forms[0]);
    }
    printf("%s: %d mismatches against the headers of Python %s\n",
           failures ? "FAIL" : "PASS", failures, PY_VERSION);
    return failures != 0;
}
