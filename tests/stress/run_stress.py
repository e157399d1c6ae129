#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shim under stress, bad input for `lockgraph report`, and nothing
lost when the target dies (issue 8).

    run_stress.py --lockgraph BIN --progs DIR --src DIR --work DIR CASE

DIR (--progs) holds the programs built from tests/stress/progs; --src is
tests/stress. A stress case runs its program natively and under
`lockgraph run` and checks the program's own result (exit status, output,
files) is the same and that the report is sane: readable, no crash of the
tool, no finding of severity error where there is no bug, and what the
case is about recorded. Exit status: 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "realprogs"))
from lgrun import (SKIP, Failure, Skip, Tool, brief, check, check_clean, errors_of,  # noqa: E402
                   fresh_dir, run_cmd, text)

PY = "/usr/bin/python3.11"


class Ctx:
    def __init__(self, a):
        self.tool = Tool(a.lockgraph)
        self.progs = os.path.abspath(a.progs)
        self.src = os.path.abspath(a.src)
        self.work = fresh_dir(os.path.abspath(a.work))

    def prog(self, name):
        p = os.path.join(self.progs, name)
        if not os.access(p, os.X_OK):
            raise Skip("%s was not built" % p)
        return p

    def source_line(self, src, marker):
        """Line number of the `LG-STRESS: marker` comment in progs/src."""
        with open(os.path.join(self.src, "progs", src)) as f:
            for i, line in enumerate(f, 1):
                if "LG-STRESS: %s" % marker in line:
                    return i
        raise Failure("no LG-STRESS: %s in %s" % (marker, src))


def same_run(ctx, name, cmd, timeout=300, args=(), env=None, cwd=None, expect_rc=None):
    """cmd natively and under the tool: same exit status and stdout.
    Returns (native, under, doc)."""
    nat = run_cmd(cmd, timeout=timeout, env=env, cwd=cwd or ctx.work)
    if expect_rc is not None:
        check(nat.returncode == expect_rc, "%s natively: exit %d, expected %d (the test program is wrong)\n%s%s"
              % (name, nat.returncode, expect_rc, text(nat.stdout), text(nat.stderr)))
    out = os.path.join(ctx.work, "lg-" + name)
    under = ctx.tool.run(out, cmd, args=args, timeout=timeout, env=env, cwd=cwd or ctx.work)
    check(under.returncode == nat.returncode,
          "%s: exit %d under lockgraph, %d natively\nstdout:\n%s\nstderr:\n%s"
          % (name, under.returncode, nat.returncode, text(under.stdout)[-2000:], text(under.stderr)[-4000:]))
    check(under.stdout == nat.stdout, "%s: different output under lockgraph:\n%s\n--- native:\n%s"
          % (name, text(under.stdout)[-2000:], text(nat.stdout)[-2000:]))
    check_no_crash(under, name)
    return nat, under, ctx.tool.report_json(out)


def check_no_crash(p, what):
    err = text(p.stderr)
    for bad in ("AddressSanitizer", "runtime error:", "Segmentation fault", "core dumped", "Assertion"):
        check(bad not in err, "%s: %r on stderr:\n%s" % (what, bad, err[-3000:]))


def tool_lines(p, needle):
    return [l for l in text(p.stderr).splitlines() if needle in l]


def no_kinds(doc, kinds, what):
    bad = [f for f in doc["findings"] if f.get("kind") in kinds]
    check(not bad, "%s: bogus findings:\n%s" % (what, brief(bad)))


def cites(f, src, line):
    return any(os.path.basename(str(l.get("file") or "")) == src and l.get("line") == line
               for l in f.get("locations") or [])


def find_cycle(doc, src, lines, severity="error", kinds=("lock-order-cycle",)):
    for f in doc["findings"]:
        if f.get("kind") in kinds and f.get("severity") == severity and all(cites(f, src, l) for l in lines):
            return f
    return None


# ------------------------------------------------------------ the shim under stress

def case_cancel(ctx):
    """pthread_cancel in a condition wait, a semaphore wait and (async) a
    mutex wait: cleanup handlers run; no unreleased lock, no unlock by a
    non-owner afterwards."""
    nat, under, doc = same_run(ctx, "cancel", [ctx.prog("stress_cancel")], expect_rc=0)
    check(b"cleanups 4" in nat.stdout, "cancel: cleanup handlers did not all run")
    check_clean(doc, "cancel", exe="stress_cancel")
    no_kinds(doc, ("unreleased-lock", "unlock-not-owner", "unlock-unlocked", "cond-wait-misuse"), "cancel")
    check(len(doc.get("threads") or []) == 4, "cancel: %d threads in the report, expected 4"
          % len(doc.get("threads") or []))


def case_signals(ctx):
    """Handlers that lock a mutex and sem_post, landing inside lock calls."""
    nat, under, doc = same_run(ctx, "signals", [ctx.prog("stress_signals")], expect_rc=0)
    check_clean(doc, "signals", exe="stress_signals", min_processes=301)
    no_kinds(doc, ("unreleased-lock", "unlock-not-owner", "unlock-unlocked", "self-deadlock"), "signals")


def case_threads(ctx):
    """10,000 threads over the run, 1,000 alive at once: all recorded."""
    nat, under, doc = same_run(ctx, "threads", [ctx.prog("stress_threads")], expect_rc=0)
    check_clean(doc, "threads", exe="stress_threads")
    n = len(doc.get("threads") or [])
    check(n == 10001, "threads: the report has %d threads; the program ran 10,000 plus main" % n)
    check(not tool_lines(under, "lockgraph: ") or all("0 errors" in l for l in tool_lines(under, "lockgraph: ")),
          "threads: the tool complained:\n%s" % text(under.stderr)[-2000:])


def case_held_1024(ctx):
    """One thread holds 1,024 locks at once; another then takes the last
    and the first in the other order: the tool must not give up, and the
    inversion (first edge made with 1,023 locks held) must be an error."""
    prog = ctx.prog("stress_manylocks")
    out = os.path.join(ctx.work, "lg-held")
    nat = run_cmd([prog, "held", "1024"])
    check(nat.returncode == 0, "manylocks natively: exit %d" % nat.returncode)
    under = ctx.tool.run(out, [prog, "held", "1024"], timeout=600)
    check_no_crash(under, "held 1024")
    check(under.stdout == nat.stdout, "held 1024: different output under lockgraph")
    check(not tool_lines(under, "no longer tracked"), "held 1024: the shim gave up:\n%s" % text(under.stderr)[-2000:])
    check(under.returncode == 66, "held 1024: exit %d under lockgraph, expected 66 (the inversion is an error)\n%s"
          % (under.returncode, "\n".join(l for l in text(under.stderr).splitlines() if not l.startswith("    "))[-3000:]))
    doc = ctx.tool.report_json(out)
    lines = [ctx.source_line("manylocks.c", "inversion"), ctx.source_line("manylocks.c", "nested")]
    check(find_cycle(doc, "manylocks.c", lines), "held 1024: no lock-order-cycle error citing manylocks.c:%s\n%s"
          % (lines, brief(errors_of(doc))))


def case_held_overflow(ctx):
    """More locks held than the shim tracks (1,100 > 1,024): it says so
    once on stderr, stops tracking that thread, never aborts, and invents
    nothing (no unreleased lock, no unlock by a non-owner)."""
    nat, under, doc = same_run(ctx, "overflow", [ctx.prog("stress_manylocks"), "held", "1100"], expect_rc=0,
                               timeout=600)
    said = tool_lines(under, "1024 locks")
    check(len(said) == 1, "held 1100: expected one line about the 1,024-lock limit on stderr, got %d:\n%s"
          % (len(said), text(under.stderr)[-2000:]))
    no_kinds(doc, ("unreleased-lock", "unlock-not-owner", "unlock-unlocked"), "held 1100")
    check_clean(doc, "held 1100", exe="stress_manylocks")


def case_locktable_full(ctx):
    """More mutexes than the shim's lock table holds (2,200,000 > 2^21):
    one line on stderr, the program runs on unchanged."""
    nat, under, doc = same_run(ctx, "locktable", [ctx.prog("stress_manylocks"), "table", "2200000"],
                               expect_rc=0, timeout=600)
    said = tool_lines(under, "lock table is full")
    check(len(said) == 1, "lock table: expected one 'lock table is full' line on stderr, got %d:\n%s"
          % (len(said), text(under.stderr)[-2000:]))
    check_clean(doc, "lock table full", exe="stress_manylocks")


def case_trace_full(ctx):
    """A trace file that fills up (LOCKGRAPH_OPTIONS=trace_max=256 KiB, the
    10,000-thread program): one line on stderr, the program unchanged, the
    report reads what was written and says the trace was cut."""
    env = dict(os.environ, LOCKGRAPH_OPTIONS="trace_max=262144")
    nat, under, doc = same_run(ctx, "tracefull", [ctx.prog("stress_threads")], expect_rc=0, env=env)
    said = tool_lines(under, "trace file is full")
    check(len(said) == 1, "trace full: expected one 'trace file is full' line on stderr, got %d:\n%s"
          % (len(said), text(under.stderr)[-2000:]))
    check_clean(doc, "trace full", exe="stress_threads")
    procs = doc["processes"]
    check(any(p.get("truncated") for p in procs), "trace full: the report does not mark the trace truncated")
    n = len(doc.get("threads") or [])
    check(100 < n < 10001, "trace full: %d threads in the report; expected those recorded before the cut" % n)


def case_forkloop(ctx):
    """fork+exit 200 times while 4 threads hammer locks inside the shim;
    three rounds: no child may deadlock (the timeout would say so)."""
    for r in range(3):
        nat, under, doc = same_run(ctx, "forkloop%d" % r, [ctx.prog("stress_forkloop")], expect_rc=0, timeout=120)
        check_clean(doc, "forkloop", exe="stress_forkloop", min_processes=201)
        no_kinds(doc, ("unreleased-lock", "unlock-not-owner", "unlock-unlocked", "destroy-locked"), "forkloop")


def case_spawn(ctx):
    """vfork, posix_spawn(p), system, popen: same statuses and output."""
    nat, under, doc = same_run(ctx, "spawn", [ctx.prog("stress_spawn")], expect_rc=0, timeout=120)
    check_clean(doc, "spawn", exe="stress_spawn", min_processes=20)


def case_py_subprocess(ctx):
    """CPython's subprocess (vfork, posix_spawn, fork with preexec_fn)."""
    if not os.access(PY, os.X_OK):
        raise Skip("%s is missing" % PY)
    nat, under, doc = same_run(ctx, "pysub", [PY, os.path.join(ctx.src, "progs", "py_subprocess.py")],
                               expect_rc=0, timeout=300)
    check_clean(doc, "python subprocess", exe="python3", min_processes=40)


def case_daemon(ctx):
    """A daemon: double fork, setsid, closes every fd, opens its own
    result file, grows its trace past the first megabyte. Its file must
    be exactly what it wrote."""
    prog = ctx.prog("stress_daemon")
    res = {}
    for mode in ("native", "tool"):
        d = fresh_dir(os.path.join(ctx.work, mode))
        cmd = [prog, os.path.join(d, "result.txt")]
        if mode == "native":
            p = run_cmd(cmd, timeout=120, cwd=d)
        else:
            p = ctx.tool.run(os.path.join(ctx.work, "lg-daemon"), cmd, timeout=120, cwd=d)
            check_no_crash(p, "daemon")
        check(p.returncode == 0, "daemon (%s): exit %d\n%s%s" % (mode, p.returncode, text(p.stdout), text(p.stderr)[-3000:]))
        with open(os.path.join(d, "result.txt"), "rb") as f:
            res[mode] = f.read()
    check(res["native"].count(b"\n") == 1, "daemon natively wrote %r" % res["native"][:200])
    check(res["tool"] == res["native"], "daemon: its result file differs under lockgraph: %d bytes (%r...), "
          "natively %d bytes (%r)" % (len(res["tool"]), res["tool"][:80], len(res["native"]), res["native"]))
    doc = ctx.tool.report_json(os.path.join(ctx.work, "lg-daemon"))
    check_clean(doc, "daemon", exe="stress_daemon", min_processes=3)
    check(not doc.get("skipped"), "daemon: parts of the trace were lost: %s" % doc.get("skipped"))


def case_file_join(ctx):
    """A file written before pthread_create and after pthread_join, read
    by the threads in between (git index-pack's shape): no race."""
    nat, under, doc = same_run(ctx, "filejoin", [ctx.prog("stress_filejoin"), "data.bin"], expect_rc=0)
    check_clean(doc, "file join", exe="stress_filejoin")


SHELL_FDS = r'''
for fd in 3 4 5 6 7 8 9; do
    eval "exec $fd>out$fd.txt"
    i=0
    while [ $i -lt 50 ]; do echo "fd $fd line $i" >&$fd; i=$((i + 1)); done
done
( for fd in 3 4 5 6 7 8 9; do echo "subshell writes to $fd" >&$fd; done )
ls -1 out*.txt | sort | xargs wc -l
'''


def case_shell_fds(ctx):
    """A shell script's own redirections (`exec 3>file` ... `exec 9>file`),
    written to by the shell and by a forked subshell: the files hold
    exactly what was written, as without the tool, whatever fd numbers the
    shim happens to use."""
    sh = shutil.which("bash") or "/bin/sh"
    res = {}
    for mode in ("native", "tool"):
        d = fresh_dir(os.path.join(ctx.work, mode))
        cmd = [sh, "-c", SHELL_FDS]
        if mode == "native":
            p = run_cmd(cmd, timeout=60, cwd=d)
        else:
            p = ctx.tool.run(os.path.join(ctx.work, "lg-shell"), cmd, timeout=60, cwd=d)
            check_no_crash(p, "shell fds")
        check(p.returncode == 0, "shell fds (%s): exit %d\n%s" % (mode, p.returncode, text(p.stderr)[-2000:]))
        res[mode] = {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))}
    for name, data in res["native"].items():
        got = res["tool"].get(name)
        check(got == data, "shell fds: %s is %s under lockgraph, natively %d bytes (%r...)"
              % (name, "missing" if got is None else "%d bytes (%r...)" % (len(got), got[-40:]), len(data), data[:40]))
    check_clean(ctx.tool.report_json(os.path.join(ctx.work, "lg-shell")), "shell fds", exe=os.path.basename(sh))


def case_clearenv(ctx):
    """clearenv(), then exec: the program goes on without the shim."""
    nat, under, doc = same_run(ctx, "clearenv", [ctx.prog("stress_envexec"), "clear"], expect_rc=9)
    check(b"HOME=(unset)" in under.stdout, "clearenv: the environment was not cleared")
    check_clean(doc, "clearenv", exe="stress_envexec")


def case_own_preload(ctx):
    """A program that sets LD_PRELOAD itself (replacing, then appending):
    its library is loaded in its child as without the tool."""
    lib = os.path.join(ctx.progs, "libstress_marker.so")
    for mode in ("preload", "append"):
        nat, under, doc = same_run(ctx, mode, [ctx.prog("stress_envexec"), mode, lib], expect_rc=0)
        check(b"marker library loaded" in under.stdout, "%s: the program's own LD_PRELOAD library did not load" % mode)
        check_clean(doc, mode, exe="stress_envexec")
        if mode == "append":
            # the shim stayed ahead of the program's library: the child is traced
            kids = [p for p in doc["processes"] if "child" in (p.get("argv") or [])]
            check(kids, "append: the exec'd child (shim kept in LD_PRELOAD) is not in the report")


def case_static_exec(ctx):
    """A dynamic program that runs a static binary (fork+exec, then exec
    in place): same output, the static binary's status passed through."""
    static = ctx.prog("stress_static_prog")
    nat, under, doc = same_run(ctx, "static", [ctx.prog("stress_envexec"), "static", static], expect_rc=7)
    check(under.stdout.count(b"static binary") == 2, "static: the static binary did not run twice")
    check_clean(doc, "static", exe="stress_envexec")


# ------------------------------------------------------------ nothing lost

def dies_lines(ctx):
    return [ctx.source_line("dies.c", "b-then-a"), ctx.source_line("dies.c", "a-then-b")]


def case_killed(ctx):
    """SIGKILL from outside mid-run: the inversion recorded before it is
    in the report."""
    prog = ctx.prog("stress_dies")
    ready = os.path.join(ctx.work, "ready")
    out = os.path.join(ctx.work, "lg-killed")
    p = subprocess.Popen([ctx.tool.bin, "run", "--out", out, "--", prog, "spin", ready],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not os.path.exists(ready) and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    check(os.path.exists(ready), "killed: the program never got past its inversion")
    time.sleep(0.3)   # well inside the lock loop
    # the target is the supervisor's child running `prog spin`
    target = None
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
                with open("/proc/%s/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == p.pid and argv[:3] == [prog.encode(), b"spin", ready.encode()]:
                target = int(pid)
    check(target, "killed: cannot find the target process")
    os.kill(target, signal.SIGKILL)
    try:
        so, se = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Failure("killed: lockgraph run did not end after its target was killed")
    check(p.returncode == 66, "killed: exit %d, expected 66 (the inversion)\n%s" % (p.returncode, text(se)[-3000:]))
    check(b"137" in se or b"SIGKILL" in se or b"killed" in se, "killed: the report does not say the program was killed")
    doc = ctx.tool.report_json(out)
    check(find_cycle(doc, "dies.c", dies_lines(ctx)), "killed: the inversion recorded before SIGKILL is missing:\n%s"
          % brief(doc["findings"]))


def case_killed_forking(ctx):
    """SIGKILL at seeded random moments of the fork loop (4 threads inside
    lock calls, a fork every few milliseconds): lockgraph run ends with
    137, the report reads, names the killed process, and invents no
    error (a killed program's held locks are not 'unreleased')."""
    prog = ctx.prog("stress_forkloop")
    rng = random.Random(7)
    for i in range(4):
        out = os.path.join(ctx.work, "lg-kf%d" % i)
        p = subprocess.Popen([ctx.tool.bin, "run", "--out", out, "--", prog],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.05 + rng.random() * 0.3)
        target = None
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/stat" % pid) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    exe = os.readlink("/proc/%s/exe" % pid)
                except OSError:
                    continue
                if ppid == p.pid and exe == prog:
                    target = int(pid)
        if target is None:
            p.communicate(timeout=60)
            continue     # it finished first: nothing to kill this round
        os.kill(target, signal.SIGKILL)
        try:
            so, se = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Failure("killed while forking: lockgraph run did not end")
        check(p.returncode == 137, "killed while forking: exit %d, expected 137\n%s" % (p.returncode, text(se)[-3000:]))
        check_no_crash(subprocess.CompletedProcess([], p.returncode, so, se), "killed while forking")
        doc = ctx.tool.report_json(out)
        check_clean(doc, "killed while forking", exe="stress_forkloop")


def case_killed_execing(ctx):
    """SIGKILL at seeded random moments of a chain of 300 execs (each
    image a new trace): the report reads and invents no error."""
    prog = ctx.prog("stress_dies")
    rng = random.Random(11)
    killed = 0
    for i in range(3):
        out = os.path.join(ctx.work, "lg-ke%d" % i)
        p = subprocess.Popen([ctx.tool.bin, "run", "--out", out, "--", prog, "exec", "300"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The 300 images take about half a second on a quiet machine: kill
        # well inside that, and never a child that has already ended.
        time.sleep(0.05 + rng.random() * 0.2)
        target = None
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/stat" % pid) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == p.pid and fields[0] != "Z":
                    target = int(pid)
        if target is None:
            p.communicate(timeout=60)
            continue
        killed += 1
        os.kill(target, signal.SIGKILL)
        try:
            so, se = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Failure("killed while execing: lockgraph run did not end")
        check(p.returncode == 137, "killed while execing: exit %d, expected 137\n%s" % (p.returncode, text(se)[-3000:]))
        check_no_crash(subprocess.CompletedProcess([], p.returncode, so, se), "killed while execing")
        doc = ctx.tool.report_json(out)
        check_clean(doc, "killed while execing", exe="stress_dies")
        check(len(doc["processes"]) >= 2, "killed while execing: %d images in the report" % len(doc["processes"]))
    check(killed > 0, "killed while execing: the chain always ended before the kill; nothing was tested")


def case_unprivileged(ctx):
    """lockgraph never needs root: as an ordinary user (nobody, when the
    tests run as root) it records, finds a live hang through /proc and
    reports it, with the inversion made before it."""
    prog = ctx.prog("stress_dies")
    d = fresh_dir(os.path.join(ctx.work, "nobody"))
    os.chmod(d, 0o777)
    cmd = [ctx.tool.bin, "run", "--out", os.path.join(d, "out"), "--hang-timeout", "2", "--", prog, "stuck"]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            raise Skip("setpriv (util-linux) is missing")
        cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
    p = run_cmd(cmd, timeout=120, cwd=d)
    check_no_crash(p, "unprivileged")
    check(p.returncode == 66, "unprivileged: exit %d, expected 66\n%s" % (p.returncode, text(p.stderr)[-3000:]))
    check(os.stat(os.path.join(d, "out")).st_uid == (65534 if os.geteuid() == 0 else os.geteuid()),
          "unprivileged: the output folder does not belong to the user who ran lockgraph")
    doc = ctx.tool.report_json(os.path.join(d, "out"))
    stuck = [ctx.source_line("dies.c", "stuck-join"), ctx.source_line("dies.c", "stuck-wait")]
    check(any(f.get("kind") == "hang" and any(cites(f, "dies.c", l) for l in stuck) for f in doc["findings"]),
          "unprivileged: no hang finding at dies.c:%s\n%s" % (stuck, brief(doc["findings"])))
    check(find_cycle(doc, "dies.c", dies_lines(ctx)), "unprivileged: the inversion is missing")


def case_crash(ctx):
    """SIGSEGV after an inversion, with a lock held: reported all the same."""
    prog = ctx.prog("stress_dies")
    nat = run_cmd([prog, "segv"], timeout=60)
    check(nat.returncode == -signal.SIGSEGV, "dies segv natively: %d" % nat.returncode)
    out = os.path.join(ctx.work, "lg-crash")
    under = ctx.tool.run(out, [prog, "segv"], timeout=60)
    check(under.stdout == nat.stdout, "crash: different output under lockgraph")
    check(under.returncode == 66, "crash: exit %d, expected 66\n%s" % (under.returncode, text(under.stderr)[-3000:]))
    check(b"139" in under.stderr, "crash: the report does not give the program's status 139 (SIGSEGV)")
    doc = ctx.tool.report_json(out)
    check(find_cycle(doc, "dies.c", dies_lines(ctx)), "crash: the inversion recorded before the crash is missing:\n%s"
          % brief(doc["findings"]))


def case_crash_held(ctx):
    """SIGSEGV with lock A held: the report names the lock held at the
    crash (issue 8: 'with the locks held at the crash')."""
    prog = ctx.prog("stress_dies")
    out = os.path.join(ctx.work, "lg-crash")
    ctx.tool.run(out, [prog, "segv"], timeout=60)
    doc = ctx.tool.report_json(out)
    held = [f for f in doc["findings"] if f.get("kind") == "unreleased-lock" and "lock_a" in f.get("message", "")]
    check(held, "crash: lock_a, held when the program crashed, is not reported:\n%s" % brief(doc["findings"]))


def case_hung_tree(ctx):
    """A child process deadlocks for real after an inversion; its parent
    waits in waitpid. The supervisor ends the tree; the report has the
    deadlock (or hang) at the child's lines and the inversion before it."""
    prog = ctx.prog("stress_dies")
    out = os.path.join(ctx.work, "lg-hung")
    under = ctx.tool.run(out, [prog, "hang"], args=["--hang-timeout", "3"], timeout=120)
    check_no_crash(under, "hung tree")
    check(under.returncode == 66, "hung tree: exit %d, expected 66\n%s" % (under.returncode, text(under.stderr)[-3000:]))
    doc = ctx.tool.report_json(out)
    check(len(doc["processes"]) == 2, "hung tree: %d processes in the report, expected 2" % len(doc["processes"]))
    stuck = [ctx.source_line("dies.c", "deadlock-ab"), ctx.source_line("dies.c", "deadlock-ba")]
    check(any(f.get("kind") in ("deadlock", "hang") and f.get("severity") == "error" and
              any(cites(f, "dies.c", l) for l in stuck) for f in doc["findings"]),
          "hung tree: no deadlock/hang finding at dies.c:%s\n%s" % (stuck, brief(doc["findings"])))
    check(find_cycle(doc, "dies.c", dies_lines(ctx)),
          "hung tree: the inversion the child made before hanging is missing:\n%s" % brief(doc["findings"]))


# ------------------------------------------------------------ bad input for `lockgraph report`

def base_trace(ctx):
    """A real multi-process trace: a shell running the cancel program and
    a small inversion. Returns (dir, {trace file: exe})."""
    out = os.path.join(ctx.work, "lg-base")
    script = "%s >/dev/null; %s held 2" % (ctx.prog("stress_cancel"), ctx.prog("stress_manylocks"))
    p = ctx.tool.run(out, ["/bin/sh", "-c", script], timeout=120)
    check(p.returncode == 66, "base trace: exit %d, expected 66 (manylocks held 2 has an inversion)\n%s"
          % (p.returncode, text(p.stderr)[-3000:]))
    files = {}
    for name in sorted(os.listdir(out)):
        if name.startswith("trace-") and name.endswith(".lgt"):
            with open(os.path.join(out, name), "rb") as f:
                h = f.read(80 + 512)
            files[name] = h[80:].split(b"\0")[0].decode(errors="replace")
    check(any(e.endswith("stress_manylocks") for e in files.values()), "base trace: no manylocks trace: %s" % files)
    return out, files


def report_checked(ctx, d, what, allow=(0, 66, 125), text_too=True):
    """`report DIR --format json` (and text): no crash, a known status;
    the JSON parses when the status is not 125."""
    res = None
    for fmt in ("json", "text") if text_too else ("json",):
        p = ctx.tool.report(d, fmt, timeout=120)
        check(p.returncode >= 0, "%s: lockgraph report --format %s died of signal %d\n%s"
              % (what, fmt, -p.returncode, text(p.stderr)[-3000:]))
        check_no_crash(p, what)
        check(p.returncode in allow, "%s: report --format %s exited %d (expected one of %s)\n%s"
              % (what, fmt, p.returncode, allow, text(p.stderr)[-2000:]))
        if fmt == "json":
            res = p
            if p.returncode != 125:
                try:
                    json.loads(p.stdout)
                except ValueError as e:
                    raise Failure("%s: report --format json is not JSON: %s" % (what, e))
            else:
                check(text(p.stderr).startswith("lockgraph:"), "%s: exit 125 without a 'lockgraph:' line" % what)
    return res


def copy_trace(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


def manylocks_file(files):
    return [n for n, e in files.items() if e.endswith("stress_manylocks")][0]


def case_report_newer_version(ctx):
    """One trace of a newer format version beside readable ones: the rest
    is reported, and the skipped file is named with the reason."""
    base, files = base_trace(ctx)
    ml = manylocks_file(files)
    other = [n for n, e in files.items() if e.endswith("stress_cancel")][0]
    d = copy_trace(base, os.path.join(ctx.work, "newer"))
    with open(os.path.join(d, other), "r+b") as f:
        f.seek(8)
        f.write(struct.pack("<I", 999))
    p = report_checked(ctx, d, "newer version", allow=(0, 66))
    doc = json.loads(p.stdout)
    skipped = " ".join(str(s) for s in doc.get("skipped") or []) + text(p.stderr)
    check(other in skipped and re.search(r"version|newer", skipped, re.I),
          "newer version: the skipped trace %s and why are not said:\n%s" % (other, skipped[:2000]))
    check(find_cycle(doc, "manylocks.c", [ctx.source_line("manylocks.c", "inversion")]),
          "newer version: the readable traces' inversion (%s) is missing:\n%s" % (ml, brief(doc["findings"])))
    # every trace newer: nothing readable; one line, exit 125
    d = copy_trace(base, os.path.join(ctx.work, "all-newer"))
    for n in files:
        with open(os.path.join(d, n), "r+b") as f:
            f.seek(8)
            f.write(struct.pack("<I", 999))
    p = report_checked(ctx, d, "all newer", allow=(125, 0))
    if p.returncode == 0:
        doc = json.loads(p.stdout)
        check(doc.get("skipped"), "all newer: exit 0 and nothing said skipped")


def case_report_truncated(ctx):
    """The manylocks trace cut at 25 random offsets (and at a few chosen
    ones): never a crash; the cut is said; what was before the cut of the
    other traces is still reported."""
    base, files = base_trace(ctx)
    ml = manylocks_file(files)
    size = os.path.getsize(os.path.join(base, ml))
    rng = random.Random(1234)
    cuts = [0, 1, 7, 8, 12, 80, 4095, 4096, 4097, 4100, size - 1] + [rng.randrange(1, size) for _ in range(25)]
    d = os.path.join(ctx.work, "cut")
    for i, cut in enumerate(cuts):
        copy_trace(base, d)
        with open(os.path.join(d, ml), "r+b") as f:
            f.truncate(cut)
        p = report_checked(ctx, d, "cut at %d of %d" % (cut, size), allow=(0, 66), text_too=i % 4 == 0)
        doc = json.loads(p.stdout)
        # the shell and cancel traces are intact: their processes are there
        exes = [os.path.basename(str(x.get("exe"))) for x in doc["processes"]]
        check("stress_cancel" in exes, "cut at %d: the intact traces' processes are missing: %s" % (cut, exes))
        if cut < 4096:
            said = " ".join(str(s) for s in doc.get("skipped") or []) + text(p.stderr)
            check(ml in said, "cut at %d (inside the header): the file is not said to be skipped:\n%s" % (cut, said[:1500]))


def records(data, hdr=4096):
    """(offset, size) of each record: 24-byte header, size u32 first."""
    recs, off = [], hdr
    while off + 24 <= len(data):
        size = struct.unpack_from("<I", data, off)[0]
        if size < 24 or off + size > len(data):
            break
        recs.append((off, size))
        off += size
    return recs


PLAUSIBLE = (0, 1, 2, 255, 4096, 0x7fffffff, 0x80000000, 0xffffffff)


def mutate_words(data, recs, rng, n):
    """Overwrite n payload words of random records with plausible integers
    (counts, ids, lengths, offsets are where readers go wrong)."""
    for _ in range(n):
        roff, size = rng.choice(recs)
        pos = roff + 24 + 4 * rng.randrange(max(1, (size - 24) // 4))
        if pos + 4 <= len(data):
            v = rng.choice(PLAUSIBLE + (rng.randrange(1 << 32),))
            data[pos:pos + 4] = v.to_bytes(4, "little")


def case_report_garbled(ctx):
    """Bytes flipped in the manylocks trace (header and records, 36
    seeded variants), payload words of its records and the cancel trace's
    set to plausible counts and ids (24 more), and a trace of random
    bytes: never a crash, always a known status, JSON that parses."""
    base, files = base_trace(ctx)
    ml = manylocks_file(files)
    with open(os.path.join(base, ml), "rb") as f:
        orig = f.read()
    rng = random.Random(99)
    d = os.path.join(ctx.work, "garbled")
    for i in range(36):
        copy_trace(base, d)
        data = bytearray(orig)
        lo = 0 if i % 3 == 0 else 4096
        for _ in range(rng.choice((1, 4, 32))):
            pos = rng.randrange(lo, len(data))
            data[pos] = rng.choice((0, 0xff, rng.randrange(256), data[pos] ^ (1 << rng.randrange(8))))
        with open(os.path.join(d, ml), "wb") as f:
            f.write(bytes(data))
        report_checked(ctx, d, "garbled variant %d" % i, allow=(0, 66, 125), text_too=i % 4 == 0)
    originals = {}
    for name in (ml, [n for n, e in files.items() if e.endswith("stress_cancel")][0]):
        with open(os.path.join(base, name), "rb") as f:
            originals[name] = f.read()
    for i in range(24):
        copy_trace(base, d)
        for name, orig in originals.items():
            data = bytearray(orig)
            recs = records(data)
            check(len(recs) >= 5, "garbled: only %d records in %s" % (len(recs), name))
            mutate_words(data, recs, rng, rng.choice((1, 2, 6)))
            with open(os.path.join(d, name), "wb") as f:
                f.write(bytes(data))
        report_checked(ctx, d, "record words variant %d" % i, allow=(0, 66, 125), text_too=i % 4 == 0)
    copy_trace(base, d)
    with open(os.path.join(d, ml), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(100000)))
    with open(os.path.join(d, "trace-1-0.lgt"), "wb") as f:
        f.write(b"LGTRACE\0" + bytes(rng.randrange(256) for _ in range(9000)))
    p = report_checked(ctx, d, "random bytes", allow=(0, 66))
    doc = json.loads(p.stdout)
    check(doc.get("skipped"), "random bytes: nothing said skipped")


def case_report_garbled_files(ctx):
    """Payload words of the records of a program that shares a file
    between threads (file opens, reads, writes, for the race check) set to
    plausible counts, ids and lengths, 40 seeded variants: never a crash,
    a known status, JSON that parses."""
    out = os.path.join(ctx.work, "lg-files")
    p = ctx.tool.run(out, [ctx.prog("stress_filejoin"), "data.bin"], timeout=120, cwd=ctx.work)
    check(p.returncode == 0, "file base: exit %d\n%s" % (p.returncode, text(p.stderr)[-2000:]))
    name = [n for n in os.listdir(out) if n.startswith("trace-")][0]
    with open(os.path.join(out, name), "rb") as f:
        orig = f.read()
    recs = records(orig)
    check(len(recs) >= 10, "file base: only %d records" % len(recs))
    rng = random.Random(1)
    d = os.path.join(ctx.work, "garbled-files")
    for i in range(40):
        copy_trace(out, d)
        data = bytearray(orig)
        mutate_words(data, recs, rng, rng.choice((1, 2, 6, 12)))
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes(data))
        report_checked(ctx, d, "file records variant %d" % i, allow=(0, 66, 125), text_too=i % 4 == 0)


def case_report_garbled_hang(ctx):
    """The supervisor's hang.lgt of a real hang (dies stuck: a join of a
    thread that waits forever), cut and with bytes and counts overwritten
    (60 seeded variants, most in the first records, where the counts and
    node indexes are; a garbled one overran a buffer in analyzer/hang.c
    before 100fbd3): never a crash, JSON that parses, the traces'
    inversion still there."""
    prog = ctx.prog("stress_dies")
    base = os.path.join(ctx.work, "lg-hangbase")
    p = ctx.tool.run(base, [prog, "stuck"], args=["--hang-timeout", "2"], timeout=120)
    check(p.returncode == 66 and os.path.exists(os.path.join(base, "hang.lgt")),
          "hang base: exit %d, hang.lgt %s" % (p.returncode, "present" if os.path.exists(os.path.join(base, "hang.lgt"))
                                                 else "missing"))
    with open(os.path.join(base, "hang.lgt"), "rb") as f:
        orig = f.read()
    rng = random.Random(2024)
    d = os.path.join(ctx.work, "garbled-hang")
    hdr = 4096
    recs = records(orig, hdr)
    check(len(recs) >= 3, "hang base: only %d records in hang.lgt" % len(recs))
    for i in range(60):
        copy_trace(base, d)
        data = bytearray(orig)
        for _ in range(rng.choice((1, 2, 4))):
            if i % 3 == 0:    # a payload word of one record: a count, an index, a length
                roff, size = rng.choice(recs)
                pos = roff + 24 + 4 * rng.randrange(max(1, (size - 24) // 4))
            else:             # any byte after the header
                pos = rng.randrange(hdr, len(data))
            if pos + 4 > len(data):
                continue
            v = rng.choice((0, 1, 2, 255, 4096, 0x7fffffff, 0xffffffff, rng.randrange(1 << 32)))
            data[pos:pos + 4] = v.to_bytes(4, "little")
        if i % 5 == 4:
            data = data[:rng.randrange(hdr, len(data))]
        with open(os.path.join(d, "hang.lgt"), "wb") as f:
            f.write(bytes(data))
        p = report_checked(ctx, d, "garbled hang.lgt variant %d" % i, allow=(0, 66), text_too=i % 4 == 1)
        doc = json.loads(p.stdout)
        check(find_cycle(doc, "dies.c", dies_lines(ctx)),
              "garbled hang.lgt variant %d: the traces' inversion is missing" % i)


LG_REC_WF_EDGE = 32


def case_report_selfloop_hang(ctx):
    """A hang.lgt whose wait-for edge points from a node to itself (a
    garbled file can say anything), each edge in turn: every format and
    both pictures come out without a crash. Graphviz 2.43 double-frees in
    gvFreeLayout on some such graphs (a labelled self-loop in a cluster
    next to labelled edges leaving it; progs/gv_selfloop.dot is one): the
    join-before-drain hang of progs/py_bigput.py, with its second edge a
    self-loop, is one. Under ASan (asan_ci.sh) this test sees it."""
    if not os.access(PY, os.X_OK):
        raise Skip("%s is missing" % PY)
    base = os.path.join(ctx.work, "lg-bigput")
    p = ctx.tool.run(base, [PY, os.path.join(ctx.src, "progs", "py_bigput.py")], args=["--hang-timeout", "2"],
                     timeout=120)
    check(p.returncode == 66 and os.path.exists(os.path.join(base, "hang.lgt")),
          "bigput hang base: exit %d\n%s" % (p.returncode, text(p.stderr)[-2000:]))
    with open(os.path.join(base, "hang.lgt"), "rb") as f:
        data = bytearray(f.read())
    edges = [(o, s) for o, s in records(data) if struct.unpack_from("<H", data, o + 4)[0] == LG_REC_WF_EDGE]
    check(len(edges) >= 2, "hang base: %d wait-for edges in hang.lgt" % len(edges))
    for i, (o, _) in enumerate(edges):     # edge i made from -> from, the others kept
        variant = bytearray(data)
        struct.pack_into("<I", variant, o + 28, struct.unpack_from("<I", variant, o + 24)[0])
        d = copy_trace(base, os.path.join(ctx.work, "selfloop"))
        with open(os.path.join(d, "hang.lgt"), "wb") as f:
            f.write(bytes(variant))
        what = "self-loop on wait-for edge %d" % i
        report_checked(ctx, d, what, allow=(0, 66))
        for fmt, out in (("html", "r.html"), ("sarif", "r.sarif")):
            q = run_cmd([ctx.tool.bin, "report", d, "--format", fmt, "-o", os.path.join(ctx.work, out)], timeout=120)
            check_no_crash(q, "%s, %s" % (what, fmt))
            check(q.returncode in (0, 66), "%s: report --format %s exited %d\n%s"
                  % (what, fmt, q.returncode, text(q.stderr)[-3000:]))
        for kind in ("wait-for", "lock-order"):
            q = run_cmd([ctx.tool.bin, "graph", d, "--kind", kind, "-o", os.path.join(ctx.work, kind + ".svg")],
                        timeout=120)
            check_no_crash(q, "%s, graph %s" % (what, kind))
            check(q.returncode in (0, 1, 125), "%s: graph --kind %s exited %d\n%s"
                  % (what, kind, q.returncode, text(q.stderr)[-3000:]))


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lockgraph", required=True)
    ap.add_argument("--progs", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    try:
        CASES[a.case](Ctx(a))
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except Failure as e:
        print("FAIL [%s]: %s" % (a.case, e))
        return 1
    print("PASS: %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
