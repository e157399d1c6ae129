# SPDX-License-Identifier: MIT
# LG-EXPECT: clean
# threading.RLock taken again by the thread that already holds it: a
# deposit helper that locks the account is called from a transfer that has
# locked it already. With an RLock that is fine (with a plain Lock it would
# deadlock on itself). Nothing to report.
import threading

account_lock = threading.RLock()
balance = 0


def deposit(amount):
    global balance
    with account_lock:
        balance += amount


def deposit_twice(amount):
    with account_lock:
        deposit(amount)
        deposit(amount)


workers = [threading.Thread(target=deposit_twice, args=(n,)) for n in range(4)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("balance:", balance)
