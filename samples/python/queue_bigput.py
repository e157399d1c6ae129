# SPDX-License-Identifier: MIT
# The multiprocessing.Queue "big put" hang. The child puts one 1 MB item:
# put() hands it to a feeder thread, which writes it into the queue's pipe
# and blocks once the pipe (64 KiB) is full. At exit the child waits for its
# feeder; the parent joins the child before reading anything. Parent waits
# for child, child for feeder, feeder for the parent to read: it never
# finishes on its own. The fix: queue_bigput_ok.py.
# LG-HANG: really hangs; run it with a hang timeout.
import multiprocessing


def produce(queue):
    report = "x" * 1_000_000
    queue.put(report)


if __name__ == "__main__":
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=produce, args=(queue,))
    child.start()
    child.join()  # LG-EXPECT: join-before-drain
    print("got", len(queue.get()), "bytes")
