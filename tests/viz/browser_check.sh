#!/bin/sh
# SPDX-License-Identifier: MIT
# browser_check.sh VIZ_SAMPLE OUTDIR — the HTML report in a real browser:
# headless Chromium takes a screenshot of the page written for the
# "mixed" model and dumps its DOM; the screenshot must be a real picture
# (not blank, with the red of the deadlock cycle in it) and the DOM must
# show every finding with its diagram. Exits 77 (skip) without chromium.
set -u
sample=$1 out=$2
here=$(dirname "$0")
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium is not installed (apt-get install chromium)"; exit 77; }
rm -rf "$out" && mkdir -p "$out" || exit 1
"$sample" mixed "$out" || { echo "FAIL: viz_sample"; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir=$profile"
url="file://$(cd "$out" && pwd)/mixed.html"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --screenshot="$out/screenshot.png" --window-size=1200,1600 "$url" \
  >"$out/chromium.log" 2>&1
[ -s "$out/screenshot.png" ] || { echo "FAIL: no screenshot"; cat "$out/chromium.log"; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --dump-dom "$url" >"$out/dom.html" 2>>"$out/chromium.log"
size=$(wc -c <"$out/screenshot.png")
[ "$size" -gt 30000 ] || { echo "FAIL: screenshot is only $size bytes"; exit 1; }
set -- $(python3 "$here/png_stats.py" "$out/screenshot.png") || exit 1
echo "screenshot $out/screenshot.png: ${1}x${2}, $3 colours, non-white $4, red pixels $5"
[ "$1" -eq 1200 ] && [ "$2" -eq 1600 ] || { echo "FAIL: wrong size"; exit 1; }
[ "$3" -gt 50 ] || { echo "FAIL: the page looks blank ($3 colours)"; exit 1; }
python3 -c "import sys; sys.exit(0 if 0.03 < $4 < 0.97 else 1)" || { echo "FAIL: non-white fraction $4"; exit 1; }
[ "$5" -gt 20 ] || { echo "FAIL: no red (deadlock edges, error badges) on the page"; exit 1; }
for text in "lock order inversion: mutexA and mutexB are taken in opposite orders" \
            "statsLock is still held when thread T1 exits" \
            "thread T2 locks mutexB again while holding it" \
            "no common lock &lt;a&amp;b&gt;" \
            "lockgraph report" ; do
  grep -qF "$text" "$out/dom.html" || { echo "FAIL: the page does not show: $text"; exit 1; }
done
svgs=$(grep -o "<svg" "$out/dom.html" | wc -l)
[ "$svgs" -eq 6 ] || { echo "FAIL: $svgs diagrams in the DOM, expected 6"; exit 1; }
echo "OK: the page shows 5 findings and 6 diagrams"
