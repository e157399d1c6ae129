# SPDX-License-Identifier: MIT
# Probe script: frame shapes the walker must get right (generator,
# coroutine, comprehension, class body, __del__ run while its caller's frame
# is being torn down, exceptions, recursion deeper than the capture) and
# four threads contending on one lock, so that every decoded line is
# checked against PyCode_Addr2Line many thousand times.
import threading

lock = threading.Lock()
del_lock = threading.Lock()


def gen():
    while True:
        with lock:  # PROBE: sem_trywait gen
            pass
        yield 1


async def coro():
    with lock:  # PROBE: sem_trywait coro
        pass


class Holder:
    def __del__(self):
        with del_lock:  # PROBE: sem_trywait __del__
            pass


def drop():
    holder = Holder()
    return holder is None


def deep(n):
    if n == 0:
        with lock:  # PROBE: sem_trywait deep
            return 0
    return deep(n - 1) + 1


def failing():
    with lock:  # PROBE: sem_trywait failing
        raise ValueError("inside the lock")


def hammer(rounds):
    g = gen()
    for i in range(rounds):
        next(g)
        c = coro()
        try:
            c.send(None)
        except StopIteration:
            pass
        try:
            failing()
        except ValueError:
            pass
        drop()
        [lock.acquire(False) and lock.release() for _ in range(2)]  # PROBE: sem_trywait <listcomp>


class Body:
    with lock:  # PROBE: sem_trywait Body
        pass


deep(100)
threads = [threading.Thread(target=hammer, args=(1500,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
