#!/usr/bin/env python3
"""make_bench_core.py: a large heap for benchmarking gcinspect.

Builds N dicts (default 1 000 000) that each hold a list, so at least 2N
objects are tracked by the collector, with the collector disabled.  Then it
times the interpreter's own type histogram of every GC object,

    collections.Counter(type(o).__name__ for o in gc.get_objects())

(one warm-up run, then REPEAT timed runs; only that expression is timed),
prints the results as "key value" lines, prints "ready", and blocks reading
stdin so that bench/run.sh can take a core.  It exits when a byte or EOF
arrives.

Usage: python make_bench_core.py [--dicts N] [--repeat R]
"""

import gc

gc.disable()

import collections  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def histogram():
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


def main(argv):
    ndicts = 1000000
    repeat = 3
    i = 0
    while i < len(argv):
        if argv[i] == "--dicts" and i + 1 < len(argv):
            ndicts = int(argv[i + 1])
            i += 2
        elif argv[i] == "--repeat" and i + 1 < len(argv):
            repeat = max(1, int(argv[i + 1]))
            i += 2
        else:
            sys.stderr.write("usage: make_bench_core.py [--dicts N] [--repeat R]\n")
            return 64

    t0 = time.perf_counter()
    heap = [{"id": n, "items": [n]} for n in range(ndicts)]
    build = time.perf_counter() - t0

    hist = histogram()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        hist = histogram()
        times.append(time.perf_counter() - t0)
    times.sort()
    total = sum(hist.values())

    out = sys.stdout
    out.write("python %d.%d.%d\n" % tuple(sys.version_info[:3]))
    out.write("pid %d\n" % os.getpid())
    out.write("dicts %d\n" % ndicts)
    out.write("build_seconds %.3f\n" % build)
    out.write("inproc_objects %d\n" % total)
    out.write("inproc_seconds_min %.4f\n" % times[0])
    out.write("inproc_seconds_median %.4f\n" % times[len(times) // 2])
    for name, count in hist.most_common(5):
        out.write("inproc_top %s %d\n" % (name, count))
    out.write("ready\n")
    out.flush()
    del hist
    os.read(0, 1)
    os._exit(0)  # skip tearing down two million objects


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
