# SPDX-License-Identifier: MIT
# Probe script for lg_py_assigned_name: each line with a NAME marker
# comment creates a lock that the probe must name so at its sem_init or
# sem_open; the marker "-" means the lock must get no name.
import multiprocessing
import threading

account_lock = threading.Lock()  # NAME: account_lock
reentrant = threading.RLock()  # NAME: reentrant
mp_lock = multiprocessing.Lock()  # NAME: mp_lock
pool_slots = threading.BoundedSemaphore(2)  # NAME: pool_slots


class Account:
    class_lock = threading.Lock()  # NAME: class_lock

    def __init__(self):
        self.lock = threading.Lock()  # NAME: self.lock
        self.mp_lock = multiprocessing.Lock()  # NAME: self.mp_lock


def make_lock():
    return threading.Lock()


def local_lock():
    guard = threading.Lock()  # NAME: guard
    return guard


def set_global():
    global late_lock
    late_lock = threading.Lock()  # NAME: late_lock


def anonymous():
    return [threading.Lock() for _ in range(2)]  # NAME: -


factory_lock = make_lock()  # NAME: factory_lock
Account()
local_lock()
set_global()
anonymous()
for _ in range(3):           # the same lines again, once quickened
    local_lock()
    Account()
