# SPDX-License-Identifier: MIT
# AB/BA with threading.Lock while a daemon heartbeat thread keeps sleeping
# and waking: the tree is never entirely still, the two threads are.
import threading
import time

a = threading.Lock()
b = threading.Lock()
bar = threading.Barrier(2)


def heartbeat():
    while True:
        time.sleep(0.05)


def t1():
    with a:
        bar.wait()
        with b:                  # abba_heartbeat.py:20
            pass


def t2():
    with b:
        bar.wait()
        with a:                  # abba_heartbeat.py:27
            pass


threading.Thread(target=heartbeat, daemon=True).start()
x = threading.Thread(target=t1)
y = threading.Thread(target=t2)
x.start()
y.start()
x.join()
y.join()
