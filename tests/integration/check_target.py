#!/usr/bin/python3
"""check_target.py: one interpreter of the supported table, every way
gcinspect reads it, each against the target's own truth, exactly.

Starts tests/targets/gc_target.py under the interpreter (with the live
way, --fork-worker: a pre-fork master with one idle worker).  Once it says
"ready", the target (and its worker) is blocked reading a pipe and holds
still: one process serves every way, in this order, each way running these
verbs:

  live         gcinspect --pid PID (the target stopped for the walk):
               summary, types -g 1 and -g 2, objects (--json each); after
               live-nostop, workers --json --pid PID
  live-nostop  gcinspect --pid PID --no-stop: summary, types -g 1 and -g 2,
               touch, objects (--json each), report -o FILE.html
  gdb-live     the gdb plugin in `gdb -batch -p PID`: gc-gens, gc-types 1
               and 2, gc-touch, gc-objects LIST --limit 3 of every list
               (--json each); the same gdb then writes the core
               (generate-core-file, as gcore does); the target must run on
               after gdb detaches, untraced
  core         a core (taken with gcore, unless gdb-live wrote it); while
               the target still holds still, diff --json CORE --pid PID
               (with live); then gcinspect on the core: summary (a cold and
               a warm layout cache, which must give one answer), types -g 1
               and -g 2 (3.14.0-3.14.4: and each old list by name), touch,
               objects, report -o FILE.html
  gdb-core     the gdb plugin on that core (exec file and core; with
               --remove-binaries, the core alone): gc-gens, gc-types 1 and
               2, gc-objects of every list name the plugin takes (on
               free-threaded builds also 0, 1 and 2, which name the heap)

Then the target is released and writes its truth (what its own gc module
said at the snapshot).  For every way: summary --json and types -g 1/-g 2
--json must equal the truth (thresholds, counts, list lengths, the freeze
count, the type histograms by type object; gcitest.compare_truth: the
generational collector, 3.14.0-3.14.4's incremental one, whose lists the
core way also reads by name, and free-threaded builds' one heap).  Beyond
the truth, every way must give the same GC state as the core, byte for
byte in the JSON (addresses, bytes and pages included), the gdb ways
exactly the CLI's documents (gdb-core the CLI's on the same core, gdb-live
the CLI's --no-stop ones, gc-touch included, with the page sharing from
pagemap).  And the other verbs, each against the same way's documents:

  objects      per interpreter and list, the count and the bytes of the
               summary (permanent included; young/old[0]/old[1] on
               3.14.0-3.14.4, one "heap" on free-threaded builds); per type
               object, the objects and bytes of each types document
               (gcitest.compare_objects); the live ways list the core's
               objects (address, list, type object, size, refcount)
  report       exit 0; the JSON the page embeds is the way's summary and
               touch documents, and per list a types document adding up to
               the list (the way's own where it has one of that list)
  diff         A the core way's summary, B the live way's, list by list,
               the total, the types adding up to it; every delta 0 (without
               the files: types whose names only the live process holds are
               matched against the core's unreadable ones)
  gc-objects   per list: matched = the summary's objects, the first
               objects = the CLI's objects --json of that list
  workers      the master and exactly its one worker found, neither left
               stopped, the master's gc the live summary's, its collections
               live-nostop's touch's, its full collection copy that of
               touch's full collection ("2", or "full": every collector
               kind), no next collection (its collector is off); the
               worker (its collector on) a next collection of its
               collector's kind (3.14.0-3.14.4: the increment, with its step)
               whose copy is its own collections entry's; in text, the "~"
               note exactly when that copy is a bound

Usage:
    check_target.py --gcinspect BIN --python INTERP [--ways WAY,...]
                    [--gdb GDB --plugin PLUGIN] [--freeze] [--subinterpreter]
                    [--threads N] [--live-thread]
                    [--no-dwarf] [--debug-dir DIR] [--expect-layout dwarf|table]
                    [--chroot DIR [--gcore-inside]] [--remove-binaries]
                    [--build-failure FILE] [--compressed]
                    [--scale N] [--workdir DIR] [--keep] [--target FILE]

--chroot DIR runs the target as `chroot DIR INTERP` (INTERP is a path inside
DIR).  The core is taken by gcore from outside, so its NT_FILE note names
host paths (DIR/usr/bin/...); with --gcore-inside, the target gets a mount
namespace of its own (as in a container) and the chroot's own gcore runs in
there: the core names the inner paths, and the core ways read it with
--sysroot DIR (gdb: set sysroot DIR).

--remove-binaries: none of the interpreter's files at hand.  The core is
copied elsewhere and read with --sysroot of an empty directory (gdb: the
core alone, set sysroot to it); the live ways read the process with that
--sysroot too.  Type names that lived only in those files may then be
unreadable (name_known false): the histograms are compared on the types
whose name is known, and in their totals.

--debug-dir DIR and --no-dwarf are given to every gcinspect run; in gdb they
are `set debug-file-directory DIR` and the commands' --no-dwarf.

--threads N, --live-thread: the target builds part of its heap in N threads
that exit before the snapshot, and in one that is still alive, blocked
(free-threaded builds: abandoned mimalloc segments, a second thread's heaps).

--build-failure FILE: the interpreter is one scripts/build-pythons.sh builds;
if it (or its chroot) is missing and FILE exists, the build failed for the
reason FILE gives, and the test skips quoting it.  Missing without FILE is a
failure.

--compressed (a check of the core way): the core compressed by zstd, lz4, xz
and gzip, each under a systemd-coredump-style name, and read through
standard input (a file, a pipe, /dev/stdin): every report (summary, types,
touch, as text and JSON) must be the plain core's, but for the input's name.

Exit status: 0 pass, 1 fail, 77 skip (only when this machine cannot attach
to a process, or a gdb way was asked for and gdb cannot run Python, or
scripts/build-pythons.sh could not build the interpreter, see --build-failure).
"""

import argparse
import json
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gcitest  # noqa: E402
from gcitest import Fail, Skip, log  # noqa: E402

WAYS = ("live", "live-nostop", "gdb-live", "core", "gdb-core")


def check_core_paths(core, chroot, python, inside):
    """The core names the interpreter as the kernel showed it to gcore."""
    files = set(gcitest.core_mapped_files(core))
    host = os.path.join(chroot, python.lstrip("/"))
    if inside:
        if python not in files:
            raise Fail("core taken inside the chroot does not name %s; it names:\n  %s"
                       % (python, "\n  ".join(sorted(files))))
        outer = [n for n in files if n.startswith(chroot + "/")]
        if outer:
            raise Fail("core taken inside the chroot names host paths:\n  %s"
                       % "\n  ".join(sorted(outer)))
    elif host not in files:
        raise Fail("core taken from outside the chroot does not name %s; it names:\n  %s"
                   % (host, "\n  ".join(sorted(files))))


# What every way must say alike: everything of a report but how the target
# was opened and named (target; python.layout_name names the file the layout
# came from, which the live ways find under /proc/PID), when (snapshot: the
# walk, or the core's mtime), and why memory could not be read (a callback
# reader cannot tell unmapped from unsaved).
# names=False: nor the type names, which a live process holds in memory that
# a core without its files lacks.
def gc_part(doc, names=True):
    out = dict((k, v) for k, v in doc.items() if k not in ("target", "warnings", "snapshot"))
    out["python"] = dict((k, v) for k, v in doc.get("python", {}).items()
                         if k != "layout_name")
    if names:
        out["warnings"] = [re.sub(r" \(first: [^()]*\)$", "", w)
                           for w in doc.get("warnings", [])]
    if not names and isinstance(doc.get("types"), list):
        out["types"] = [dict((k, v) for k, v in t.items() if k not in ("name", "name_known"))
                        for t in doc["types"]]
    return out


def no_time(doc):
    out = dict(doc)
    if isinstance(doc.get("snapshot"), dict):
        out["snapshot"] = dict((k, v) for k, v in doc["snapshot"].items() if k != "time")
    return out


# Whether a clean page of the interpreter's files counts as Shared_Clean or
# Private_Clean depends on who else maps it at that moment: gdb itself while
# it runs, or another test's process of the same interpreter.  Two reads at
# two moments agree on their sum.
def touch_part(doc):
    out = dict(doc)
    sm = doc.get("smaps")
    if isinstance(sm, dict):
        sm = dict(sm)
        sm["clean_kb"] = sm.pop("shared_clean_kb", 0) + sm.pop("private_clean_kb", 0)
        out["smaps"] = sm
    return out


class Row(object):
    """The reports of every way, and the checks."""

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.docs = {}          # way -> {"summary": doc, "1": doc, "2": doc, "touch": doc}
        self.objects = {}       # CLI way -> the rows of objects --json
        self.pages = {}         # CLI way -> what its report -o FILE.html embeds
        self.gdb_objects = {}   # gdb way -> {list name: gc-objects NAME --json}
        self.failures = []
        self.checked = 0
        self.empty = None       # the empty sysroot of --remove-binaries

    def cli_args(self, core_way):
        a = []
        if self.args.no_dwarf:
            a.append("--no-dwarf")
        if self.args.debug_dir:
            a += ["--debug-dir", self.args.debug_dir]
        if self.args.remove_binaries:
            a += ["--sysroot", self.empty]
        elif core_way and self.args.gcore_inside:
            a += ["--sysroot", self.args.chroot]
        return a

    def gdb_setup(self, core_way):
        s = []
        if self.args.debug_dir:
            s.append("set debug-file-directory " + self.args.debug_dir)
        if self.args.remove_binaries:
            s.append("set sysroot " + self.empty)
        elif core_way and self.args.gcore_inside:
            s.append("set sysroot " + self.args.chroot)
        return s

    def cache_env(self, name):
        """A layout cache of the way's own (private to this run)."""
        return dict(os.environ, GCINSPECT_CACHE_DIR=os.path.join(self.workdir, "cache-" + name))

    def cli_reports(self, way, target_args, env, touch=False, report=False):
        """The way's summary, types -g 1 and -g 2 (the core way: and each
        old list by name), touch (with touch or report), objects --json;
        with report, the JSON its report -o FILE.html embeds."""
        cli = gcitest.Gcinspect(self.args.gcinspect, env)
        extra = self.cli_args(way == "core")
        docs = {"summary": cli.json(["summary", "--json"] + extra + target_args,
                                    "%s: summary" % way)}
        gens = ["1", "2"]
        if way == "core" and docs["summary"].get("gc", {}).get("collector") == "incremental":
            # The old lists by name too: together, generation 2.
            gens += ["old[0]", "old[1]"]
        for gen in gens:
            docs[gen] = cli.json(["types", "--json", "--generation", gen] + extra + target_args,
                                 "%s: types -g %s" % (way, gen))
        if touch or report:
            docs["touch"] = cli.json(["touch", "--json"] + extra + target_args,
                                     "%s: touch" % way)
        self.objects[way] = cli.objects(extra + target_args, "%s: objects --json" % way)
        if report:
            page = os.path.join(self.workdir, way + ".html")
            cli.output(["report"] + extra + target_args + ["-o", page], "%s: report" % way)
            with open(page, encoding="utf-8") as f:
                self.pages[way] = gcitest.report_data(f.read(), "%s: report -o %s"
                                                      % (way, page))
        self.docs[way] = docs
        return docs

    def gdb_reports(self, way, target_args, env, lists, touch=False, core=None):
        """The gdb way's documents, and gc-objects of each of the lists
        (names); core: a path to write a core of the live process to
        (generate-core-file, what gcore does), before detaching."""
        # Without gdb's own reading of debug info: the plugin does not use it
        # (tests/gdb runs full sessions).
        gdb = gcitest.Gdb(self.args.gdb, self.args.plugin, env, readnever=True)
        flag = " --no-dwarf" if self.args.no_dwarf else ""
        commands = [("summary", "gc-gens --json"), ("1", "gc-types 1 --json"),
                    ("2", "gc-types 2 --json")]
        if touch:
            commands.append(("touch", "gc-touch --json"))
        commands += [(("objects", name), "gc-objects %s --json --limit %d" % (name, GDB_OBJECTS))
                     for name in lists]
        commands = [(key, c + flag) for key, c in commands]
        tail = []
        if core:
            tail.append("generate-core-file " + core)
        if way == "gdb-live":
            tail.append("detach")
        parts, err = gdb.run(target_args, [c for _, c in commands] + tail,
                             self.gdb_setup(way == "gdb-core"))
        docs = {}
        objects = {}
        for (key, c), text in zip(commands, parts):
            if not text.strip():
                raise Fail("%s: `%s` printed nothing; gdb's stderr:\n%s"
                           % (way, c, err[-3000:]))
            doc = gcitest.parse_json(text, "%s: %s" % (way, c))
            if isinstance(key, tuple):
                objects[key[1]] = doc
            else:
                docs[key] = doc
        self.docs[way] = docs
        self.gdb_objects[way] = objects
        return docs

    def fail(self, msg):
        self.failures.append(msg)

    def check_truth(self, truth):
        for way in WAYS:
            if way not in self.docs:
                continue
            d = self.docs[way]
            ck = gcitest.Checker()
            # A live process holds the type names in its memory, files or not.
            gcitest.compare_truth(truth, d["summary"],
                                  dict((k, v) for k, v in d.items()
                                       if k not in ("summary", "touch")),
                                  self.args.expect_layout, ck,
                                  names_may_be_unknown=(self.args.remove_binaries and
                                                        "core" in way))
            self.check_target_part(way, d["summary"], truth, ck)
            self.checked += ck.checked
            for f in ck.failures:
                self.fail("%s: %s" % (way, f))
            log("%s: %d checks against the truth, %d failed" % (way, ck.checked,
                                                               len(ck.failures)))

    def check_target_part(self, way, summary, truth, ck):
        """What the summary says of its target: the CLI's live ways the pid,
        stopped for the walk (stopped_ms) or not (--no-stop: null); the core
        way the file the layout came from, never a /proc path nor the cache."""
        tgt = summary.get("target") or {}
        if way in ("live", "live-nostop"):
            ck.eq("target.kind", tgt.get("kind"), "live")
            ck.eq("target.pid", tgt.get("pid"), truth["pid"])
            stopped = tgt.get("stopped_ms")
            if way == "live":
                ck.true("target.stopped_ms is a number (the target was stopped)",
                        isinstance(stopped, (int, float)) and not isinstance(stopped, bool),
                        repr(stopped))
            else:
                ck.eq("target.stopped_ms (--no-stop)", stopped, None)
        if way == "core":
            name = summary.get("python", {}).get("layout_name") or ""
            ck.true("python.layout_name names the file the layout came from",
                    "/proc/" not in name and "(cached)" not in name, repr(name))

    def check_alike(self, way, ref, keys, strip, names=True):
        """docs of way equal to those of ref, on keys: exactly, or (strip)
        their gc_part(names)."""
        if way not in self.docs or ref not in self.docs:
            return
        for key in keys:
            if key not in self.docs[way] or key not in self.docs[ref]:
                continue
            a, b = self.docs[way][key], self.docs[ref][key]
            if "core" not in way:
                # Two reads of a live process are two snapshots, at two times.
                a, b = no_time(a), no_time(b)
            if key == "touch":
                a, b = touch_part(a), touch_part(b)
            if strip:
                a, b = gc_part(a, names), gc_part(b, names)
            self.checked += 1
            d = gcitest.json_diff(a, b)
            if d:
                self.fail("%s %s differs from %s's:\n    %s"
                          % (way, key, ref, "\n    ".join(d[:20])))
        log("%s: compared with %s" % (way, ref))


    def absorb(self, ck, what):
        self.checked += ck.checked
        self.failures += ck.failures
        log("%s: %d checks, %d failed" % (what, ck.checked, len(ck.failures)))

    def check_objects(self):
        """objects --json of each CLI way against that way's summary (per
        list) and types documents (per type object), and the core's
        objects: the same addresses, lists, type objects, sizes and
        reference counts, in the same order."""
        for way in ("live", "live-nostop", "core"):
            if way not in self.objects:
                continue
            ck = gcitest.Checker()
            docs = self.docs[way]
            gcitest.compare_objects(way, self.objects[way], docs["summary"],
                                    dict((k, v) for k, v in docs.items()
                                         if k not in ("summary", "touch")), ck)
            if way != "core" and "core" in self.objects:
                a = [object_part(o) for o in self.objects[way]]
                b = [object_part(o) for o in self.objects["core"]]
                first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y),
                             min(len(a), len(b)))
                ck.true("%s: objects --json lists the core's objects" % way, a == b,
                        "%d rows, the core %d; row %d: %r, the core's %r"
                        % (len(a), len(b), first, a[first] if first < len(a) else None,
                           b[first] if first < len(b) else None))
            self.absorb(ck, "%s: objects --json" % way)

    def check_pages(self):
        """What report -o FILE.html embeds: the way's summary and touch
        documents, a types document per list adding up to the list, the
        way's own types document of that list exactly."""
        for way, data in sorted(self.pages.items()):
            ck = gcitest.Checker()
            docs = self.docs[way]
            summary = docs["summary"]
            d = gcitest.report_diff(data.get("summary"), summary)
            ck.true("%s: report: the summary = summary --json" % way, not d,
                    "\n    ".join(d[:20]))
            d = gcitest.report_diff(touch_part(data.get("touch") or {}),
                                    touch_part(docs["touch"]))
            ck.true("%s: report: the touch = touch --json" % way, not d, "\n    ".join(d[:20]))
            types = data.get("types") or {}
            lists = lists_by_name(summary)
            ck.eq("%s: report: types of every list" % way, sorted(types), sorted(lists))
            for name, doc in sorted(types.items()):
                ck.eq("%s: report: types of list %s add up to it" % (way, name),
                      sum(e["objects"] for e in doc.get("types") or []),
                      lists.get(name, {}).get("objects"))
                for key, mine in docs.items():
                    if key not in ("summary", "touch") and mine.get("generation") == name:
                        d = gcitest.report_diff(doc, mine)
                        ck.true("%s: report: types of list %s = types -g %s --json"
                                % (way, name, key), not d, "\n    ".join(d[:20]))
            self.absorb(ck, "%s: report -o FILE.html" % way)

    def check_diff(self, doc, pid):
        """diff --json CORE --pid PID while the target held still: A the core
        way's summary, B the live way's, list by list; every delta 0."""
        ck = gcitest.Checker()
        sides = (("a", "core", self.docs["core"]["summary"]),
                 ("b", "live", self.docs["live"]["summary"]))
        ck.eq("diff: generation (no -g)", doc.get("generation"), None)
        ck.eq("diff: a is the core", (doc.get("a") or {}).get("target", {}).get("kind"), "core")
        ck.eq("diff: b is the pid", (doc.get("b") or {}).get("target", {}).get("pid"), pid)
        rows = doc.get("generations") or []
        ck.eq("diff: the lists, in order", [r.get("name") for r in rows],
              list(lists_by_name(sides[0][2])))
        total = doc.get("total") or {}
        for side, way, summary in sides:
            lists = lists_by_name(summary)
            for r in rows:
                g = lists.get(r.get("name"), {})
                ck.eq("diff: list %s, %s = the %s way's summary" % (r.get("name"), side, way),
                      (r.get("objects_" + side), r.get("bytes_" + side)),
                      (g.get("objects"), g.get("bytes")))
            ck.eq("diff: total, %s = every list of the %s way's summary" % (side, way),
                  (total.get("objects_" + side), total.get("bytes_" + side)),
                  (sum(g["objects"] for g in lists.values()),
                   sum(g["bytes"] for g in lists.values())))
            ck.eq("diff: the types' objects, %s, add up to the total" % side,
                  sum(r.get("objects_" + side, 0) for r in doc.get("types") or []),
                  total.get("objects_" + side))
        types = doc.get("types") or []
        if self.args.remove_binaries:
            # Types are matched by name: a name that lived only in the
            # interpreter's files is the core's placeholder ("<type at 0x...:
            # name unreadable>") and the live process's name, a row each.
            unread = [r for r in types if r["name"].startswith("<type at 0x") and
                      not r["objects_b"]]
            only_b = [r for r in types if not r["objects_a"] and r not in unread]
            ck.eq("diff: the core's types of unreadable names hold what types only the live "
                  "process names hold", (sum(r["objects_a"] for r in unread),
                                         sum(r["bytes_a"] for r in unread)),
                  (sum(r["objects_b"] for r in only_b), sum(r["bytes_b"] for r in only_b)))
            types = [r for r in types if r not in unread and r not in only_b]
        for what, rs in (("list", rows), ("total", [total]), ("type", types)):
            moved = ["%s %+d objects %+d bytes" % (r.get("name"), r.get("objects_delta"),
                                                   r.get("bytes_delta"))
                     for r in rs if r.get("objects_delta") != 0 or r.get("bytes_delta") != 0]
            ck.true("diff: every %s's deltas are 0" % what, rs and not moved,
                    "; ".join(moved[:10]))
        self.absorb(ck, "diff CORE --pid")

    def check_workers(self, target, env):
        """workers --json --pid WORKER, the target a master with one idle
        worker: exactly those two found, neither left stopped, the master's
        GC state the live way's summary's, its collections and full
        collection copy the live-nostop way's touch's.  The server is found
        from its worker, as an operator would from a worker's pid (from the
        target's own pid, gcinspect also weighs the target's parent, the
        harness: under valgrind it took the harness for the master, a
        false match still to be understood)."""
        cli = gcitest.Gcinspect(self.args.gcinspect, env)
        t0 = time.monotonic()
        rc, out, err = cli.run(["workers", "--json"] + self.cli_args(False) +
                               ["--pid", str(target.worker_pid)], check=False)
        log("   workers: %.2f s" % (time.monotonic() - t0))
        target.check_running("after gcinspect workers")
        ck = gcitest.Checker()
        why = gcitest.left_stopped(target.worker_pid)
        ck.true("workers: the worker is not left stopped", not why, why)
        gcs = self.docs["live"]["summary"]["gc"]
        if not ck.eq("workers: exit status", rc, 0):
            ck.failures[-1] += "\n" + err.strip()[-2000:]
            self.absorb(ck, "workers")
            return
        if err.strip():
            log("workers: gcinspect stderr:\n" + err.rstrip())
        doc = gcitest.parse_json(out, "workers --json")
        try:
            gcitest.check_workers_found(doc, target.pid, [target.worker_pid])
            ck.true("workers: the master and its one worker found", True)
        except Fail as e:
            ck.true("workers: the master and its one worker found", False, str(e))
        server = doc.get("server") or {}
        ck.eq("workers: server.workers, other_children", (server.get("workers"),
                                                           server.get("other_children")), (1, 0))
        master = doc.get("master") or {}
        d = gcitest.json_diff(master.get("gc"), gcs)
        ck.true("workers: the master's gc (thresholds, counts, lists, permanent) = summary's",
                not d, "\n    ".join(d[:20]))
        if "live-nostop" in self.docs:
            touch = self.docs["live-nostop"]["touch"]
            d = gcitest.json_diff(master.get("collections"), touch.get("collections"))
            ck.true("workers: the master's collections = touch --json's (live-nostop)", not d,
                    "\n    ".join(d[:20]))
            # What gc.collect() would copy: touch's full collection, every
            # collector kind ("2", or "full").
            full = gcitest.full_collection(touch.get("collections"))
            if ck.true("workers: touch --json has one full collection", full is not None,
                       repr([c.get("generation") for c in touch.get("collections") or []])):
                ck.eq("workers: the master's full_collection_copy_bytes = touch's full "
                      "collection's shared pages", master.get("full_collection_copy_bytes"),
                      (full.get("sharing") or {}).get("shared_pages", -1) * 4096)
        # The target keeps its collector disabled: no next collection.
        nc = master.get("next_collection") or {}
        ck.eq("workers: the master's collector is disabled: no next collection",
              (gcs.get("enabled"), nc.get("collection"), nc.get("generation"),
               nc.get("copy_bytes")), (False, None, None, None))
        worker = (doc.get("workers") or [{}])[0]
        ck.true("workers: the worker's copied pages are known",
                isinstance(worker.get("copied"), dict), repr(worker.get("copied"))[:300])
        self.check_worker_next(ck, gcs.get("collector"), worker)
        # The text: the table's "~" note where a step is only bounded.
        rc, text, err = cli.run(["workers"] + self.cli_args(False) +
                                ["--pid", str(target.worker_pid)], check=False)
        ck.eq("workers (text): exit status", rc, 0)
        bound = bool((worker.get("next_collection") or {}).get("approximation"))
        ck.eq("workers (text): the table notes a bounded next step (~) exactly when the "
              "worker's next collection is one", "(~: the next step" in text, bound)
        log("workers: %s" % server.get("summary"))
        self.absorb(ck, "workers")

    def check_worker_next(self, ck, collector, worker):
        """The worker enabled its collector (gc_target.py --fork-worker):
        its next automatic collection is the collector's (generational: a
        generation; 3.14.0-3.14.4: the increment, with its step;
        free-threaded: the full one), and what it would copy is what its
        entry of that collection in collections says."""
        ck.eq("workers: the worker's collector is enabled",
              (worker.get("gc") or {}).get("enabled"), True)
        nc = worker.get("next_collection") or {}
        name, gen = nc.get("collection"), nc.get("generation")
        if collector == "incremental":
            ck.eq("workers: the worker's next collection (3.14.0-3.14.4: the increment)",
                  (name, gen), ("increment", 1))
            ck.true("workers: the increment says its step", isinstance(nc.get("step"), str),
                    repr(nc.get("step")))
        elif collector == "free-threaded":
            ck.eq("workers: the worker's next collection (free-threaded: the full one)",
                  (name, gen), ("full", 2))
        else:
            ck.true("workers: the worker's next collection is a generation",
                    name in ("0", "1", "2") and gen == int(name), repr((name, gen)))
        # collections name a collection by its number where it is numbered
        entry = [c for c in worker.get("collections") or []
                 if name is not None and c.get("generation") in (name, gen)]
        if ck.true("workers: the worker's collections hold its next collection %r" % (name,),
                   len(entry) == 1, repr([c.get("generation")
                                          for c in worker.get("collections") or []])):
            ck.eq("workers: the worker's next collection: copy_bytes, approximation = its "
                  "collections entry's", (nc.get("copy_bytes"), nc.get("approximation")),
                  ((entry[0].get("sharing") or {}).get("shared_pages", -1) * 4096,
                   entry[0].get("approximation")))

    def check_gdb_objects(self, way, ref):
        """gc-objects NAME --json of each list the plugin takes: its count
        the summary's, its first objects ref's objects --json of that list."""
        if way not in self.gdb_objects or ref not in self.objects:
            return
        ck = gcitest.Checker()
        summary = self.docs[way]["summary"]
        lists = lists_by_name(summary)
        first = {}      # list name -> its first objects in ref's objects --json
        for o in self.objects[ref]:
            f = first.setdefault(o["generation"], [])
            if o["interpreter"] == 0 and len(f) < GDB_OBJECTS:
                f.append(dict((k, o[k]) for k in GDB_OBJECT_KEYS))
        for name, doc in sorted(self.gdb_objects[way].items()):
            covered = gcitest.list_names(summary, name)
            n = sum(lists.get(c, {}).get("objects", 0) for c in covered)
            ck.eq("%s: gc-objects %s: generation" % (way, name), doc.get("generation"), name)
            ck.eq("%s: gc-objects %s: matched = the summary's objects" % (way, name),
                  doc.get("matched"), n)
            ck.eq("%s: gc-objects %s: truncated" % (way, name), doc.get("truncated"),
                  n > GDB_OBJECTS)
            want = [o for c in covered for o in first.get(c, [])][:GDB_OBJECTS]
            ck.eq("%s: gc-objects %s: the first objects = %s's objects --json"
                  % (way, name, ref), doc.get("objects"), want)
        self.absorb(ck, "%s: gc-objects of %d lists" % (way, len(self.gdb_objects[way])))


# gc-objects N --json --limit GDB_OBJECTS: the first objects of each list,
# with these keys.
GDB_OBJECTS = 3
GDB_OBJECT_KEYS = ("address", "type", "type_address", "size", "refcount")


def lists_by_name(summary):
    """The main interpreter's lists of a summary, the permanent one
    included: {name: list}, in order."""
    gcs = summary["gc"]
    lists = list(gcs.get("generations") or [])
    if gcs.get("permanent"):
        lists.append(gcs["permanent"])
    return dict((g["name"], g) for g in lists)


def plugin_lists(summary):
    """The list names gc-objects takes (gdbplugin: Snapshot.lists): the
    main interpreter's, and on free-threaded builds 0, 1 and 2 for heap
    (asked of the core only: a snapshot each, seconds in gdb without the
    interpreter's files)."""
    names = list(lists_by_name(summary))
    if summary["gc"].get("collector") == "free-threaded":
        names += ["0", "1", "2"]
    return names


# What every way must say alike of an object (type names aside: a core
# without the interpreter's files may lack them).
object_part = operator.itemgetter("interpreter", "generation", "address", "type_address",
                                  "size", "refcount")


# --compressed: the compressors, and the reports each input must give alike.
COMPRESSORS = (
    ("zstd", "zst", ["zstd", "-q", "-c"]),
    ("lz4", "lz4", ["lz4", "-q", "-c"]),
    ("xz", "xz", ["xz", "-c", "-T1"]),
    ("gzip", "gz", ["gzip", "-c"]),
)
COMPRESSED_REPORTS = (
    ["summary"], ["summary", "--json"],
    ["types"], ["types", "--json"], ["types", "-g", "2", "--limit", "0"],
    ["touch"], ["touch", "--json"], ["touch", "-g", "2", "--pages", "--json"],
)


def systemd_style_name(workdir, pid, ext):
    """A file name shaped like systemd-coredump's: core.COMM.UID.BOOTID.PID.USEC.EXT,
    with a character escaped as \\xNN the way systemd escapes it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip().replace("-", "")
    except OSError:
        boot = "0" * 32
    usec = int(time.time() * 1e6)
    return os.path.join(workdir, "core.gc\\x20target.%d.%s.%d.%d.%s"
                        % (os.getuid(), boot, pid, usec, ext))


def check_compressed(row, core, pid, env):
    """The core compressed by each compressor's own CLI, under a systemd-style
    name, and through standard input (a file, a pipe, /dev/stdin): every
    report must be the plain core's, byte for byte, but for the input's name."""
    cli = gcitest.Gcinspect(row.args.gcinspect, env)
    extra = row.cli_args(True)

    def normalized(out, path):
        # The input's name replaced, as text and as a JSON string.
        for form in (json.dumps(path)[1:-1], path):
            out = out.replace(form, "CORE")
        return out

    plain = {}
    for r in COMPRESSED_REPORTS:
        plain[tuple(r)] = normalized(cli.output(r + extra + [core], " ".join(r) + " (plain)"),
                                     core)
    inputs = []  # (what, argv tail, stdin feed, name in the report)
    for fmt, ext, cmd in COMPRESSORS:
        path = systemd_style_name(row.workdir, pid, ext)
        if shutil.which(cmd[0]) is None:
            raise Fail("%s is not installed (scripts/install-deps.sh installs it)" % cmd[0])
        with open(core, "rb") as fi, open(path, "wb") as fo:
            subprocess.run(cmd, stdin=fi, stdout=fo, check=True, timeout=gcitest.GCORE_TIMEOUT)
        # As the compressing tools keep it when they write the file: the
        # report's snapshot.time is when the core was written.
        st = os.stat(core)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        log("%s: %s, %.1f MB" % (fmt, path, os.path.getsize(path) / 1e6))
        inputs.append((fmt, [path], None, path))
        if fmt == "zstd":
            inputs.append(("zstd on standard input (a file)", ["-"], ("file", path), "<stdin>"))
            inputs.append(("zstd through a pipe", ["-"], ("pipe", path), "<stdin>"))
        if fmt == "xz":
            inputs.append(("xz through a pipe to /dev/stdin", ["/dev/stdin"], ("pipe", path),
                           "/dev/stdin"))
    inputs.append(("plain core through a pipe", ["-"], ("pipe", core), "<stdin>"))
    inputs.append(("plain core on standard input (a file)", ["-"], ("file", core), "<stdin>"))
    for what, tail, feed, name in inputs:
        for r in COMPRESSED_REPORTS:
            label = "%s: %s" % (what, " ".join(r))
            feeder = None
            stdin = subprocess.DEVNULL
            if feed and feed[0] == "file":
                stdin = open(feed[1], "rb")
            elif feed:
                feeder = subprocess.Popen(["cat", feed[1]], stdout=subprocess.PIPE)
                stdin = feeder.stdout
            try:
                got = normalized(cli.output(r + extra + tail, label, stdin=stdin), name)
            finally:
                if feed:
                    stdin.close()
                if feeder:
                    feeder.wait()
            want = plain[tuple(r)]
            if feed and feed[0] == "pipe":
                # From a pipe, when the core was written is unknown: null.
                want = re.sub(r'"time": "[^"]*"', '"time": null', want)
                want = want.replace('"time_source": "core file mtime"', '"time_source": null')
            row.checked += 1
            if got != want:
                row.fail("core, %s differs from the plain core's:\n%s\n---\n%s"
                         % (label, got[:1500], want[:1500]))
    # -v says what was done, on stderr.
    path = inputs[0][1][0]
    _, _, err = cli.run(["summary", "-v"] + extra + [path], check=False)
    row.checked += 1
    if "zstd-compressed core" not in err or "decompressed to" not in err:
        row.fail("core: -v on %s does not say it decompressed zstd:\n%s" % (path, err[:2000]))
    log("core: compressed %d ways, %d reports each: compared" % (len(inputs),
                                                                 len(COMPRESSED_REPORTS)))


def run_row(args, workdir):
    row = Row(args, workdir)
    ways = args.ways
    if args.remove_binaries:
        row.empty = os.path.join(workdir, "empty-sysroot")
        os.makedirs(row.empty)
    target = gcitest.Target(args.python, workdir, script=args.target, chroot=args.chroot,
                            own_mount_ns=args.gcore_inside, freeze=args.freeze,
                            subinterpreter=args.subinterpreter, scale=args.scale,
                            keep=args.keep, threads=args.threads,
                            live_thread=args.live_thread, fork_worker="live" in ways)
    exe = None
    with target:
        target.start()
        pid = ["--pid", str(target.pid)]
        live_env = row.cache_env("live")
        if "live" in ways:
            row.cli_reports("live", pid, live_env)
            target.check_running("after gcinspect --pid")
        if "live-nostop" in ways or "gdb-live" in ways:
            row.cli_reports("live-nostop", pid + ["--no-stop"], live_env, report=True)
        if "live" in ways:
            row.check_workers(target, live_env)
        want_core = "core" in ways or "gdb-core" in ways
        core = None
        if "gdb-live" in ways:
            # The same gdb writes the core, as gcore would (one gdb less),
            # unless it must be written from inside the target's namespace.
            if want_core and not args.gcore_inside:
                core = os.path.join(workdir, "core.%d" % target.pid)
            row.gdb_reports("gdb-live", ["-p", str(target.pid)], live_env,
                            list(lists_by_name(row.docs["live-nostop"]["summary"])),
                            touch=True, core=core)
            target.check_running("after gdb detached")
            if core is not None and not os.path.isfile(core):
                raise Fail("gdb's generate-core-file wrote no %s" % core)
        if want_core:
            if core is None:
                core = gcitest.take_core(target, workdir, inside=args.gcore_inside)
            if args.chroot is not None:
                check_core_paths(core, args.chroot, args.python, args.gcore_inside)
            core, exe = prepare_core(args, workdir, core, target.host_python)
        diff = None
        if "core" in ways and "live" in ways:
            # The core against the process it was taken of, still holding still.
            cli = gcitest.Gcinspect(args.gcinspect, live_env)
            diff = cli.json(["diff", "--json"] + row.cli_args(True) + [core] + pid,
                            "diff CORE --pid")
        truth = target.release()
    log("truth: python %s, generations %s (total %d), count %s, threshold %s, "
        "freeze_count %s" % (truth["version_full"], truth["generations"], truth["total"],
                             truth["count"], truth["threshold"], truth["freeze_count"]))
    # The threads the target was asked for, where its truth counts them
    # (free-threaded builds).
    for key, want in (("threads_exited", args.threads), ("live_threads", int(args.live_thread))):
        if key in truth:
            row.checked += 1
            if truth[key] != want:
                row.fail("target: truth.%s is %r, --threads/--live-thread asked for %r"
                         % (key, truth[key], want))

    if truth.get("worker_pid") != target.worker_pid:
        row.fail("target: truth.worker_pid is %r, its child was %r"
                 % (truth.get("worker_pid"), target.worker_pid))

    if core is not None:
        log("core %s (%.1f MB)" % (core, os.path.getsize(core) / 1e6))
        core_env = row.cache_env("core")
        cache_dir = core_env["GCINSPECT_CACHE_DIR"]
        docs = row.cli_reports("core", [core], core_env, report=True)
        cached = os.path.isdir(cache_dir) and os.listdir(cache_dir)
        if args.expect_layout == "dwarf" and not cached:
            row.fail("core: the DWARF layout was not written to the cache %s" % cache_dir)
        if args.expect_layout == "table" and cached:
            row.fail("core: the layout cache was filled without DWARF: %s" % cached)
        cli = gcitest.Gcinspect(args.gcinspect, core_env)
        warm = cli.json(["summary", "--json"] + row.cli_args(True) + [core],
                        "core: summary (layout cache warm)")
        # Cold and warm: the same report, the layout line included.
        a, b = dict(docs["summary"]), dict(warm)
        row.checked += 1
        d = gcitest.json_diff(b, a)
        if d:
            row.fail("core: the summary with a warm layout cache differs from the cold "
                     "one:\n    %s" % "\n    ".join(d[:20]))
        docs["summary"] = warm   # what gdb, warm too, must equal
        if args.compressed:
            check_compressed(row, core, target.pid, core_env)
        if "gdb-core" in ways:
            row.gdb_reports("gdb-core", ([exe] if exe else []) + ["-c", core], core_env,
                            plugin_lists(docs["summary"]))
    for name, docs in row.docs.items():
        for key, doc in docs.items():
            with open(os.path.join(workdir, "%s-%s.json" % (name, key)), "w") as f:
                gcitest.json.dump(doc, f, indent=1, sort_keys=True)

    row.check_truth(truth)
    # Every way gives the same GC state as the core; gdb the CLI's documents.
    ref = "core" if "core" in row.docs else "live"
    for way in ("live", "live-nostop", "gdb-live"):
        row.check_alike(way, ref, ("summary", "1", "2"), strip=True,
                        names=not args.remove_binaries)
    # Without the files, gdb reads the core as the CLI does, but cannot say
    # why memory is unreadable: the same but for that.
    row.check_alike("gdb-core", "core", ("summary", "1", "2"), strip=args.remove_binaries)
    row.check_alike("gdb-live", "live-nostop", ("summary", "1", "2", "touch"), strip=False)
    if "gdb-live" in row.docs:
        sharing = [c.get("sharing") for c in row.docs["gdb-live"]["touch"].get("collections", [])]
        row.checked += 1
        if not sharing or not all(isinstance(s, dict) for s in sharing) or \
                row.docs["gdb-live"]["touch"].get("smaps") is None:
            row.fail("gdb-live: gc-touch --json has no page sharing or smaps: %r" % sharing)
    row.check_objects()
    row.check_pages()
    if diff is not None:
        row.check_diff(diff, target.pid)
    row.check_gdb_objects("gdb-live", "live-nostop")
    row.check_gdb_objects("gdb-core", "core")
    return row, truth


def prepare_core(args, workdir, core, exe):
    """The core to read and the executable to give gdb with it; with
    --remove-binaries, as if the core had been moved to a machine that has
    none of the interpreter's files: a copy, and no executable."""
    if not args.remove_binaries:
        return core, exe
    moved_dir = os.path.join(workdir, "moved")
    os.makedirs(moved_dir)
    moved = os.path.join(moved_dir, os.path.basename(core))
    shutil.copyfile(core, moved)
    os.unlink(core)
    return moved, None


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True, help="the gcinspect binary")
    ap.add_argument("--python", required=True, help="interpreter to run the target with")
    ap.add_argument("--ways", default="core",
                    help="comma-separated, of: " + ", ".join(WAYS) + " (default core)")
    ap.add_argument("--gdb", default="gdb", help="gdb, for the gdb ways")
    ap.add_argument("--plugin", default=None, help="gcinspect_gdb.py, for the gdb ways")
    ap.add_argument("--freeze", action="store_true", help="target calls gc.freeze()")
    ap.add_argument("--subinterpreter", action="store_true",
                    help="target keeps a subinterpreter with objects of its own (3.9+)")
    ap.add_argument("--scale", type=float, default=None, help="target heap scale")
    ap.add_argument("--no-dwarf", action="store_true", help="built-in layout tables only")
    ap.add_argument("--debug-dir", default=None, metavar="DIR",
                    help="detached debug info by build-id")
    ap.add_argument("--expect-layout", choices=("dwarf", "table"), default=None)
    ap.add_argument("--workdir", default=None, help="directory for the core and outputs")
    ap.add_argument("--keep", action="store_true", help="keep the core and outputs")
    ap.add_argument("--target", default=gcitest.DEFAULT_TARGET, help="the target script")
    ap.add_argument("--chroot", default=None, metavar="DIR",
                    help="run the target inside this chroot (--python is a path inside it)")
    ap.add_argument("--gcore-inside", action="store_true",
                    help="take the core with the chroot's own gcore (inner paths in the core)")
    ap.add_argument("--remove-binaries", action="store_true",
                    help="none of the interpreter's files at hand (an empty --sysroot)")
    ap.add_argument("--threads", type=int, default=0,
                    help="target: threads that build objects and exit before the snapshot")
    ap.add_argument("--live-thread", action="store_true",
                    help="target: one more thread, alive and blocked at the snapshot")
    ap.add_argument("--build-failure", default=None, metavar="FILE",
                    help="skip, quoting FILE, if the interpreter is missing and FILE "
                         "exists (scripts/build-pythons.sh could not build it)")
    ap.add_argument("--compressed", action="store_true",
                    help="core way: also read the core compressed by zstd, lz4, xz and "
                         "gzip, and through standard input: every report must equal the "
                         "plain core's")
    args = ap.parse_args(argv)
    args.ways = [w for w in args.ways.split(",") if w]
    for w in args.ways:
        if w not in WAYS:
            ap.error("unknown way %r (choose from %s)" % (w, ", ".join(WAYS)))
    if args.gcore_inside and args.chroot is None:
        ap.error("--gcore-inside needs --chroot")
    if any(w.startswith("gdb") for w in args.ways) and not args.plugin:
        ap.error("the gdb ways need --plugin")
    if args.compressed and "core" not in args.ways:
        ap.error("--compressed is a check of the core way")
    return args


def main(argv):
    args = parse_args(argv)
    gcitest.on_signal_fail()
    why = gcitest.build_failure(args.python, args.chroot, args.build_failure)
    if why is not None:
        log("SKIP: scripts/build-pythons.sh could not build %s: %s (%s)"
            % (args.python, why, args.build_failure))
        return gcitest.EXIT_SKIP
    if args.chroot is not None:
        # A missing chroot is a failure, not a skip: the test was asked for.
        args.chroot = os.path.abspath(args.chroot)
        if not os.path.isdir(args.chroot):
            log("FAIL: chroot %s does not exist (scripts/make-chroots.sh builds it)"
                % args.chroot)
            return gcitest.EXIT_FAIL
        if not os.path.isabs(args.python):
            log("FAIL: with --chroot, --python must be an absolute path inside the chroot")
            return gcitest.EXIT_FAIL
        if os.geteuid() != 0:
            log("SKIP: --chroot needs root")
            return gcitest.EXIT_SKIP
    host_python = (os.path.join(args.chroot, args.python.lstrip("/")) if args.chroot
                   else args.python)
    for path, what in ((args.gcinspect, "gcinspect binary"), (host_python, "interpreter"),
                       (args.target, "target script")):
        if not os.path.isfile(path):
            log("FAIL: %s %s does not exist" % (what, path))
            return gcitest.EXIT_FAIL
    workdir = None
    status = gcitest.EXIT_FAIL
    t0 = time.monotonic()
    try:
        why = gcitest.ptrace_blocker()
        if why:
            raise Skip(why)
        if any(w.startswith("gdb") for w in args.ways):
            gcitest.Gdb(args.gdb, args.plugin).check_usable()
        if args.workdir is None:
            workdir = tempfile.mkdtemp(prefix="gcinspect-target-")
        else:
            workdir = os.path.abspath(args.workdir)
            os.makedirs(workdir, exist_ok=True)
        row, truth = run_row(args, workdir)
        if row.failures:
            log("FAIL: %d of %d checks failed:" % (len(row.failures), row.checked))
            for f in row.failures:
                log("  - " + f)
        else:
            log("PASS: %d checks, ways %s (python %s), %.1f s"
                % (row.checked, ",".join(args.ways), truth["version_full"],
                   time.monotonic() - t0))
            status = gcitest.EXIT_PASS
    except Skip as e:
        log("SKIP: %s" % e)
        status = gcitest.EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
    except Exception:
        import traceback
        log("FAIL: harness error:\n" + traceback.format_exc())
    finally:
        if workdir is not None:
            if args.keep:
                log("kept: %s" % workdir)
            elif args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        if status == gcitest.EXIT_FAIL and not args.keep:
            log("(rerun with --keep --workdir DIR to keep the core and outputs)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
