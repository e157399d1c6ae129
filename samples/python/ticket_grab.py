# SPDX-License-Identifier: MIT
# ticket_grab.py — the ticket grab of the tutorials: one ticket left in
# ticket_grab.json, five buyer processes each read it, think, and write
# back the count minus one, with no lock: the last ticket is sold five
# times. lockgraph reports a lock-discipline-race citing the read and the
# write-back lines. Clean twin: ticket_grab_locked.py.
import json
import os
import time
from multiprocessing import Process

DB = "ticket_grab.json"


def search():
    with open(DB, encoding="utf-8") as f:
        return json.load(f)


def get():
    with open(DB, encoding="utf-8") as f:
        dic = json.load(f)  # LG-EXPECT: lock-discipline-race
    time.sleep(0.2)  # think: the others read the same count
    if dic["count"] > 0:
        dic["count"] -= 1
        # json.dump fills a buffer; the write reaches the file when the
        # with block closes it, so the write is this line.
        with open(DB, "w", encoding="utf-8") as f:  # LG-EXPECT: lock-discipline-race
            json.dump(dic, f)
        print("%s got a ticket" % os.getpid())


def task():
    search()
    get()


if __name__ == "__main__":
    with open(DB, "w", encoding="utf-8") as f:
        json.dump({"count": 1}, f)
    buyers = [Process(target=task) for _ in range(5)]
    for p in buyers:
        p.start()
    for p in buyers:
        p.join()
    os.unlink(DB)
