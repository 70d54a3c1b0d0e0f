"""server_app.py: a WSGI application for gcinspect's server tests.

Importing it builds sizeable module-level state in the process that imports
it: the master of a pre-fork server (uWSGI without lazy-apps, gunicorn
--preload), so that the workers share it copy-on-write.  At the end of the
import it runs gc.collect(), and gc.freeze() when GCI_TEST_FREEZE=1, and
records what the interpreter says of its own collector.

Endpoints (GET, on the server's 127.0.0.1 port):
  /pid      {"pid"}: which worker answered (?sleep=S holds it S seconds,
            so that concurrent requests spread over the workers)
  /gc       {"pid", "enabled", "threshold", "freeze_count", "master": the
            master's record at import}
  /collect  {"pid", "before_kb", "after_kb", "unreachable"}: gc.collect()
            in the worker that answered, with its own Private_Dirty
            (/proc/self/smaps_rollup) just before and just after
  /touch?what=allocator   the same around a loop over STRINGS: reference
            count writes to untracked objects in the object allocator's pools
  /touch?what=malloc      the same around writes to every page of BUFFER, a
            bytearray whose 4 MiB come from malloc (mapped by itself)

Objects: GCI_TEST_OBJECTS dicts (default 60000), each holding a list and
strings.  multiprocessing_master.py uses the same functions.
"""

import gc
import json
import os
import time

N_OBJECTS = int(os.environ.get("GCI_TEST_OBJECTS", "60000"))
FREEZE = os.environ.get("GCI_TEST_FREEZE") == "1"


def private_dirty_kb():
    with open("/proc/self/smaps_rollup", "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in /proc/self/smaps_rollup")


def collect():
    """gc.collect() measured by the process itself."""
    before = private_dirty_kb()
    unreachable = gc.collect()
    after = private_dirty_kb()
    return {"pid": os.getpid(), "before_kb": before, "after_kb": after,
            "unreachable": unreachable}


def touch(what):
    """Write pages that hold no GC head, measured as collect() is."""
    before = private_dirty_kb()
    if what == "allocator":
        for s in STRINGS:
            pass
    elif what == "malloc":
        for i in range(0, len(BUFFER), 4096):
            BUFFER[i] = 1
    after = private_dirty_kb()
    return {"pid": os.getpid(), "before_kb": before, "after_kb": after}


def gc_state():
    return {"pid": os.getpid(), "enabled": gc.isenabled(),
            "threshold": list(gc.get_threshold()),
            "freeze_count": gc.get_freeze_count(), "master": MASTER}


# The state a pre-fork application builds at import.
STATE = [{"name": "item%d" % i, "tags": ["t%d" % i, str(i)], "n": i}
         for i in range(N_OBJECTS)]
# Untracked objects in the object allocator's pools, and a buffer from malloc.
STRINGS = ["s%07d" % i for i in range(N_OBJECTS * 2)]
BUFFER = bytearray(4 << 20)
gc.collect()
if FREEZE:
    gc.freeze()
MASTER = {"pid": os.getpid(), "freeze_count": gc.get_freeze_count(),
          "threshold": list(gc.get_threshold()), "enabled": gc.isenabled()}
# Warm up what measuring uses, so that it allocates nothing new later.
for _ in range(3):
    private_dirty_kb()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/pid":
        query = environ.get("QUERY_STRING", "")
        if query.startswith("sleep="):
            time.sleep(min(float(query[6:]), 2.0))
        body = {"pid": os.getpid()}
    elif path == "/gc":
        body = gc_state()
    elif path == "/collect":
        body = collect()
    elif path == "/touch":
        body = touch(environ.get("QUERY_STRING", "")[5:])
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
