#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests: samples and bad input run under `lockgraph run`.

    run_e2e.py --lockgraph BIN --work DIR sample --bin PROG --src FILE.c
    run_e2e.py --lockgraph BIN --work DIR cli CASE [--samples DIR] [--static-bin PROG]

A sample's expectations are comments in its source (see samples/c/lg_sample.h):
  LG-EXPECT: kind[=severity] ...  a finding of that kind (severity error
                                  unless given; "downgraded": warning or
                                  note, a cycle that is not a deadlock and
                                  says why) cites this very line
  LG-ALLOW: kind ...              an error of that kind may appear as well
  LG-CLEAN                        no finding of severity error; exit 0
  LG-HANG                         really hangs: needs the hang supervisor
                                  (skipped, exit 77, when it is not built)
Exit status: 0 pass, 1 fail, 77 skip. Standard library only.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

SKIP = 77
RUN_TIMEOUT = 90          # seconds for one program under the tool
HANG_TIMEOUT = "3"        # --hang-timeout for samples that really hang


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# ------------------------------------------------------------------ helpers

class Tool:
    def __init__(self, lockgraph, work):
        self.bin = os.path.abspath(lockgraph)
        self.work = os.path.abspath(work)

    def features(self):
        out = subprocess.run([self.bin, "--version"], capture_output=True, text=True, timeout=30).stdout
        m = re.search(r"^features:(.*)$", out, re.M)
        return set(m.group(1).split()) if m else set()

    def run(self, args, cmd, stdin=None, timeout=RUN_TIMEOUT, cwd=None, env=None):
        """lockgraph run ARGS -- CMD; returns CompletedProcess with bytes."""
        full = [self.bin, "run"] + args + ["--"] + cmd
        try:
            return subprocess.run(full, input=stdin, capture_output=True, timeout=timeout,
                                  cwd=cwd or self.work, env=env)
        except subprocess.TimeoutExpired as e:
            raise Failure("%s did not finish within %ss\nstderr so far:\n%s"
                          % (" ".join(full), timeout, (e.stderr or b"").decode(errors="replace")))

    def report(self, outdir, fmt="json", extra=()):
        p = subprocess.run([self.bin, "report", outdir, "--format", fmt] + list(extra),
                           capture_output=True, timeout=RUN_TIMEOUT, cwd=self.work)
        return p

    def report_json(self, outdir):
        p = self.report(outdir)
        check(p.returncode == 0, "lockgraph report %s --format json exited %d: %s"
              % (outdir, p.returncode, p.stderr.decode(errors="replace")))
        try:
            return json.loads(p.stdout), p.stdout
        except ValueError as e:
            raise Failure("report --format json is not JSON (%s):\n%s" % (e, p.stdout[:2000].decode(errors="replace")))


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def text(b):
    return b.decode(errors="replace")


def stderr_lines(p):
    return [l for l in text(p.stderr).splitlines() if l.strip()]


def one_line(p, what):
    """The tool said exactly one line, its own, on stderr."""
    lines = stderr_lines(p)
    check(len(lines) == 1 and lines[0].startswith("lockgraph: "),
          "%s: expected one 'lockgraph: ...' line on stderr, got %d:\n%s" % (what, len(lines), text(p.stderr)))
    return lines[0]


def findings_of(doc):
    f = doc.get("findings") if isinstance(doc, dict) else None
    check(isinstance(f, list), "JSON report has no 'findings' array")
    return f


def brief(findings):
    rows = []
    for f in findings:
        locs = ", ".join("%s:%s" % (os.path.basename(str(l.get("file") or "?")), l.get("line"))
                         for l in (f.get("locations") or [])[:8])
        rows.append("  %-8s %-22s %s  [%s]" % (f.get("severity"), f.get("kind"), f.get("message", ""), locs))
    return "\n".join(rows) or "  (no findings)"


# ------------------------------------------------------------------ samples

def parse_markers(src):
    expect, allow = [], set()
    clean = hang = False
    with open(src, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            for m in re.finditer(r"LG-EXPECT:\s*([^*]*)", line):
                for tok in m.group(1).split():
                    kind, _, sev = tok.partition("=")
                    expect.append((kind, sev or "error", lineno))
            for m in re.finditer(r"LG-ALLOW:\s*([^*\n]*)", line):
                allow.update(m.group(1).split())
            clean = clean or "LG-CLEAN" in line
            hang = hang or "LG-HANG" in line
    return expect, allow, clean, hang


def cites(finding, srcbase, line):
    for loc in finding.get("locations") or []:
        if os.path.basename(str(loc.get("file") or "")) == srcbase and loc.get("line") == line:
            return True
    return False


def test_sample(tool, prog, src):
    expect, allow, clean, hang = parse_markers(src)
    check(expect or clean, "%s has no LG-EXPECT or LG-CLEAN marker" % src)
    srcbase = os.path.basename(src)
    args = []
    if hang:
        if "supervise" not in tool.features():
            raise Skip("%s really hangs and this lockgraph has no hang supervisor" % srcbase)
        args = ["--hang-timeout", HANG_TIMEOUT]
    out = os.path.join(fresh_dir(os.path.join(tool.work, "run")), "out")
    started = time.monotonic()
    p = tool.run(["--out", out] + args, [prog])
    elapsed = time.monotonic() - started
    doc, raw = tool.report_json(out)
    findings = findings_of(doc)
    errors = [f for f in findings if f.get("severity") == "error"]
    problems = []

    for kind, sev, line in expect:
        sevs = ("warning", "note") if sev == "downgraded" else (sev,)
        if not any(f.get("kind") == kind and f.get("severity") in sevs and cites(f, srcbase, line) for f in findings):
            problems.append("no %s finding '%s' citing %s:%d" % (sev, kind, srcbase, line))
    wanted = {k for k, s, _ in expect if s == "error"} | allow
    for f in errors:
        if f.get("kind") not in wanted:
            problems.append("unexpected error finding '%s': %s" % (f.get("kind"), f.get("message")))
    if clean and errors:
        problems.append("clean program has %d error finding(s)" % len(errors))

    # A hung run ends in seconds, not at the test's time limit (slack for
    # a loaded CI machine on top of the hang timeout).
    if hang and elapsed > float(HANG_TIMEOUT) + 27:
        problems.append("the hang took %.0f s to be reported (--hang-timeout %s)" % (elapsed, HANG_TIMEOUT))

    want_status = 66 if any(s == "error" for _, s, _ in expect) else 0
    if p.returncode != want_status:
        problems.append("lockgraph run exited %d, expected %d" % (p.returncode, want_status))

    # The text report on stderr cites the same lines a user must look at.
    err_text = text(p.stderr)
    for kind in sorted({k for k, _, _ in expect}):
        lines = [l for k, _, l in expect if k == kind]
        if not any("%s:%d" % (srcbase, l) in err_text for l in lines):
            problems.append("the text report on stderr cites none of %s for %s"
                            % (", ".join("%s:%d" % (srcbase, l) for l in lines), kind))

    # Deterministic: the same folder gives the same report byte for byte.
    _, raw2 = tool.report_json(out)
    if raw != raw2:
        problems.append("two reports of the same folder differ")

    if problems:
        raise Failure("\n".join(problems) + "\nfindings:\n" + brief(findings) +
                      "\nstderr of lockgraph run:\n" + err_text)
    print("%s: %d finding(s), %d error(s), exit %d — as expected" % (srcbase, len(findings), len(errors), p.returncode))
    print(brief(findings))


# ---------------------------------------------------------------- CLI cases

def case_missing_program(tool, a):
    for cmd in (["lockgraph-no-such-program"], ["./no/such/dir/prog"]):
        p = tool.run(["--out", os.path.join(tool.work, "out")], cmd)
        check(p.returncode == 127, "%s: exit %d, expected 127" % (cmd[0], p.returncode))
        line = one_line(p, cmd[0])
        check(cmd[0] in line, "the message does not name %s: %s" % (cmd[0], line))
        check(not os.path.exists(os.path.join(tool.work, "out")), "an output folder was created for a missing program")
    if a.bad_loader_bin:
        p = tool.run(["--out", os.path.join(tool.work, "out")], [a.bad_loader_bin])
        check(p.returncode == 127, "program with a missing ELF loader: exit %d, expected 127" % p.returncode)
        check("/nonexistent/ld-lockgraph-test.so.1" in one_line(p, "missing loader"), "the message does not name the loader")


def case_not_executable(tool, a):
    plain = os.path.join(tool.work, "data.txt")
    with open(plain, "w") as fh:
        fh.write("not a program\n")
    os.chmod(plain, 0o644)
    for cmd in ([plain], [tool.work]):
        p = tool.run(["--out", os.path.join(tool.work, "out")], cmd)
        check(p.returncode == 126, "%s: exit %d, expected 126" % (cmd[0], p.returncode))
        one_line(p, cmd[0])
    # Executable bits on a file the kernel cannot load: execve says
    # ENOEXEC; nothing ran, so no output folder is left behind.
    broken = os.path.join(tool.work, "truncated-elf")
    with open(broken, "wb") as fh:
        fh.write(b"\x7fELF\x02\x01\x01")
    os.chmod(broken, 0o755)
    out = os.path.join(tool.work, "out")
    p = tool.run(["--out", out], [broken])
    check(p.returncode == 126, "truncated ELF file: exit %d, expected 126" % p.returncode)
    one_line(p, broken)
    check(not os.path.exists(out), "an output folder was left behind for a program that never ran")
    script = os.path.join(tool.work, "badinterp.sh")
    with open(script, "w") as fh:
        fh.write("#!/no/such/interpreter\necho hi\n")
    os.chmod(script, 0o755)
    p = tool.run(["--out", os.path.join(tool.work, "out")], [script])
    check(p.returncode == 126, "script with a missing interpreter: exit %d, expected 126" % p.returncode)
    check("/no/such/interpreter" in one_line(p, script), "the message does not name the interpreter")


def case_static_binary(tool, a):
    if not a.static_bin or not os.path.exists(a.static_bin):
        raise Skip("no static test program (libc.a missing?)")
    p = tool.run(["--out", os.path.join(tool.work, "out")], [a.static_bin, "hello"])
    check(p.returncode == 3, "static program: exit %d, expected its own 3" % p.returncode)
    err = text(p.stderr)
    check(err.count("is statically linked") == 1,
          "expected the static-binary message exactly once, stderr:\n" + err)
    check("only process-level hang detection applies" in err, "message does not say what still applies:\n" + err)
    check(p.stdout == b"static: hello\n", "the program's stdout changed: %r" % p.stdout)


def case_static_hang(tool, a):
    prog = os.path.join(os.path.dirname(a.static_bin or ""), "lg_e2e_static_bigput")
    if not a.static_bin or not os.path.exists(prog):
        raise Skip("no static test program (libc.a missing?)")
    if "supervise" not in tool.features():
        raise Skip("this lockgraph has no hang supervisor")
    p = tool.run(["--out", os.path.join(tool.work, "out"), "--hang-timeout", HANG_TIMEOUT], [prog], timeout=60)
    err = text(p.stderr)
    check(p.returncode == 66, "static program that hangs: exit %d, expected 66; stderr:\n%s" % (p.returncode, err))
    check(err.count("is statically linked") == 1, "expected the static-binary message once:\n" + err)
    # No trace, yet a report: the analyzer builds it from hang.lgt alone,
    # with the lines the supervisor unwound (the C library has none).
    check(re.search(r"error: join-before-drain: process \d+ waits for child \d+ \(waitpid at [^ )]*bigput_fork\.c:\d+\)", err),
          "the text report does not name the join-before-drain at bigput_fork.c:\n" + err)


def case_static_deadlock(tool, a):
    prog = os.path.join(os.path.dirname(a.static_bin or ""), "lg_e2e_static_abba")
    if not a.static_bin or not os.path.exists(prog):
        raise Skip("no static test program (libc.a missing?)")
    if "supervise" not in tool.features():
        raise Skip("this lockgraph has no hang supervisor")
    out = os.path.join(tool.work, "out")
    p = tool.run(["--out", out, "--hang-timeout", "2"], [prog], timeout=60)
    err = text(p.stderr)
    check(p.returncode == 66, "static program that deadlocks: exit %d, expected 66; stderr:\n%s" % (p.returncode, err))
    check(not [f for f in os.listdir(out) if f.startswith("trace-")] and os.path.exists(os.path.join(out, "hang.lgt")),
          "expected only the supervisor's hang.lgt in %s: %s" % (out, os.listdir(out)))
    check(re.search(r"abba_hang\.c:(20|30): error: (deadlock|hang)", err),
          "the text report does not name the deadlock at abba_hang.c:20/30:\n" + err)
    for line in (20, 30):
        check("abba_hang.c:%d" % line in err, "the report does not cite abba_hang.c:%d:\n%s" % (line, err))
    # The same folder reports again (lockgraph report), from hang.lgt alone.
    r = tool.report(out, fmt="text")
    check(r.returncode == 0 and b"deadlock" in r.stdout,
          "lockgraph report of the folder: exit %d\n%s%s" % (r.returncode, text(r.stdout), text(r.stderr)))


def case_elf32(tool, a):
    if not a.elf32_bin or not os.path.exists(a.elf32_bin):
        raise Skip("the toolchain cannot build a 32-bit program")
    try:
        native = subprocess.run([a.elf32_bin], timeout=30).returncode
    except OSError as e:        # ENOEXEC: a kernel without 32-bit emulation
        raise Skip("this system cannot run 32-bit programs (%s)" % e.strerror)
    if native != 5:
        raise Skip("this system cannot run 32-bit programs")
    p = tool.run(["--out", os.path.join(tool.work, "out")], [a.elf32_bin])
    err = text(p.stderr)
    check(p.returncode == 5, "32-bit program: exit %d, expected its own 5" % p.returncode)
    check(err.count("is a 32-bit program") == 1, "expected the 32-bit message once:\n" + err)


def case_setuid_binary(tool, a):
    if os.geteuid() != 0:
        raise Skip("making a setuid binary of another user needs root")
    st = os.statvfs(tool.work)
    if st.f_flag & os.ST_NOSUID:
        raise Skip("%s is on a nosuid file system" % tool.work)
    prog = os.path.join(tool.work, "ordered_suid")
    shutil.copy(os.path.join(a.samples, "ordered"), prog)
    os.chown(prog, 65534, 65534)       # nobody: running it changes our euid
    os.chmod(prog, 0o4755)
    native = subprocess.run([prog], capture_output=True, timeout=RUN_TIMEOUT)
    p = tool.run(["--out", os.path.join(tool.work, "out")], [prog])
    err = text(p.stderr)
    check(p.returncode == native.returncode, "setuid program: exit %d, natively %d" % (p.returncode, native.returncode))
    check(err.count("is setuid/setgid") == 1 and "ignores LD_PRELOAD" in err,
          "expected one message that the loader ignores LD_PRELOAD, stderr:\n" + err)
    check(p.stdout == native.stdout, "the program's stdout changed")


def case_unwritable_out(tool, a):
    marker = os.path.join(tool.work, "ran")
    blocker = os.path.join(tool.work, "a-file")
    with open(blocker, "w") as fh:
        fh.write("x")
    outs = [os.path.join(blocker, "out")]
    if os.geteuid() != 0:
        locked = os.path.join(tool.work, "locked")
        os.mkdir(locked, 0o500)
        outs.append(os.path.join(locked, "out"))
    for out in outs:
        p = tool.run(["--out", out], ["/bin/sh", "-c", "touch " + marker])
        check(p.returncode == 125, "--out %s: exit %d, expected 125" % (out, p.returncode))
        line = one_line(p, "--out " + out)
        check(out in line, "the message does not name the folder: " + line)
        check(not os.path.exists(marker), "the program ran although the output folder could not be made")


def case_exit_status(tool, a):
    p = tool.run(["--out", os.path.join(tool.work, "out")], ["/bin/sh", "-c", "exit 7"])
    check(p.returncode == 7, "sh -c 'exit 7': exit %d" % p.returncode)
    p = tool.run(["--out", os.path.join(tool.work, "out")], ["/bin/sh", "-c", "echo to-stderr >&2; exit 0"])
    check(p.returncode == 0, "sh -c 'exit 0': exit %d" % p.returncode)
    check("to-stderr" in text(p.stderr), "the program's stderr was lost")


def case_preload_kept(tool, a):
    # An LD_PRELOAD the user already had stays, after the shim; the program
    # learns the output folder from LOCKGRAPH_DIR.
    env = dict(os.environ, LD_PRELOAD="libm.so.6")
    out = os.path.join(tool.work, "out")
    p = tool.run(["--out", out], ["/bin/sh", "-c", 'echo "$LD_PRELOAD"; echo "$LOCKGRAPH_DIR"'], env=env)
    check(p.returncode == 0, "exit %d" % p.returncode)
    lines = text(p.stdout).splitlines()
    check(len(lines) == 2, "unexpected output %r" % p.stdout)
    first, _, rest = lines[0].partition(":")
    check(first.endswith("/liblockgraph.so") and rest == "libm.so.6",
          "LD_PRELOAD in the program is %r, expected <shim>:libm.so.6" % lines[0])
    check(lines[1] == os.path.realpath(out), "LOCKGRAPH_DIR is %r, expected %r" % (lines[1], os.path.realpath(out)))


def case_shim_missing(tool, a):
    env = dict(os.environ, LOCKGRAPH_SHIM=os.path.join(tool.work, "no-such-shim.so"))
    p = tool.run(["--out", os.path.join(tool.work, "out")], ["/bin/true"], env=env)
    check(p.returncode == 125, "missing shim: exit %d, expected 125" % p.returncode)
    check("no-such-shim.so" in one_line(p, "missing shim"), "the message does not name the shim")


def case_installed(tool, a):
    # After `cmake --install`, bin/lockgraph finds the installed shim by itself.
    if not a.build_dir:
        raise Skip("no --build-dir given")
    prefix = os.path.join(tool.work, "prefix")
    inst = subprocess.run(["cmake", "--install", a.build_dir, "--prefix", prefix],
                          capture_output=True, timeout=RUN_TIMEOUT)
    check(inst.returncode == 0, "cmake --install failed:\n" + text(inst.stdout + inst.stderr))
    installed = Tool(os.path.join(prefix, "bin", "lockgraph"), tool.work)
    env = dict(os.environ)
    env.pop("LOCKGRAPH_SHIM", None)
    out = os.path.join(tool.work, "out")
    p = installed.run(["--out", out], [os.path.join(a.samples, "abba")], env=env)
    check(p.returncode == 66, "installed lockgraph on abba: exit %d, expected 66:\n%s" % (p.returncode, text(p.stderr)))
    doc, _ = installed.report_json(out)
    check(any(f.get("kind") == "lock-order-cycle" for f in findings_of(doc)), "installed lockgraph found no cycle in abba")


def case_signal_status(tool, a):
    for sig, want in (("TERM", 143), ("KILL", 137)):
        p = tool.run(["--out", os.path.join(tool.work, "out")], ["/bin/sh", "-c", "kill -%s $$" % sig])
        check(p.returncode == want, "killed by SIG%s: exit %d, expected %d" % (sig, p.returncode, want))


def case_quiet(tool, a):
    out = os.path.join(tool.work, "out")
    p = tool.run(["--out", out, "--quiet"], [os.path.join(a.samples, "ordered")])
    check(p.returncode == 0 and p.stderr == b"", "--quiet on a clean program printed:\n" + text(p.stderr))
    p = tool.run(["--out", out, "--quiet"], [os.path.join(a.samples, "abba")])
    check(p.returncode == 66 and b"abba.c:" in p.stderr, "--quiet hid the report of a program with findings")


def interrupted(tool, a, how):
    """Start a long program under the tool, interrupt it `how`, return
    (exit status, stderr)."""
    out = os.path.join(tool.work, "out")
    errpath = os.path.join(tool.work, "stderr.txt")
    with open(errpath, "wb") as err:
        proc = subprocess.Popen([tool.bin, "run", "--out", out, "--", "sleep", "60"],
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        time.sleep(1.0)
        if how == "term":
            proc.send_signal(signal.SIGTERM)           # to lockgraph only
        else:
            os.killpg(proc.pid, signal.SIGINT)        # Ctrl-C: the whole process group
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise Failure("lockgraph did not end after SIG%s" % how.upper())
    with open(errpath, "rb") as fh:
        return rc, text(fh.read())


def case_sigterm_forwarded(tool, a):
    rc, err = interrupted(tool, a, "term")
    check(rc == 143, "SIGTERM to lockgraph: exit %d, expected 143 (the program ended by SIGTERM)\n%s" % (rc, err))
    check("lockgraph:" in err, "no report after SIGTERM:\n" + err)


def case_ctrl_c(tool, a):
    rc, err = interrupted(tool, a, "int")
    check(rc == 130, "Ctrl-C: exit %d, expected 130 (the program ended by SIGINT; lockgraph stays)\n%s" % (rc, err))
    check("lockgraph:" in err, "no report after Ctrl-C:\n" + err)


def case_error_exitcode(tool, a):
    abba = os.path.join(a.samples, "abba")
    p = tool.run(["--out", os.path.join(tool.work, "out")], [abba])
    check(p.returncode == 66, "abba: exit %d, expected 66" % p.returncode)
    p = tool.run(["--out", os.path.join(tool.work, "out"), "--error-exitcode", "3"], [abba])
    check(p.returncode == 3, "abba --error-exitcode 3: exit %d" % p.returncode)
    p = tool.run(["--out", os.path.join(tool.work, "out"), "--error-exitcode", "0"], [abba])
    check(p.returncode == 0, "abba --error-exitcode 0: exit %d (expected the program's own 0)" % p.returncode)
    p = tool.run(["--out", os.path.join(tool.work, "out"), "--error-exitcode", "nope"], [abba])
    check(p.returncode == 2, "--error-exitcode nope: exit %d, expected 2" % p.returncode)


def case_stdout_untouched(tool, a):
    prog = os.path.join(a.samples, "condvar_buffer")
    native = subprocess.run([prog], capture_output=True, timeout=RUN_TIMEOUT)
    p = tool.run(["--out", os.path.join(tool.work, "out")], [prog])
    check(p.stdout == native.stdout, "stdout differs: %r vs native %r" % (p.stdout, native.stdout))
    check(p.returncode == 0, "condvar_buffer: exit %d" % p.returncode)
    data = os.urandom(1 << 20)
    p = tool.run(["--out", os.path.join(tool.work, "out")], ["cat"], stdin=data)
    check(p.returncode == 0 and p.stdout == data, "cat under the tool did not pass 1 MiB through unchanged")


def case_real_programs(tool, a):
    # Multi-threaded programs people really run give the same bytes under
    # the tool, and no error finding (they have no lock bug to find).
    data = os.path.join(tool.work, "input.txt")
    rnd = random.Random(1)
    with open(data, "w") as fh:
        for _ in range(100000):
            fh.write("%08x %s\n" % (rnd.getrandbits(32), "w" * rnd.randint(1, 40)))
    cmds = [["xz", "-1", "-T2", "--block-size=262144", "-c", data],
            ["zstd", "-q", "-T2", "-c", data],
            ["sort", "--parallel=2", "-S", "1M", data]]
    ran = 0
    for cmd in cmds:
        if not shutil.which(cmd[0]):
            continue
        ran += 1
        native = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT)
        out = os.path.join(tool.work, "out-" + cmd[0])
        p = tool.run(["--out", out], cmd)
        check(p.returncode == native.returncode == 0, "%s: exit %d under the tool, %d natively"
              % (cmd[0], p.returncode, native.returncode))
        check(p.stdout == native.stdout, "%s: output differs under the tool" % " ".join(cmd))
        doc, _ = tool.report_json(out)
        errors = [f for f in findings_of(doc) if f.get("severity") == "error"]
        check(not errors, "%s: error findings on a healthy program:\n%s" % (cmd[0], brief(errors)))
    if not ran:
        raise Skip("none of xz, zstd, sort is installed")


def abba_found_through(tool, cmd, how):
    """Run cmd (which runs the abba sample somehow) under the tool: the
    shim must have followed it there and found abba's cycle."""
    out = os.path.join(tool.work, "out")
    p = tool.run(["--out", out], cmd)
    doc, _ = tool.report_json(out)
    kinds = [f.get("kind") for f in findings_of(doc) if f.get("severity") == "error"]
    check("lock-order-cycle" in kinds, "abba %s: no lock-order-cycle (errors: %s)" % (how, kinds))
    check(p.returncode == 66, "abba %s: exit %d, expected 66" % (how, p.returncode))
    return p


def case_script(tool, a):
    script = os.path.join(tool.work, "wrapper.sh")
    with open(script, "w") as fh:
        fh.write("#!/bin/sh\necho wrapper-start\n%s\necho wrapper-end\n" % os.path.join(a.samples, "abba"))
    os.chmod(script, 0o755)
    p = abba_found_through(tool, [script], "run from a shell script")
    check(p.stdout.startswith(b"wrapper-start\n") and p.stdout.endswith(b"wrapper-end\n"),
          "the script's output changed: %r" % p.stdout)


def case_env_cleared(tool, a):
    # `env -i` execs the sample with an empty environment: the shim must
    # still follow it, or a sanitizing launcher would hide every bug.
    abba_found_through(tool, ["env", "-i", os.path.join(a.samples, "abba")], "under env -i")


def case_outdir_old(tool, a):
    prog = os.path.join(a.samples, "ordered")
    cwd = fresh_dir(os.path.join(tool.work, "cwd"))
    for _ in range(3):
        p = tool.run([], [prog], cwd=cwd)
        check(p.returncode == 0, "ordered: exit %d" % p.returncode)
    def traces(d):
        return [n for n in os.listdir(d) if n.startswith("trace-") and n.endswith(".lgt")]
    check(traces(os.path.join(cwd, "lockgraph.out")), "default folder ./lockgraph.out holds no trace")
    check(traces(os.path.join(cwd, "lockgraph.out.old")), "the previous run was not kept as lockgraph.out.old")
    check(sorted(os.listdir(cwd)) == ["lockgraph.out", "lockgraph.out.old"],
          "unexpected entries: %s" % os.listdir(cwd))
    mode = stat.S_IMODE(os.stat(os.path.join(cwd, "lockgraph.out")).st_mode)
    check(mode == 0o700, "output folder mode %o, expected 700" % mode)
    # A folder that is not lockgraph's is never moved.
    mine = fresh_dir(os.path.join(tool.work, "precious"))
    with open(os.path.join(mine, "notes.txt"), "w") as fh:
        fh.write("keep me\n")
    p = tool.run(["--out", mine], [prog])
    check(p.returncode == 125, "--out on a user folder: exit %d, expected 125" % p.returncode)
    one_line(p, "--out on a user folder")
    check(os.listdir(mine) == ["notes.txt"] and not os.path.exists(mine + ".old"), "a user's folder was touched")


def case_reports(tool, a):
    out = os.path.join(tool.work, "out")
    jpath = os.path.join(tool.work, "r.json")
    feats = tool.features()
    extra = ["--json", jpath]
    if "viz" in feats:
        extra += ["--sarif", os.path.join(tool.work, "r.sarif"), "--html", os.path.join(tool.work, "r.html")]
    p = tool.run(["--out", out] + extra, [os.path.join(a.samples, "abba")])
    check(p.returncode == 66, "abba: exit %d" % p.returncode)
    _, raw = tool.report_json(out)
    with open(jpath, "rb") as fh:
        check(fh.read() == raw, "--json FILE differs from `report --format json`")
    t = tool.report(out, "text")
    check(t.returncode == 0 and b"abba.c:" in t.stdout, "report --format text gives no abba.c lines on stdout")
    if "viz" in feats:
        with open(os.path.join(tool.work, "r.sarif")) as fh:
            sarif = json.load(fh)
        check(sarif.get("version") == "2.1.0", "SARIF version is %r" % sarif.get("version"))
        with open(os.path.join(tool.work, "r.html"), encoding="utf-8", errors="replace") as fh:
            check("<html" in fh.read().lower(), "--html FILE is not an HTML page")
        svg = os.path.join(tool.work, "g.svg")
        g = subprocess.run([tool.bin, "graph", out, "-o", svg], capture_output=True, timeout=RUN_TIMEOUT)
        check(g.returncode == 0, "graph exited %d: %s" % (g.returncode, text(g.stderr)))
        with open(svg, encoding="utf-8", errors="replace") as fh:
            check("<svg" in fh.read(), "graph -o g.svg wrote no SVG")


def case_report_huge_pages(tool, a):
    """A big trace's analysis runs again with glibc's malloc on huge pages
    (LOCKGRAPH_HUGE_TRACE_MIN=0 makes any trace big): the same reports and
    exit status, the user's own GLIBC_TUNABLES kept."""
    out = os.path.join(tool.work, "out")
    p = tool.run(["--out", out], [os.path.join(a.samples, "abba")])
    check(p.returncode == 66, "abba: exit %d" % p.returncode)
    plain = {f: tool.report(out, f) for f in ("text", "json")}
    env = dict(os.environ, LOCKGRAPH_HUGE_TRACE_MIN="0", GLIBC_TUNABLES="glibc.malloc.check=0")
    for f, want in plain.items():
        got = subprocess.run([tool.bin, "report", out, "--format", f], capture_output=True, env=env,
                             timeout=RUN_TIMEOUT)
        check(got.returncode == want.returncode, "%s report again: exit %d, not %d" % (f, got.returncode,
                                                                                     want.returncode))
        check(got.stdout == want.stdout, "%s report on huge pages differs" % f)
    strace = shutil.which("strace")
    if strace and subprocess.run([strace, "-qq", "-e", "trace=execve", "true"], capture_output=True,
                                 timeout=30).returncode != 0:
        strace = None   # no ptrace here (a container that forbids it)
    if strace:
        s = subprocess.run([strace, "-f", "-qq", "-v", "-s", "300", "-e", "trace=execve", tool.bin, "report", out],
                           capture_output=True, env=env, timeout=RUN_TIMEOUT)
        again = [l for l in text(s.stderr).splitlines() if "/proc/self/exe" in l]
        check(len(again) == 1, "expected one run again through /proc/self/exe, saw %d" % len(again))
        check("glibc.malloc.check=0:glibc.malloc.hugetlb=1" in again[0], "GLIBC_TUNABLES not kept: %s" % again[0])
        s = subprocess.run([strace, "-f", "-qq", "-e", "trace=execve", tool.bin, "report", out],
                           capture_output=True, env=dict(os.environ), timeout=RUN_TIMEOUT)
        check("/proc/self/exe" not in text(s.stderr), "a small trace was analyzed through a second exec")


def case_report_bad_folder(tool, a):
    empty = fresh_dir(os.path.join(tool.work, "empty"))
    for d in (os.path.join(tool.work, "no-such-folder"), empty):
        p = tool.report(d)
        check(p.returncode == 125, "report %s: exit %d, expected 125" % (d, p.returncode))
        one_line(p, "report " + d)
        check(p.stdout == b"", "report of a bad folder wrote to stdout")
    p = subprocess.run([tool.bin, "report"], capture_output=True, timeout=30)
    check(p.returncode == 2, "report without a folder: exit %d, expected 2" % p.returncode)
    p = tool.report(empty, "yaml")
    check(p.returncode == 2, "report --format yaml: exit %d, expected 2" % p.returncode)


def case_help_version(tool, a):
    h = subprocess.run([tool.bin, "--help"], capture_output=True, text=True, timeout=30)
    check(h.returncode == 0 and "lockgraph run" in h.stdout and "--error-exitcode" in h.stdout, "--help")
    v = subprocess.run([tool.bin, "--version"], capture_output=True, text=True, timeout=30)
    check(v.returncode == 0 and v.stdout.startswith("lockgraph "), "--version")
    u = subprocess.run([tool.bin, "frobnicate"], capture_output=True, text=True, timeout=30)
    check(u.returncode == 2, "unknown command: exit %d, expected 2" % u.returncode)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lockgraph", required=True)
    ap.add_argument("--work", required=True)
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--bin", required=True)
    s.add_argument("--src", required=True)
    c = sub.add_parser("cli")
    c.add_argument("case", choices=sorted(CASES))
    c.add_argument("--samples")
    c.add_argument("--static-bin")
    c.add_argument("--build-dir")
    c.add_argument("--bad-loader-bin")
    c.add_argument("--elf32-bin")
    a = ap.parse_args()
    tool = Tool(a.lockgraph, fresh_dir(a.work))
    try:
        if a.what == "sample":
            test_sample(tool, os.path.abspath(a.bin), a.src)
        else:
            CASES[a.case](tool, a)
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
