# SPDX-License-Identifier: MIT
# Threads sell the last ticket kept in a file, with no lock around the
# read-think-write: lockgraph must report a lock-discipline-race here.
import os
import threading
import time

DB = "thread_ticket.db"


def buy():
    with open(DB) as f:
        left = int(f.read())  # LG-EXPECT: lock-discipline-race
    time.sleep(0.1)
    if left > 0:
        with open(DB, "w") as f:  # LG-EXPECT: lock-discipline-race
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
