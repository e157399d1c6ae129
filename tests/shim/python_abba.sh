#!/bin/sh
# SPDX-License-Identifier: MIT
# python_abba.sh LIB CHECKER PYTHON SCRIPT [CHECKS...] — runs SCRIPT under
# the shim with the real interpreter binary (pyenv's python3 is a shell
# script: preload the binary, not bash) and runs the checks (default: the
# AB/BA dependencies and Python frames).
set -u
lib=$1 checker=$2 py=$3 script=$4
shift 4
[ $# -eq 0 ] && set -- --cycle --dep-held 1 --kind PYSTACK
exe=$("$py" -c 'import sys; print(sys.executable)') || exit 1
dir=$(mktemp -d "${TMPDIR:-/tmp}/lgshim.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
LOCKGRAPH_DIR=$dir LD_PRELOAD=$lib timeout -k 5 60 "$exe" "$script" || exit 1
"$checker" "$dir" "$@" || { "$checker" "$dir" --dump >&2; exit 1; }
