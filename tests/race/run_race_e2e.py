#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end check of one ticket sample under `lockgraph run`.

run_race_e2e.py --lockgraph BIN --work DIR --src SOURCE -- CMD ARGS...

SOURCE carries the markers: `LG-EXPECT: lock-discipline-race` on every
line a race report must cite, or `LG-CLEAN` for a program that must come
out without any lock-discipline-race finding. A racy run must report the
race as an error naming two different actors (both sessions, each with its
lines) and exit 66; a clean one must exit 0. Exit 0 on success, 1 on a
failed check (with the report), 77 to skip.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

KIND = "lock-discipline-race"


def markers(src):
    expect, clean = [], False
    with open(src, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = re.search(r"LG-EXPECT:\s*(\S+)", line)
            if m and m.group(1).split("=")[0] == KIND:
                expect.append(n)
            clean = clean or "LG-CLEAN" in line
    return expect, clean


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lockgraph", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    expect, clean = markers(a.src)
    if not expect and not clean:
        print("%s has no %s or LG-CLEAN marker" % (a.src, KIND))
        return 1
    if a.cmd[0] == "python3" and not shutil.which("python3"):
        print("no python3: skipped")
        return 77
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    out = os.path.join(a.work, "out")
    p = subprocess.run([a.lockgraph, "run", "--out", out, "--"] + a.cmd, cwd=a.work,
                       capture_output=True, timeout=200)
    rep = subprocess.run([a.lockgraph, "report", out, "--format", "json"], cwd=a.work,
                         capture_output=True, timeout=100)
    if rep.returncode != 0:
        print("lockgraph report failed (%d): %s" % (rep.returncode, rep.stderr.decode(errors="replace")))
        return 1
    doc = json.loads(rep.stdout)
    races = [f for f in doc.get("findings", []) if f.get("kind") == KIND]
    base = os.path.basename(a.src)
    problems = []

    def cites(f, line):
        return any(os.path.basename(str(l.get("file") or "")) == base and l.get("line") == line
                   for l in f.get("locations") or [])

    if clean:
        if races:
            problems.append("clean program has %d %s finding(s)" % (len(races), KIND))
        if p.returncode != 0:
            problems.append("lockgraph run exited %d, expected 0" % p.returncode)
    else:
        if not races:
            problems.append("no %s finding" % KIND)
        for f in races:
            if f.get("severity") != "error":
                problems.append("severity %s, expected error" % f.get("severity"))
        for line in expect:
            if not any(cites(f, line) for f in races):
                problems.append("no %s finding cites %s:%d" % (KIND, base, line))
        for f in races:
            det = f.get("details") or []
            actors = [d.split(" read ")[0].split(" wrote ")[0] for d in det[:2]]
            if len(det) < 2 or len(set(actors)) != 2:
                problems.append("the finding does not describe two sessions of two actors: %r" % det)
            for d in det[:2]:
                if "%s:" % base not in d:
                    problems.append("a session is described without its lines: %r" % d)
        if p.returncode != 66:
            problems.append("lockgraph run exited %d, expected 66" % p.returncode)
        err = p.stderr.decode(errors="replace")
        if not any("%s:%d" % (base, l) in err for l in expect):
            problems.append("the text report on stderr cites none of the expected lines")
    if problems:
        print("\n".join(problems))
        print(json.dumps(races, indent=1)[:4000])
        print(p.stderr.decode(errors="replace")[-4000:])
        return 1
    print("%s: %d %s finding(s), exit %d — as expected" % (base, len(races), KIND, p.returncode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
