# -*- coding: utf-8 -*-
"""leak_target.py: a process that leaks a known amount between two moments,
and records, exactly, what generation 2 of its own collector held at each.

Usage:
    python leak_target.py --truth FILE [--leak N] [--fork] [--evil-names]
                          [--no-collect]

Without --fork (a leak over time):
    1. builds a heap, runs gc.collect() (everything into generation 2),
       takes truth "a", writes b"ready a\\n" to fd 1 and blocks reading fd 0;
    2. on a byte: makes N instances of class Leak, each holding a list and a
       dict, runs gc.collect(), takes truth "b", writes b"ready b\\n", blocks;
    3. on a byte: writes the truth JSON to FILE and exits 0.
With --fork (a pre-fork master and a worker):
    1. builds the heap, gc.collect(), takes truth "a" (the master's), forks;
       the worker leaks N as above, gc.collect(), takes truth "b" and tells
       the master, which writes b"ready WORKER_PID\\n" and blocks reading fd 0;
    2. on a byte: the truth JSON goes to FILE, the worker is ended, exit 0.
The core of the master (or of the process at "a") is A, the worker (or the
process at "b") is B.

--no-collect: no gc.collect() after the leak (the leak stays in generation
0), and a worker takes no truth "b" (null): it still shares the master's
pages of GC heads.

--evil-names adds instances of classes whose names are HTML and script
(an HTML report must show them as text).

Truth JSON:
    {"a": TRUTH, "b": TRUTH, "leak": N, "pid": ..., "worker_pid": ... | null,
     "leak_type": "0x...",      # address of class Leak
     "leak_sizeof": n,          # sys.getsizeof(a Leak instance)
     "marker": {"address": "0x...", "type": "0x...", "refcount": n},
     "evil_names": [...]}
    TRUTH: {"generations": [n0, n1, n2],   # len(gc.get_objects(generation=g))
            "types2": {"0x<type address>": objects, ...}}  # generation 2
The marker is one object whose reference count the target knows.

Runs on CPython 3.8+ (gc.get_objects(generation=N)).
"""

import gc

gc.disable()

import os  # noqa: E402
import sys  # noqa: E402


class Leak(object):
    def __init__(self, i):
        self.items = [i]
        self.meta = {"i": i, "tags": ["leak-%d" % i]}


class Marker(object):
    pass


class Node(object):
    def __init__(self, i):
        self.i = i
        self.children = [[i], (i, [i + 1])]


EVIL_NAMES = ["<script>alert(1)</script>",
              "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
              "</script><script>document.title='pwned'</script>",
              "a&b \"quoted\" 'single'"]

HEAP = []
LEAKED = []
MARKER = Marker()
MARKER_HOLDERS = [[MARKER] for _ in range(5)]
EVIL = []


def fail_usage(message):
    os.write(2, ("leak_target: %s\n" % message).encode())
    sys.exit(64)


def histogram2():
    """{id(type): objects} of generation 2.  The dict holds only ints: the
    collector does not track it."""
    by_addr = {}
    objs = gc.get_objects(generation=2)
    o = None
    for o in objs:
        t = id(type(o))
        by_addr[t] = by_addr.get(t, 0) + 1
    del objs, o
    return by_addr


def take_truth():
    hist = histogram2()
    gens = [len(gc.get_objects(generation=g)) for g in (0, 1, 2)]
    return {"generations": gens,
            "types2": dict(("0x%x" % a, n) for a, n in hist.items())}


def wait_byte(fd=0):
    return os.read(fd, 1)


def leak(n):
    for i in range(n):
        LEAKED.append(Leak(i))


def main(argv):
    truth_path = None
    n = 1000
    fork = False
    evil = False
    collect = True
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--truth" and i + 1 < len(argv):
            truth_path = argv[i + 1]
            i += 1
        elif a == "--leak" and i + 1 < len(argv):
            n = int(argv[i + 1])
            i += 1
        elif a == "--fork":
            fork = True
        elif a == "--evil-names":
            evil = True
        elif a == "--no-collect":
            collect = False
        else:
            fail_usage("unknown argument %r" % a)
        i += 1
    if truth_path is None:
        fail_usage("--truth FILE is required")

    for i in range(2000):
        HEAP.append(Node(i))
    if evil:
        for name in EVIL_NAMES:
            cls = type(name, (object,), {})
            EVIL.append([cls() for _ in range(3)])
    gc.collect()
    truth = {"leak": n, "pid": os.getpid(), "worker_pid": None,
             "leak_type": "0x%x" % id(Leak),
             "leak_sizeof": sys.getsizeof(Leak(0)),
             "marker": {"address": "0x%x" % id(MARKER), "type": "0x%x" % id(Marker),
                        "refcount": sys.getrefcount(MARKER) - 1},
             "evil_names": EVIL_NAMES if evil else []}
    truth["a"] = take_truth()

    if not fork:
        os.write(1, b"ready a\n")
        wait_byte()
        leak(n)
        if collect:
            gc.collect()
        truth["b"] = take_truth()
        os.write(1, b"ready b\n")
        wait_byte()
    else:
        r, w = os.pipe()          # worker -> master: its truth
        r2, w2 = os.pipe()        # master -> worker: the end (EOF)
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.close(w2)
            leak(n)
            if collect:
                gc.collect()
            # Counting its objects writes their reference counts, which
            # copies their pages: a worker that must keep sharing does not.
            data = repr(take_truth() if collect else None).encode()
            while data:
                data = data[os.write(w, data):]
            os.close(w)
            wait_byte(r2)         # EOF when the master goes
            os._exit(0)
        os.close(w)
        os.close(r2)
        chunks = []
        while True:
            c = os.read(r, 65536)
            if not c:
                break
            chunks.append(c)
        truth["b"] = eval(b"".join(chunks).decode())
        truth["worker_pid"] = pid
        os.write(1, ("ready %d\n" % pid).encode())
        wait_byte()
        os.close(w2)
        os.waitpid(pid, 0)

    import json
    with open(truth_path, "w") as f:
        json.dump(truth, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
