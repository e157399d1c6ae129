# SPDX-License-Identifier: MIT
# The hang the subprocess documentation warns about: wait() on a child
# whose stdout is a pipe nobody reads while the child fills it.
import subprocess

p = subprocess.Popen(["head", "-c", "1000000", "/dev/zero"], stdout=subprocess.PIPE)
p.wait()                         # subprocess_wait.py:7
print(len(p.stdout.read()))
