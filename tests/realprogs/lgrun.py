# SPDX-License-Identifier: MIT
"""Helpers shared by tests/realprogs and tests/stress: run a command
natively and under `lockgraph run`, read the JSON report, and check that a
run is clean (no finding of severity error, the trace really recorded the
program). Standard library only.
"""
import json
import os
import shutil
import signal
import subprocess

SKIP = 77


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def text(b):
    return (b or b"").decode(errors="replace")


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def need(prog):
    """The absolute path of prog, or Skip when it is not installed."""
    p = shutil.which(prog)
    if not p:
        raise Skip("%s is not installed (apt-get install it; .ci/run does)" % prog)
    return p


class Tool:
    def __init__(self, lockgraph):
        self.bin = os.path.abspath(lockgraph)

    def run(self, out, cmd, args=(), **kw):
        """`lockgraph run --out OUT ARGS -- CMD`, bytes captured."""
        full = [self.bin, "run", "--out", out] + list(args) + ["--"] + list(cmd)
        return run_cmd(full, **kw)

    def report(self, out, fmt="json", timeout=300):
        return subprocess.run([self.bin, "report", out, "--format", fmt],
                              capture_output=True, timeout=timeout)

    def report_json(self, out):
        p = self.report(out)
        check(p.returncode == 0, "lockgraph report %s --format json exited %d:\n%s"
              % (out, p.returncode, text(p.stderr)[-3000:]))
        try:
            doc = json.loads(p.stdout)
        except ValueError as e:
            raise Failure("report --format json is not JSON (%s):\n%s" % (e, text(p.stdout)[:2000]))
        check(isinstance(doc, dict) and isinstance(doc.get("findings"), list),
              "JSON report has no findings array")
        return doc


def run_cmd(cmd, timeout=600, input=None, **kw):
    """cmd with its output captured, in a session of its own, so that a
    timeout kills all of it (lockgraph run, its supervisor, the program
    and the program's children), not only cmd: orphans left running
    would weigh on every test after them."""
    with subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else None, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, start_new_session=True, **kw) as p:
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                out, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:   # a daemon of its own session holds the pipes
                out, err = b"", b""
            raise Failure("%s did not finish within %ss (its process group was killed)\nstderr so far:\n%s"
                          % (" ".join(cmd), timeout, text(err)[-3000:]))
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def brief(findings):
    rows = []
    for f in findings:
        locs = ", ".join("%s:%s" % (os.path.basename(str(l.get("file") or l.get("function") or "?")), l.get("line"))
                         for l in (f.get("locations") or [])[:6])
        rows.append("  %-8s %-22s %s  [%s]" % (f.get("severity"), f.get("kind"), f.get("message", ""), locs))
    return "\n".join(rows) or "  (no findings)"


def errors_of(doc):
    return [f for f in doc["findings"] if f.get("severity") == "error"]


def allowed(f, allow):
    """f matches one of allow's (kind, file basename, function) triples."""
    for kind, file, function in allow:
        if f.get("kind") == kind and any(os.path.basename(str(l.get("file") or "")) == file and
                                         l.get("function") == function for l in f.get("locations") or []):
            return True
    return False


def check_clean(doc, what, exe=None, min_processes=1, allow=()):
    """No finding of severity error (but the real bugs listed in allow),
    and the trace saw the program."""
    errs = [f for f in errors_of(doc) if not allowed(f, allow)]
    check(not errs, "%s: findings of severity error where there is no bug:\n%s" % (what, brief(errs)))
    procs = doc.get("processes") or []
    check(len(procs) >= min_processes, "%s: the report has %d processes, expected at least %d (was the shim loaded?)"
          % (what, len(procs), min_processes))
    if exe:
        exes = [os.path.basename(str(p.get("exe") or "")) for p in procs]
        check(any(e.startswith(exe) for e in exes), "%s: no process of %s in the report (processes: %s)"
              % (what, exe, ", ".join(sorted(set(exes)))))


def kinds(doc, severity=None):
    return [f.get("kind") for f in doc["findings"] if severity is None or f.get("severity") == severity]
