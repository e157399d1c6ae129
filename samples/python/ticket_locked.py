# SPDX-License-Identifier: MIT
# LG-EXPECT: clean
# The ticket grab done right: the read-modify-write of the JSON file is
# inside one multiprocessing.Lock shared by all buyer processes, so only
# one buyer at a time can look at the count and change it.
import json
import multiprocessing
import os
import tempfile
import time


def buy(db_path, buyer, counter_lock):
    with counter_lock:
        with open(db_path, encoding="utf-8") as f:
            tickets = json.load(f)
        if tickets["left"] > 0:
            time.sleep(0.05)
            tickets["left"] -= 1
            with open(db_path, "w", encoding="utf-8") as f:
                f.write(json.dumps(tickets))
                f.flush()
            print("buyer", buyer, "got a ticket")
        else:
            print("buyer", buyer, "found none left")


if __name__ == "__main__":
    db_path = os.path.join(tempfile.mkdtemp(prefix="tickets-"), "db.json")
    with open(db_path, "w", encoding="utf-8") as f:
        json.dump({"left": 1}, f)
    counter_lock = multiprocessing.Lock()
    buyers = [multiprocessing.Process(target=buy, args=(db_path, n, counter_lock))
              for n in range(4)]
    for b in buyers:
        b.start()
    for b in buyers:
        b.join()
    with open(db_path, encoding="utf-8") as f:
        print("tickets left:", json.load(f)["left"])
