# -*- coding: utf-8 -*-
"""gc_target.py: a CPython process that builds a known heap and records,
exactly, what its garbage collector holds at the moment a core is taken.

Usage:
    python gc_target.py [--truth FILE] [--freeze] [--subinterpreter] [--scale N] [--selfcheck]
                        [--threads N] [--live-thread] [--fork-worker]

    --truth FILE  where to write the truth (JSON, see below); required unless
                  --selfcheck is given
    --freeze      call gc.freeze() part way through the build (3.7+; on 3.6
                  it is ignored with a warning, freeze_count stays null)
    --scale N     multiply the size of the built heap by N (a float, default
                  1.0, which gives roughly 20 000 tracked objects in total)
    --selfcheck   after the snapshot, take every number again and exit 0 if
                  nothing changed, 1 otherwise (reports go to stderr)
    --threads N   N threads each build part of the heap, keep it reachable
                  and exit before the snapshot (free-threaded builds: their
                  objects stay in abandoned mimalloc segments)
    --live-thread one more thread builds objects and is still alive, blocked,
                  at the snapshot (free-threaded: heaps of a second thread)
    --fork-worker once the heap is built, fork one idle child, as a pre-fork
                  server forks a worker: it shares the heap's pages, blocks
                  reading a pipe of its own (stdin and stdout /dev/null; its
                  collector enabled, as a server worker's is) and
                  exits on EOF; the target kills and reaps it on release, after
                  the selfcheck.  The fork comes before any truth is taken, so
                  whatever it allocates is counted; the truth names the
                  child ("worker_pid", else null)

Protocol with the harness:
    1. the collector is disabled first thing, then the heap is built and moved
       into generations 2 and 1 (and the permanent generation with --freeze)
       with explicit gc.collect()/gc.freeze() calls; generation 0 is filled last;
    2. the truth is taken (generation 0 last of all);
    3. the process writes exactly b"ready\\n" to fd 1 and blocks reading one
       byte from fd 0 (on 3.6: reading fd 0 until EOF, see main()): the core
       must be taken during that wait;
    4. once a byte (or EOF) arrives, the truth JSON is written to FILE and the
       process exits 0.

Truth JSON (one object):
    {
      "version": "3.11.2",          # major.minor.micro of sys.version_info
      "version_full": "3.11.2",     # with the release level for pre-releases
      "hexversion": 51118832,       # sys.hexversion
      "debug_build": false,         # sys.gettotalrefcount exists
      "trace_refs": false,          # PyObject carries _ob_next/_ob_prev
      "tp_name_offset": 24,         # offset of tp_name used for "types"
      "pid": 1234,
      "executable": "/usr/bin/python3.11",
      "freeze_requested": false,
      "worker_pid": null,           # --fork-worker: the idle child's pid
      "enabled": false,             # gc.isenabled()
      "threshold": [t0, t1, t2],    # gc.get_threshold()
      "count": [c0, c1, c2],        # gc.get_count()
      "generations": [n0, n1, n2],  # len(gc.get_objects(generation=g));
                                    # null before 3.8
      "incremental": false,         # 3.14.0-3.14.4 (GIL build): the
                                    # incremental collector, whose lists are
                                    # young, old[0], old[1]; there
                                    # get_objects(generation=0) is young, 1
                                    # nothing, 2 both old lists, and
                                    # get_count() is (young, the visited old
                                    # list, the pending one)
      "total": n,                   # n0 + n1 + n2 (before 3.8:
                                    # len(gc.get_objects()))
      "freeze_count": n,            # gc.get_freeze_count(); null on 3.6
      "types": {"1": {tp_name: objects, ...},
                "2": {tp_name: objects, ...}},  # {} before 3.8
      "types_by_address": {"1": {"0x7f...": {"name": tp_name, "objects": n}, ...},
                           "2": {...}}          # by type object; {} before 3.8
    }
    Free-threaded builds (3.13t+) keep no generations: gc.get_objects(
    generation=N) returns the whole heap for every N.  There the truth has
    "free_threaded": true, "generations": [n, n, n] and "total": n with n =
    len(gc.get_objects()), and "types" / "types_by_address" hold one key,
    "heap", the whole heap's histogram, taken last of all.
    The names in "types" are the C-level tp_name strings read from the type
    objects in memory (so "collections.OrderedDict", not "OrderedDict").
    Two types can share a name (enum's "property" and the built-in one):
    "types_by_address" keeps them apart.

The script must run unchanged on CPython 3.6 to 3.15: no f-strings, no
walrus, version-dependent APIs are guarded.
"""

import gc

gc.disable()

import ctypes  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

HAVE_GEN_OBJECTS = sys.version_info >= (3, 8)
HAVE_FREEZE = hasattr(gc, "freeze") and hasattr(gc, "get_freeze_count")
# Free-threaded builds (sys.abiflags holds "t", whether or not the GIL was
# turned back on at run time): no generation lists, one heap.
FREE_THREADED = "t" in getattr(sys, "abiflags", "")
# 3.14.0-3.14.4 with the GIL ran the incremental collector (3.14.5 went back
# to the generational one; free-threaded builds keep no lists at all).
INCREMENTAL = ((3, 14, 0) <= tuple(sys.version_info[:3]) <= (3, 14, 4)
               and not FREE_THREADED)


def fail_usage(message):
    os.write(2, ("gc_target: %s\n" % message).encode("utf-8", "replace"))
    sys.exit(64)


def parse_args(argv):
    opts = {"truth": None, "freeze": False, "scale": 1.0, "selfcheck": False,
            "subinterpreter": False, "threads": 0, "live_thread": False,
            "fork_worker": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        value = None
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
        if arg in ("--truth", "--scale", "--threads"):
            if value is None:
                i += 1
                if i >= len(argv):
                    fail_usage("%s needs a value" % arg)
                value = argv[i]
            if arg == "--truth":
                opts["truth"] = value
            elif arg == "--threads":
                try:
                    opts["threads"] = int(value)
                except ValueError:
                    fail_usage("--threads: not a number: %r" % value)
                if opts["threads"] < 0:
                    fail_usage("--threads must not be negative")
            else:
                try:
                    opts["scale"] = float(value)
                except ValueError:
                    fail_usage("--scale: not a number: %r" % value)
                if opts["scale"] <= 0:
                    fail_usage("--scale must be positive")
        elif arg == "--freeze" and value is None:
            opts["freeze"] = True
        elif arg == "--selfcheck" and value is None:
            opts["selfcheck"] = True
        elif arg == "--subinterpreter" and value is None:
            opts["subinterpreter"] = True
        elif arg == "--live-thread" and value is None:
            opts["live_thread"] = True
        elif arg == "--fork-worker" and value is None:
            opts["fork_worker"] = True
        elif arg in ("-h", "--help"):
            os.write(1, (__doc__ or "").encode("utf-8"))
            sys.exit(0)
        else:
            fail_usage("unknown argument: %r" % argv[i])
        i += 1
    if opts["truth"] is None and not opts["selfcheck"]:
        fail_usage("--truth FILE is required")
    return opts


# ---------------------------------------------------------------------------
# tp_name straight from the type object, as an out-of-process reader sees it.

def find_tp_name_offset():
    """Offset of tp_name in PyTypeObject for this build.

    24 in normal builds (ob_refcnt, ob_type, ob_size, then tp_name); 40 when
    PyObject carries the two Py_TRACE_REFS list words (3.6/3.7 debug builds,
    --with-trace-refs builds) or is the 32-byte free-threaded header.  The
    guess is confirmed by finding tp_basicsize (the field after tp_name) where
    it must be, so that a wrong guess never dereferences a random pointer.
    """
    guesses = [40, 24] if hasattr(sys, "getobjects") else [24, 40]
    for off in guesses:
        ok = True
        for t in (int, dict, type, tuple):
            basic = ctypes.c_ssize_t.from_address(id(t) + off + 8).value
            if basic != t.__basicsize__:
                ok = False
                break
        if ok:
            name = ctypes.c_char_p.from_address(id(dict) + off).value
            if name == b"dict":
                return off
    raise RuntimeError("cannot locate tp_name in PyTypeObject")


TP_NAME_OFFSET = find_tp_name_offset()


def qualified(t, tp_name):
    """The name gcinspect gives a type: a heap type (a class) whose tp_name
    has no module is qualified with the str __module__ its dict holds, as
    repr() does, unless that is "builtins"."""
    if not t.__flags__ & (1 << 9) or "." in tp_name:
        return tp_name
    try:
        module = t.__module__
    except AttributeError:
        return tp_name
    if (type(module) is not str or not module or module == "builtins" or
            not all(ord(c) < 128 for c in module) or len(module) > 256):
        return tp_name
    return module + "." + tp_name


def histogram(generation):
    """(number of objects, {tp_name: objects}, {id(type): objects},
    {id(type): tp_name}) of one generation.  The last two are keyed by
    int and hold ints and strs: the collector does not track them."""
    names = {}
    hist = {}
    by_addr = {}
    addr_names = {}
    objs = gc.get_objects(generation=generation)
    o = t = None
    for o in objs:
        t = type(o)
        name = names.get(t)
        if name is None:
            raw = ctypes.c_char_p.from_address(id(t) + TP_NAME_OFFSET).value
            name = qualified(t, raw.decode("utf-8", "replace"))
            names[t] = name
            addr_names[id(t)] = name
        hist[name] = hist.get(name, 0) + 1
        by_addr[id(t)] = by_addr.get(id(t), 0) + 1
    n = len(objs)
    del objs, o, t, names
    return n, hist, by_addr, addr_names


# ---------------------------------------------------------------------------
# The heap: the module-level state of a pre-fork server master.

class Endpoint(object):
    """A route with a handler: an ordinary instance with a __dict__."""

    def __init__(self, path, methods, handler):
        self.path = path
        self.methods = methods
        self.handler = handler
        self.hits = 0


class Entry(object):
    """A cache entry: __slots__, no __dict__."""
    __slots__ = ("key", "value", "meta")

    def __init__(self, key, value, meta):
        self.key = key
        self.value = value
        self.meta = meta


class Peer(object):
    """Two peers point at each other: a reference cycle."""

    def __init__(self, label):
        self.label = label
        self.peer = None
        self.tags = []


class ShadowProperty(object):
    """A class whose tp_name is "property", as the builtin's: gcinspect must
    keep the two apart (this one is "__main__.property")."""


ShadowProperty.__name__ = "property"   # tp_name follows __name__


def make_handler(index, prefix):
    greeting = "%s-%d" % (prefix, index)

    def handler(request):
        return (greeting, index, request)
    return handler


STATE = {
    "config": {},      # section -> {key: [values]}
    "routes": [],      # Endpoint instances
    "cache": {},       # key -> Entry
    "peers": [],       # (Peer, Peer) tuples, each pair a cycle
    "registry": {},    # name -> set of ids
    "handlers": [],    # closures
    "matrix": [],      # tuples holding lists
    "shadows": [],     # ShadowProperty instances (their tp_name is "property")
}


def build(part, count):
    config = STATE["config"].setdefault(part, {})
    for i in range(count):
        key = "%s.%d" % (part, i)
        config[key] = [i, key, [i * 2]]
        if i % 10 == 0:
            handler = make_handler(i, part)
            STATE["handlers"].append(handler)
        else:
            handler = None
        STATE["routes"].append(Endpoint("/%s/%d" % (part, i), ("GET", "POST"), handler))
        STATE["cache"][key] = Entry(key, {"size": i, "parts": [part]}, (part, [i]))
        if i % 3 == 0:
            a = Peer(key + ".a")
            b = Peer(key + ".b")
            a.peer = b
            b.peer = a
            STATE["peers"].append((a, b))
        if i % 7 == 0:
            STATE["shadows"].append(ShadowProperty())
        if i % 5 == 0:
            STATE["registry"].setdefault(part, set()).add(i)
            STATE["matrix"].append((i, [i, i + 1], {"row": i}))


# A subinterpreter kept alive for the snapshot (3.9+), with objects of its own.
SUBINTERPRETER = []
SUB_OBJECTS = 1000


def make_subinterpreter():
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        import _interpreters as interpreters      # 3.13+
    sub = interpreters.create()
    interpreters.run_string(sub, "import gc\ngc.disable()\n"
                                 "keep = [[] for i in range(%d)]\n" % SUB_OBJECTS)
    SUBINTERPRETER.append(sub)


# Threads: objects built by threads that exit before the snapshot (their
# mimalloc segments are abandoned in free-threaded builds), and one thread
# still alive, blocked, at the snapshot.
LIVE_THREAD = []


def build_in_threads(count, scale):
    import threading
    def work(k):
        build("t%d" % k, max(1, int(150 * scale)))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def start_live_thread(scale):
    import threading
    built = threading.Event()
    release = threading.Event()

    def work():
        build("live", max(1, int(150 * scale)))
        built.set()
        release.wait()
    t = threading.Thread(target=work)
    t.start()
    built.wait()
    LIVE_THREAD.append((t, release))


def stop_live_thread():
    for t, release in LIVE_THREAD:
        release.set()
        t.join()


# --fork-worker: the idle child, [pid, write end of its pipe].
WORKER = []


def fork_worker():
    import warnings
    r, w = os.pipe()
    with warnings.catch_warnings():
        # 3.12+ warn that fork() in a process with threads (--live-thread)
        # may deadlock the child: this one only reads a pipe and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(w)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        # A worker whose collector runs, as a server's does: `workers` then
        # predicts its next automatic collection (the target's own stays
        # disabled: its truth is the master's).
        gc.enable()
        try:
            os.read(r, 1)
        finally:
            os._exit(0)
    os.close(r)
    WORKER.extend([pid, w])


def stop_worker():
    if WORKER:
        import signal
        pid, w = WORKER
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(w)


def build_heap(opts):
    scale = opts["scale"]

    def n(base):
        return max(1, int(base * scale))

    if opts["threads"]:
        build_in_threads(opts["threads"], scale)
    if opts["live_thread"]:
        start_live_thread(scale)
    build("a", n(700))          # -> generation 2
    gc.collect()
    if opts["freeze"]:
        if HAVE_FREEZE:
            gc.freeze()         # generation 2 -> permanent
        else:
            os.write(2, b"gc_target: gc.freeze() is not available, --freeze ignored\n")
    build("b", n(400))          # -> generation 2
    gc.collect()
    build("c", n(300))          # -> generation 1
    gc.collect(0)
    build("d", n(60))           # stays in generation 0
    if opts["fork_worker"]:
        fork_worker()           # its allocations: generation 0, counted
    if opts["subinterpreter"]:
        # Before any truth is taken; after the fork: a child forked while a
        # subinterpreter exists hangs (3.9-3.12) or aborts (3.13: "Fatal
        # Python error: PyThreadState_Get") in CPython's own fork code.
        make_subinterpreter()


# ---------------------------------------------------------------------------

def version_string():
    return "%d.%d.%d" % tuple(sys.version_info[:3])


def version_full():
    vi = sys.version_info
    s = version_string()
    if vi[3] != "final":
        s += {"alpha": "a", "beta": "b", "candidate": "rc"}.get(vi[3], vi[3]) + str(vi[4])
    return s


def older_generations():
    """Histograms of generations 2 and 1 (in that order) and the freeze count;
    last, the histograms by type address (a pair of dicts per generation)."""
    if HAVE_GEN_OBJECTS:
        n2, h2, a2, an2 = histogram(2)
        n1, h1, a1, an1 = histogram(1)
        by_addr = {"1": (a1, an1), "2": (a2, an2)}
    else:
        n2 = n1 = None
        h2 = h1 = None
        by_addr = None
    freeze_count = gc.get_freeze_count() if HAVE_FREEZE else None
    return n1, n2, h1, h2, freeze_count, by_addr


def self_exclusion_ok():
    """gc.get_objects() must not list its own result (else counts are off by one)."""
    if HAVE_GEN_OBJECTS:
        lst = gc.get_objects(generation=0)
    else:
        lst = gc.get_objects()
    found = False
    for o in lst:
        if o is lst:
            found = True
            break
    del lst
    o = None
    return not found


def main_free_threaded(opts):
    """Free-threaded builds: one heap, gc.get_objects() of any generation.

    Everything alive at the snapshot is in the one heap, so the truth is
    taken last, and what taking it allocates must be gone (or untracked)
    before the core: histogram() keeps only untracked dicts of str and int,
    and its result tuple is freed on unpacking.  Each call is made once more
    for nothing first, to fill the free lists it draws from."""
    threshold = list(gc.get_threshold())
    enabled = gc.isenabled()
    problems = []
    n = fz = 0
    hist = by_addr = addr_names = None
    c0 = c1 = c2 = 0
    eof = b""
    # A while loop: a for loop's iterator would be a tracked object that
    # is counted, then gone at the snapshot.
    i = 0
    while i < 3:
        fz = gc.get_freeze_count()
        n, hist, by_addr, addr_names = histogram(0)
        os.write(1, b"")
        eof = os.read(0, 0)
        # last: it flushes this thread's buffered allocation count
        c0, c1, c2 = gc.get_count()
        i += 1
    os.write(1, b"ready\n")
    eof = os.read(0, 1)
    if opts["selfcheck"]:
        d0, d1, d2 = gc.get_count()
        fz2 = gc.get_freeze_count()
        n2, hist2, by_addr2, _names2 = histogram(0)
        if (n2, hist2, by_addr2, fz2) != (n, hist, by_addr, fz):
            problems.append("the heap changed: %d -> %d objects, freeze count %d -> %d"
                            % (n, n2, fz, fz2))
        if (d0, d1, d2) != (c0, c1, c2):
            problems.append("gc.get_count() changed: %r -> %r" % ((c0, c1, c2), (d0, d1, d2)))
        if sum(hist.values()) != n:
            problems.append("histogram sum differs from the heap size")
        if opts["freeze"] and not fz:
            problems.append("--freeze given but nothing is frozen")
    stop_live_thread()
    stop_worker()
    truth = {
        "version": version_string(),
        "version_full": version_full(),
        "hexversion": sys.hexversion,
        "debug_build": hasattr(sys, "gettotalrefcount"),
        "trace_refs": hasattr(sys, "getobjects"),
        "tp_name_offset": TP_NAME_OFFSET,
        "pid": os.getpid(),
        "executable": sys.executable,
        "free_threaded": True,
        "freeze_requested": opts["freeze"],
        "subinterpreters": len(SUBINTERPRETER),
        "subinterpreter_min_objects": SUB_OBJECTS if SUBINTERPRETER else 0,
        "threads_exited": opts["threads"],
        "live_threads": len(LIVE_THREAD),
        "worker_pid": WORKER[0] if WORKER else None,
        "enabled": enabled,
        "threshold": threshold,
        "count": [c0, c1, c2],
        "generations": [n, n, n],
        "total": n,
        "freeze_count": fz,
        "types": {"heap": hist},
        "types_by_address": {"heap": dict(
            ("0x%x" % a, {"name": addr_names[a], "objects": c})
            for a, c in by_addr.items())},
    }
    if opts["truth"] is not None:
        data = (json.dumps(truth, indent=1, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(opts["truth"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
    if opts["selfcheck"]:
        os.write(2, ("selfcheck %s (%st): heap=%d freeze_count=%d count=%r types=%d\n"
                     % ("FAIL" if problems else "ok", version_full(), n, fz,
                        [c0, c1, c2], len(hist))).encode("utf-8"))
        for p in problems:
            os.write(2, ("  problem: " + p + "\n").encode("utf-8"))
        return 1 if problems else 0
    return 0


def main(argv):
    opts = parse_args(argv)
    build_heap(opts)
    if FREE_THREADED:
        return main_free_threaded(opts)

    # Everything that can be measured with allocations, before generation 0:
    # the collector is disabled, so new objects only ever enter generation 0
    # and the older lists cannot change from here on.
    n1, n2, h1, h2, freeze_count, by_addr = older_generations()
    threshold = list(gc.get_threshold())
    enabled = gc.isenabled()
    problems = []
    c0 = c1 = c2 = n0 = 0
    d0 = d1 = d2 = m0 = 0
    eof = b""
    _ = None
    # The wait itself must not leave a tracked object in generation 0 while
    # the core is taken.  On 3.6 os.read(0, 1) is a METH_VARARGS call: its
    # argument tuple (0, 1) is tracked for as long as the call blocks, so the
    # core holds one object more than gc.get_objects() said.  There, block
    # in FileIO.readall() instead: bound in advance (no bound method is made
    # at call time) and METH_NOARGS (no argument tuple); it returns at EOF,
    # which the harness sends by closing stdin after the byte.
    if sys.version_info < (3, 7):
        wait_stdin = io.FileIO(0, "rb", closefd=False).readall
    else:
        wait_stdin = None

    # Generation 0, last.  Every call made from here until the core is taken
    # is first made once for nothing, to fill the tuple and list free lists:
    # otherwise an argument tuple or result list taken from an empty free list
    # is counted as a GC allocation and then parked on the free list, which
    # leaves gc.get_count()[0] one higher (seen with os.write on 3.6).
    # os.write(1, b"") and os.read(0, 0) transfer nothing.  Results go into
    # locals only; from here until the core, only C functions are called.
    for _ in (1, 2):
        if HAVE_GEN_OBJECTS:
            c0, c1, c2 = gc.get_count()
            n0 = len(gc.get_objects(generation=0))
        else:
            c0, c1, c2 = gc.get_count()
            n0 = len(gc.get_objects())
        os.write(1, b"")
        eof = os.read(0, 0)
    if HAVE_GEN_OBJECTS:
        c0, c1, c2 = gc.get_count()
        n0 = len(gc.get_objects(generation=0))
    else:
        c0, c1, c2 = gc.get_count()
        n0 = len(gc.get_objects())

    os.write(1, b"ready\n")
    if wait_stdin is None:
        eof = os.read(0, 1)
    else:
        eof = wait_stdin()

    if opts["selfcheck"]:
        # Same calls again, first thing after waking up.
        if HAVE_GEN_OBJECTS:
            d0, d1, d2 = gc.get_count()
            m0 = len(gc.get_objects(generation=0))
        else:
            d0, d1, d2 = gc.get_count()
            m0 = len(gc.get_objects())
        if (c0, c1, c2) != (d0, d1, d2):
            problems.append("gc.get_count() changed: %r -> %r" % ((c0, c1, c2), (d0, d1, d2)))
        if n0 != m0:
            problems.append("%s changed: %d -> %d"
                            % ("len(gc.get_objects(generation=0))" if HAVE_GEN_OBJECTS
                               else "len(gc.get_objects())", n0, m0))
        again = older_generations()
        if again != (n1, n2, h1, h2, freeze_count, by_addr):
            problems.append("generations 1/2 or the freeze count changed: %r -> %r"
                            % ((n1, n2, freeze_count), again[0:2] + again[4:5]))
        if list(gc.get_threshold()) != threshold or gc.isenabled() != enabled:
            problems.append("threshold or enabled changed")
        if not self_exclusion_ok():
            problems.append("gc.get_objects() lists its own result")
        if HAVE_GEN_OBJECTS:
            if sum(h1.values()) != n1 or sum(h2.values()) != n2:
                problems.append("histogram sums differ from generation sizes")
            if INCREMENTAL:
                # get_objects(generation=1) is empty by definition there.
                if n0 == 0 or n1 != 0 or n2 == 0:
                    problems.append("incremental collector: expected young and old "
                                    "objects and nothing for generation 1: %r"
                                    % ([n0, n1, n2],))
            elif n0 == 0 or n1 == 0 or n2 == 0:
                problems.append("a generation is empty: %r" % ([n0, n1, n2],))
        if opts["freeze"] and HAVE_FREEZE and not freeze_count:
            problems.append("--freeze given but the permanent generation is empty")

    stop_live_thread()
    stop_worker()
    if HAVE_GEN_OBJECTS:
        generations = [n0, n1, n2]
        total = n0 + n1 + n2
        types = {"1": h1, "2": h2}
        types_by_address = {}
        for gen in ("1", "2"):
            counts, addr_names = by_addr[gen]
            types_by_address[gen] = dict(
                ("0x%x" % a, {"name": addr_names[a], "objects": c})
                for a, c in counts.items())
    else:
        generations = None
        total = n0
        types = {}
        types_by_address = {}
    truth = {
        "version": version_string(),
        "version_full": version_full(),
        "hexversion": sys.hexversion,
        "debug_build": hasattr(sys, "gettotalrefcount"),
        "trace_refs": hasattr(sys, "getobjects"),
        "tp_name_offset": TP_NAME_OFFSET,
        "pid": os.getpid(),
        "executable": sys.executable,
        "freeze_requested": opts["freeze"],
        "subinterpreters": len(SUBINTERPRETER),
        "subinterpreter_min_objects": SUB_OBJECTS if SUBINTERPRETER else 0,
        "worker_pid": WORKER[0] if WORKER else None,
        "enabled": enabled,
        "threshold": threshold,
        "count": [c0, c1, c2],
        "generations": generations,
        "incremental": INCREMENTAL,
        "total": total,
        "freeze_count": freeze_count,
        "types": types,
        "types_by_address": types_by_address,
    }
    if opts["truth"] is not None:
        data = (json.dumps(truth, indent=1, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(opts["truth"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)

    if opts["selfcheck"]:
        summary = ("selfcheck %s (%s): generations=%r total=%d count=%r threshold=%r "
                   "freeze_count=%r types1=%d types2=%d"
                   % ("FAIL" if problems else "ok", version_full(), generations, total,
                      [c0, c1, c2], threshold, freeze_count,
                      len(h1 or {}), len(h2 or {})))
        os.write(2, (summary + "\n").encode("utf-8"))
        for p in problems:
            os.write(2, ("  problem: " + p + "\n").encode("utf-8"))
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
