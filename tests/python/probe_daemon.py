# SPDX-License-Identifier: MIT
# Probe script: daemon threads that keep taking locks, writing to a pipe
# and waiting while the main thread exits, so that captures race the
# interpreter's finalisation (Py_IsInitialized() turning 0, thread states
# being freed). run_probe.py runs it many times: it must always exit 0.
import os
import threading

lock = threading.Lock()
ready = threading.Barrier(5)
rounds = 0
r, w = os.pipe()


def churn(n):
    global rounds
    ready.wait()
    while True:
        rounds += 1
        with lock:
            os.write(w, b"x")
        os.read(r, 1)
        threading.Event().wait(0.0001)


for n in range(4):
    threading.Thread(target=churn, args=(n,), daemon=True).start()
ready.wait()
while rounds < 100:
    with lock:
        pass
