# SPDX-License-Identifier: MIT
"""A hang of two processes and a pipe: the child puts an item bigger than
the pipe on a multiprocessing.Queue; the parent joins the child before
reading it (join-before-drain). Used as a real hang.lgt to garble."""
import multiprocessing as mp


def child(q):
    q.put("x" * 1000000)


if __name__ == "__main__":
    mp.set_start_method("fork")
    q = mp.Queue()
    p = mp.Process(target=child, args=(q,))
    p.start()
    p.join()
    print(len(q.get()))
