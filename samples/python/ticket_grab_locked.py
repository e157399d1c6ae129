# SPDX-License-Identifier: MIT
# ticket_grab_locked.py — ticket_grab.py done right, as the tutorials fix
# it: the read-think-write of get() runs under a multiprocessing.Lock, so
# one ticket is sold once. search() still peeks without the lock: a stale
# read, not a lost update. Must come out clean.
# LG-CLEAN
import json
import os
import time
from multiprocessing import Lock, Process

DB = "ticket_grab_locked.json"


def search():
    with open(DB, encoding="utf-8") as f:
        return json.load(f)


def get():
    with open(DB, encoding="utf-8") as f:
        dic = json.load(f)
    time.sleep(0.1)
    if dic["count"] > 0:
        dic["count"] -= 1
        with open(DB, "w", encoding="utf-8") as f:
            json.dump(dic, f)
        print("%s got a ticket" % os.getpid())


def task(lock):
    search()
    with lock:
        get()


if __name__ == "__main__":
    with open(DB, "w", encoding="utf-8") as f:
        json.dump({"count": 1}, f)
    lock = Lock()
    buyers = [Process(target=task, args=(lock,)) for _ in range(5)]
    for p in buyers:
        p.start()
    for p in buyers:
        p.join()
    os.unlink(DB)
