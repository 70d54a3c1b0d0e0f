"""mp_master.py: a multiprocessing pool (fork) over server_app's state.

The main process imports server_app (which builds the state, collects, and
freezes with GCI_TEST_FREEZE=1), freezes again just before it starts
Pool(4) with the fork start method: the pool's workers share the state
copy-on-write.  It reads one
command per line on stdin and answers one JSON line on stdout:

  pids N   N tasks that each sleep 50 ms: {"pids": [worker pid, ...]}
  gc       server_app.gc_state() in a worker
  collect  server_app.collect() in a worker
  quit     close the pool and exit
"""

import gc
import json
import multiprocessing
import multiprocessing.pool  # noqa: F401  (imported before the freeze)
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_app  # noqa: E402  (builds the state here, in the master)


def task_pid(_):
    time.sleep(0.05)
    return os.getpid()


def task_gc(_):
    return server_app.gc_state()


def task_collect(_):
    return server_app.collect()


def main():
    ctx = multiprocessing.get_context("fork")
    if server_app.FREEZE:
        # Again, just before the fork: what the pool's imports and this
        # script built since server_app's import is frozen too.
        gc.freeze()
        server_app.MASTER["freeze_count"] = gc.get_freeze_count()
    pool = ctx.Pool(4)
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "pids":
            n = int(words[1]) if len(words) > 1 else 8
            answer = {"pids": pool.map(task_pid, range(n), chunksize=1)}
        elif words[0] == "gc":
            answer = pool.apply(task_gc, (0,))
        elif words[0] == "collect":
            answer = pool.apply(task_collect, (0,))
        elif words[0] == "quit":
            break
        else:
            answer = {"error": "unknown command %r" % words[0]}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    pool.close()
    pool.join()


if __name__ == "__main__":
    main()
