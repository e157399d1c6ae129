#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A second build with AddressSanitizer + UndefinedBehaviorSanitizer on the
# trace reader, analyzer, viz and CLI (-DLG_SANITIZE=ON; never the shim),
# then the unit, e2e and bad-input tests under it: a memory error or
# undefined behaviour on any input is a test failure.
#     tests/stress/asan_ci.sh [BUILD_DIR]      (default: build-asan)
# Leak checking is off unless LG_ASAN_LEAKS=1: the CLI exits right after
# its report, and a leak there is not a user-visible fault.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-asan}
cmake -S "$src" -B "$build" -DLG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2
leaks=${LG_ASAN_LEAKS:-0}
# verify_asan_link_order=0: tests start lockgraph itself with an LD_PRELOAD
# in its environment (e2e_cli_preload_kept); ASan would refuse to run.
export ASAN_OPTIONS="detect_leaks=$leaks:halt_on_error=1:abort_on_error=0:exitcode=86:verify_asan_link_order=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$build" -L 'unit|e2e|badinput' --output-on-failure -j2
