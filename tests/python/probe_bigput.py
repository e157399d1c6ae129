# SPDX-License-Identifier: MIT
# Probe script: the multiprocessing.Queue "big put" hang. The child puts a
# 1 MB item; its feeder thread blocks writing it into the pipe, the child
# waits for the feeder at exit, and the parent joins before it reads.
# This really hangs: run_probe.py kills it once the captures are in.
import multiprocessing


def produce(queue):
    queue.put("X" * 1_000_000)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=produce, args=(queue,))
    child.start()  # PROBE: frame sem_wait <module> child
    child.join()  # PROBE: waitpid <module>
    queue.get()
