# SPDX-License-Identifier: MIT
# AB/BA with threading.Lock, staggered so that this run finishes: the first
# worker takes A then B and lets go; only then does the second take B then
# A. Both threads are alive at the same time, so with other timing each
# could hold its first lock while waiting for the other's: a potential
# deadlock, reported although this run did not hang.
# The run that really hangs: abba_threads_hang.py.
import threading
import time

account_lock_a = threading.Lock()
account_lock_b = threading.Lock()
balances = {"a": 100, "b": 100}
step = 0                      # the stagger, polled without any lock


def wait_for_step(n):
    while step < n:
        time.sleep(0.001)


def move_a_to_b():
    global step
    with account_lock_a:
        with account_lock_b:  # LG-EXPECT: lock-order-cycle
            balances["a"] -= 10
            balances["b"] += 10
    step = 1
    wait_for_step(2)          # stay alive until the other worker is done


def move_b_to_a():
    global step
    wait_for_step(1)
    with account_lock_b:
        with account_lock_a:  # LG-EXPECT: lock-order-cycle
            balances["b"] -= 5
            balances["a"] += 5
    step = 2


workers = [threading.Thread(target=move_a_to_b), threading.Thread(target=move_b_to_a)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("balances:", balances)
