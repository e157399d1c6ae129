# SPDX-License-Identifier: MIT
"""subprocess under the shim: CPython starts children with vfork (and
posix_spawn for some calls) while other threads hold and release locks.
Every child's output and status must be exactly as without the tool."""
import subprocess
import sys
import threading

stop = threading.Event()
lock_a, lock_b = threading.Lock(), threading.Lock()
count = [0]


def busy():
    while not stop.is_set():
        with lock_a:
            with lock_b:
                count[0] += 1


workers = [threading.Thread(target=busy) for _ in range(2)]
for w in workers:
    w.start()

results = []
for i in range(40):
    r = subprocess.run(["sh", "-c", "echo out $0; echo err $0 >&2; exit $(($0 % 5))", str(i)],
                       capture_output=True, text=True)
    results.append((r.returncode, r.stdout.strip(), r.stderr.strip()))
out = subprocess.check_output(["seq", "1", "20000"])
p = subprocess.Popen(["sort", "-rn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
sorted_out, _ = p.communicate(out)
# close_fds=False and a preexec_fn take the fork path instead of vfork
r2 = subprocess.run(["sh", "-c", "exit 3"], close_fds=False, preexec_fn=lambda: None)
stop.set()
for w in workers:
    w.join()

bad = [r for i, r in enumerate(results) if r != (i % 5, "out %d" % i, "err %d" % i)]
print("subprocess.run: %d children, %d wrong" % (len(results), len(bad)))
print("check_output: %d lines; Popen sort: first %s" % (len(out.splitlines()), sorted_out.split()[0].decode()))
print("preexec_fn child: %d; lock users ran: %s" % (r2.returncode, count[0] > 0))
sys.exit(0 if not bad and r2.returncode == 3 and sorted_out.split()[0] == b"20000" else 1)
