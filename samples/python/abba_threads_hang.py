# SPDX-License-Identifier: MIT
# AB/BA with threading.Lock that really deadlocks: each worker holds its
# first lock and waits at the barrier until the other holds its own, then
# both ask for the lock the other holds. Run it under lockgraph with a hang
# timeout; it never finishes on its own.
# LG-HANG: really hangs; run it with a hang timeout.
import threading

fork_left = threading.Lock()
fork_right = threading.Lock()
both_hold_one = threading.Barrier(2)


def philosopher_one():
    with fork_left:
        both_hold_one.wait()
        with fork_right:  # LG-EXPECT: deadlock
            print("philosopher one eats")


def philosopher_two():
    with fork_right:
        both_hold_one.wait()
        with fork_left:  # LG-EXPECT: deadlock
            print("philosopher two eats")


diners = [threading.Thread(target=philosopher_one), threading.Thread(target=philosopher_two)]
for d in diners:
    d.start()
for d in diners:
    d.join()
