# SPDX-License-Identifier: MIT
# AB/BA across two processes with multiprocessing locks (named semaphores
# shared by fork): always deadlocks.
import multiprocessing as mp


def worker(a, b, bar):
    with b:
        bar.wait()
        with a:                  # abba_mp_hang.py:10
            pass


if __name__ == "__main__":
    mp.set_start_method("fork")
    a, b, bar = mp.Lock(), mp.Lock(), mp.Barrier(2)
    p = mp.Process(target=worker, args=(a, b, bar))
    p.start()
    with a:
        bar.wait()
        with b:                  # abba_mp_hang.py:21
            pass
    p.join()
