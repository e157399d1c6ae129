# SPDX-License-Identifier: MIT
# Join-before-drain with multiprocessing.Queue: the child puts a 1 MB item
# (its feeder thread blocks writing into the pipe); the parent joins the
# child before getting. The child's exit joins its feeder: it never ends.
import multiprocessing as mp


def child(q):
    q.put("X" * 1000000)


if __name__ == "__main__":
    mp.set_start_method("fork")
    q = mp.Queue()
    p = mp.Process(target=child, args=(q,))
    p.start()
    p.join()                     # bigput_queue.py:17
    print(len(q.get()))
