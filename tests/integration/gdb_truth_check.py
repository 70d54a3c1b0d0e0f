#!/usr/bin/python3
"""gdb_truth_check.py: check a gc_target.py truth file against its core with
gdb and DWARF, independently of gcinspect.

    gdb_truth_check.py --python INTERP --core CORE --truth TRUTH.json

It walks the GC lists in the core with gdb's Python API (symbols and types
from the interpreter's DWARF: pyenv builds, or Debian builds with the -dbg
package) and compares thresholds, counts, list lengths, the permanent list
and the type histograms of generations 1 and 2 with the truth.  Use it to
validate the target on a new interpreter before blaming gcinspect for a
mismatch.  Supports GIL builds of 3.6 to 3.13.  Exit 0 equal, 1 different,
2 could not check.

(The check_target.py harness does not run it; it is a tool for people.)
"""

import json
import os
import subprocess
import sys
import tempfile

# Runs inside gdb.  TRUTH and RESULT are prepended as assignments.
GDB_SCRIPT = r'''
import gdb, json

def ev(expr):
    return gdb.parse_and_eval(expr)

ver = json.load(open(TRUTH))["version"].split(".")
minor = int(ver[1])
ulong_p = gdb.lookup_type("unsigned long").pointer()
type_p = gdb.lookup_type("PyTypeObject").pointer()

def word(addr):
    return int(gdb.Value(addr).cast(ulong_p).dereference())

if minor == 6:
    gens = ev("'gcmodule.c'::generations")
    enabled = int(ev("'gcmodule.c'::enabled"))
    perm = None
    head_size = 32
elif minor in (7, 8):
    st = ev("_PyRuntime.gc")
    gens, enabled, perm = st["generations"], int(st["enabled"]), st["permanent_generation"]
    head_size = 32 if minor == 7 else 16
else:
    st = ev("_PyRuntime.interpreters.main")["gc"]
    gens, enabled, perm = st["generations"], int(st["enabled"]), st["permanent_generation"]
    head_size = 16
mask = ~3 if head_size == 16 else ~0

names = {}
def walk(head, hist):
    n = 0
    cur = word(head) & mask
    while cur != head:
        if hist is not None:
            tp = word(cur + head_size + 8)
            if tp not in names:
                names[tp] = gdb.Value(tp).cast(type_p)["tp_name"].string()
            hist[names[tp]] = hist.get(names[tp], 0) + 1
        n += 1
        cur = word(cur) & mask
    return n

res = {"enabled": bool(enabled), "threshold": [], "count": [], "generations": [], "types": {}}
for i in range(3):
    g = gens[i]
    res["threshold"].append(int(g["threshold"]))
    res["count"].append(int(g["count"]))
    hist = {} if i else None
    res["generations"].append(walk(int(g["head"].address), hist))
    if i:
        res["types"][str(i)] = hist
res["freeze_count"] = None if perm is None else walk(int(perm["head"].address), None)
json.dump(res, open(RESULT, "w"))
'''


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", required=True)
    ap.add_argument("--core", required=True)
    ap.add_argument("--truth", required=True)
    args = ap.parse_args(argv)
    truth = json.load(open(args.truth))
    with tempfile.TemporaryDirectory(prefix="gdbtruth-") as tmp:
        script = os.path.join(tmp, "walk.py")
        result = os.path.join(tmp, "result.json")
        with open(script, "w") as f:
            f.write("TRUTH = %r\nRESULT = %r\n" % (os.path.abspath(args.truth), result))
            f.write(GDB_SCRIPT)
        p = subprocess.run(["gdb", "-q", "-batch", "-nx", "-ex", "source " + script,
                            args.python, args.core],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
        if not os.path.exists(result):
            sys.stdout.write(p.stdout.decode("utf-8", "replace")[-3000:])
            print("could not walk the core with gdb")
            return 2
        got = json.load(open(result))
    keys = ["enabled", "threshold", "count", "freeze_count"]
    if truth["generations"] is not None:
        keys += ["generations", "types"]
    else:
        if sum(got["generations"]) != truth["total"]:
            print("DIFF total: core %d, truth %d" % (sum(got["generations"]), truth["total"]))
            return 1
    bad = 0
    for k in keys:
        if got[k] != truth[k]:
            bad += 1
            print("DIFF %s: core %s, truth %s" % (k, str(got[k])[:400], str(truth[k])[:400]))
    print("%s: core lists %s, permanent %s" % ("DIFFERENT" if bad else "EQUAL",
                                               got["generations"], got["freeze_count"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
