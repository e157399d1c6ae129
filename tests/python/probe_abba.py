# SPDX-License-Identifier: MIT
# Probe script: AB/BA with threading.Lock, serialised so it never hangs,
# plus one contended acquire whose blocking sem_wait runs without the GIL.
# Each PROBE marker comment (hooked call, function) marks a line that the
# capture must report as the innermost frame (checked by run_probe.py).
import threading
import time

lock_a = threading.Lock()
lock_b = threading.Lock()
lock_c = threading.Lock()


def first():
    with lock_a:  # PROBE: sem_trywait first
        with lock_b:  # PROBE: sem_trywait first
            pass


def second():
    with lock_b:  # PROBE: sem_trywait second
        with lock_a:  # PROBE: sem_trywait second
            pass


def contended():
    with lock_c:  # PROBE: sem_wait contended
        pass


for target in (first, second):
    worker = threading.Thread(target=target)
    worker.start()
    worker.join()

lock_c.acquire()
worker = threading.Thread(target=contended)
worker.start()
time.sleep(0.3)
lock_c.release()
worker.join()
