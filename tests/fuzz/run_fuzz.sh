#!/usr/bin/env bash
# Build the trace-reader fuzzer with clang's libFuzzer and run it for a short
# session over the committed seed corpus. Exit 77 (skip) without clang.
set -eu
src=$1; bin=$2; secs=${3:-20}
command -v clang >/dev/null 2>&1 || { echo "clang not installed: fuzz test skipped"; exit 77; }
mkdir -p "$bin"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -D_GNU_SOURCE -I"$src/trace" "$src/trace/lg_trace_read.c" "$src/tests/fuzz/fuzz_trace.c" \
  -o "$bin/fuzz_trace"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$src"/tests/fuzz/corpus/* "$work"/ 2>/dev/null || true
"$bin/fuzz_trace" -max_total_time="$secs" -rss_limit_mb=1024 -print_final_stats=1 "$work" 2>&1 | tail -n 5
