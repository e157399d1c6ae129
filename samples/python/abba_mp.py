# SPDX-License-Identifier: MIT
# multiprocessing.Lock taken in opposite orders by two processes, staggered
# so that this run finishes: the first process takes A then B and lets go;
# only then does the second take B then A, while the first is still alive.
# The two locks are the same two semaphores in both processes, so this is
# a potential deadlock across processes.
import multiprocessing
import time


def wait_for_step(step, n):
    while step.value < n:
        time.sleep(0.001)


def writer_a_then_b(lock_a, lock_b, step):
    with lock_a:
        with lock_b:  # LG-EXPECT: lock-order-cycle
            print("process", multiprocessing.current_process().name, "updated A and B")
    step.value = 1
    wait_for_step(step, 2)          # stay alive until the other process is done


def writer_b_then_a(lock_a, lock_b, step):
    wait_for_step(step, 1)
    with lock_b:
        with lock_a:  # LG-EXPECT: lock-order-cycle
            print("process", multiprocessing.current_process().name, "updated B and A")
    step.value = 2


if __name__ == "__main__":
    lock_a = multiprocessing.Lock()
    lock_b = multiprocessing.Lock()
    step = multiprocessing.RawValue("i", 0)   # shared memory without a lock
    workers = [multiprocessing.Process(target=writer_a_then_b, args=(lock_a, lock_b, step)),
               multiprocessing.Process(target=writer_b_then_a, args=(lock_a, lock_b, step))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
