# SPDX-License-Identifier: MIT
# AB/BA with threading.Lock, serialised so it always finishes: the shim
# must record lock-order dependencies between the two semaphores.
import threading

a = threading.Lock()
b = threading.Lock()


def t1():
    with a:
        with b:
            pass


def t2():
    with b:
        with a:
            pass


for f in (t1, t2):
    t = threading.Thread(target=f)
    t.start()
    t.join()
