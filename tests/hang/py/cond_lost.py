# SPDX-License-Identifier: MIT
# A lost wake-up in Python: the worker waits on a Condition that nobody
# will ever notify, and the main thread joins it. Condition.wait blocks on
# a waiter lock the worker acquired itself (until a notify releases it):
# the whole tree is stuck, but not by a self-deadlock. Must be a `hang`.
import threading

ready = threading.Condition()


def worker():
    with ready:
        ready.wait()  # line 13: nobody notifies


t = threading.Thread(target=worker)
t.start()
t.join()
