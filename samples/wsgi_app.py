"""wsgi_app.py: samples/prefork_master.py's application state behind WSGI.

Loaded by a pre-fork server in its master (uWSGI without lazy-apps,
gunicorn --preload): the import builds the module-level state (settings,
routes with compiled patterns, LRU caches whose entries form cycles, a
registry of services), collects, and with GCI_DEMO_FREEZE=1 calls
gc.freeze(), so that the workers share it copy-on-write.

  /          which worker answered
  /collect   gc.collect() in the worker that answers, and its own
             Private_Dirty before and after (what the collection copied)
"""

import gc
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prefork_master  # noqa: E402

gc.disable()
prefork_master.build_state(float(os.environ.get("GCI_DEMO_SCALE", "1")))
gc.collect()
if os.environ.get("GCI_DEMO_FREEZE") == "1":
    gc.freeze()
gc.enable()
prefork_master.private_dirty_kb()


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/collect":
        before = prefork_master.private_dirty_kb()
        unreachable = gc.collect()
        after = prefork_master.private_dirty_kb()
        body = {"pid": os.getpid(), "unreachable": unreachable,
                "private_dirty_kb": [before, after], "copied_kb": after - before}
    else:
        body = {"pid": os.getpid()}
    data = (json.dumps(body) + "\n").encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
