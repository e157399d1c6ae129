# SPDX-License-Identifier: MIT
# A thread acquires a lock and returns without releasing it: an early
# return skips the release. The lock stays held after the thread is gone,
# and the next thread that wants it would wait forever (here the main
# thread only tries without blocking, so the run finishes).
import threading

table_lock = threading.Lock()
table = {}


def update_table(key, value):
    table_lock.acquire()  # LG-EXPECT: unreleased-lock
    if value is None:
        return                        # forgot table_lock.release()
    table[key] = value
    table_lock.release()


worker = threading.Thread(target=update_table, args=("answer", None))
worker.start()
worker.join()
print("lock still held after the thread ended:", not table_lock.acquire(blocking=False))
