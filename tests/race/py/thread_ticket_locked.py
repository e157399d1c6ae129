# SPDX-License-Identifier: MIT
# thread_ticket.py with a threading.Lock around the read-think-write, and
# a final read after the joins: must come out clean.
# LG-CLEAN
import os
import threading
import time

DB = "thread_ticket_locked.db"
lock = threading.Lock()


def buy():
    with lock:
        with open(DB) as f:
            left = int(f.read())
        time.sleep(0.05)
        if left > 0:
            with open(DB, "w") as f:
                f.write(str(left - 1))


with open(DB, "w") as f:
    f.write("1")
buyers = [threading.Thread(target=buy) for _ in range(4)]
for t in buyers:
    t.start()
for t in buyers:
    t.join()
with open(DB) as f:
    print("left:", f.read())
os.unlink(DB)
