# SPDX-License-Identifier: MIT
# The big-put shape with a small item: it finishes (the item fits in the
# pipe) but the parent joined the child before draining the queue.
# With the argument "drain" the parent gets first: the clean twin.
import multiprocessing as mp
import sys


def child(q):
    q.put("X" * 1000)


if __name__ == "__main__":
    mp.set_start_method("fork")
    q = mp.Queue()
    p = mp.Process(target=child, args=(q,))
    p.start()
    if len(sys.argv) > 1 and sys.argv[1] == "drain":
        item = q.get()
        p.join()
    else:
        p.join()                 # smallput_queue.py:22
        item = q.get()           # smallput_queue.py:23
    assert len(item) == 1000
