#!/usr/bin/env python3
"""prefork_master.py: the master process of a pre-fork server, in miniature.

It imports a few modules, builds module-level application state (settings,
a route table with compiled patterns, caches whose entries form reference
cycles, a registry of service instances), optionally calls gc.freeze() the
way pre-fork servers do before forking, optionally forks workers, prints its
pid (and its workers' pids) and "ready", then waits so that a core can be
taken (gcore PID).

The workers idle.  SIGUSR1 makes a worker run gc.collect() and print how
much its Private_Dirty grew: what the collection copied from the master
(samples/prefork_demo.sh compares that with `gcinspect touch`).

Usage:
    python prefork_master.py [--freeze] [--workers N] [--scale N]

Runs on CPython 3.6 and later (dataclasses are used when available).
SIGTERM or SIGINT stops the master and its workers.
"""

import collections
import gc
import json
import os
import re
import signal
import sys
import time

try:
    import dataclasses
except ImportError:  # 3.6
    dataclasses = None


# ---------------------------------------------------------------------------
# Application objects.

if dataclasses is not None:
    @dataclasses.dataclass
    class Route(object):
        name: str
        pattern: object
        methods: tuple
        handler: object
        middleware: list = dataclasses.field(default_factory=list)
else:
    class Route(object):
        def __init__(self, name, pattern, methods, handler, middleware=None):
            self.name = name
            self.pattern = pattern
            self.methods = methods
            self.handler = handler
            self.middleware = middleware if middleware is not None else []


class Service(object):
    """Something registered at start-up: a database pool, a template engine..."""

    def __init__(self, name, settings):
        self.name = name
        self.settings = settings
        self.dependencies = []
        self.stats = collections.Counter()


class CacheNode(object):
    """A cache entry in a doubly linked LRU list: prev/next form cycles."""
    __slots__ = ("key", "value", "prev", "next", "__weakref__")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.prev = None
        self.next = None


class LRUCache(object):
    def __init__(self, name, capacity):
        self.name = name
        self.capacity = capacity
        self.index = {}
        self.head = CacheNode(None, None)
        self.head.prev = self.head.next = self.head

    def put(self, key, value):
        node = CacheNode(key, value)
        node.prev = self.head
        node.next = self.head.next
        self.head.next.prev = node
        self.head.next = node
        self.index[key] = node
        if len(self.index) > self.capacity:
            last = self.head.prev
            last.prev.next = self.head
            self.head.prev = last.prev
            del self.index[last.key]


def make_view(name, template):
    counter = [0]

    def view(request):
        counter[0] += 1
        return template.format(name=name, request=request, n=counter[0])
    view.__name__ = "view_" + name
    return view


# ---------------------------------------------------------------------------
# Module-level state, as an application would keep it.

SETTINGS = {}
ROUTES = []
ROUTE_INDEX = collections.OrderedDict()
CACHES = {}
REGISTRY = {}
WORKERS = []
WORKER_TABLE = {}


def build_state(scale):
    def n(base):
        return max(1, int(base * scale))

    SETTINGS.update(json.loads(json.dumps({
        "debug": False,
        "databases": {"default": {"host": "db", "port": 5432, "options": ["sslmode=require"]}},
        "features": dict(("feature_%d" % i, {"enabled": i % 2 == 0, "rollout": [i, 100]})
                         for i in range(n(200))),
        "locales": [["en", "English"], ["fr", "Français"], ["de", "Deutsch"]],
    })))

    for i in range(n(2000)):
        name = "resource_%d" % i
        pattern = re.compile(r"^/api/v1/%s/(?P<id>\d+)(?:/(?P<action>\w+))?$" % name)
        route = Route(name, pattern, ("GET", "POST") if i % 3 else ("GET",),
                      make_view(name, "{name}:{request}:{n}"))
        ROUTES.append(route)
        ROUTE_INDEX[name] = route

    for c in range(n(20)):
        cache = LRUCache("cache_%d" % c, 400)
        for k in range(n(500)):
            cache.put("k%d" % k, {"id": k, "tags": ["t%d" % (k % 7)], "payload": (k, str(k))})
        CACHES[cache.name] = cache

    previous = None
    for i in range(n(1000)):
        svc = Service("service_%d" % i, {"pool": i % 10, "hosts": ["h%d" % j for j in range(3)]})
        if previous is not None:
            svc.dependencies.append(previous)
            previous.dependencies.append(svc)  # mutual dependency: a cycle
        svc.stats["started"] += 1
        REGISTRY[svc.name] = svc
        previous = svc


# ---------------------------------------------------------------------------
# Processes.

def private_dirty_kb():
    """This process's Private_Dirty in kB: the memory it no longer shares."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            lines = f.read().split(b"\n")
    except (IOError, OSError):  # before Linux 4.14: add up every mapping
        with open("/proc/self/smaps", "rb") as f:
            lines = f.read().split(b"\n")
    return sum(int(line.split()[1]) for line in lines
               if line.startswith(b"Private_Dirty:"))


def on_collect(signum, frame):
    """SIGUSR1 in a worker: run a full collection and say what it cost."""
    before = private_dirty_kb()
    unreachable = gc.collect()
    after = private_dirty_kb()
    sys.stdout.write("worker %d: gc.collect() found %d unreachable; Private_Dirty "
                     "%d -> %d kB: +%d kB copied\n"
                     % (os.getpid(), unreachable, before, after, after - before))
    sys.stdout.flush()


def worker_main():
    """A worker that just waits; it leaves when the master is gone.
    SIGUSR1 makes it run gc.collect() and print its Private_Dirty growth."""
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    private_dirty_kb()  # once ahead, so that measuring later costs no new pages
    signal.signal(signal.SIGUSR1, on_collect)
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def stop_workers():
    for pid in WORKERS:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    for pid in WORKERS:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    del WORKERS[:]


def on_stop(signum, frame):
    stop_workers()
    sys.exit(0)


def parse_args(argv):
    freeze = False
    workers = 0
    scale = 1.0
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--freeze":
            freeze = True
        elif a in ("--workers", "--scale") and i + 1 < len(argv):
            i += 1
            if a == "--workers":
                workers = int(argv[i])
            else:
                scale = float(argv[i])
        elif a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            sys.exit(0)
        else:
            sys.stderr.write("prefork_master.py: bad argument %r\n" % a)
            sys.exit(64)
        i += 1
    return freeze, workers, scale


def main(argv):
    freeze, workers, scale = parse_args(argv)
    # Pre-fork servers commonly disable the collector while loading, and
    # freeze what they loaded so that workers do not touch those pages.
    gc.disable()
    build_state(scale)
    gc.collect()
    if freeze:
        if hasattr(gc, "freeze"):
            gc.freeze()
        else:
            sys.stderr.write("prefork_master.py: gc.freeze() needs Python 3.7\n")
    gc.enable()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    # Ignored until a worker installs its handler: an early SIGUSR1 is lost,
    # it does not kill the worker.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    for _ in range(workers):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            worker_main()
        WORKERS.append(pid)

    # Bookkeeping the master keeps after the freeze (and after forking):
    # these objects stay in the young generation.
    for pid in WORKERS or [os.getpid()]:
        WORKER_TABLE[pid] = {"started": time.time(), "requests": [], "state": ["idle"]}

    sys.stdout.write("pid %d\n" % os.getpid())
    if WORKERS:
        sys.stdout.write("workers %s\n" % " ".join(str(p) for p in WORKERS))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        while True:
            signal.pause()
    finally:
        stop_workers()


if __name__ == "__main__":
    main(sys.argv[1:])
