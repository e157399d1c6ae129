# SPDX-License-Identifier: MIT
# Healthy but slow: a worker sleeps, the main thread waits with timeouts.
import queue
import threading
import time

q = queue.Queue()


def worker():
    time.sleep(2.5)
    q.put(1)


t = threading.Thread(target=worker)
t.start()
while True:
    try:
        q.get(timeout=0.5)
        break
    except queue.Empty:
        pass
t.join()
