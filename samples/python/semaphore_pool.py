# SPDX-License-Identifier: MIT
# LG-EXPECT: clean
# A pool of three download slots guarded by a BoundedSemaphore: eight
# workers share them, at most three at a time, each releasing its slot when
# done. Nothing to report.
import threading
import time

slots = threading.BoundedSemaphore(3)
in_use = 0
peak = 0
count_lock = threading.Lock()


def download(n):
    global in_use, peak
    with slots:
        with count_lock:
            in_use += 1
            peak = max(peak, in_use)
        time.sleep(0.02)
        with count_lock:
            in_use -= 1


workers = [threading.Thread(target=download, args=(n,)) for n in range(8)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("at most", peak, "downloads at once")
