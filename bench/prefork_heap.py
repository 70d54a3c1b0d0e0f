#!/usr/bin/env python3
"""prefork_heap.py: a master holding a large heap and W forked workers.

Builds N dicts that each hold a list (2N tracked objects), moves them into
the oldest generation with gc.collect(), forks W workers that sleep, prints
"master PID", "workers PID..." and "ready", and waits until stdin closes;
then it stops the workers and exits.

Usage: python prefork_heap.py [--dicts N] [--workers W]
"""

import gc
import os
import signal
import sys
import time


def main(argv):
    ndicts, nworkers = 500000, 8
    i = 0
    while i < len(argv):
        if argv[i] == "--dicts" and i + 1 < len(argv):
            ndicts = int(argv[i + 1])
        elif argv[i] == "--workers" and i + 1 < len(argv):
            nworkers = int(argv[i + 1])
        else:
            sys.stderr.write("usage: prefork_heap.py [--dicts N] [--workers W]\n")
            return 64
        i += 2
    gc.disable()
    heap = [{"id": n, "items": [n]} for n in range(ndicts)]
    gc.collect()
    gc.enable()
    # Counted before the fork: gc.get_objects() writes every object's
    # reference count, and the master's writes after the fork would give it
    # copies of its own.
    tracked = len(gc.get_objects())
    workers = []
    for _ in range(nworkers):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            parent = os.getppid()
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        workers.append(pid)
    out = sys.stdout
    out.write("master %d\n" % os.getpid())
    out.write("workers %s\n" % " ".join(str(p) for p in workers))
    out.write("tracked %d\n" % tracked)
    out.write("ready\n")
    out.flush()
    sys.stdin.read()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    del heap
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
