# SPDX-License-Identifier: MIT
"""End-to-end: a samples/python program under `lockgraph run`, checked
against its markers, on a chosen interpreter.

usage: run_samples.py --lockgraph BIN --python {debian,pyenv,path,other} SAMPLE.py

"other" is a CPython of another minor version (3.12, 3.13): no Python lines
there, but the same kinds of finding, and one note naming the version.

Markers, in comments of the sample:
  # LG-EXPECT: kind ...   a finding of that kind, severity error, cites this
                          very line of the sample (in Python terms: file,
                          line, function); "k1|k2" accepts either kind
  # LG-EXPECT: clean      no finding of severity error; exit status 0
  # LG-ALLOW: kind ...    an error of that kind may appear as well
  # LG-HANG               really hangs: run with --hang-timeout
Always: the interpreter's own locks (the GIL and its condition variables,
which are pthread mutexes and condvars in _PyRuntime) appear nowhere.

Exit status: 0 pass, 1 fail, 77 skip: lockgraph or its shim is not built,
this lockgraph has no hang supervisor for a LG-HANG sample, or the
interpreter is not installed. A wrong result is never a skip.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HANG_TIMEOUT = "4"
RUN_TIMEOUT = 150


class Failure(Exception):
    pass


def version_key(path):
    m = re.search(r"/(\d+)\.(\d+)\.(\d+)/", path)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def find_interpreter(which):
    if which == "debian":
        path = "/usr/bin/python3.11"
        return [path] if os.access(path, os.X_OK) else None
    if which == "pyenv":
        roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
        found = []
        for root in filter(None, roots):
            found += glob.glob(os.path.join(root, "versions", "3.11.*", "bin", "python3.11"))
        return [sorted(set(found), key=version_key)[-1]] if found else None
    if which == "other":
        # A CPython whose frames pyframes.c does not read (3.12, 3.13, ...):
        # findings must come all the same, from native frames.
        roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
        for pattern in ("3.12.*", "3.13.*"):
            found = []
            for root in filter(None, roots):
                found += glob.glob(os.path.join(root, "versions", pattern, "bin", "python3.1?"))
            if found:
                return [sorted(set(found), key=version_key)[-1]]
        for path in ("/usr/bin/python3.12", "/usr/bin/python3.13"):
            if os.access(path, os.X_OK):
                return [path]
        return None
    if which == "path":
        # Whatever `python3` is first on PATH, possibly pyenv's bash shim
        # that execs the real interpreter: what a student types.
        path = shutil.which("python3")
        return [path] if path else None
    raise SystemExit("unknown --python " + which)


def markers(sample):
    expect, allow = [], set()
    clean = hang = False
    with open(sample, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"#.*LG-EXPECT:\s*(.*)$", line)
            if m:
                for kind in m.group(1).split():
                    if kind == "clean":
                        clean = True
                    else:
                        expect.append((kind, n))
            m = re.search(r"#.*LG-ALLOW:\s*(.*)$", line)
            if m:
                allow.update(m.group(1).split())
            hang = hang or bool(re.search(r"#.*LG-HANG", line))
    return expect, allow, clean, hang


def brief(findings):
    rows = []
    for f in findings:
        locs = ", ".join("%s:%s" % (os.path.basename(str(l.get("file") or "?")), l.get("line"))
                         for l in (f.get("locations") or [])[:8])
        rows.append("  %-8s %-22s %s  [%s]" % (f.get("severity"), f.get("kind"),
                                              f.get("message", ""), locs))
    return "\n".join(rows) or "  (no findings)"


def cites(finding, base, line):
    return any(os.path.basename(str(l.get("file") or "")) == base and l.get("line") == line
               and l.get("function") for l in finding.get("locations") or [])


def interpreter_locks(doc):
    """Locks that can only be the interpreter's own: pure-Python samples take
    no pthread mutex, rwlock or condvar but CPython's GIL ones."""
    bad = []
    for lock in doc.get("locks") or []:
        name = str(lock.get("name", ""))
        if "semaphore" not in str(lock.get("kind")) or "_PyRuntime" in name or \
                re.search(r"\b(take|drop)_gil\b", name):
            bad.append("%s (%s)" % (name, lock.get("kind")))
    return bad


def interpreter_version(python):
    return subprocess.run(python + ["-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, timeout=60).stdout.strip()


def run_sample(lockgraph, python, sample, work, native_only=False):
    """native_only: an interpreter without Python lines; the kinds must be
    found all the same, and lockgraph must say once, naming the version,
    that Python lines are unavailable."""
    expect, allow, clean, hang = markers(sample)
    if not expect and not clean:
        raise Failure("%s has no LG-EXPECT marker" % sample)
    features = subprocess.run([lockgraph, "--version"], capture_output=True, text=True,
                              timeout=30).stdout
    if hang and "supervise" not in features:
        print("SKIP: %s really hangs and this lockgraph has no hang supervisor" % sample)
        return SKIP
    out = os.path.join(work, "out")
    args = [lockgraph, "run", "--out", out]
    if hang:
        args += ["--hang-timeout", HANG_TIMEOUT]
    try:
        p = subprocess.run(args + ["--"] + python + [sample], capture_output=True,
                           timeout=RUN_TIMEOUT, cwd=work)
    except subprocess.TimeoutExpired as e:
        raise Failure("lockgraph run did not finish within %ds:\n%s"
                      % (RUN_TIMEOUT, (e.stderr or b"").decode(errors="replace")))
    stderr = p.stderr.decode(errors="replace")
    r = subprocess.run([lockgraph, "report", out, "--format", "json"], capture_output=True,
                       timeout=RUN_TIMEOUT)
    if r.returncode != 0:
        raise Failure("lockgraph report exited %d: %s" % (r.returncode, r.stderr.decode()))
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        raise Failure("report is not JSON (%s)" % e)
    findings = doc.get("findings") or []
    errors = [f for f in findings if f.get("severity") == "error"]
    base = os.path.basename(sample)
    problems = []

    if not any(pr.get("python") for pr in doc.get("processes") or []):
        problems.append("no process of the run is marked as Python")
    for kind, line in expect:
        if not any(f.get("kind") in kind.split("|") and f.get("severity") == "error"
                   and (native_only or cites(f, base, line)) for f in findings):
            problems.append("no error '%s' citing %s:%d" % (kind, base, line))
    if native_only:
        version = interpreter_version(python)
        said = [l for l in stderr.splitlines() if version in l and "Python" in l]
        if len(said) != 1:
            problems.append("lockgraph did not say once that Python lines are unavailable "
                            "for Python %s (%d lines name it)" % (version, len(said)))
    for kind in sorted({k for k, _ in expect}) if not native_only else ():
        # The first location, the one a student reads first, is a Python line.
        ours = [f for f in errors if f.get("kind") in kind.split("|")]
        if ours and not any(str((f.get("locations") or [{}])[0].get("file", "")).endswith(".py")
                            for f in ours):
            problems.append("no '%s' finding starts at a .py location" % kind)
    wanted = {k for kinds, _ in expect for k in kinds.split("|")} | allow
    for f in errors:
        if f.get("kind") not in wanted:
            problems.append("unexpected error '%s': %s" % (f.get("kind"), f.get("message")))
    if clean and errors:
        problems.append("clean program has %d error finding(s)" % len(errors))
    want_status = 66 if expect else 0
    if p.returncode != want_status:
        problems.append("lockgraph run exited %d, expected %d" % (p.returncode, want_status))
    gil = interpreter_locks(doc)
    if gil:
        problems.append("interpreter-internal locks in the model: " + ", ".join(gil[:5]))
    for f in findings:
        if re.search(r"_PyRuntime|take_gil|drop_gil", json.dumps(f.get("message", ""))):
            problems.append("a finding names the GIL: " + f.get("message", ""))
    for kind, line in expect if not native_only else ():
        if "%s:%d" % (base, line) not in stderr:
            problems.append("the text report does not cite %s:%d" % (base, line))
    if problems:
        raise Failure("\n  ".join(problems) + "\nfindings:\n" + brief(findings) +
                      "\nstderr of lockgraph run:\n" + stderr[-4000:])
    print("%s: %d finding(s), %d error(s), exit %d, as expected\n%s"
          % (base, len(findings), len(errors), p.returncode, brief(findings)))
    return 0


# A student's AB/BA program with Chinese file, variable and function names:
# CPython keeps no UTF-8 copy of such names; pyframes.c encodes them.
NONASCII_SAMPLE = """\
import threading, time
锁甲 = threading.Lock()
锁乙 = threading.Lock()
步骤 = 0
def 线程一():
    global 步骤
    with 锁甲:
        with 锁乙:  # LG-EXPECT: lock-order-cycle
            pass
    步骤 = 1
    while 步骤 < 2:
        time.sleep(0.001)
def 线程二():
    global 步骤
    while 步骤 < 1:
        time.sleep(0.001)
    with 锁乙:
        with 锁甲:  # LG-EXPECT: lock-order-cycle
            pass
    步骤 = 2
ts = [threading.Thread(target=线程一), threading.Thread(target=线程二)]
for t in ts:
    t.start()
for t in ts:
    t.join()
"""


def run_nonascii(lockgraph, python, work):
    sample = os.path.join(work, "死锁_演示.py")
    with open(sample, "w", encoding="utf-8") as f:
        f.write(NONASCII_SAMPLE)
    status = run_sample(lockgraph, python, sample, work)
    doc = json.loads(subprocess.run([lockgraph, "report", os.path.join(work, "out"),
                                     "--format", "json"], capture_output=True).stdout)
    funcs = {l.get("function") for f in doc.get("findings") or []
             if f.get("kind") == "lock-order-cycle" for l in f.get("locations") or []}
    if not {"线程一", "线程二"} <= funcs:
        raise Failure("the cycle does not name the functions 线程一 and 线程二: %s" % funcs)
    return status


REGRTEST = ["test_threading", "test_thread", "test_queue"]


def regrtest_totals(text):
    return [l.strip() for l in text.splitlines()
            if re.match(r"(Total tests:|Total test files:|Result:|Tests result:|"
                        r"(All )?\d+ tests? (OK|failed|skipped))", l.strip())]


def run_regrtest(lockgraph, python, work):
    """CPython's own thread tests give the same totals under lockgraph as
    without it, with no error finding; prints the wall-time ratio."""
    import time
    have = subprocess.run(python + ["-c", "import test.test_threading, test.test_queue"],
                          capture_output=True)
    if have.returncode != 0:
        print("SKIP: %s has no test suite (Debian: libpython3.11-testsuite)" % python[0])
        return SKIP
    t0 = time.monotonic()
    plain = subprocess.run(python + ["-m", "test"] + REGRTEST, capture_output=True, text=True,
                           timeout=1200, cwd=work)
    t1 = time.monotonic()
    want = regrtest_totals(plain.stdout)
    problems = []
    for attempt in (1, 2):
        out = os.path.join(work, "out%d" % attempt)
        t2 = time.monotonic()
        under = subprocess.run([lockgraph, "run", "--out", out, "--hang-timeout", "0", "--"] +
                               python + ["-m", "test"] + REGRTEST, capture_output=True, text=True,
                               timeout=2400, cwd=work)
        t3 = time.monotonic()
        got = regrtest_totals(under.stdout)
        # Every run's findings count, the retried one's too.
        r = subprocess.run([lockgraph, "report", out, "--format", "json"], capture_output=True,
                           timeout=1200)
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        errors = [f for f in doc.get("findings") or [] if f.get("severity") == "error"]
        if r.returncode != 0 or errors:
            problems.append("report exit %d, %d error finding(s):\n%s"
                            % (r.returncode, len(errors), brief(errors[:10])))
        if got == want or attempt == 2 or problems:
            break
        # CPython's thread tests have timing-sensitive cases that can fail
        # on a loaded machine with or without lockgraph: both once more
        # before calling the totals different.
        failed = [l.strip() for l in under.stdout.splitlines() if re.search(r"\bFAIL|\bERROR|failed", l)]
        print("regrtest totals differ (without: %s; under lockgraph: %s); both again:\n    %s"
              % (" / ".join(want), " / ".join(got), "\n    ".join(failed[:10])))
        t0 = time.monotonic()
        plain = subprocess.run(python + ["-m", "test"] + REGRTEST, capture_output=True, text=True,
                               timeout=1200, cwd=work)
        t1 = time.monotonic()
        want = regrtest_totals(plain.stdout)
    if not want or want != got:
        problems.append("regrtest totals differ:\n    without: %s\n    under:   %s" % (want, got))
    if under.returncode not in (plain.returncode, 66):
        problems.append("exit %d under lockgraph, %d without" % (under.returncode, plain.returncode))
    if problems:
        raise Failure("\n  ".join(problems))
    print("regrtest %s: %s; %.1f s without, %.1f s under lockgraph (x%.2f)"
          % (" ".join(REGRTEST), " / ".join(got), t1 - t0, t3 - t2, (t3 - t2) / (t1 - t0)))
    return 0


def main():
    sys.stdout.reconfigure(errors="backslashreplace")   # names in any script
    ap = argparse.ArgumentParser()
    ap.add_argument("--lockgraph", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("sample", help="a samples/python program, 'nonascii' for an AB/BA "
                    "program named in Chinese, or 'regrtest' for CPython's "
                    "test_threading, test_thread and test_queue")
    a = ap.parse_args()
    lockgraph = os.path.abspath(a.lockgraph)
    shim = os.path.join(os.path.dirname(os.path.dirname(lockgraph)), "lib", "liblockgraph.so")
    if not os.access(lockgraph, os.X_OK) or not os.path.exists(shim):
        print("SKIP: lockgraph is not built (%s, %s)" % (lockgraph, shim))
        return SKIP
    python = find_interpreter(a.python)
    if not python:
        print("SKIP: no %s interpreter on this machine" % a.python)
        return SKIP
    work = tempfile.mkdtemp(prefix="lg-pysample-")
    try:
        if a.sample == "regrtest":
            status = run_regrtest(lockgraph, python, work)
        elif a.sample == "nonascii":
            status = run_nonascii(lockgraph, python, work)
        else:
            status = run_sample(lockgraph, python, os.path.abspath(a.sample), work,
                                native_only=a.python == "other")
    except Failure as e:
        print("FAIL %s with %s: %s" % (a.sample, python[0], e))
        print("output kept in", work)
        return 1
    if a.keep or status != 0:
        print("output in", work)
    else:
        shutil.rmtree(work)
    return status


if __name__ == "__main__":
    sys.exit(main())
