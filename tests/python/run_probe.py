# SPDX-License-Identifier: MIT
"""Runs a probe script under tests/python's pyprobe.so and checks the
Python frames it captured (preload/pyframes.c) against the script's
"# PROBE:" markers and against the interpreter's own standard library.

usage: run_probe.py --probe LIB --python {debian,pyenv,other,none} --case NAME

Exit status: 0 pass, 1 fail (with the reason), 77 skip when the requested
interpreter is not installed on this machine.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def version_key(path):
    m = re.search(r"/(\d+)\.(\d+)\.(\d+)/", path)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def pyenv_pythons(pattern):
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    found = []
    for root in filter(None, roots):
        found += glob.glob(os.path.join(root, "versions", pattern))
    return sorted(set(found), key=version_key)


def find_interpreter(which):
    """The real interpreter binary (never the pyenv bash shim)."""
    if which == "debian":
        path = "/usr/bin/python3.11"
        return path if os.access(path, os.X_OK) else None
    if which == "pyenv":
        found = pyenv_pythons("3.11.*/bin/python3.11")
        return found[-1] if found else None
    if which == "other":
        for pattern in ("3.12.*/bin/python3.12", "3.13.*/bin/python3.13",
                        "3.10.*/bin/python3.10"):
            found = pyenv_pythons(pattern)
            if found:
                return found[-1]
        for path in ("/usr/bin/python3.12", "/usr/bin/python3.13"):
            if os.access(path, os.X_OK):
                return path
        return None
    if which == "none":
        return "/bin/sh"
    raise SystemExit("unknown --python " + which)


class Capture:
    """One "cap" line: pid, tid, hooked call, its argument, frames."""

    def __init__(self, line):
        head, *frames = line.split(" | ")
        _, pid, tid, self.op, arg = head.split()
        self.pid, self.tid, self.arg = int(pid), int(tid), int(arg)
        self.frames = []
        for f in frames:
            where, func = f.rsplit(" ", 1)
            path, lineno = where.rsplit(":", 1)
            self.frames.append((path, int(lineno), func))

    def __str__(self):
        return "%s pid=%d %s" % (self.op, self.pid, " <- ".join(
            "%s:%d %s" % (os.path.basename(p), n, f) for p, n, f in self.frames[:6]))


class Output:
    def __init__(self, path):
        self.lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
        self.caps = [Capture(l) for l in self.lines if l.startswith("cap ")]

    def kind(self, word):
        return [l.split() for l in self.lines if l.startswith(word + " ")]


def fields(words):
    return dict(w.split("=", 1) for w in words if "=" in w)


def markers(script):
    """[(line, op, func, innermost, child)] from "# PROBE: [frame] op func [child]"."""
    found = []
    with open(script, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            m = re.search(r"# PROBE: (.*)$", text)
            if not m:
                continue
            words = m.group(1).split()
            innermost = words[0] != "frame"
            if not innermost:
                words = words[1:]
            found.append((n, words[0], words[1], innermost, "child" in words[2:]))
    return found


def stdlib_line(python, module, func, text):
    """Line numbers, inside `def func` of the interpreter's own `module`, of
    the lines containing `text`: stdlib lines differ between 3.11 releases."""
    path = subprocess.run([python, "-c", "import %s as m; print(m.__file__)" % module],
                          capture_output=True, text=True, check=True).stdout.strip()
    lines, inside, indent = set(), False, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            stripped = line.lstrip()
            depth = len(line) - len(stripped)
            if re.match(r"def %s\(" % re.escape(func), stripped):
                inside, indent = True, depth
                continue
            if inside and stripped and depth <= indent:
                inside = False
            if inside and text in line:
                lines.add(n)
    if not lines:
        raise Failure("%s.%s has no line with %r" % (module, func, text))
    return path, lines


def run(python, probe, args, out, timeout, until=None, env_extra=None):
    """Runs python+args with the probe preloaded. With `until`, waits for
    until(Output) to be true, then ends the whole process group."""
    env = dict(os.environ, LD_PRELOAD=probe, LG_PYPROBE_OUT=out)
    env.pop("PYTHONPATH", None)
    env.update(env_extra or {})
    proc = subprocess.Popen([python] + args, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if until and os.path.exists(out) and until(Output(out)):
                break
            time.sleep(0.1)
        if proc.poll() is None:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            hung = False
        text = proc.communicate()[0].decode(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    if not os.path.exists(out):
        raise Failure("probe wrote nothing; program said:\n" + text)
    if not until and hung:
        raise Failure("did not finish within %ds:\n%s" % (timeout, text))
    if not until and proc.returncode != 0:
        raise Failure("exit status %d:\n%s" % (proc.returncode, text))
    return Output(out)


def check_process_start(o, want_summary=True):
    """What every run of a 3.11 interpreter must show besides the captures."""
    inits = o.kind("init")
    if len(inits) != 1:
        raise Failure("expected one init line, got %d" % len(inits))
    init = fields(inits[0])
    if init["supported"] != "1" or not init["version"].startswith("3.11."):
        raise Failure("init: " + " ".join(inits[0]))
    if int(init["runtime_size"]) <= 0:
        raise Failure("no _PyRuntime range: " + " ".join(inits[0]))
    ctor = fields(o.kind("ctor")[0])
    if ctor != {"active": "0", "capture": "0"}:
        raise Failure("before Py_Initialize: %s" % ctor)
    nostate = o.kind("nostate")
    if not nostate or any(fields(n)["capture"] != "0" for n in nostate):
        raise Failure("thread without Python state captured frames: %s" % nostate)
    if want_summary:
        summaries = [fields(s) for s in o.kind("summary")]
        if not summaries:
            raise Failure("no summary line")
        bad = [s for s in summaries if s["mismatches"] != "0"]
        if bad:
            raise Failure("lines differ from PyCode_Addr2Line: %s" % bad)
        if sum(int(s["lines_checked"]) for s in summaries) == 0:
            raise Failure("no line was cross-checked")
    return int(inits[0][1])


def check_markers(o, script, main_pid):
    missing = []
    for line, op, func, innermost, child in markers(script):
        want = (script, line, func)
        hits = [c for c in o.caps if c.op == op and c.frames and
                (c.frames[0] == want if innermost else want in c.frames) and
                ((c.pid != main_pid) if child else (c.pid == main_pid))]
        if not hits:
            near = [str(c) for c in o.caps if c.op == op and
                    any(f[0] == script for f in c.frames)][:5]
            missing.append("%s:%d %s %s%s; captures with this file:\n    %s" % (
                os.path.basename(script), line, op, func, " (child)" if child else "",
                "\n    ".join(near) or "none"))
    if missing:
        raise Failure("no capture for:\n  " + "\n  ".join(missing))


def case_simple(python, probe, tmp, name):
    script = os.path.join(HERE, name)
    o = run(python, probe, [script], os.path.join(tmp, "out.txt"), 120)
    main_pid = check_process_start(o)
    check_markers(o, script, main_pid)
    return o, main_pid


def case_abba(python, probe, tmp):
    case_simple(python, probe, tmp, "probe_abba.py")


def case_mplock(python, probe, tmp):
    o, main_pid = case_simple(python, probe, tmp, "probe_mplock.py")
    if not [s for s in o.kind("summary") if int(s[1]) != main_pid]:
        raise Failure("the child reported no summary (its _exit was not seen)")


def case_stress(python, probe, tmp):
    o, main_pid = case_simple(python, probe, tmp, "probe_stress.py")
    script = os.path.join(HERE, "probe_stress.py")
    deep = [c for c in o.caps if c.frames and c.frames[0][0] == script
            and c.frames[0][2] == "deep"]
    if not deep or len(deep[0].frames) != 48 or \
            any(f[2] != "deep" for f in deep[0].frames):
        raise Failure("recursion 101 deep: expected 48 'deep' frames, got %s"
                      % (deep[0] if deep else "nothing"))
    # __del__ runs while drop()'s frame is torn down; drop must already be
    # unlinked (GH-99729), so the next frame is hammer, at the drop() call.
    dels = [c for c in o.caps if c.frames and c.frames[0][2] == "__del__"]
    if not dels or any(len(c.frames) < 2 or c.frames[1][2] != "hammer" for c in dels):
        raise Failure("__del__ frames: %s" % (dels[0] if dels else "none"))
    checked = sum(int(fields(s)["lines_checked"]) for s in o.kind("summary"))
    if checked < 20000:
        raise Failure("only %d lines cross-checked" % checked)


def case_nonascii(python, probe, tmp):
    """A script whose file and function names are not ASCII (CPython keeps
    no UTF-8 copy of those: pyframes.c encodes them itself)."""
    script = os.path.join(tmp, "死锁_演示.py")
    with open(script, "w", encoding="utf-8") as f:
        f.write("import threading\n"
                "锁甲 = threading.Lock()\n"
                "def 线程一():\n"
                "    with 锁甲:  # PROBE: sem_trywait 线程一\n"
                "        pass\n"
                "def café():\n"
                "    with 锁甲:  # PROBE: sem_trywait café\n"
                "        pass\n"
                "for f in (线程一, café):\n"
                "    t = threading.Thread(target=f)\n"
                "    t.start()\n"
                "    t.join()\n")
    o = run(python, probe, [script], os.path.join(tmp, "out.txt"), 60)
    check_markers(o, script, check_process_start(o))


def case_bigput(python, probe, tmp):
    script = os.path.join(HERE, "probe_bigput.py")
    conn, send_lines = stdlib_line(python, "multiprocessing.connection", "_send",
                                   "n = write(self._handle, buf)")
    queues, feed_lines = stdlib_line(python, "multiprocessing.queues", "_feed",
                                     "send_bytes(obj)")
    popen, wait_lines = stdlib_line(python, "multiprocessing.popen_fork", "poll",
                                    "os.waitpid(")
    threading_py, tstate_lines = stdlib_line(python, "threading", "_wait_for_tstate_lock",
                                             "lock.acquire(block, timeout)")
    marks = {op: (line, func) for line, op, func, _, _ in markers(script)}

    def blocked_write(c):
        return (c.op == "write" and c.arg >= 1_000_000 and c.frames
                and c.frames[0][0] == conn and c.frames[0][1] in send_lines
                and c.frames[0][2] == "_send"
                and any(f[0] == queues and f[1] in feed_lines and f[2] == "_feed"
                        for f in c.frames))

    def parent_join(c):
        return (c.op == "waitpid" and c.frames and c.frames[0][0] == popen
                and c.frames[0][1] in wait_lines and c.frames[0][2] == "poll"
                and (script, marks["waitpid"][0], "<module>") in c.frames)

    def child_exit_join(c):
        return (c.op == "sem_wait" and c.frames and c.frames[0][0] == threading_py
                and c.frames[0][1] in tstate_lines
                and c.frames[0][2] == "_wait_for_tstate_lock"
                and (script, marks["sem_wait"][0], "<module>") in c.frames)

    def all_in(o):
        return (any(map(blocked_write, o.caps)) and any(map(parent_join, o.caps))
                and any(map(child_exit_join, o.caps)))

    o = run(python, probe, [script], os.path.join(tmp, "out.txt"), 60, until=all_in)
    main_pid = check_process_start(o, want_summary=False)
    problems = []
    joins = [c for c in o.caps if parent_join(c)]
    writes = [c for c in o.caps if blocked_write(c)]
    exits = [c for c in o.caps if child_exit_join(c)]
    if not joins or joins[0].pid != main_pid:
        problems.append("parent's p.join() waitpid (popen_fork.py:%s poll <- "
                        "probe_bigput.py:%d)" % (sorted(wait_lines), marks["waitpid"][0]))
    if not writes or writes[0].pid == main_pid:
        problems.append("child feeder's write (connection.py:%s _send <- queues.py:%s _feed)"
                        % (sorted(send_lines), sorted(feed_lines)))
    if not exits or exits[0].pid == main_pid:
        problems.append("child's exit join of its feeder (threading.py:%s)"
                        % sorted(tstate_lines))
    if joins and writes and joins[0].arg != writes[0].pid:
        problems.append("waitpid(%d) is not the writer %d" % (joins[0].arg, writes[0].pid))
    if problems:
        got = "\n    ".join(str(c) for c in o.caps if c.op in ("write", "waitpid", "sem_wait")
                           and len(c.frames) > 1)
        raise Failure("missing: " + "; ".join(problems) + "\n  captured:\n    " + got)


def case_names(python, probe, tmp):
    """lg_py_assigned_name: the variable each new lock is stored into."""
    script = os.path.join(HERE, "probe_names.py")
    o = run(python, probe, [script], os.path.join(tmp, "out.txt"), 60)
    check_process_start(o)
    named = []                          # (variable, [(file, line)])
    for l in o.lines:
        if l.startswith("name "):
            head, *frames = l.split(" | ")
            where = [tuple(f.rsplit(":", 1)) for f in frames]
            named.append((head.split(" ", 3)[3], [(f, int(n)) for f, n in where]))
    problems = []
    with open(script, encoding="utf-8") as f:
        marks = [(n, m.group(1)) for n, text in enumerate(f, 1)
                 for m in [re.search(r"# NAME: (\S+)", text)] if m]
    for line, want in marks:
        got = sorted({v for v, frames in named if (script, line) in frames})
        if want == "-" and got:
            problems.append("%d: expected no name, got %s" % (line, got))
        elif want != "-" and got != [want]:
            problems.append("%d: expected %s, got %s" % (line, want, got or "nothing"))
    imports = [v for v, frames in named if frames and frames[0][0].startswith("<frozen importlib")]
    if imports:
        problems.append("locks of the import system were named: %s" % sorted(set(imports)))
    if problems:
        raise Failure("\n  ".join(problems))


def case_daemon(python, probe, tmp):
    """Captures racing finalisation: daemon threads in locks and pipe I/O
    while the main thread exits. Every run must exit 0 with no crash."""
    script = os.path.join(HERE, "probe_daemon.py")
    for i in range(25):
        out = os.path.join(tmp, "out%d.txt" % i)
        o = run(python, probe, [script], out, 60)
        if not any(c.frames and c.frames[0][2] == "churn" for c in o.caps):
            raise Failure("run %d: no capture in the daemon threads" % i)


def regrtest_totals(text):
    """The lines of a regrtest run that must not change under the probe."""
    return [l.strip() for l in text.splitlines()
            if re.match(r"(Total tests:|Total test files:|Result:|Tests result:|"
                        r"(All )?\d+ tests? (OK|failed|skipped))", l.strip())]


def case_cpython_tests(python, probe, tmp):
    """CPython's own test_threading, test_thread and test_queue give the
    same totals with the probe capturing at every lock call as without, and
    every decoded line agrees with PyCode_Addr2Line."""
    tests = ["test_threading", "test_thread", "test_queue"]
    have = subprocess.run([python, "-c", "import test.test_threading, test.test_queue"],
                          capture_output=True)
    if have.returncode != 0:
        raise Skip("%s has no test suite (Debian ships it in libpython3.11-testsuite)" % python)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    out = os.path.join(tmp, "out.txt")
    penv = dict(env, LD_PRELOAD=probe, LG_PYPROBE_OUT=out)
    # CPython's thread tests have timing-sensitive cases that fail now and
    # then on a loaded machine, without the probe too (seen: "1 test
    # failed" natively, all OK under the probe): when the totals differ,
    # both run once more, and that pair must agree.
    for attempt in (1, 2):
        plain = subprocess.run([python, "-m", "test"] + tests, capture_output=True, text=True,
                               timeout=900, env=env)
        if os.path.exists(out):
            os.unlink(out)
        probed = subprocess.run([python, "-m", "test"] + tests, capture_output=True, text=True,
                                timeout=900, env=penv)
        want, got = regrtest_totals(plain.stdout), regrtest_totals(probed.stdout)
        if want and want == got and plain.returncode == probed.returncode:
            break
        if attempt == 1:
            print("regrtest totals differ (without: %s; with the probe: %s); both again"
                  % (" / ".join(want), " / ".join(got)))
    if not want or want != got or plain.returncode != probed.returncode:
        raise Failure("regrtest differs under the probe:\n  without: %s (exit %d)\n  with:    %s (exit %d)"
                      % (want, plain.returncode, got, probed.returncode))
    o = Output(out)
    summaries = [fields(x) for x in o.kind("summary")]
    bad = [x for x in summaries if x["mismatches"] != "0"]
    checked = sum(int(x["lines_checked"]) for x in summaries)
    if bad or checked < 100000:
        raise Failure("%d lines checked, mismatches in %s" % (checked, bad))
    print("regrtest: %s; %d processes, %d lines checked against PyCode_Addr2Line"
          % (" / ".join(got), len(summaries), checked))


def case_bench(python, probe, tmp):
    o = run(python, probe, [os.path.join(HERE, "probe_bench.py")],
            os.path.join(tmp, "out.txt"), 120,
            env_extra={"LG_PYPROBE_BENCH": "200000", "LG_PYPROBE_BENCH_DEPTH": "12"})
    check_process_start(o, want_summary=False)
    bench = o.kind("bench")
    if not bench:
        raise Failure("no capture 12 frames deep was timed")
    ns = float(fields(bench[0])["ns_per_capture"])
    print("one capture, 12 frames deep: %.1f ns" % ns)
    if ns > 5000:
        raise Failure("a capture costs %.0f ns: something walks far too much" % ns)


def case_unsupported(python, probe, tmp):
    """Another minor version: no captures, one version note, program intact."""
    o = run(python, probe, ["-c", "import threading, multiprocessing\n"
                            "l = threading.Lock()\nwith l: pass\nprint('ok')"],
            os.path.join(tmp, "out.txt"), 60)
    init = fields(o.kind("init")[0])
    if init["supported"] != "0" or init["version"] in ("none", "") or \
            init["version"].startswith("3.11."):
        raise Failure("init for %s: %s" % (python, init))
    if int(init["runtime_size"]) <= 0:
        raise Failure("no _PyRuntime range for %s (GIL filtering needs it)" % python)
    if o.caps:
        raise Failure("captured frames on an unsupported version: %s" % o.caps[0])


def case_nonpython(python, probe, tmp):
    o = run(python, probe, ["-c", "echo not python"], os.path.join(tmp, "out.txt"), 30)
    init = fields(o.kind("init")[0])
    if init != {"supported": "0", "version": "none", "runtime_size": "0"}:
        raise Failure("init in /bin/sh: %s" % init)
    if o.caps:
        raise Failure("captured frames in /bin/sh")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    sys.stdout.reconfigure(errors="backslashreplace")   # names in any script
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--keep", action="store_true", help="keep the output directory")
    a = ap.parse_args()
    python = find_interpreter(a.python)
    if not python:
        print("SKIP: no %s interpreter on this machine" % a.python)
        return SKIP
    tmp = tempfile.mkdtemp(prefix="lg-pyprobe-")
    try:
        CASES[a.case](python, os.path.abspath(a.probe), tmp)
    except Skip as e:
        print("SKIP:", e)
        shutil.rmtree(tmp)
        return SKIP
    except Failure as e:
        print("FAIL %s with %s: %s" % (a.case, python, e))
        print("output kept in", tmp)
        return 1
    print("PASS %s with %s" % (a.case, python))
    if a.keep:
        print("output in", tmp)
    else:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
