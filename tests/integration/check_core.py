#!/usr/bin/python3
"""check_core.py: end-to-end test of gcinspect against a real core.

Starts tests/targets/gc_target.py under a given interpreter, takes a core of
it with gcore while it waits, lets it write its truth, runs gcinspect on the
core and compares what gcinspect reports with the truth, exactly.

Usage:
    check_core.py --gcinspect BIN --python INTERP [--freeze] [--scale N]
                  [--extra-arg ARG ...] [--expect-layout dwarf|table]
                  [--chroot DIR [--gcore-inside]] [--remove-binaries]
                  [--build-failure FILE] [--workdir DIR] [--keep] [--target FILE]

--chroot DIR runs the target as `chroot DIR INTERP` (INTERP is then a path
inside DIR); the target script is copied into DIR/tmp and writes its truth
there.  The core is taken by gcore from outside, so its NT_FILE note names
host paths (DIR/usr/bin/...); with --gcore-inside, gcore runs inside the
chroot (with /proc mounted in a private mount namespace), the core names the
inner paths, and gcinspect needs --sysroot DIR (give it with --extra-arg).

--remove-binaries copies the core elsewhere and analyses the copy with
--sysroot pointing at an empty directory, so that none of the interpreter's
files (executable, libraries, debug info) can be found: gcinspect has only the
core's memory.  Type names that lived only in those files may then be
unreadable (name_known false): the histograms are compared on the types whose
name is known, and in their totals.

--build-failure FILE: the interpreter is one scripts/build-pythons.sh
builds; if it (or its chroot) is missing and FILE exists, the build failed
for the reason FILE gives, and the test skips quoting it.  Missing without
FILE is a failure.

Exit status: 0 pass, 1 fail, 77 skip (only when this machine cannot take a
core: gcore missing, or ptrace not allowed; or when scripts/build-pythons.sh
could not build the interpreter, see --build-failure).
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TARGET = os.path.join(os.path.dirname(HERE), "targets", "gc_target.py")

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
READY_TIMEOUT = 120
GCORE_TIMEOUT = 180
EXIT_TIMEOUT = 60
GCINSPECT_TIMEOUT = 120


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def shell_join(argv):
    out = []
    for a in argv:
        if a and all(c.isalnum() or c in "-_./=:+,@%" for c in a):
            out.append(a)
        else:
            out.append("'" + a.replace("'", "'\\''") + "'")
    return " ".join(out)


# ---------------------------------------------------------------------------
# Can this machine take a core at all?

def ptrace_blocker():
    """A reason why ptrace attach cannot work here, or None."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read().strip())
    except (OSError, ValueError):
        scope = 0
    if scope >= 3:
        return "kernel.yama.ptrace_scope is %d: ptrace attach is disabled" % scope
    if scope >= 1 and os.geteuid() != 0:
        # Not fatal for a child of ours at scope 1 in theory, but gcore
        # attaches from gdb, which is not our child's parent.
        return "kernel.yama.ptrace_scope is %d and we are not root" % scope
    return None


PTRACE_REFUSED_MARKERS = (
    "ptrace: Operation not permitted",
    "Could not attach to process",
    "ptrace: Permission denied",
)


# ---------------------------------------------------------------------------
# The target process.

class Target(object):
    def __init__(self, python, script, truth, freeze, scale, workdir, chroot=None,
                 own_mount_ns=False):
        self.argv = [python, script, "--truth", truth]
        if chroot is not None and own_mount_ns:
            # A mount namespace of its own with /proc mounted inside the
            # chroot, as in a container: a gcore that joins it (take_core)
            # sees the inner paths.  unshare, sh and chroot all exec: the pid
            # stays the interpreter's.  The mount goes with the namespace.
            self.argv = (["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"', chroot]
                         + self.argv)
        elif chroot is not None:
            # chroot(8) execs the interpreter: the pid stays the target's.
            self.argv = ["chroot", chroot] + self.argv
        if freeze:
            self.argv.append("--freeze")
        if scale is not None:
            self.argv += ["--scale", str(scale)]
        self.stderr_path = os.path.join(workdir, "target.stderr")
        self.proc = None

    def start(self):
        log("+ " + shell_join(self.argv))
        self.stderr_file = open(self.stderr_path, "wb")
        env = dict(os.environ)
        # The target must see a pristine interpreter: no startup hooks.
        for k in ("PYTHONSTARTUP", "PYTHONMALLOC", "PYTHONDEVMODE", "PYTHONTRACEMALLOC"):
            env.pop(k, None)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, env=env, close_fds=True)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_ready(self, timeout):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        got = b""
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("target not ready after %d s (got %r)" % (timeout, got))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 64)
            if not chunk:
                rc = self.proc.wait()
                raise Fail("target exited with status %s before it was ready (got %r)\n%s"
                           % (rc, got, self.stderr_text()))
            got += chunk
        if got != b"ready\n":
            raise Fail("target said %r instead of 'ready'" % got)

    def release(self, timeout):
        try:
            self.proc.stdin.write(b"g")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("target did not exit within %d s after release" % timeout)
        rest = self.proc.stdout.read()
        if rc != 0:
            raise Fail("target exited with status %d\n%s" % (rc, self.stderr_text()))
        if rest:
            raise Fail("target wrote unexpected output after ready: %r" % rest[:200])

    def kill(self):
        """Make sure the target is gone (also if it is stopped by a tracer)."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        try:
            p.kill()
        except OSError:
            pass
        try:
            os.kill(p.pid, signal.SIGCONT)
        except OSError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            log("warning: target %d did not die" % p.pid)

    def close(self):
        self.kill()
        for f in (self.proc and self.proc.stdin, self.proc and self.proc.stdout,
                  getattr(self, "stderr_file", None)):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


def take_core(pid, workdir, inside=None):
    """Core of pid, as workdir/core.PID.

    inside: None (host gcore), or (chroot dir, a directory inside it given as
    (host path, inner path)) to run the chroot's own gcore in there, in the
    target's mount namespace and root directory.
    """
    if inside is None:
        gcore = shutil.which("gcore")
        if gcore is None:
            raise Skip("gcore is not installed")
        prefix = os.path.join(workdir, "core")
        argv = [gcore, "-o", prefix, str(pid)]
        core = "%s.%d" % (prefix, pid)
    else:
        root, (host_dir, inner_dir) = inside
        if not os.path.isfile(os.path.join(root, "usr/bin/gcore")):
            raise Fail("the chroot %s has no /usr/bin/gcore (Debian package gdb)" % root)
        # Join the target's mount namespace (its /proc) and root: the kernel
        # then names the mapped files by their inner paths.  (From a mount
        # namespace of its own, /proc/PID/maps would show the host paths.)
        argv = ["nsenter", "--target", str(pid), "--mount", "--root",
                "gcore", "-o", inner_dir + "/core", str(pid)]
        core = os.path.join(host_dir, "core.%d" % pid)
    log("+ " + shell_join(argv))
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=GCORE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("gcore did not finish within %d s" % GCORE_TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0 or not os.path.isfile(core):
        for m in PTRACE_REFUSED_MARKERS:
            if m in out:
                raise Skip("gcore cannot attach (%s):\n%s" % (m, out.strip()))
        raise Fail("gcore failed with status %d:\n%s" % (p.returncode, out.strip()))
    if inside is not None:
        moved = os.path.join(workdir, os.path.basename(core))
        shutil.move(core, moved)
        core = moved
    return core


def core_mapped_files(core):
    """The file names in the core's NT_FILE note (ELF64 little endian)."""
    import struct
    with open(core, "rb") as f:
        ehdr = f.read(64)
        if ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
            raise Fail("%s is not a 64-bit little-endian ELF file" % core)
        phoff, = struct.unpack_from("<Q", ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
                "<IIQQQQ", phdrs, i * phentsize)
            if p_type != 4:     # PT_NOTE
                continue
            f.seek(p_offset)
            notes = f.read(p_filesz)
            pos = 0
            while pos + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                pos += 12 + ((namesz + 3) & ~3)
                desc = notes[pos:pos + descsz]
                pos += (descsz + 3) & ~3
                if ntype == 0x46494c45:     # NT_FILE
                    count, = struct.unpack_from("<Q", desc, 0)
                    names = desc[16 + 24 * count:].split(b"\0")[:count]
                    return [n.decode("utf-8", "replace") for n in names]
    raise Fail("%s has no NT_FILE note" % core)


def check_core_paths(core, chroot, python, inside):
    """The core names the interpreter as the kernel showed it to gcore."""
    files = set(core_mapped_files(core))
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


# ---------------------------------------------------------------------------
# gcinspect.

def run_gcinspect(binary, args, what, raw=False, stdin=subprocess.DEVNULL):
    """gcinspect's JSON output, parsed; raw: its stdout bytes, unparsed."""
    argv = [binary] + args
    log("+ " + shell_join(argv))
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=GCINSPECT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("%s: gcinspect did not finish within %d s" % (what, GCINSPECT_TIMEOUT))
    dt = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        raise Fail("%s: gcinspect killed by signal %d\n%s" % (what, -p.returncode, err))
    if p.returncode != 0:
        raise Fail("%s: gcinspect exited with status %d\nstderr:\n%s\nstdout:\n%s"
                   % (what, p.returncode, err, p.stdout.decode("utf-8", "replace")[:4000]))
    if err.strip():
        log("%s: gcinspect stderr:\n%s" % (what, err.rstrip()))
    if raw:
        log("   %s: %.2f s" % (what, dt))
        return p.stdout
    try:
        doc = json.loads(p.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Fail("%s: output is not JSON (%s):\n%s"
                   % (what, e, p.stdout.decode("utf-8", "replace")[:2000]))
    log("   %s: %.2f s" % (what, dt))
    return doc


# ---------------------------------------------------------------------------
# Comparison.

class Checker(object):
    def __init__(self):
        self.failures = []
        self.checked = 0

    def eq(self, what, got, want):
        self.checked += 1
        if got != want:
            self.failures.append("%s: gcinspect says %r, expected %r" % (what, got, want))
            return False
        return True

    def true(self, what, cond, detail=""):
        self.checked += 1
        if not cond:
            self.failures.append("%s%s" % (what, (": " + detail) if detail else ""))
        return cond


def get(doc, path, default=KeyError):
    cur = doc
    for k in path:
        if isinstance(cur, dict) and k in cur:
            cur = cur[k]
        elif isinstance(cur, list) and isinstance(k, int) and 0 <= k < len(cur):
            cur = cur[k]
        else:
            if default is KeyError:
                raise Fail("gcinspect output has no %s" % ".".join(str(p) for p in path))
            return default
    return cur


def histogram_diff(got, want, limit=40):
    lines = []
    for name in sorted(set(got) | set(want)):
        g = got.get(name)
        w = want.get(name)
        if g != w:
            lines.append("    %-40s gcinspect %-8s truth %-8s%s"
                         % (name, g if g is not None else "-", w if w is not None else "-",
                            "  (%+d)" % ((g or 0) - (w or 0))))
    if len(lines) > limit:
        lines = lines[:limit] + ["    ... %d more" % (len(lines) - limit)]
    return "\n".join(lines)


def compare_interpreters(truth, summary, ck):
    """Every interpreter reported, the main one first and equal to "gc"; a
    subinterpreter the target made has its own, complete lists."""
    interps = summary.get("interpreters")
    want = 1 + truth.get("subinterpreters", 0)
    if not ck.true("interpreters is a list of %d" % want,
                   isinstance(interps, list) and len(interps) == want,
                   repr(interps)[:300]):
        return
    ck.eq("interpreters[0] is the main interpreter (id 0)", interps[0].get("id"), 0)
    ck.eq("interpreters[0] equals gc", interps[0], summary.get("gc"))
    for sub in interps[1:]:
        ck.true("subinterpreter id >= 1", isinstance(sub.get("id"), int) and sub["id"] >= 1,
                repr(sub.get("id")))
        lists = sub.get("generations", []) + ([sub["permanent"]] if sub.get("permanent") else [])
        ck.true("subinterpreter lists complete", all(g.get("complete") for g in lists))
        total = sum(g.get("objects", 0) for g in lists)
        ck.true("subinterpreter holds its own objects (>= %d)"
                % truth["subinterpreter_min_objects"],
                total >= truth["subinterpreter_min_objects"], "it has %d" % total)
        ck.true("subinterpreter's GC state differs from the main one's",
                sub.get("gc_state") != interps[0].get("gc_state"))


def compare_incremental(truth, gcs, gens, ck):
    """3.14.0-3.14.4: the lists are young, old[0], old[1].  What the gc module
    says maps onto them as CPython 3.14.4's gcmodule.c and gc.c define it:
    get_objects(generation=0) is young, 1 nothing, 2 both old lists;
    get_count() is (young, old[visited_space], old[1 - visited_space]);
    get_threshold() is (young, old[0], 0) - and old[1]'s threshold is 0 in
    memory unless gc.set_threshold() was given three values (the target never
    calls it)."""
    names = ["young", "old[0]", "old[1]"]
    for i, g in enumerate(gens):
        ck.eq("list %d name" % i, g.get("name"), names[i])
        ck.eq("%s threshold" % names[i], g.get("threshold"), truth["threshold"][i])
    visited = gcs.get("visited_space")
    if not ck.true("gc.visited_space is 0 or 1", visited in (0, 1), repr(visited)):
        return
    ck.true("gc.phase is mark or collect", gcs.get("phase") in ("mark", "collect"),
            repr(gcs.get("phase")))
    for i in (0, 1):
        ck.eq("old[%d] role" % i, gens[1 + i].get("role"),
              "visited" if i == visited else "pending")
    ck.eq("young count", gens[0].get("count"), truth["count"][0])
    ck.eq("old[visited_space=%d] count (gc.get_count()[1])" % visited,
          gens[1 + visited].get("count"), truth["count"][1])
    ck.eq("old[%d] (pending) count (gc.get_count()[2])" % (1 - visited),
          gens[2 - visited].get("count"), truth["count"][2])
    n0, n1, n2 = truth["generations"]
    ck.eq("truth: gc.get_objects(generation=1) is empty", n1, 0)
    ck.eq("young objects (gc.get_objects(generation=0))", gens[0].get("objects"), n0)
    o0, o1 = gens[1].get("objects"), gens[2].get("objects")
    if ck.true("old list objects are integers", isinstance(o0, int) and isinstance(o1, int),
               "%r %r" % (o0, o1)):
        ck.eq("old[0] + old[1] objects (%d + %d; gc.get_objects(generation=2))" % (o0, o1),
              o0 + o1, n2)


def merge_types_docs(docs, generation):
    """One types document for several lists: objects and bytes summed per type."""
    by_addr = {}
    order = []
    for doc in docs:
        for e in doc.get("types") or []:
            a = e.get("address")
            if a not in by_addr:
                by_addr[a] = dict(e)
                order.append(a)
            else:
                m = by_addr[a]
                m["objects"] = m.get("objects", 0) + e.get("objects", 0)
                m["bytes"] = m.get("bytes", 0) + e.get("bytes", 0)
    merged = dict(docs[0])
    merged["generation"] = generation
    merged["types"] = [by_addr[a] for a in order]
    return merged


def compare(truth, summary, types_docs, expect_layout, ck, names_may_be_unknown=False):
    compare_interpreters(truth, summary, ck)
    ck.eq("summary.schema", summary.get("schema"), "gcinspect/1")
    py = get(summary, ["python"])
    ck.eq("python.version", py.get("version"), truth["version"])
    ck.eq("python.debug_build", py.get("debug_build"), truth["debug_build"])
    if expect_layout is not None:
        ck.eq("python.layout", py.get("layout"), expect_layout)

    gcs = get(summary, ["gc"])
    ck.eq("gc.enabled", gcs.get("enabled"), truth["enabled"])
    ck.eq("gc.collecting", gcs.get("collecting"), False)

    incremental = truth.get("incremental", False)
    ck.eq("gc.collector", gcs.get("collector"),
          "incremental" if incremental else "generational")
    gens = get(summary, ["gc", "generations"])
    if not ck.true("gc.generations is a list of 3", isinstance(gens, list) and len(gens) == 3,
                   repr(gens)[:200]):
        return
    if incremental:
        compare_incremental(truth, gcs, gens, ck)
    else:
        for i, g in enumerate(gens):
            ck.eq("generation %d name" % i, g.get("name"), str(i))
            ck.eq("generation %d threshold" % i, g.get("threshold"), truth["threshold"][i])
            ck.eq("generation %d count" % i, g.get("count"), truth["count"][i])
            if truth["generations"] is not None:
                ck.eq("generation %d objects" % i, g.get("objects"), truth["generations"][i])
    objs = [g.get("objects") for g in gens]
    if truth["generations"] is None:
        if all(isinstance(o, int) for o in objs):
            ck.eq("generations 0+1+2 objects (%s)" % "+".join(map(str, objs)),
                  sum(objs), truth["total"])
        else:
            ck.true("generation objects are integers", False, repr(objs))

    perm = gcs.get("permanent")
    if truth["freeze_count"] is None:
        ck.true("no permanent generation before 3.7",
                perm is None or not perm.get("objects"), repr(perm))
    else:
        if ck.true("gc.permanent present", isinstance(perm, dict), repr(perm)):
            ck.eq("permanent objects", perm.get("objects"), truth["freeze_count"])
    if truth.get("freeze_requested") and truth["freeze_count"] is not None:
        ck.true("--freeze gave a non-empty permanent generation", truth["freeze_count"] > 0)

    # Sanity of the footprint numbers.
    lists = [("generation %d" % i, g) for i, g in enumerate(gens)]
    if isinstance(perm, dict):
        lists.append(("permanent", perm))
    for label, g in lists:
        n, b, pg = g.get("objects"), g.get("bytes"), g.get("pages")
        if not ck.true("%s objects/bytes/pages are integers" % label,
                       all(isinstance(v, int) and not isinstance(v, bool) for v in (n, b, pg)),
                       "objects=%r bytes=%r pages=%r" % (n, b, pg)):
            continue
        ck.true("%s bytes >= 32*objects" % label, b >= 32 * n, "bytes=%d objects=%d" % (b, n))
        if n > 0:
            ck.true("%s pages >= 1" % label, pg >= 1, "pages=%d objects=%d" % (pg, n))
        else:
            ck.true("%s empty: bytes and pages 0" % label, b == 0 and pg == 0,
                    "bytes=%d pages=%d" % (b, pg))

    integ = get(summary, ["integrity"])
    ck.eq("integrity.complete", integ.get("complete"), True)
    ck.eq("integrity.problems", integ.get("problems"), [])

    # Type histograms.
    if truth.get("incremental"):
        ck.eq("truth: no types for gc.get_objects(generation=1)", truth["types"].get("1"), {})
    for gen in sorted(types_docs):
        doc = types_docs[gen]
        ck.eq("types %s schema" % gen, doc.get("schema"), "gcinspect/1")
        ck.eq("types %s generation" % gen, doc.get("generation"), gen)
        entries = doc.get("types")
        if not ck.true("types %s: list of types" % gen, isinstance(entries, list)):
            continue
        hist = {}
        by_addr = {}    # type address -> [name or None when unknown, objects]
        unknown = 0
        tbytes = 0
        for e in entries:
            name = e.get("name")
            known = e.get("name_known") is True
            hist[name] = hist.get(name, 0) + e.get("objects", 0)
            tbytes += e.get("bytes", 0)
            if not known:
                unknown += 1
            if not names_may_be_unknown:
                ck.true("types %s: %r has name_known true" % (gen, name), known,
                        repr(e.get("name_known")))
            addr = e.get("address")
            if ck.true("types %s: %r has a hex address" % (gen, name),
                       isinstance(addr, str) and addr.startswith("0x"), repr(addr)):
                key = "0x%x" % int(addr, 16)
                ck.true("types %s: address %s listed once" % (gen, key), key not in by_addr)
                by_addr[key] = [name if known else None, e.get("objects", 0)]
        if truth.get("incremental"):
            # "2" is old[0] and old[1] together.
            g = dict((k, gens[1].get(k, 0) + gens[2].get(k, 0)) for k in ("objects", "bytes"))
        else:
            g = gens[int(gen)]
        ck.eq("types %s: sum of objects vs summary generation %s" % (gen, gen),
              sum(hist.values()), g.get("objects"))
        if tbytes != g.get("bytes"):
            log("note: types %s: sum of bytes %d != summary generation bytes %r"
                % (gen, tbytes, g.get("bytes")))
        if unknown:
            log("note: types %s: %d of %d types have no readable name (%d objects)"
                % (gen, unknown, len(by_addr),
                   sum(c for n, c in by_addr.values() if n is None)))
        if not truth["types"]:
            continue
        # By type object: every type with exactly its objects, and its name
        # whenever gcinspect could read it.  (Names alone are ambiguous: enum
        # defines a class named "property", as the built-in type is.)
        want_addr = truth.get("types_by_address", {}).get(gen)
        if not ck.true("truth has types_by_address for generation %s" % gen,
                       isinstance(want_addr, dict)):
            continue
        want_addr = dict(("0x%x" % int(a, 16), v) for a, v in want_addr.items())
        diff = []
        for a in sorted(set(by_addr) | set(want_addr)):
            got_name, got_n = by_addr.get(a, (None, None))
            w = want_addr.get(a)
            want_name, want_n = (w["name"], w["objects"]) if w else (None, None)
            if got_n != want_n or (got_name is not None and got_name != want_name) or (
                    got_name is None and a in by_addr and not names_may_be_unknown):
                diff.append("    %-18s gcinspect %-8s %-30s truth %-8s %s"
                            % (a, got_n if got_n is not None else "-",
                               got_name if got_name is not None
                               else ("(name unreadable)" if a in by_addr else "-"),
                               want_n if want_n is not None else "-", want_name or "-"))
        ck.checked += 1
        if diff:
            if len(diff) > 40:
                diff = diff[:40] + ["    ... %d more" % (len(diff) - 40)]
            ck.failures.append("types of generation %s by type address differ (%d types in "
                               "gcinspect, %d in truth):\n%s"
                               % (gen, len(by_addr), len(want_addr), "\n".join(diff)))
        ck.eq("types %s: total objects vs truth" % gen, sum(hist.values()),
              sum(truth["types"][gen].values()))
        if not names_may_be_unknown:
            want = truth["types"][gen]
            ck.checked += 1
            if hist != want:
                ck.failures.append("type histogram of generation %s differs (%d names in "
                                   "gcinspect, %d in truth):\n%s"
                                   % (gen, len(hist), len(want), histogram_diff(hist, want)))


# ---------------------------------------------------------------------------
# Compressed cores and standard input.

COMPRESSORS = (
    ("zstd", "zst", ["zstd", "-q", "-c"]),
    ("lz4", "lz4", ["lz4", "-q", "-c"]),
    ("xz", "xz", ["xz", "-c", "-T1"]),
    ("gzip", "gz", ["gzip", "-c"]),
)
REPORTS = (
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


def normalized(out, path):
    """A report with the name of its input replaced (as text and as a JSON string)."""
    for form in (json.dumps(path)[1:-1], path):
        out = out.replace(form.encode("utf-8"), b"CORE")
    return out


def check_compressed(binary, core, extra, workdir, ck):
    """The core compressed by each compressor's own CLI, under a systemd-style
    name, and through standard input (a file, a pipe, /dev/stdin): every
    report must be the plain core's, byte for byte, but for the input's name."""
    plain = {}
    for r in REPORTS:
        plain[tuple(r)] = normalized(run_gcinspect(binary, r + extra + [core],
                                                   " ".join(r) + " (plain)", raw=True), core)
    pid = int(core.rsplit(".", 1)[1]) if core.rsplit(".", 1)[1].isdigit() else 0
    inputs = []  # (what, argv tail, stdin maker, name in the report)
    for fmt, ext, cmd in COMPRESSORS:
        path = systemd_style_name(workdir, pid, ext)
        if shutil.which(cmd[0]) is None:
            raise Fail("%s is not installed (scripts/install-deps.sh installs it)" % cmd[0])
        with open(core, "rb") as fi, open(path, "wb") as fo:
            subprocess.run(cmd, stdin=fi, stdout=fo, check=True, timeout=GCORE_TIMEOUT)
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
        for r in REPORTS:
            label = "%s: %s" % (what, " ".join(r))
            feeder = None
            stdin = subprocess.DEVNULL
            if feed and feed[0] == "file":
                stdin = open(feed[1], "rb")
            elif feed:
                feeder = subprocess.Popen(["cat", feed[1]], stdout=subprocess.PIPE)
                stdin = feeder.stdout
            try:
                out = run_gcinspect(binary, r + extra + tail, label, raw=True, stdin=stdin)
            finally:
                if feed:
                    stdin.close()
                if feeder:
                    feeder.wait()
            got = normalized(out, name)
            want = plain[tuple(r)]
            if feed and feed[0] == "pipe":
                # From a pipe, when the core was written is unknown: null.
                want = re.sub(rb'"time": "[^"]*"', b'"time": null', want)
                want = want.replace(b'"time_source": "core file mtime"', b'"time_source": null')
            ck.checked += 1
            if got != want:
                ck.failures.append("%s differs from the plain core's:\n%s\n---\n%s"
                                   % (label, got.decode("utf-8", "replace")[:1500],
                                      want.decode("utf-8", "replace")[:1500]))
    # -v says what was done, on stderr.
    path = inputs[0][1][0]
    p = subprocess.run([binary, "summary", "-v"] + extra + [path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=GCINSPECT_TIMEOUT)
    err = p.stderr.decode("utf-8", "replace")
    ck.checked += 1
    if "zstd-compressed core" not in err or "decompressed to" not in err:
        ck.failures.append("-v on %s does not say it decompressed zstd:\n%s" % (path, err[:2000]))


# ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True, help="the gcinspect binary")
    ap.add_argument("--python", required=True, help="interpreter to run the target with")
    ap.add_argument("--freeze", action="store_true", help="target calls gc.freeze()")
    ap.add_argument("--subinterpreter", action="store_true",
                    help="target keeps a subinterpreter with objects of its own (3.9+)")
    ap.add_argument("--scale", type=float, default=None, help="target heap scale")
    ap.add_argument("--extra-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for every gcinspect run (repeatable)")
    ap.add_argument("--expect-layout", choices=("dwarf", "table"), default=None)
    ap.add_argument("--workdir", default=None, help="directory for the core and outputs")
    ap.add_argument("--keep", action="store_true", help="keep the core and outputs")
    ap.add_argument("--target", default=DEFAULT_TARGET, help="the target script")
    ap.add_argument("--chroot", default=None, metavar="DIR",
                    help="run the target inside this chroot (--python is a path inside it)")
    ap.add_argument("--gcore-inside", action="store_true",
                    help="take the core with the chroot's own gcore (inner paths in the core)")
    ap.add_argument("--build-failure", default=None, metavar="FILE",
                    help="skip, quoting FILE, if the interpreter is missing and FILE "
                         "exists (scripts/build-pythons.sh could not build it)")
    ap.add_argument("--compressed", action="store_true",
                    help="also read the core compressed by zstd, lz4, xz and gzip, and "
                         "through standard input: every report must equal the plain "
                         "core's, byte for byte")
    ap.add_argument("--remove-binaries", action="store_true",
                    help="analyse a copy of the core with none of the interpreter's files "
                         "findable (--sysroot of an empty directory)")
    args = ap.parse_args(argv)
    if args.gcore_inside and args.chroot is None:
        ap.error("--gcore-inside needs --chroot")
    return args


def on_term(signum, frame):
    raise Fail("harness got signal %d" % signum)


def build_failure(args):
    """Why scripts/build-pythons.sh could not build the interpreter, or None."""
    if args.build_failure is None:
        return None
    python_host = args.python
    if args.chroot is not None:
        python_host = os.path.join(os.path.abspath(args.chroot), args.python.lstrip("/"))
    if os.path.isfile(python_host) or not os.path.isfile(args.build_failure):
        return None
    with open(args.build_failure, errors="replace") as f:
        return f.read().strip() or "(no reason recorded)"


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    why = build_failure(args)
    if why is not None:
        log("SKIP: scripts/build-pythons.sh could not build %s: %s (%s)"
            % (args.python, why, args.build_failure))
        return EXIT_SKIP
    python_host = args.python
    if args.chroot is not None:
        # A missing chroot is a failure, not a skip: the test was asked for.
        args.chroot = os.path.abspath(args.chroot)
        if not os.path.isdir(args.chroot):
            log("FAIL: chroot %s does not exist (scripts/make-chroots.sh builds it)"
                % args.chroot)
            return EXIT_FAIL
        if not os.path.isabs(args.python):
            log("FAIL: with --chroot, --python must be an absolute path inside the chroot")
            return EXIT_FAIL
        python_host = os.path.join(args.chroot, args.python.lstrip("/"))
        if os.geteuid() != 0:
            log("SKIP: --chroot needs root")
            return EXIT_SKIP
    for path, what in ((args.gcinspect, "gcinspect binary"), (python_host, "interpreter"),
                       (args.target, "target script")):
        if not os.path.isfile(path):
            log("FAIL: %s %s does not exist" % (what, path))
            return EXIT_FAIL
    if shutil.which("gcore") is None:
        log("SKIP: gcore is not installed (Debian package gdb)")
        return EXIT_SKIP
    why = ptrace_blocker()
    if why:
        log("SKIP: " + why)
        return EXIT_SKIP

    made_workdir = args.workdir is None
    if made_workdir:
        workdir = tempfile.mkdtemp(prefix="gcinspect-core-")
    else:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
    inner = None    # (host path, path inside the chroot) of the target's directory
    if args.chroot is None:
        truth_path = os.path.join(workdir, "truth.json")
        if os.path.exists(truth_path):
            os.unlink(truth_path)
        target = Target(args.python, args.target, truth_path, args.freeze, args.scale, workdir)
        if args.subinterpreter:
            target.argv.append("--subinterpreter")
    else:
        # The script and its truth live inside the chroot, in a directory of
        # this run's own.
        tmp_root = os.path.join(args.chroot, "tmp")
        host_dir = tempfile.mkdtemp(prefix="gcinspect-target.", dir=tmp_root)
        os.chmod(host_dir, 0o755)
        inner = (host_dir, "/tmp/" + os.path.basename(host_dir))
        shutil.copy(args.target, os.path.join(host_dir, "gc_target.py"))
        truth_path = os.path.join(host_dir, "truth.json")
        target = Target(args.python, inner[1] + "/gc_target.py", inner[1] + "/truth.json",
                        args.freeze, args.scale, workdir, chroot=args.chroot,
                        own_mount_ns=args.gcore_inside)
    status = EXIT_FAIL
    core = None
    try:
        target.start()
        target.wait_ready(READY_TIMEOUT)
        core = take_core(target.proc.pid, workdir,
                         (args.chroot, inner) if args.gcore_inside else None)
        target.release(EXIT_TIMEOUT)
        if args.chroot is not None:
            check_core_paths(core, args.chroot, args.python, args.gcore_inside)
        with open(truth_path) as f:
            truth = json.load(f)
        log("truth: python %s, generations %s (total %d), count %s, threshold %s, "
            "freeze_count %s, core %s (%.1f MB)"
            % (truth["version_full"], truth["generations"], truth["total"], truth["count"],
               truth["threshold"], truth["freeze_count"], core,
               os.path.getsize(core) / 1e6))

        extra = list(args.extra_arg)
        if args.remove_binaries:
            # As if the core had been moved to a machine that has none of the
            # interpreter's files: a copy, and an empty sysroot.
            moved_dir = os.path.join(workdir, "moved")
            empty = os.path.join(workdir, "empty-sysroot")
            os.makedirs(moved_dir, exist_ok=True)
            os.makedirs(empty, exist_ok=True)
            moved = os.path.join(moved_dir, os.path.basename(core))
            shutil.copyfile(core, moved)
            os.unlink(core)
            core = moved
            extra += ["--sysroot", empty]
        outputs = {}
        # A layout cache of the test's own: the first run reads DWARF and
        # fills it, the later ones use it, and both must print the very same
        # bytes, the layout line included (-v alone says "cached").
        cache_dir = os.path.join(workdir, "layout-cache")
        os.environ["GCINSPECT_CACHE_DIR"] = cache_dir
        shutil.rmtree(cache_dir, ignore_errors=True)
        cold_json = run_gcinspect(args.gcinspect, ["summary", "--json"] + extra + [core],
                                  "summary", raw=True)
        warm_json = run_gcinspect(args.gcinspect, ["summary", "--json"] + extra + [core],
                                  "summary (layout cache warm)", raw=True)
        cached = os.path.isdir(cache_dir) and os.listdir(cache_dir)
        if args.expect_layout == "dwarf" and not cached:
            raise Fail("the DWARF layout was not written to the cache %s" % cache_dir)
        if args.expect_layout == "table" and cached:
            raise Fail("--no-dwarf must not fill the layout cache, found %s" % cached)
        shutil.rmtree(cache_dir, ignore_errors=True)
        cold_text = run_gcinspect(args.gcinspect, ["summary"] + extra + [core],
                                  "summary, text", raw=True)
        warm_text = run_gcinspect(args.gcinspect, ["summary"] + extra + [core],
                                  "summary, text (layout cache warm)", raw=True)
        for kind, cold, warm in (("JSON", cold_json, warm_json), ("text", cold_text, warm_text)):
            if cold != warm:
                raise Fail("summary (%s) with the layout cache differs from the one "
                           "without:\n%s\n%s" % (kind, cold.decode("utf-8", "replace")[:3000],
                                                  warm.decode("utf-8", "replace")[:3000]))
        summary = json.loads(cold_json.decode("utf-8"))
        outputs["summary"] = summary
        layout_name = get(summary, ["python", "layout_name"], "")
        if "/proc/" in layout_name or "(cached)" in layout_name:
            raise Fail("the layout line names %r: it must name the file the layout came "
                       "from, not a /proc path, and say nothing of the cache" % layout_name)
        types_docs = {}
        if truth.get("incremental"):
            # gc.get_objects(generation=2) is both old lists.
            parts = []
            for name in ("old[0]", "old[1]"):
                parts.append(run_gcinspect(
                    args.gcinspect, ["types", "--json", "--generation", name] + extra + [core],
                    "types --generation " + name))
                outputs["types-" + name] = parts[-1]
                if parts[-1].get("generation") != name:
                    raise Fail("types --generation %s reports generation %r"
                               % (name, parts[-1].get("generation")))
            types_docs["2"] = merge_types_docs(parts, "2")
        else:
            for gen in ("1", "2"):
                types_docs[gen] = run_gcinspect(
                    args.gcinspect, ["types", "--json", "--generation", gen] + extra + [core],
                    "types --generation " + gen)
                outputs["types" + gen] = types_docs[gen]
        for name, doc in outputs.items():
            with open(os.path.join(workdir, name + ".json"), "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)

        ck = Checker()
        compare(truth, summary, types_docs, args.expect_layout, ck,
                names_may_be_unknown=args.remove_binaries)
        if args.compressed:
            check_compressed(args.gcinspect, core, extra, workdir, ck)
        if ck.failures:
            log("FAIL: %d of %d checks failed:" % (len(ck.failures), ck.checked))
            for f in ck.failures:
                log("  - " + f)
            status = EXIT_FAIL
        else:
            log("PASS: %d checks (python %s, layout %s)"
                % (ck.checked, truth["version_full"], get(summary, ["python", "layout"], "?")))
            status = EXIT_PASS
    except Skip as e:
        log("SKIP: %s" % e)
        status = EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        status = EXIT_FAIL
    except Exception:
        import traceback
        log("FAIL: harness error:\n" + traceback.format_exc())
        status = EXIT_FAIL
    finally:
        target.close()
        if inner is not None:
            if args.keep:
                log("kept: %s" % inner[0])
            else:
                shutil.rmtree(inner[0], ignore_errors=True)
        if args.keep:
            log("kept: %s" % workdir)
        elif made_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif core is not None:
            try:
                os.unlink(core)
            except OSError:
                pass
        if status == EXIT_FAIL and not args.keep:
            log("(rerun with --keep --workdir DIR to keep the core and outputs)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
