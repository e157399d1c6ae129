# SPDX-License-Identifier: MIT
# A plain threading.Lock taken again by the thread that holds it: a helper
# locks the cache while its caller has locked it already. A Lock is not
# re-entrant, so the thread waits for itself forever. The RLock twin that
# works: rlock_ok.py.
# LG-HANG: really hangs; run it with a hang timeout.
import threading

cache_lock = threading.Lock()
cache = {}


def store(key, value):
    with cache_lock:  # LG-EXPECT: self-deadlock
        cache[key] = value


def refresh():
    with cache_lock:
        store("config", {"debug": False})


worker = threading.Thread(target=refresh)
worker.start()
worker.join()
