# SPDX-License-Identifier: MIT
# LG-EXPECT: clean
# Producer/consumer with multiprocessing.JoinableQueue: two consumer
# processes take jobs and mark each one done; the producer waits with
# queue.join() until every job is done, then sends one stop marker per
# consumer and joins them. Nothing to report.
import multiprocessing


def consume(jobs, results):
    while True:
        job = jobs.get()
        if job is None:
            jobs.task_done()
            return
        results.put(job * job)
        jobs.task_done()


if __name__ == "__main__":
    jobs = multiprocessing.JoinableQueue()
    results = multiprocessing.Queue()
    consumers = [multiprocessing.Process(target=consume, args=(jobs, results)) for _ in range(2)]
    for c in consumers:
        c.start()
    for n in range(10):
        jobs.put(n)
    jobs.join()
    total = sum(results.get() for _ in range(10))
    for _ in consumers:
        jobs.put(None)
    jobs.join()
    for c in consumers:
        c.join()
    print("sum of squares:", total)
