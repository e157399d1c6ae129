#!/bin/sh
# SPDX-License-Identifier: MIT
# run_shim_test.sh LIB CHECKER TIMEOUT EXPECT_RC -- PROG ARGS... [-- CHECKS...]
# Runs PROG with liblockgraph.so preloaded and LOCKGRAPH_DIR set to a fresh
# folder (with a thread table when LG_MAKE_TTABLE=1), under a time limit; fails if PROG's exit status differs from
# EXPECT_RC, then runs `CHECKER DIR CHECKS...` (skipped when no checks).
set -u
lib=$1 checker=$2 limit=$3 expect=$4
shift 4
[ "$1" = "--" ] && shift
prog=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do prog="$prog '$1'"; shift; done
[ $# -gt 0 ] && shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/lgshim.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
[ "${LG_MAKE_TTABLE:-0}" = 1 ] && { "$checker" --make-ttable "$dir" || exit 1; }
eval "LOCKGRAPH_DIR='$dir' LD_PRELOAD='$lib' timeout -k 5 $limit $prog"
rc=$?
if [ "$rc" != "$expect" ]; then
    echo "run_shim_test: program exited $rc, expected $expect:$prog" >&2
    exit 1
fi
[ $# -eq 0 ] && exit 0
"$checker" "$dir" "$@" || { "$checker" "$dir" --dump >&2; exit 1; }
