#!/usr/bin/python3
"""check_objects.py: gcinspect objects against summary, types, touch and the
target's own histogram, on a live process (stopped, and --no-stop) and on
its core.

The target is tests/targets/gc_target.py.  While it waits, gcinspect reads it
live, then gcore takes its core, then it writes its truth.  For each of the
live process and the core:
  - objects --json: one JSON object per line with exactly the documented
    keys; per list, the count and the bytes equal what summary says; per
    type object, generations 1 and 2 hold what the target counted (its own
    gc.get_objects(generation=N)); generation 0's count too;
  - -g, --type NAME, --type 0xADDRESS, --min-size, --page, --limit give
    exactly the matching subset of the full listing; --page agrees with
    touch --pages (GC heads per page);
  - text output: the rows and the footer's count.

Usage: check_objects.py --gcinspect BIN --python INTERP [--chroot DIR]
                        [--extra-arg ARG]... [--workdir DIR] [--keep]
Exit status: 0 pass, 1 fail, 77 skip (no gcore, or ptrace not allowed).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gcitest  # noqa: E402
from gcitest import Checker, Fail, Skip, Target, log, take_core  # noqa: E402
from gcitest import object_key as key  # noqa: E402


def run(binary, args, what):
    argv = [binary] + args
    log("+ " + gcitest.shell_join(argv))
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Fail("%s: gcinspect exited with status %d\n%s" % (what, p.returncode, err))
    if err.strip():
        log("%s: stderr: %s" % (what, err.strip()))
    return p.stdout.decode("utf-8")


class Reader(object):
    """gcinspect on one target: the core path, or --pid PID."""

    def __init__(self, binary, target_args, label):
        self.binary = binary
        self.target = target_args
        self.label = label

    def objects(self, *opts):
        return gcitest.ndjson(run(self.binary, ["objects", "--json"] + list(opts) + self.target,
                                  "%s: objects %s" % (self.label, " ".join(opts))), self.label)

    def text(self, *opts):
        return run(self.binary, ["objects"] + list(opts) + self.target,
                   "%s: objects (text) %s" % (self.label, " ".join(opts)))

    def doc(self, *args):
        return json.loads(run(self.binary, list(args) + self.target,
                              "%s: %s" % (self.label, " ".join(args))))


def check_reader(ck, r, extra):
    L = r.label
    summary = r.doc("summary", "--json", *extra)
    allobj = r.objects(*extra)
    types_doc = r.doc("types", "--json", *extra)
    # Per interpreter and list what summary says, per type what types says.
    gcitest.compare_objects(L, allobj, summary, {"all": types_doc}, ck)

    # Filters give exactly the matching subset, in the same order.
    def same(what, got, pred):
        want = [o for o in allobj if pred(o)]
        ck.eq("%s: %s: rows" % (L, what), [key(o) for o in got], [key(o) for o in want])
        return want

    same("-g 2", r.objects("-g", "2", *extra), lambda o: o["generation"] == "2")
    types = types_doc["types"]
    top = types[0]
    byaddr = same("--type %s" % top["address"], r.objects("--type", top["address"], *extra),
                  lambda o: int(o["type_address"], 16) == int(top["address"], 16))
    ck.eq("%s: --type ADDRESS count vs types" % L, len(byaddr), top["objects"])
    name_total = sum(t["objects"] for t in types if t["name"] == top["name"])
    byname = same("--type %s" % top["name"], r.objects("--type", top["name"], *extra),
                  lambda o: o["type"] == top["name"])
    ck.eq("%s: --type NAME count vs types" % L, len(byname), name_total)
    sizes = sorted(o["size"] for o in allobj)
    median = sizes[len(sizes) // 2]
    same("--min-size %d" % median, r.objects("--min-size", str(median), *extra),
         lambda o: o["size"] >= median)
    same("-g 1 --type --min-size", r.objects("-g", "1", "--type", top["name"], "--min-size",
                                              str(median), *extra),
         lambda o: o["generation"] == "1" and o["type"] == top["name"] and o["size"] >= median)
    lim = r.objects("--limit", "7", *extra)
    ck.eq("%s: --limit 7" % L, [key(o) for o in lim], [key(o) for o in allobj[:7]])

    # --page against touch --pages: the GC heads of generations 0-2 per page.
    touch = r.doc("touch", "--json", "--pages", "-g", "2", *extra)
    pages = [p for p in touch["collections"][0]["page_list"] if p["heads"] > 0]
    ck.true("%s: touch lists pages" % L, len(pages) > 0)
    for p in pages[:3] + pages[-3:]:
        rows = r.objects("--page", p["address"], *extra)
        heads = [o for o in rows if o.get("on_page") == "head"
                 and o["generation"] in ("0", "1", "2") and o["interpreter"] == 0]
        ck.eq("%s: --page %s GC heads vs touch --pages" % (L, p["address"]), len(heads),
              p["heads"])
        page = int(p["address"], 16)
        ck.true("%s: --page %s rows say head or object" % (L, p["address"]),
                all(o.get("on_page") in ("head", "object") for o in rows), repr(rows[:3]))
        ck.true("%s: --page %s object rows start before the page" % (L, p["address"]),
                all(int(o["address"], 16) <= page + 16 for o in rows
                    if o["on_page"] == "object"))

    # Text: header, rows, footer.
    text = r.text("--limit", "5", *extra).splitlines()
    ck.true("%s: text header" % L, text and text[0].split()[:2] == ["address", "size"],
            repr(text[:1]))
    ck.eq("%s: text rows" % L, [int(line.split()[0], 16) for line in text[1:6]],
          [int(o["address"], 16) for o in allobj[:5]])
    ck.eq("%s: text footer" % L, text[-1].split()[:4],
          ["5", "of", "{:,}".format(len(allobj)), "objects"])
    return allobj


def check_truth(ck, L, allobj, truth):
    """The target's own counts (main interpreter)."""
    main = [o for o in allobj if o["interpreter"] == 0]
    if truth["generations"] is not None:
        for g in range(3):
            ck.eq("%s: generation %d objects vs the target" % (L, g),
                  sum(1 for o in main if o["generation"] == str(g)), truth["generations"][g])
        for g in ("1", "2"):
            got = {}
            for o in main:
                if o["generation"] == g:
                    a = "0x%x" % int(o["type_address"], 16)
                    got[a] = got.get(a, 0) + 1
            want = dict(("0x%x" % int(a, 16), v["objects"])
                        for a, v in truth["types_by_address"][g].items())
            ck.eq("%s: generation %s objects per type object vs the target" % (L, g),
                  got, want)
    else:
        ck.eq("%s: generations 0-2 objects vs the target's total" % L,
              sum(1 for o in main if o["generation"] in ("0", "1", "2")), truth["total"])



def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--chroot")
    ap.add_argument("--extra-arg", action="append", default=[])
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which("gcore") is None:
        log("SKIP: gcore is not installed (Debian package gdb)")
        return 77
    why = gcitest.ptrace_blocker()
    if why:
        log("SKIP: " + why)
        return 77
    workdir = args.workdir or tempfile.mkdtemp(prefix="gcinspect-objects-")
    os.makedirs(workdir, exist_ok=True)
    os.environ["GCINSPECT_CACHE_DIR"] = os.path.join(workdir, "layout-cache")
    target = Target(args.python, workdir, chroot=args.chroot)
    status = 1
    ck = Checker()
    try:
        target.start()
        pid = target.pid
        live = Reader(args.gcinspect, ["--pid", str(pid)], "live")
        nostop = Reader(args.gcinspect, ["--pid", str(pid), "--no-stop"], "live --no-stop")
        live_rows = check_reader(ck, live, args.extra_arg)
        nostop_rows = nostop.objects(*args.extra_arg)
        core = take_core(target, workdir)
        truth = target.release()
        log("truth: python %s, generations %s" % (truth["version_full"], truth["generations"]))
        ck.eq("live: stopped and --no-stop list the same objects",
              [key(o) for o in nostop_rows], [key(o) for o in live_rows])
        core_rows = check_reader(ck, Reader(args.gcinspect, [core], "core"), args.extra_arg)
        check_truth(ck, "live", live_rows, truth)
        check_truth(ck, "core", core_rows, truth)
        ck.eq("live and core list the same objects", [key(o) for o in live_rows],
              [key(o) for o in core_rows])
        ck.eq("live and core: the same sizes and refcounts",
              [(o["size"], o["refcount"]) for o in live_rows],
              [(o["size"], o["refcount"]) for o in core_rows])
        if ck.failures:
            log("FAIL: %d of %d checks failed:" % (len(ck.failures), ck.checked))
            for f in ck.failures[:40]:
                log("  - " + f[:2000])
        else:
            log("PASS: %d checks (python %s, %d objects)"
                % (ck.checked, truth["version_full"], len(core_rows)))
            status = 0
    except Skip as e:
        log("SKIP: %s" % e)
        status = 77
    except Fail as e:
        log("FAIL: %s" % e)
    finally:
        target.close()
        if args.keep:
            log("kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
