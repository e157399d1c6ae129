# SPDX-License-Identifier: MIT
# LG-EXPECT: clean
# The fixed twin of queue_bigput.py: the parent reads the item before it
# joins the child, so the feeder can finish writing and the child can exit.
import multiprocessing


def produce(queue):
    report = "x" * 1_000_000
    queue.put(report)


if __name__ == "__main__":
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=produce, args=(queue,))
    child.start()
    item = queue.get()
    child.join()
    print("got", len(item), "bytes")
