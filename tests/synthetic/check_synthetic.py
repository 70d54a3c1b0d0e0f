#!/usr/bin/env python3
"""gcinspect on synthetic cores: layouts no interpreter here has, and hostile input.

    check_synthetic.py --gcinspect PATH [--case NAME]... [--keep DIR] [--list]

Every case builds ELF cores with corewriter.py (no executable, no NT_FILE:
gcinspect must find the interpreter through the _Py_DebugOffsets cookie
alone), runs gcinspect on them, and compares exit status, stderr and JSON
exactly with the truth the builder returns.  Each run has a timeout (no
hang), must not die of a signal, and must not print a sanitizer report.
Exit status: 0 when every selected case passed, 1 otherwise.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corewriter as cw  # noqa: E402

TIMEOUT = 30
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")


class Failure(Exception):
    pass


class Checker:
    """Collects mismatches for one case; raises at the end if any."""

    def __init__(self, gcinspect, workdir, case):
        self.gcinspect = gcinspect
        self.workdir = workdir
        self.case = case
        self.errors = []
        self.ncores = 0

    def path(self, name):
        return os.path.join(self.workdir, "%s-%s.core" % (self.case, name))

    def expect(self, cond, what):
        if not cond:
            self.errors.append(what)
        return cond

    def eq(self, got, want, what):
        return self.expect(got == want, "%s: got %r, want %r" % (what, got, want))

    def run(self, core, *args, timeout=TIMEOUT):
        cmd = [self.gcinspect] + list(args) + [core]
        env = dict(os.environ)
        env["GCINSPECT_CACHE_DIR"] = os.path.join(self.workdir, "cache")
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise Failure("%s: no answer within %d s (a hang?)" % (" ".join(cmd), timeout))
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode < 0 or p.returncode >= 128:
            raise Failure("%s: died (status %d): %s" % (" ".join(cmd), p.returncode, err))
        for mark in SANITIZER_MARKS:
            if mark in err:
                raise Failure("%s: sanitizer report:\n%s" % (" ".join(cmd), err))
        return p.returncode, out, err

    def run_json(self, core, *args, want_rc=0):
        rc, out, err = self.run(core, *(list(args) + ["--json"]))
        if rc != want_rc:
            raise Failure("gcinspect %s --json %s: exit %d, want %d; stderr: %s"
                          % (" ".join(args), core, rc, want_rc, err.strip()))
        try:
            doc = json.loads(out)
        except ValueError as e:
            raise Failure("gcinspect %s --json: not JSON (%s): %r" % (" ".join(args), e,
                                                                       out[:300]))
        self.eq(doc.get("schema"), "gcinspect/1", "schema")
        return doc, err

    def one_line_error(self, err, what):
        lines = [ln for ln in err.splitlines() if ln.strip()]
        self.expect(len(lines) == 1 and lines[0].startswith("gcinspect: "),
                    "%s: stderr must be one line 'gcinspect: ...', got %r" % (what, err))
        return lines[0] if lines else ""

    def finish(self):
        if self.errors:
            raise Failure("\n  ".join(["%d mismatch(es):" % len(self.errors)] + self.errors))


def hx(v):
    return "0x%x" % v


# ---------------------------------------------------------------------------
# Comparing a report with the truth

def check_header(c, doc, fake, core_path, debug_offsets="used"):
    t = doc["target"]
    c.eq(t["kind"], "core", "target.kind")
    c.eq(t["path"], core_path, "target.path")
    c.eq(t["pid"], 4242, "target.pid")
    c.eq(t["command"], "python3.%d" % fake.minor, "target.command")
    c.eq(t["args"], "/usr/bin/python3.%d -m app --workers 4" % fake.minor, "target.args")
    c.eq(t["signal"], 19, "target.signal")
    c.eq(t["signal_name"], "SIGSTOP", "target.signal_name")
    py = doc["python"]
    c.eq(py["version"], fake.version, "python.version")
    c.eq(py["version_hex"], hx(fake.version_hex), "python.version_hex")
    c.eq(py["version_source"], "_Py_DebugOffsets", "python.version_source")
    c.eq(py["debug_build"], False, "python.debug_build")
    c.eq(py["layout"], "table", "python.layout")
    c.eq(py["debug_offsets"], debug_offsets, "python.debug_offsets")
    c.eq(py["runtime"], hx(fake.runtime), "python.runtime")


def check_list(c, got, want, what, exact=True):
    c.eq(got["name"], want["name"], what + ".name")
    c.eq(got["head"], hx(want["head"]), what + ".head")
    if "threshold" in want:
        c.eq(got.get("threshold"), want["threshold"], what + ".threshold")
        c.eq(got.get("count"), want["count"], what + ".count")
    if exact:
        c.eq(got["objects"], want["objects"], what + ".objects")
        c.eq(got["bytes"], want["bytes"], what + ".bytes")
        c.eq(got["pages"], want["pages"], what + ".pages")
        c.eq(got["complete"], True, what + ".complete")


def check_interp(c, got, want, what, skip=()):
    """skip: list names whose walk is expected to stop early (checked by the case)."""
    for k in ("id", "enabled", "collecting", "long_lived_total", "long_lived_pending",
              "heap_size", "collector"):
        c.eq(got.get(k), want.get(k), "%s.%s" % (what, k))
    c.eq(got["address"], hx(want["address"]), what + ".address")
    c.eq(got["gc_state"], hx(want["gc_state"]), what + ".gc_state")
    if want["collector"] == "incremental":
        c.eq(got.get("visited_space"), want["visited_space"], what + ".visited_space")
        c.eq(got.get("phase"), want["phase"], what + ".phase")
        c.eq(got.get("work_to_do"), want["work_to_do"], what + ".work_to_do")
        # old[visited_space] is the visited list, the other old list pending
        roles = [g.get("role") for g in got["generations"]]
        c.eq(roles, [None] + ["visited" if i == want["visited_space"] else "pending"
                              for i in (0, 1)], what + ": generations[].role")
    c.eq(len(got["generations"]), len(want["generations"]), what + ": number of generations")
    for i, (g, w) in enumerate(zip(got["generations"], want["generations"])):
        check_list(c, g, w, "%s.generations[%d]" % (what, i), exact=w["name"] not in skip)
    if c.expect(got["permanent"] is not None, what + ".permanent is null"):
        check_list(c, got["permanent"], want["permanent"], what + ".permanent",
                   exact="permanent" not in skip)


def state_pages(fake, gc_state):
    return {p for p in range(gc_state >> 12, (gc_state + fake.L["gc_size"] - 1 >> 12) + 1)}


def check_collections(c, doc, fake, truth):
    """The touch model (docs/touch-model.md) for the main interpreter."""
    main = truth["interpreters"][0]
    names = fake.gen_names()
    got = doc.get("collections")
    if not c.expect(isinstance(got, list) and len(got) == 3, "collections: %r" % (got,)):
        return
    for n in range(3):
        heads = [o.head for name in names[:n + 1] for o in fake.objects[("main", name)]]
        if n < 2 and fake.objects[("main", names[n + 1])]:
            heads.append(fake.objects[("main", names[n + 1])][-1].head)
        pages = {h >> 12 for h in heads} | state_pages(fake, main["gc_state"])
        want = {"generation": n, "objects": len(heads), "pages": len(pages),
                "bytes": 4096 * len(pages)}
        c.eq(got[n], want, "collections[%d]" % n)


def incremental_model(fake):
    """What each collection of the main interpreter writes on 3.14.0-3.14.4,
    worked out from the builder's facts as Python/gc.c of 3.14.4 does it
    (docs/touch-model.md): {name: (objects collected, single heads a merge
    writes, approximate)}, the next step ({"step", "work_to_do",
    "pending_objects", "allocations"}) and what gc.freeze() would write."""
    objs = {n: fake.objects[("main", n)] for n in fake.gen_names() + ["permanent"]}
    young = objs["young"]
    visited = objs["old[%d]" % fake.visited_space]
    pending = objs["old[%d]" % (1 - fake.visited_space)]
    tail = [visited[-1]] if visited else []
    out = {"young": (young, tail, False),
           "full": (young + objs["old[0]"] + objs["old[1]"], [], False)}
    # gc_collect_increment: assess_work_to_do at young.count = threshold + 1
    T, c = fake.L["thresholds"][0], fake.counts[0]
    c1 = max(c, T + 1)
    h1 = fake.heap_size_of("main") + c1 - c
    frac = min(h1 // 10 // max(fake.L["thresholds"][1], 2), 2 * c1)
    w1 = fake.work_to_do + c1 + frac
    k = 0
    if w1 < 0:
        step, body, single, approx = "nothing", [], [], False
    elif fake.phase == 0:
        step, body, single, approx = "mark", young + pending, tail, True
    else:
        k = max(0, w1 - len(young))
        ends = k >= len(pending)
        step = "collect, ending the cycle" if ends else "collect"
        body, single, approx = young + pending[:k], tail, not ends
        if ends and objs["permanent"]:
            body, single = body + visited, []
    out["increment"] = (body, single, approx)
    nxt = {"step": step, "work_to_do": w1, "pending_objects": k,
           "allocations": max(T - c + 1, 0)}
    perm_tail = [objs["permanent"][-1]] if objs["permanent"] else []
    return out, nxt, (young + pending, tail + perm_tail)


def check_collections_incremental(c, doc, fake, truth):
    """The incremental touch model for the main interpreter: summary and touch."""
    main = truth["interpreters"][0]
    state = state_pages(fake, main["gc_state"])
    model, nxt, freeze = incremental_model(fake)
    names = ["young", "increment", "full"]

    def pages_of(objs):
        return {o.head >> 12 for o in objs}

    got = doc.get("collections")
    if not c.expect(isinstance(got, list) and [e.get("generation") for e in got] == names,
                    "collections: %r" % (got,)):
        return
    for e, name in zip(got, names):
        body, single, approx = model[name]
        pages = pages_of(body + single) | state
        c.eq({k: e[k] for k in ("objects", "pages", "bytes")},
             {"objects": len(body) + len(single), "pages": len(pages),
              "bytes": 4096 * len(pages)}, "collections[%s]" % name)
        c.eq(e.get("approximation") is not None, approx,
             "collections[%s]: approximate" % name)
    n = doc.get("next_collection") or {}
    c.eq({k: n.get(k) for k in ("generation", "step", "work_to_do", "pending_objects",
                                "allocations")},
         dict(nxt, generation="increment"), "summary next_collection")
    # touch, each collection by name and by gc.collect(generation=N)
    tdoc, _ = c.run_json(c.core_path, "touch", "--pages")
    by_name = {e["generation"]: e for e in tdoc["collections"]}
    c.eq(list(by_name), names, "touch collections")
    for i, name in enumerate(names):
        body, single, approx = model[name]
        heads = pages_of(body + single)
        pages = heads | state
        e = by_name.get(name, {})
        c.eq((e.get("objects"), e.get("object_bytes"), e.get("pages"), e.get("state_pages")),
             (len(body) + len(single), sum(o.bytes for o in body), len(pages),
              len(pages - heads)),
             "touch %s: objects, object_bytes, pages, state_pages" % name)
        per_page = {}
        for o in body:
            per_page[o.head >> 12] = per_page.get(o.head >> 12, 0) + 1
        listed = {int(p["address"], 16) >> 12: p["heads"] for p in e.get("page_list", [])}
        c.eq(listed, {p: per_page.get(p, 0) for p in pages}, "touch %s: page_list" % name)
        for arg in (name, str(i)):
            one, _ = c.run_json(c.core_path, "touch", "-g", arg)
            c.eq([x["generation"] for x in one["collections"]], [name],
                 "touch -g %s: collections" % arg)
            c.eq(one["collections"][0]["pages"], len(pages), "touch -g %s: pages" % arg)
    body, single = freeze
    fw = tdoc["what_if"]["freeze_now"].get("writes") or {}
    c.eq((fw.get("objects"), fw.get("pages")),
         (len(body) + len(single), len(pages_of(body + single) | state)),
         "what_if.freeze_now.writes")
    c.eq({k: tdoc["what_if"]["next_collection"].get(k) for k in n}, n,
         "touch what_if.next_collection = summary next_collection")
    rc, out, err = c.run(c.core_path, "touch", "-g", "3")
    c.eq(rc, 64, "touch -g 3: exit status")
    line = c.one_line_error(err, "touch -g 3")
    c.expect("young, increment, full" in line, "touch -g 3: message %r" % line)
    # the text report names the collections too
    rc, out, err = c.run(c.core_path, "touch")
    c.eq(rc, 0, "touch text: exit status")
    for title in ("young collection (gc.collect(0))", "full collection (gc.collect())",
                  "next automatic step"):
        c.expect(title in out, "touch text lacks %r" % title)


def check_types(c, doc_types, want_hist, fake, what):
    """want_hist: {name: (objects, bytes)}."""
    addr = {t.name: t.address for t in fake.types.values()}
    got = {}
    for t in doc_types:
        if not c.expect(t["name"] not in got, "%s: type %r listed twice" % (what, t["name"])):
            continue
        got[t["name"]] = (t["objects"], t["bytes"])
        c.eq(t["name_known"], True, "%s: %s.name_known" % (what, t["name"]))
        c.eq(t["address"], hx(addr.get(t["name"], 0)), "%s: %s.address" % (what, t["name"]))
    c.eq(got, want_hist, what + " histogram")
    keys = [(t["bytes"], t["objects"]) for t in doc_types]
    c.expect(keys == sorted(keys, reverse=True),
             "%s: not sorted by bytes, then objects, largest first: %r" % (what, keys))


def merge_hist(hists):
    out = {}
    for h in hists:
        for name, (n, b) in h.items():
            o = out.get(name, (0, 0))
            out[name] = (o[0] + n, o[1] + b)
    return out


def object_rows(fake, lists=None):
    """What objects --json must list, in walk order: each interpreter's
    lists, each from its head."""
    want = []
    labels = [("main", 0)] + ([("sub", 1)] if fake.sub else [])
    for label, iid in labels:
        for name in fake.gen_names() + ["permanent"]:
            if lists is not None and name not in lists:
                continue
            for o in fake.objects[(label, name)]:
                want.append((hx(o.op), o.type.name, hx(o.type.address), o.bytes,
                             fake.mem.read_u64(o.op + cw.OB_REFCNT), name, iid))
    return want


def check_objects(c, fake, core_path, want_rc=0, only=None):
    """objects --json: every object exactly (or the first `only` rows)."""
    rc, out, err = c.run(core_path, "objects", "--json")
    c.eq(rc, want_rc, "objects --json exit status (stderr %r)" % err.strip())
    try:
        rows = [json.loads(line) for line in out.splitlines()]
    except ValueError as e:
        c.expect(False, "objects --json: a line is not JSON: %s" % e)
        return
    got = [(r["address"], r["type"], r["type_address"], r["size"], r["refcount"],
            r["generation"], r["interpreter"]) for r in rows]
    want = object_rows(fake)
    if only is not None:
        want = only
    c.eq(got, want, "objects --json")


def check_clean(c, fake, core_path, sub=False):
    """A clean heap: exit 0 and everything exact, summary and types."""
    truth = fake.truth()
    doc, err = c.run_json(core_path)
    check_header(c, doc, fake, core_path)
    c.eq(doc["warnings"], [], "warnings")
    c.eq(doc["integrity"], {"complete": True, "problems": []}, "integrity")
    check_interp(c, doc["gc"], truth["interpreters"][0], "gc")
    c.eq(len(doc["interpreters"]), len(truth["interpreters"]), "number of interpreters")
    for i, (g, w) in enumerate(zip(doc["interpreters"], truth["interpreters"])):
        check_interp(c, g, w, "interpreters[%d]" % i)
    if fake.L["collector"] == "generational":
        check_collections(c, doc, fake, truth)
    else:
        c.core_path = core_path
        check_collections_incremental(c, doc, fake, truth)
    main = truth["interpreters"][0]
    lists = main["generations"] + [main["permanent"]]
    tdoc, _ = c.run_json(core_path, "types", "--limit", "0")
    c.eq(tdoc["generation"], None, "types.generation")
    check_types(c, tdoc["types"], merge_hist(l["types"] for l in lists), fake, "types")
    for lst in lists:
        tdoc, _ = c.run_json(core_path, "types", "-g", lst["name"], "--limit", "0")
        c.eq(tdoc["generation"], lst["name"], "types -g %s: generation" % lst["name"])
        check_types(c, tdoc["types"], lst["types"], fake, "types -g %s" % lst["name"])
    check_objects(c, fake, core_path)
    # The HTML page (exit 0), with every list's types.
    html = core_path + ".html"
    rc, out, err = c.run(core_path, "report", "-o", html)
    c.eq(rc, 0, "report exit status (stderr %r)" % err.strip())
    if rc == 0:
        with open(html, encoding="utf-8") as f:
            page = f.read()
        for lst in lists:
            c.expect('data-list="%s"' % lst["name"] in page or not lst["objects"],
                     "report: no type table for list %s" % lst["name"])
        if fake.L["collector"] == "incremental":
            # young, the next automatic increment and a full collection
            c.expect("increment" in page and "full" in page and
                     "is not implemented" not in page,
                     "report: the incremental collector's collections are missing")
    # The text report works too and says the same version.
    rc, out, err = c.run(core_path)
    c.eq(rc, 0, "text report exit status")
    c.expect("Python %s (version from _Py_DebugOffsets)" % fake.version in out,
             "text report lacks the version line: %r" % out[:400])
    return doc


# ---------------------------------------------------------------------------
# Heaps

def heap_generational(extra_gen2=0):
    return {
        "0": ["dict", "list", ("tuple", 3), "function", "Widget"],
        "1": ["Widget", ("NegVar", -5), "dict", ("tuple", 0)],
        # items past the end of mapped memory, and a count beyond UINT32_MAX:
        # neither counted (docs/json-schema.md: "fits in the memory")
        "2": (["dict", "list", ("tuple", 7), "pkg.mod.\u00dcn\u00efcode", ("NegVar", 9),
               ("tuple", 1 << 40), ("tuple", 200000), "function", "Widget"] +
              ["dict", "list"] * 20 + ["Widget"] * extra_gen2),
        "permanent": ["tuple", "function", "dict", ("tuple", 2)] * 6,
    }


def heap_incremental():
    return {
        "young": ["dict", "list", ("tuple", 3), "Widget"],
        "old[0]": ["function", "Widget", ("NegVar", -2)] * 3,
        "old[1]": ["dict", "list", ("tuple", 4), "pkg.mod.\u00dcn\u00efcode"] * 5,
        "permanent": ["tuple", "function"] * 4,
    }


def write_core(c, fake, name, truncate_at=None, **kw):
    path = c.path(name)
    core = fake.core(**kw)
    core.write(path, truncate_at=truncate_at)
    c.ncores += 1
    return path, core


# ---------------------------------------------------------------------------
# Cases

def case_313(c):
    """3.13 GIL heap, gens 0-2 and permanent, and a subinterpreter: exact."""
    fake = cw.FakeCPython(13, 2, heap_generational(), subinterpreter=True)
    # sanity of the builder: the unmapped-items objects are really unmapped
    big = [o for o in fake.objects[("main", "2")] if o.type.name == "tuple"
           and o.ob_size in (1 << 40, 200000)]
    c.eq([o.bytes for o in big], [24 + 16, 24 + 16], "builder: uncounted items")
    path, _ = write_core(c, fake, "3.13")
    check_clean(c, fake, path)


def case_314_gen(c):
    """3.14.10 (generational again, heap_size, generation0 at +256): exact."""
    fake = cw.FakeCPython(14, 10, heap_generational())
    path, _ = write_core(c, fake, "3.14.10")
    check_clean(c, fake, path)


def case_315(c):
    """3.15 GIL heap (GC state without trash fields, generations at +8): exact."""
    fake = cw.FakeCPython(15, 2, heap_generational(extra_gen2=3), subinterpreter=True,
                          counts=(1999, 9, 0))
    path, _ = write_core(c, fake, "3.15")
    check_clean(c, fake, path)


def _free_threaded(c, minor, micro):
    fake = cw.FakeCPython(minor, micro, heap_generational(), free_threaded=True)
    path, _ = write_core(c, fake, "3.%d.%dt" % (minor, micro))
    for args in ([], ["--json"], ["types"], ["touch"]):
        rc, out, err = c.run(path, *args)
        c.eq(rc, 4, "free-threaded 3.%d %s: exit status" % (minor, " ".join(args)))
        line = c.one_line_error(err, "free-threaded 3.%d" % minor)
        c.expect("free-threaded" in line, "message does not say free-threaded: %r" % line)
        c.expect("3.%d.%d" % (minor, micro) in line, "message lacks the version: %r" % line)
        c.eq(out, "", "free-threaded: stdout")


def case_free_threaded(c):
    """3.13t: free_threaded=1, PyObject 32 bytes -> exit 4, one line."""
    _free_threaded(c, 13, 1)


def case_free_threaded_314(c):
    """3.14t and 3.15t: exit 4 as well."""
    _free_threaded(c, 14, 10)
    _free_threaded(c, 15, 2)


def _broken(c, name, fake, mutate, bad_list, want_addrs, want_words=(), problem_at=None,
            walked=None, heap_filesz=None, allow_more_problems=False, list_complete=False):
    """A heap with one damaged list: exit 1, the damage named, the rest exact."""
    truth = fake.truth()
    mutate(fake)
    path, _ = write_core(c, fake, name, heap_filesz=heap_filesz)
    doc, err = c.run_json(path, want_rc=1)
    c.expect("partial" in err or "problem" in err,
             "%s: stderr does not say the result is partial: %r" % (name, err))
    integ = doc["integrity"]
    c.eq(integ["complete"], False, name + ": integrity.complete")
    probs = integ["problems"]
    if not allow_more_problems:
        c.eq(len(probs), 1, name + ": number of problems (%r)" % probs)
    if probs:
        p = probs[0]
        for a in want_addrs:
            c.expect(hx(a) in p["message"],
                     "%s: problem does not name %s: %r" % (name, hx(a), p))
        for w in want_words:
            c.expect(w in p["message"], "%s: problem does not say %r: %r" % (name, w, p))
        if problem_at is not None:
            c.eq(p["address"], hx(problem_at), name + ": problem address")
    main = truth["interpreters"][0]
    check_interp(c, doc["gc"], main, name + ": gc", skip=(bad_list,))
    lists = doc["gc"]["generations"] + [doc["gc"]["permanent"]]
    bad = [g for g in lists if g["name"] == bad_list][0]
    c.eq(bad["complete"], list_complete, "%s: list %s complete" % (name, bad_list))
    if walked is not None:
        want = [o for o in fake.objects[("main", bad_list)]][:walked]
        c.eq(bad["objects"], walked, "%s: objects counted on %s before the damage"
             % (name, bad_list))
        c.eq(bad["bytes"], sum(o.bytes for o in want), "%s: bytes counted on %s before "
             "the damage" % (name, bad_list))
    # objects: exit 1, and the damaged list's objects up to the damage
    rc, out, err = c.run(path, "objects", "--json")
    c.eq(rc, 1, name + ": objects exit status")
    c.expect("partial" in err, "%s: objects: stderr does not say the result is partial: %r"
             % (name, err))
    if walked is not None:
        rows = [json.loads(line) for line in out.splitlines()]
        got = [r["address"] for r in rows if r["generation"] == bad_list
               and r["interpreter"] == 0]
        c.eq(got, [hx(o.op) for o in fake.objects[("main", bad_list)][:walked]],
             "%s: objects on %s before the damage" % (name, bad_list))
    # the HTML page says the result is partial
    rc, _, _ = c.run(path, "report", "-o", path + ".html")
    c.eq(rc, 1, name + ": report exit status")
    if rc == 1:
        with open(path + ".html", encoding="utf-8") as f:
            page = f.read()
        c.expect("Partial result" in page and all(hx(a) in page for a in want_addrs),
                 "%s: the HTML page does not show the problem" % name)
    # the text report says INCOMPLETE and names the address too
    rc, out, _ = c.run(path)
    c.eq(rc, 1, name + ": text report exit status")
    c.expect("INCOMPLETE" in out and all(hx(a) in out for a in want_addrs),
             "%s: text report does not show the problem: %r" % (name, out[-600:]))
    return doc


def case_loop(c):
    """The last object of gen 2 links back into the middle of the list."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    objs = fake.objects[("main", "2")]
    last, target = objs[-1], objs[len(objs) // 2]

    def mutate(f):
        f.mem.u64(last.head, target.head)
    _broken(c, "loop", fake, mutate, "2", [last.head, target.head], walked=len(objs),
            problem_at=target.head)


def case_loop_self(c):
    """An object whose _gc_next points at itself, and one whose whole list is a cycle."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    objs = fake.objects[("main", "1")]

    def mutate(f):
        f.mem.u64(objs[1].head, objs[1].head | 1)
    _broken(c, "self-loop", fake, mutate, "1", [objs[1].head], walked=2)
    # gen 0 a ring that never returns to the head, back-links made consistent
    # everywhere except where the ring closes
    fake = cw.FakeCPython(13, 2, heap_generational())
    objs = fake.objects[("main", "0")]

    def mutate2(f):
        f.mem.u64(objs[-1].head, objs[0].head)
    _broken(c, "ring", fake, mutate2, "0", [objs[-1].head, objs[0].head],
            walked=len(objs), problem_at=objs[0].head)


def case_backlink(c):
    """A broken _gc_prev: the problem names that GC head."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    objs = fake.objects[("main", "permanent")]
    bad = objs[5]

    def mutate(f):
        f.mem.u64(bad.head + 8, objs[2].head | 1)
    _broken(c, "backlink", fake, mutate, "permanent", [bad.head], problem_at=bad.head,
            walked=5, want_words=("back-link",))


def case_unmapped(c):
    """_gc_next into unmapped memory, NULL, a misaligned pointer, another list's head."""
    base = cw.FakeCPython(13, 2, heap_generational())
    objs = base.objects[("main", "2")]
    holder = objs[3]
    unmapped = 0x10000000
    fake = cw.FakeCPython(13, 2, heap_generational())
    _broken(c, "unmapped", fake, lambda f: f.mem.u64(holder.head, unmapped), "2",
            [unmapped], walked=4, problem_at=unmapped, want_words=("not mapped",))
    fake = cw.FakeCPython(13, 2, heap_generational())
    _broken(c, "null", fake, lambda f: f.mem.u64(holder.head, 0), "2",
            [holder.head], walked=4)
    fake = cw.FakeCPython(13, 2, heap_generational())
    _broken(c, "misaligned", fake, lambda f: f.mem.u64(holder.head, objs[4].head + 4), "2",
            [holder.head, objs[4].head + 4], walked=4)
    fake = cw.FakeCPython(13, 2, heap_generational())
    other = fake.list_head("main", "1")
    _broken(c, "other-head", fake, lambda f: f.mem.u64(holder.head, other), "2",
            [holder.head, other], walked=4)


def case_not_saved(c):
    """p_filesz < p_memsz: gen 2 runs into memory the core did not save."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    objs = fake.objects[("main", "2")]
    k = 6
    cut = objs[k].head - cw.HEAP_BASE
    # every other list lies before the cut
    for (label, name), lst in fake.objects.items():
        if name != "2":
            assert all(o.slot + 64 < objs[k].head for o in lst), name
    _broken(c, "not-saved", fake, lambda f: None, "2", [objs[k].head],
            want_words=("not saved",), walked=k, problem_at=objs[k].head,
            heap_filesz=cut)


def case_truncated(c):
    """The core cut in the middle of the heap segment, and cut at many other places."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    objs = fake.objects[("main", "2")]
    path, core = write_core(c, fake, "full")
    size = os.path.getsize(path)
    mid = core.file_offset(objs[6].head) + 8
    path, _ = write_core(c, fake, "mid-heap", truncate_at=mid)
    rc, out, err = c.run(path, "--json")
    c.expect(rc in (1, 2), "mid-heap: exit %d, want 1 or 2 (%s)" % (rc, err.strip()))
    if rc == 1:
        doc = json.loads(out)
        c.expect(any("truncated" in w for w in doc["warnings"]),
                 "mid-heap: no warning says truncated: %r" % doc["warnings"])
        probs = doc["integrity"]["problems"]
        c.expect(any(hx(objs[6].head) in p["message"] or p["address"] == hx(objs[6].head)
                     for p in probs),
                 "mid-heap: no problem names 0x%x: %r" % (objs[6].head, probs))
        g2 = doc["gc"]["generations"][2]
        c.eq((g2["objects"], g2["complete"]), (6, False), "mid-heap: gen 2 walk")
        main = fake.truth()["interpreters"][0]
        check_interp(c, doc["gc"], main, "mid-heap: gc", skip=("2",))
    else:
        line = c.one_line_error(err, "mid-heap")
        c.expect("truncated" in line, "mid-heap: message lacks 'truncated': %r" % line)
    # A sweep: the file cut at every kind of place.
    rt = core.file_offset(fake.runtime)
    cuts = {
        "ident": 10, "ehdr": 63, "phdrs": 64 + 30, "phdrs-end": 64 + 56 * 3 - 1,
        "notes": 64 + 56 * 3 + 40, "before-runtime": rt, "cookie": rt + 4,
        "debug-offsets": rt + 300, "interp": core.file_offset(fake.interp + 7400 + 40),
        "types": core.file_offset(fake.types["dict"].address + 8),
        "heap-start": core.file_offset(cw.HEAP_BASE), "gen0": core.file_offset(
            fake.objects[("main", "0")][2].head + 4),
        "permanent": core.file_offset(fake.objects[("main", "permanent")][3].head),
        "heap-tail": size - 4096,
    }
    for what, at in sorted(cuts.items(), key=lambda kv: kv[1]):
        p = c.path("cut-" + what)
        with open(p, "wb") as f:
            f.write(core.build()[:at])
        c.ncores += 1
        rc, out, err = c.run(p, "--json")
        if not c.expect(rc in (0, 1, 2), "cut at %s (%d): exit %d (%s)"
                        % (what, at, rc, err.strip())):
            continue
        if rc == 2:
            line = c.one_line_error(err, "cut at " + what)
            c.expect(p in line, "cut at %s: message does not name the file: %r" % (what, line))
            if at >= 64 + 56 * 3:
                c.expect("truncated" in line,
                         "cut at %s (%d): message lacks 'truncated': %r" % (what, at, line))
        else:
            doc = json.loads(out)
            c.expect(any("truncated" in w for w in doc["warnings"]),
                     "cut at %s: exit %d but no warning says truncated: %r"
                     % (what, rc, doc["warnings"]))
            c.expect(rc == 0 or not doc["integrity"]["complete"],
                     "cut at %s: exit 1 with a complete walk" % what)


def case_two_cookies(c):
    """A second valid _Py_DebugOffsets block in memory: ambiguous, exit 3."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    copy_at = cw.HEAP_BASE + fake.heap_len - 0x10000
    fake.mem.copy(fake.runtime, copy_at, cw.DEBUG_BLOCK[13]["size"])
    path, _ = write_core(c, fake, "two")
    rc, out, err = c.run(path)
    c.eq(rc, 3, "two cookies: exit status")
    line = c.one_line_error(err, "two cookies")
    c.expect(re.search(r"more than one|two|\b2\b|ambiguous|several|which", line),
             "two cookies: the message does not say there are several "
             "_Py_DebugOffsets blocks: %r" % line)
    c.expect("no _Py_DebugOffsets" not in line,
             "two cookies: the message says there is no _Py_DebugOffsets: %r" % line)


def case_decoy_cookies(c):
    """Cookies that are not blocks (misaligned, bad version, failing validation): ignored."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    tail = cw.HEAP_BASE + fake.heap_len - 0x10000
    fake.mem.write(tail + 3, b"xdebugpy")                        # misaligned
    fake.mem.write(tail + 0x100, b"xdebugpy" + (0x02070000).to_bytes(8, "little"))
    fake.mem.copy(fake.runtime, tail + 0x1000, 584)              # fails validation:
    fake.mem.u64(tail + 0x1000 + 16, 7)                          # free_threaded = 7
    fake.mem.copy(fake.runtime, tail + 0x2000, 584)              # runtime size 0
    fake.mem.u64(tail + 0x2000 + 24, 0)
    fake.mem.write(fake.runtime + 0x800, b"xdebugpy")            # a bare cookie in _PyRuntime
    path, _ = write_core(c, fake, "decoys")
    check_clean(c, fake, path)


def case_incremental(c):
    """3.14.2: young, old[0], old[1] with the old-space bit in _gc_next."""
    fake = cw.FakeCPython(14, 2, heap_incremental(), visited_space=1, phase=1,
                          subinterpreter=True)
    path, _ = write_core(c, fake, "3.14.2")
    # the walker must mask the old-space bit: it is really there
    bits = {name: {fake.mem.read_u64(o.head) & 3 for o in fake.objects[("main", name)]}
            for name in fake.gen_names() + ["permanent"]}
    c.eq(bits, {"young": {0}, "old[0]": {0}, "old[1]": {1}, "permanent": {1}},
         "builder: old-space bits in _gc_next")
    rc, out, err = c.run(path, "--json")
    c.eq(rc, 0, "3.14.2: exit status (stderr %r)" % err.strip())
    if rc:
        return None
    doc = check_clean(c, fake, path)
    c.eq(len(doc["interpreters"]), 2, "number of interpreters")
    # phase collect, work_to_do 0: the step takes the whole pending list and,
    # with frozen objects, rewrites the visited one (checked by check_clean)
    c.eq(doc["next_collection"]["step"], "collect, ending the cycle", "3.14.2: step")
    # visited_space 0 and the mark phase read as such; the mark step
    fake = cw.FakeCPython(14, 4, heap_incremental(), visited_space=0, phase=0, seed=7)
    path, _ = write_core(c, fake, "3.14.4")
    doc = check_clean(c, fake, path)
    c.eq(doc["next_collection"]["step"], "mark", "3.14.4: step")
    # the other steps: a debt still unpaid; three pending objects of 20;
    # the pending list emptied with nothing frozen
    heap = heap_incremental()
    probe = cw.FakeCPython(14, 3, heap, visited_space=0, phase=1)
    share = incremental_model(probe)[1]["work_to_do"]   # what the step adds
    nofrozen = dict(heap, permanent=[])
    for name, lists, work, step in (
            ("debt", heap, -share - 1, "nothing"),
            ("three", heap, -share + len(heap["young"]) + 3, "collect"),
            ("end", nofrozen, 0, "collect, ending the cycle")):
        fake = cw.FakeCPython(14, 3, lists, visited_space=0, phase=1, work_to_do=work)
        path, _ = write_core(c, fake, "3.14.3-" + name)
        doc = check_clean(c, fake, path)
        c.eq(doc["next_collection"]["step"], step, "3.14.3-%s: step" % name)
    c.eq(doc["next_collection"]["pending_objects"] >= 20, True, "end: pending objects")
    # 3.14.0-3.14.4 has no generation0: a damaged old list is still named
    fake = cw.FakeCPython(14, 0, heap_incremental())
    objs = fake.objects[("main", "old[1]")]
    _broken(c, "3.14.0-backlink", fake, lambda f: f.mem.u64(objs[4].head + 8, 0x1000),
            "old[1]", [objs[4].head], walked=4, problem_at=objs[4].head)


def case_bad_types(c):
    """ob_type into unmapped memory (exit 1), a tp_name into unmapped memory (exit 0)."""
    fake = cw.FakeCPython(13, 2, heap_generational())
    victim = fake.objects[("main", "0")][1]
    bogus = 0x20000000
    doc = _broken(c, "bad-ob_type", fake, lambda f: f.mem.u64(victim.op + cw.OB_TYPE, bogus),
                  "0", [bogus], problem_at=bogus, list_complete=True)
    g0 = doc["gc"]["generations"][0]
    c.eq(g0["objects"], len(fake.objects[("main", "0")]),
         "bad-ob_type: the object with the bad type is still counted")
    # a type whose name cannot be read: named by address, counts exact
    fake = cw.FakeCPython(13, 2, heap_generational())
    t = fake.types["function"]
    fake.mem.u64(t.address + cw.TP_NAME, 0x30000000)
    path, _ = write_core(c, fake, "bad-tp_name")
    truth = fake.truth()
    doc, _ = c.run_json(path)
    check_interp(c, doc["gc"], truth["interpreters"][0], "bad-tp_name: gc")
    c.eq(doc["integrity"]["complete"], True, "bad-tp_name: integrity.complete")
    c.expect(len(doc["warnings"]) == 1 and "1 type" in doc["warnings"][0],
             "bad-tp_name: want one warning about 1 type name: %r" % doc["warnings"])
    tdoc, _ = c.run_json(path, "types", "--limit", "0")
    main = truth["interpreters"][0]
    want = merge_hist(l["types"] for l in main["generations"] + [main["permanent"]])
    row = [r for r in tdoc["types"] if r["address"] == hx(t.address)]
    if c.expect(len(row) == 1, "bad-tp_name: no row for the type at %s" % hx(t.address)):
        r = row[0]
        c.expect(r["name"].startswith("<type at %s: name unreadable" % hx(t.address)),
                 "bad-tp_name: placeholder name %r" % r["name"])
        c.eq(r["name_known"], False, "bad-tp_name: name_known")
        c.eq((r["objects"], r["bytes"]), want["function"], "bad-tp_name: counts")


CASES = [
    ("a-3.13", case_313),
    ("a2-3.14.10", case_314_gen),
    ("b-3.15", case_315),
    ("c-free-threaded", case_free_threaded),
    ("c2-free-threaded-3.14-3.15", case_free_threaded_314),
    ("d-loop", case_loop),
    ("d2-self-loop", case_loop_self),
    ("e-backlink", case_backlink),
    ("f-unmapped", case_unmapped),
    ("g-not-saved", case_not_saved),
    ("h-truncated", case_truncated),
    ("i-two-cookies", case_two_cookies),
    ("i2-decoy-cookies", case_decoy_cookies),
    ("j-3.14-incremental", case_incremental),
    ("k-bad-types", case_bad_types),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gcinspect", required=False)
    ap.add_argument("--case", action="append", default=[],
                    help="run only this case (its name or prefix, e.g. 'd'); repeatable")
    ap.add_argument("--keep", metavar="DIR", help="write the cores to DIR and keep them")
    ap.add_argument("--list", action="store_true", help="list the cases")
    args = ap.parse_args()
    if args.list:
        for name, fn in CASES:
            print("%-28s %s" % (name, fn.__doc__.strip().splitlines()[0]))
        return 0
    if not args.gcinspect:
        ap.error("--gcinspect is required")
    selected = [(n, f) for n, f in CASES
                if not args.case or any(n == s or n.split("-")[0] == s for s in args.case)]
    if not selected:
        ap.error("no case matches %r (see --list)" % args.case)
    failed = []
    tmp = None
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gci-synthetic-")
        workdir = tmp.name
    for name, fn in selected:
        c = Checker(args.gcinspect, workdir, name)
        try:
            note = fn(c)
            c.finish()
            print("PASS %s%s (%d cores)" % (name, " [%s]" % note if note else "", c.ncores))
        except Failure as e:
            failed.append(name)
            print("FAIL %s: %s" % (name, e))
        except Exception:
            failed.append(name)
            print("FAIL %s: harness error\n%s" % (name, traceback.format_exc()))
        sys.stdout.flush()
    if tmp:
        tmp.cleanup()
    print("%d of %d cases passed%s" % (len(selected) - len(failed), len(selected),
                                        "; failed: " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
