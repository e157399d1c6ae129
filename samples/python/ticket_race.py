# SPDX-License-Identifier: MIT
# The ticket-grab race: several buyer processes each read the number of
# tickets left from a JSON file, think for a moment, and write the number
# back minus one, with no lock around the read-modify-write. Two buyers can
# read the same count and both "get" the last ticket.
# The locked twin: ticket_locked.py.
import json
import multiprocessing
import os
import tempfile
import time


def buy(db_path, buyer):
    with open(db_path, encoding="utf-8") as f:
        tickets = json.load(f)  # LG-EXPECT: lock-discipline-race
    if tickets["left"] > 0:
        time.sleep(0.05)                    # the buyer hesitates
        tickets["left"] -= 1
        with open(db_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(tickets))
            f.flush()  # LG-EXPECT: lock-discipline-race
        print("buyer", buyer, "got a ticket")
    else:
        print("buyer", buyer, "found none left")


if __name__ == "__main__":
    db_path = os.path.join(tempfile.mkdtemp(prefix="tickets-"), "db.json")
    with open(db_path, "w", encoding="utf-8") as f:
        json.dump({"left": 1}, f)
    buyers = [multiprocessing.Process(target=buy, args=(db_path, n)) for n in range(4)]
    for b in buyers:
        b.start()
    for b in buyers:
        b.join()
    with open(db_path, encoding="utf-8") as f:
        print("tickets left:", json.load(f)["left"])
