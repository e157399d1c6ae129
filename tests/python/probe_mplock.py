# SPDX-License-Identifier: MIT
# Probe script: two multiprocessing.Lock objects taken in opposite orders by
# a parent and a forked child, one after the other (no hang). The child's
# captures come from a process that never ran the probe's constructor.
import multiprocessing
import time


def worker(lock_a, lock_b):
    with lock_b:  # PROBE: frame sem_trywait worker child
        time.sleep(0.05)
        with lock_a:  # PROBE: frame sem_trywait worker child
            pass


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    lock_a = multiprocessing.Lock()
    lock_b = multiprocessing.Lock()
    with lock_a:  # PROBE: frame sem_trywait <module>
        with lock_b:  # PROBE: frame sem_trywait <module>
            pass
    child = multiprocessing.Process(target=worker, args=(lock_a, lock_b))
    child.start()
    child.join()  # PROBE: frame waitpid <module>
