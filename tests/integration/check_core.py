#!/usr/bin/python3
"""check_core.py: end-to-end test of gcinspect against a real core.

Starts tests/targets/gc_target.py under a given interpreter, takes a core of
it with gcore while it waits, lets it write its truth, runs gcinspect on the
core and compares what gcinspect reports with the truth, exactly.

Usage:
    check_core.py --gcinspect BIN --python INTERP [--freeze] [--scale N]
                  [--extra-arg ARG ...] [--expect-layout dwarf|table]
                  [--workdir DIR] [--keep] [--target FILE]

Exit status: 0 pass, 1 fail, 77 skip (only when this machine cannot take a
core: gcore missing, or ptrace not allowed).
"""

import argparse
import json
import os
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
    def __init__(self, python, script, truth, freeze, scale, workdir):
        self.argv = [python, script, "--truth", truth]
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


def take_core(pid, workdir):
    gcore = shutil.which("gcore")
    if gcore is None:
        raise Skip("gcore is not installed")
    prefix = os.path.join(workdir, "core")
    argv = [gcore, "-o", prefix, str(pid)]
    log("+ " + shell_join(argv))
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=GCORE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("gcore did not finish within %d s" % GCORE_TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    core = "%s.%d" % (prefix, pid)
    if p.returncode != 0 or not os.path.isfile(core):
        for m in PTRACE_REFUSED_MARKERS:
            if m in out:
                raise Skip("gcore cannot attach (%s):\n%s" % (m, out.strip()))
        raise Fail("gcore failed with status %d:\n%s" % (p.returncode, out.strip()))
    return core


# ---------------------------------------------------------------------------
# gcinspect.

def run_gcinspect(binary, args, what):
    argv = [binary] + args
    log("+ " + shell_join(argv))
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
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


def compare(truth, summary, types_docs, expect_layout, ck):
    ck.eq("summary.schema", summary.get("schema"), "gcinspect/1")
    py = get(summary, ["python"])
    ck.eq("python.version", py.get("version"), truth["version"])
    ck.eq("python.debug_build", py.get("debug_build"), truth["debug_build"])
    if expect_layout is not None:
        ck.eq("python.layout", py.get("layout"), expect_layout)

    gcs = get(summary, ["gc"])
    ck.eq("gc.enabled", gcs.get("enabled"), truth["enabled"])
    ck.eq("gc.collecting", gcs.get("collecting"), False)

    gens = get(summary, ["gc", "generations"])
    if not ck.true("gc.generations is a list of 3", isinstance(gens, list) and len(gens) == 3,
                   repr(gens)[:200]):
        return
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
    for gen in ("1", "2"):
        doc = types_docs[gen]
        ck.eq("types %s schema" % gen, doc.get("schema"), "gcinspect/1")
        ck.eq("types %s generation" % gen, doc.get("generation"), gen)
        entries = doc.get("types")
        if not ck.true("types %s: list of types" % gen, isinstance(entries, list)):
            continue
        hist = {}
        tbytes = 0
        for e in entries:
            name = e.get("name")
            hist[name] = hist.get(name, 0) + e.get("objects", 0)
            tbytes += e.get("bytes", 0)
            addr = e.get("address")
            ck.true("types %s: %r has a hex address" % (gen, name),
                    isinstance(addr, str) and addr.startswith("0x"), repr(addr))
        g = gens[int(gen)]
        ck.eq("types %s: sum of objects vs summary generation %s" % (gen, gen),
              sum(hist.values()), g.get("objects"))
        if tbytes != g.get("bytes"):
            log("note: types %s: sum of bytes %d != summary generation bytes %r"
                % (gen, tbytes, g.get("bytes")))
        if truth["types"]:
            want = truth["types"][gen]
            ck.checked += 1
            if hist != want:
                ck.failures.append("type histogram of generation %s differs (%d names in "
                                   "gcinspect, %d in truth):\n%s"
                                   % (gen, len(hist), len(want), histogram_diff(hist, want)))


# ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True, help="the gcinspect binary")
    ap.add_argument("--python", required=True, help="interpreter to run the target with")
    ap.add_argument("--freeze", action="store_true", help="target calls gc.freeze()")
    ap.add_argument("--scale", type=float, default=None, help="target heap scale")
    ap.add_argument("--extra-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for every gcinspect run (repeatable)")
    ap.add_argument("--expect-layout", choices=("dwarf", "table"), default=None)
    ap.add_argument("--workdir", default=None, help="directory for the core and outputs")
    ap.add_argument("--keep", action="store_true", help="keep the core and outputs")
    ap.add_argument("--target", default=DEFAULT_TARGET, help="the target script")
    return ap.parse_args(argv)


def on_term(signum, frame):
    raise Fail("harness got signal %d" % signum)


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    for path, what in ((args.gcinspect, "gcinspect binary"), (args.python, "interpreter"),
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
    truth_path = os.path.join(workdir, "truth.json")
    if os.path.exists(truth_path):
        os.unlink(truth_path)

    target = Target(args.python, args.target, truth_path, args.freeze, args.scale, workdir)
    status = EXIT_FAIL
    core = None
    try:
        target.start()
        target.wait_ready(READY_TIMEOUT)
        core = take_core(target.proc.pid, workdir)
        target.release(EXIT_TIMEOUT)
        with open(truth_path) as f:
            truth = json.load(f)
        log("truth: python %s, generations %s (total %d), count %s, threshold %s, "
            "freeze_count %s, core %s (%.1f MB)"
            % (truth["version_full"], truth["generations"], truth["total"], truth["count"],
               truth["threshold"], truth["freeze_count"], core,
               os.path.getsize(core) / 1e6))

        extra = list(args.extra_arg)
        outputs = {}
        # A layout cache of the test's own: the first run reads DWARF and
        # fills it, the later ones use it, and both must give one answer.
        cache_dir = os.path.join(workdir, "layout-cache")
        os.environ["GCINSPECT_CACHE_DIR"] = cache_dir
        summary = run_gcinspect(args.gcinspect, ["summary", "--json"] + extra + [core], "summary")
        outputs["summary"] = summary
        warm = run_gcinspect(args.gcinspect, ["summary", "--json"] + extra + [core],
                             "summary (layout cache warm)")
        cached = os.path.isdir(cache_dir) and os.listdir(cache_dir)
        if args.expect_layout == "dwarf" and not cached:
            raise Fail("the DWARF layout was not written to the cache %s" % cache_dir)
        if args.expect_layout == "table" and cached:
            raise Fail("--no-dwarf must not fill the layout cache, found %s" % cached)
        for doc in (summary, warm):
            doc.get("python", {}).pop("layout_name", None)
        if warm != summary:
            raise Fail("summary with the layout cache differs from the one without:\n%s\n%s"
                       % (json.dumps(summary, sort_keys=True)[:3000],
                          json.dumps(warm, sort_keys=True)[:3000]))
        types_docs = {}
        for gen in ("1", "2"):
            types_docs[gen] = run_gcinspect(
                args.gcinspect, ["types", "--json", "--generation", gen] + extra + [core],
                "types --generation " + gen)
            outputs["types" + gen] = types_docs[gen]
        for name, doc in outputs.items():
            with open(os.path.join(workdir, name + ".json"), "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)

        ck = Checker()
        compare(truth, summary, types_docs, args.expect_layout, ck)
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
