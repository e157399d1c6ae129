# SPDX-License-Identifier: MIT
# LG-EXPECT: clean
# A bounded buffer with one threading.Condition: the producer waits while
# the buffer is full, the consumer while it is empty, each notifies the
# other. Correct use of wait/notify under the condition's lock: nothing to
# report.
import threading

buffer = []
CAPACITY = 4
changed = threading.Condition()
DONE = None


def producer():
    for item in list(range(20)) + [DONE]:
        with changed:
            while len(buffer) >= CAPACITY:
                changed.wait()
            buffer.append(item)
            changed.notify_all()


def consumer(results):
    while True:
        with changed:
            while not buffer:
                changed.wait()
            item = buffer.pop(0)
            changed.notify_all()
        if item is DONE:
            return
        results.append(item * item)


results = []
threads = [threading.Thread(target=producer), threading.Thread(target=consumer, args=(results,))]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("consumed", len(results), "items")
