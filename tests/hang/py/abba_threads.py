# SPDX-License-Identifier: MIT
# AB/BA with threading.Lock (semaphores underneath): always deadlocks.
import threading

a = threading.Lock()
b = threading.Lock()
bar = threading.Barrier(2)


def t1():
    with a:
        bar.wait()
        with b:                  # abba_threads.py:13
            pass


def t2():
    with b:
        bar.wait()
        with a:                  # abba_threads.py:20
            pass


x = threading.Thread(target=t1)
y = threading.Thread(target=t2)
x.start()
y.start()
x.join()
y.join()
