#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real programs, natively and under `lockgraph run`: same results, clean
reports (issue 8, "Real programs, unchanged").

    run_realprogs.py --lockgraph BIN --work DIR CASE

Each case runs a real, multi-threaded or multi-process program on generated
input twice, natively and under the tool, and checks that the program's
exit status, output bytes and files are the same, and that the report is
clean: no finding of severity error, and the program's processes are in
it (the shim really was loaded). Exit status: 0 pass, 1 fail, 77 skip
(a program is not installed). Standard library only.
"""
import argparse
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgrun import SKIP, Failure, Skip, Tool, check, check_clean, fresh_dir, need, run_cmd, text  # noqa: E402

WORDS = None


def gen_text(path, mib, seed):
    """Deterministic compressible text of about mib MiB: lines of words and
    numbers, so that compressors and sort have real work."""
    global WORDS
    rng = random.Random(seed)
    if WORDS is None:
        letters = "abcdefghijklmnopqrstuvwxyz"
        WORDS = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(5000)]
    target = mib << 20
    done = 0
    with open(path, "w") as f:
        while done < target:
            lines = []
            for _ in range(2000):
                ws = rng.choices(WORDS, k=rng.randint(3, 14))
                lines.append("%s %d %s\n" % (" ".join(ws), rng.randint(0, 10**9), rng.choice(WORDS)))
            chunk = "".join(lines)
            f.write(chunk)
            done += len(chunk)
    return path


def same_file(a, b, what):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        da, db = fa.read(), fb.read()
    check(da == db, "%s: %s and %s differ (%d vs %d bytes)" % (what, a, b, len(da), len(db)))


def both(tool, work, name, cmd, cwd_native=None, cwd_tool=None, env=None, timeout=600, stdin=None, exe=None,
         min_processes=1):
    """Run cmd natively, then under the tool; same exit status and stdout;
    the tool's report clean. Returns (native, tool, doc)."""
    nat = run_cmd(cmd, timeout=timeout, cwd=cwd_native or work, env=env, input=stdin)
    out = os.path.join(work, "lg-" + name)
    under = tool.run(out, cmd, timeout=timeout, cwd=cwd_tool or work, env=env, input=stdin)
    check(under.returncode == nat.returncode,
          "%s: exit status %d under lockgraph, %d natively\nstderr under lockgraph:\n%s"
          % (name, under.returncode, nat.returncode, text(under.stderr)[-4000:]))
    check(under.stdout == nat.stdout, "%s: stdout differs under lockgraph (%d vs %d bytes)\nnative:\n%s\nunder:\n%s"
          % (name, len(under.stdout), len(nat.stdout), text(nat.stdout)[-1500:], text(under.stdout)[-1500:]))
    doc = tool.report_json(out)
    check_clean(doc, name, exe=exe or os.path.basename(cmd[0]), min_processes=min_processes)
    return nat, under, doc


def threads_in(doc, exe):
    pids = {p.get("id") for p in doc.get("processes") or [] if os.path.basename(str(p.get("exe"))) == exe}
    return sum(1 for t in doc.get("threads") or [] if t.get("process") in pids)


# ------------------------------------------------------------------ cases

def compressor(tool, work, prog, level, mib, tflag):
    """Compress generated text with 2 threads and decompress it again,
    natively and under the tool: the same stream, the same bytes back."""
    exe = need(prog)
    data = gen_text(os.path.join(work, "data.txt"), mib, 8)
    packed = os.path.join(work, "data." + prog)
    # compress: stdout is the compressed stream, compared byte for byte
    nat, under, doc = both(tool, work, "compress", [exe, tflag, level, "-c", data], timeout=900)
    check(len(nat.stdout) > 0 and len(nat.stdout) < (mib << 20), "%s produced no compression" % prog)
    check(threads_in(doc, prog) >= 2, "%s %s: the report shows %d threads; expected the worker threads too"
          % (prog, tflag, threads_in(doc, prog)))
    with open(packed, "wb") as f:
        f.write(nat.stdout)
    # decompress the stream, natively and under the tool: the original bytes
    nat, under, doc = both(tool, work, "decompress", [exe, tflag, "-d", "-c", packed], timeout=900)
    with open(data, "rb") as f:
        check(under.stdout == f.read(), "%s -d under lockgraph did not give back the original bytes" % prog)


def case_xz(tool, work):
    compressor(tool, work, "xz", "-2", 16, "-T2")


def case_zstd(tool, work):
    compressor(tool, work, "zstd", "-3", 48, "-T2")


def case_sort(tool, work):
    exe = need("sort")
    data = gen_text(os.path.join(work, "lines.txt"), 24, 9)
    env = dict(os.environ, LC_ALL="C")
    for name, extra in (("sort", []), ("sort-numeric", ["-k", "2,2n", "-s"])):
        nat, under, doc = both(tool, work, name, [exe, "--parallel=2", "-S", "64M"] + extra + [data], env=env)
        check(len(nat.stdout) == os.path.getsize(data), "%s: output is not all of the input" % name)
        check(threads_in(doc, "sort") >= 2, "sort --parallel=2: %d threads in the report; expected its workers"
              % threads_in(doc, "sort"))


def gen_project(root, nfiles, seed):
    """A small C project: nfiles modules, a main that sums them, a Makefile."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "src"))
    total = 0
    for i in range(nfiles):
        k = rng.randint(1, 1000)
        total += k * (i + 1)
        with open(os.path.join(root, "src", "m%02d.c" % i), "w") as f:
            f.write("#include \"mods.h\"\n/* module %d */\nlong m%02d(long x)\n{\n"
                    "    long s = 0;\n    for (long j = 0; j < x; j++)\n        s += %d;\n    return s;\n}\n"
                    % (i, i, k))
    with open(os.path.join(root, "src", "mods.h"), "w") as f:
        f.write("".join("long m%02d(long x);\n" % i for i in range(nfiles)))
    with open(os.path.join(root, "src", "main.c"), "w") as f:
        f.write("#include <stdio.h>\n#include \"mods.h\"\nint main(void)\n{\n    long t = 0;\n")
        f.write("".join("    t += m%02d(%d);\n" % (i, i + 1) for i in range(nfiles)))
        f.write("    printf(\"total %%ld\\n\", t);\n    return t == %dL ? 0 : 1;\n}\n" % total)
    objs = " ".join("obj/m%02d.o" % i for i in range(nfiles)) + " obj/main.o"
    with open(os.path.join(root, "Makefile"), "w") as f:
        f.write("CFLAGS = -O1 -Wall\nOBJS = %s\n\n" % objs)
        f.write("prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n")
        f.write("obj/%.o: src/%.c src/mods.h | obj\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n")
        f.write("obj:\n\tmkdir -p obj\n\n")
        f.write("check: prog\n\t./prog > result.txt\n\tcat result.txt\n\n.PHONY: check\n")
    return total


def case_make(tool, work):
    make = need("make")
    need("cc")
    roots = {m: os.path.join(work, m, "proj") for m in ("native", "tool")}
    for r in roots.values():
        total = gen_project(r, 16, 11)
    cmd = [make, "-j2", "--no-print-directory", "check"]
    nat = run_cmd(cmd, cwd=roots["native"])
    out = os.path.join(work, "lg-make")
    under = tool.run(out, cmd, cwd=roots["tool"])
    check(under.returncode == nat.returncode == 0, "make -j2: exit %d under lockgraph, %d natively\n%s"
          % (under.returncode, nat.returncode, text(under.stderr)[-3000:]))
    # -j2 interleaves the command lines; the set of lines is the same
    check(sorted(nat.stdout.splitlines()) == sorted(under.stdout.splitlines()),
          "make -j2: different command lines under lockgraph:\n%s\n--- native:\n%s"
          % (text(under.stdout), text(nat.stdout)))
    check(("total %d" % total).encode() in under.stdout, "make check: the built program's result is missing")
    for r in roots.values():
        check(os.path.exists(os.path.join(r, "prog")), "make -j2 did not build %s/prog" % r)
    # the same objects, byte for byte (relative paths, no -g: no path in them)
    for name in sorted(os.listdir(os.path.join(roots["native"], "obj"))):
        same_file(os.path.join(roots["native"], "obj", name), os.path.join(roots["tool"], "obj", name), "make -j2")
    same_file(os.path.join(roots["native"], "prog"), os.path.join(roots["tool"], "prog"), "make -j2")
    doc = tool.report_json(out)
    check_clean(doc, "make -j2", exe="make", min_processes=16 * 2)
    # nothing left to do, under the tool too
    q = tool.run(os.path.join(work, "lg-make-q"), [make, "-q", "prog"], cwd=roots["tool"])
    check(q.returncode == 0, "make -q after the build under lockgraph: exit %d (not up to date?)" % q.returncode)


def case_git(tool, work, clone=False):
    git = need("git")
    env = dict(os.environ, GIT_AUTHOR_NAME="Lock Graph", GIT_AUTHOR_EMAIL="lg@example.org",
               GIT_COMMITTER_NAME="Lock Graph", GIT_COMMITTER_EMAIL="lg@example.org",
               GIT_AUTHOR_DATE="2026-01-02T03:04:05Z", GIT_COMMITTER_DATE="2026-01-02T03:04:05Z",
               GIT_CONFIG_NOSYSTEM="1", HOME=work, LC_ALL="C", TZ="UTC")
    roots = {}
    for mode in ("native", "tool"):
        r = os.path.join(work, mode, "repo")
        os.makedirs(r)
        rng = random.Random(5)
        for d in range(6):
            os.makedirs(os.path.join(r, "dir%d" % d))
            for i in range(20):
                with open(os.path.join(r, "dir%d" % d, "f%02d.txt" % i), "w") as f:
                    f.write("".join("%d %s\n" % (rng.randint(0, 10**6), "x" * rng.randint(0, 60))
                                    for _ in range(rng.randint(5, 400))))
        roots[mode] = r
    steps = [
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["commit", "-q", "-m", "first"],
        ["rm", "-q", "-r", "dir5"],
        ["commit", "-q", "-m", "second: drop dir5"],
        ["log", "--stat", "--format=%H %an %ad %s"],
        ["-c", "pack.threads=2", "gc", "--quiet", "--aggressive"],
        ["-c", "grep.threads=2", "grep", "-c", "xxxxxxxxxx"],
        ["fsck", "--no-progress"],
        ["rev-parse", "HEAD", "HEAD^{tree}"],
    ]
    if clone:
        # pack-objects and index-pack, both threaded, through a real clone
        steps += [["-c", "pack.threads=2", "clone", "-q", "--no-local", ".", "../clone"],
                  ["-C", "../clone", "log", "--format=%H %s", "--name-status"],
                  ["-C", "../clone", "rev-parse", "HEAD", "HEAD^{tree}"]]
    for i, st in enumerate(steps):
        cmd = [git] + st
        nat = run_cmd(cmd, cwd=roots["native"], env=env)
        out = os.path.join(work, "lg-git-%d" % i)
        under = tool.run(out, cmd, cwd=roots["tool"], env=env)
        what = "git " + " ".join(st)
        check(under.returncode == nat.returncode, "%s: exit %d under lockgraph, %d natively\n%s"
              % (what, under.returncode, nat.returncode, text(under.stderr)[-3000:]))
        check(under.stdout == nat.stdout, "%s: different output under lockgraph:\n%s\n--- native:\n%s"
              % (what, text(under.stdout)[-2000:], text(nat.stdout)[-2000:]))
        check_clean(tool.report_json(out), what, exe="git")
    check(len(text(nat.stdout).split()) == 2, "git rev-parse printed no hashes")


def case_git_clone(tool, work):
    case_git(tool, work, clone=True)


def case_sqlite3(tool, work):
    sqlite = need("sqlite3")
    rng = random.Random(3)
    stmts = ["PRAGMA journal_mode=WAL;", "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v INTEGER);",
             "CREATE INDEX t_v ON t(v);", "BEGIN;"]
    for i in range(300):
        stmts.append("INSERT INTO t(name, v) VALUES('n%d', %d);" % (i, rng.randint(0, 1000)))
    stmts.append("COMMIT;")
    for i in range(100):
        lo = rng.randint(0, 900)
        stmts.append("UPDATE t SET v = v + 1 WHERE v BETWEEN %d AND %d;" % (lo, lo + 20))
        stmts.append("SELECT count(*), sum(v) FROM t WHERE v > %d;" % lo)
    stmts += ["SELECT name, v FROM t ORDER BY v DESC, id LIMIT 20;",
              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000) SELECT sum(x) FROM c;",
              "DELETE FROM t WHERE v % 3 = 0;", "SELECT count(*) FROM t;", "PRAGMA integrity_check;"]
    script = ("\n".join(stmts) + "\n").encode()
    for mode in ("native", "tool"):
        os.makedirs(os.path.join(work, mode))
    nat = run_cmd([sqlite, "db.sqlite"], cwd=os.path.join(work, "native"), input=script)
    out = os.path.join(work, "lg-sqlite3")
    under = tool.run(out, [sqlite, "db.sqlite"], cwd=os.path.join(work, "tool"), input=script)
    check(nat.returncode == under.returncode == 0, "sqlite3: exit %d under lockgraph, %d natively\n%s"
          % (under.returncode, nat.returncode, text(under.stderr)[-3000:]))
    check(nat.stdout == under.stdout, "sqlite3: different output under lockgraph")
    check(nat.stdout.count(b"\n") > 120 and b"500500" in nat.stdout, "sqlite3: the script printed too little")
    check_clean(tool.report_json(out), "sqlite3", exe="sqlite3")
    # the database files read back the same
    dump = [sqlite, "db.sqlite", ".dump"]
    a = run_cmd(dump, cwd=os.path.join(work, "native")).stdout
    b = run_cmd(dump, cwd=os.path.join(work, "tool")).stdout
    check(a == b and len(a) > 1000, "sqlite3: the databases written natively and under lockgraph differ")


def python_testsuite():
    py = "/usr/bin/python3.11"
    if not os.access(py, os.X_OK):
        raise Skip("Debian's /usr/bin/python3.11 is missing")
    if not os.path.exists("/usr/lib/python3.11/test/test_threading.py"):
        raise Skip("CPython's tests are not installed (apt-get install libpython3.11-testsuite; .ci/run does)")
    return py


def junit_results(path):
    """{test id: outcome} from regrtest's --junit-xml file."""
    res = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = tc.get("name") if not tc.get("classname") else "%s.%s" % (tc.get("classname"), tc.get("name"))
        outcome = "ok"
        for child in tc:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
        res[name] = outcome
    return res


def regrtest_once(tool, work, name, mode, args, timeout, tag=""):
    """One regrtest run; {test id: outcome} and the CompletedProcess."""
    py = python_testsuite()
    d = fresh_dir(os.path.join(work, mode + tag))
    xml = os.path.join(d, "results.xml")
    cmd = [py, "-m", "test", "--tempdir", os.path.join(d, "tmp"), "--junit-xml", xml] + args
    if mode == "native":
        p = run_cmd(cmd, cwd=d, timeout=timeout)
    else:
        p = tool.run(os.path.join(work, "lg-" + name + tag), cmd, cwd=d, timeout=timeout)
    check(os.path.exists(xml), "%s %s: regrtest wrote no results (exit %d)\n%s\n%s"
          % (name, mode, p.returncode, text(p.stdout)[-3000:], text(p.stderr)[-3000:]))
    return junit_results(xml), p


def regrtest(tool, work, name, args, timeout, allow=()):
    """CPython's regrtest natively and under the tool: the same outcome for
    every test case. A case whose outcome differs is run again, alone, in
    both modes (up to twice): only a difference that stays is a failure,
    so that a timing-sensitive test made flaky by a loaded machine is not
    blamed on the tool."""
    results, procs = {}, {}
    for mode in ("native", "tool"):
        results[mode], procs[mode] = regrtest_once(tool, work, name, mode, args, timeout)
    nat, under = results["native"], results["tool"]
    check(len(nat) >= 20, "%s: only %d test cases ran natively" % (name, len(nat)))
    differ = sorted(k for k in set(nat) | set(under) if nat.get(k) != under.get(k))
    check(len(differ) <= 10, "%s: %d test cases differ under lockgraph:\n%s" % (name, len(differ), "\n".join(
        "  %s: native %s, under lockgraph %s" % (k, nat.get(k), under.get(k)) for k in differ[:40])))
    for attempt in range(2):
        if not differ:
            break
        again = {}
        for k in differ:
            module = k.split(".")[1] if k.startswith("test.") else args[0]
            sel = [module, "-m", k.rsplit(".", 1)[1]]
            for mode in ("native", "tool"):
                r, _ = regrtest_once(tool, work, name, mode, sel, timeout, tag="-again")
                again[(k, mode)] = r.get(k)
        differ = [k for k in differ if again[(k, "native")] != again[(k, "tool")]]
    check(not differ, "%s: different test results under lockgraph, run again alone too:\n%s" % (name, "\n".join(
        "  %s: native %s, under lockgraph %s" % (k, nat.get(k), under.get(k)) for k in differ)))
    # (the exit statuses may differ only through a flaky case that the
    # reruns showed the same in both modes; an error finding shows below)
    doc = tool.report_json(os.path.join(work, "lg-" + name))
    check_clean(doc, name, exe="python3", allow=allow)
    return doc


# Real races in CPython's tests, on purpose: test_multithread_modify_file_noerror
# (bpo-25872) has 100 threads rewrite one file with no lock, to check that
# Python itself does not fail. A lock-discipline race there is a true report.
CPYTHON_RACES = [("lock-discipline-race", "test_threading.py", "modify_file")]


def case_cpython_threading(tool, work):
    regrtest(tool, work, "cpython-threading", ["test_threading", "test_thread", "test_queue"], 900,
             allow=CPYTHON_RACES)


MP_SUBSET = ["WithProcessesTestLock", "WithProcessesTestSemaphore", "WithProcessesTestCondition",
             "WithProcessesTestQueue", "WithProcessesTestEvent", "WithProcessesTestBarrier",
             "WithProcessesTestProcess", "WithThreadsTestLock", "WithManagerTestLock"]


def case_cpython_mp_fork(tool, work):
    args = ["test_multiprocessing_fork"]
    for m in MP_SUBSET:
        args += ["-m", m]
    doc = regrtest(tool, work, "cpython-mp-fork", args, 900)
    check(len(doc.get("processes") or []) >= 10, "test_multiprocessing_fork: only %d processes in the report"
          % len(doc.get("processes") or []))


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lockgraph", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    work = fresh_dir(os.path.abspath(a.work))
    try:
        CASES[a.case](Tool(a.lockgraph), work)
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS: %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
