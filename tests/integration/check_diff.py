#!/usr/bin/python3
"""check_diff.py: gcinspect diff against what a process measured in itself.

Two scenarios with tests/targets/leak_target.py:
  leak: one process, a core at moment A, then it leaks N instances of class
        Leak (each with a list and a dict), collects, and a core at B;
        diff A B must show, for generation 2, exactly the objects per type
        the process counted in itself at A and at B (so the difference is the
        change it measured), Leak +N.
  fork: a pre-fork master and a worker that leaked N after the fork: the
        master's core against the worker read live (--pid), the same checks.
Also: `objects` gives the marker object the reference count the target
counted, and every Leak the size sys.getsizeof says.

Usage: check_diff.py --gcinspect BIN --python INTERP [--scenario leak|fork|both]
                     [--leak N] [--workdir DIR] [--keep]
Exit status: 0 pass, 1 fail, 77 skip (no gcore, or ptrace not allowed).
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
sys.path.insert(0, os.path.dirname(HERE))
import gcitest  # noqa: E402
from gcitest import Checker, Fail, Skip, log, take_core  # noqa: E402

TARGET = os.path.join(os.path.dirname(HERE), "targets", "leak_target.py")
TIMEOUT = 120


class LeakTarget(object):
    # leak_target.py --evil-names: the names of its hostile classes
    EVIL_NAMES = ["<script>alert(1)</script>",
                  "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
                  "</script><script>document.title='pwned'</script>",
                  "a&b \"quoted\" 'single'"]

    def __init__(self, python, truth, leak, fork, extra=()):
        self.argv = [python, TARGET, "--truth", truth, "--leak", str(leak)] + list(extra)
        if fork:
            self.argv.append("--fork")
        self.proc = None
        self.worker = None

    @property
    def pid(self):
        """The master's pid (gcitest.take_core takes its core)."""
        return self.proc.pid

    def start(self):
        log("+ " + gcitest.shell_join(self.argv))
        env = dict(os.environ)
        for k in ("PYTHONSTARTUP", "PYTHONMALLOC", "PYTHONDEVMODE", "PYTHONTRACEMALLOC"):
            env.pop(k, None)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, close_fds=True)

    def wait_line(self, prefix):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + TIMEOUT
        got = b""
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("target not ready after %d s (got %r)" % (TIMEOUT, got))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            c = os.read(fd, 1)
            if not c:
                raise Fail("target exited with status %s before %r"
                           % (self.proc.wait(), prefix))
            got += c
        line = got.decode().strip()
        if not line.startswith(prefix):
            raise Fail("target said %r, expected %r" % (line, prefix))
        return line[len(prefix):].strip()

    def send(self):
        self.proc.stdin.write(b"g")
        self.proc.stdin.flush()

    def finish(self):
        self.send()
        self.proc.stdin.close()
        rc = self.proc.wait(TIMEOUT)
        if rc != 0:
            raise Fail("target exited with status %d" % rc)

    def kill(self):
        for pid in (self.worker, self.proc and self.proc.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc and self.proc.poll() is None:
            self.proc.wait(10)


def gci(binary, args, what, json_out=True):
    argv = [binary] + args
    log("+ " + gcitest.shell_join(argv))
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Fail("%s: gcinspect exited with status %d\n%s" % (what, p.returncode, err))
    out = p.stdout.decode("utf-8")
    if not json_out:
        return out
    return json.loads(out)


def expected_by_name(truth_types, names):
    """Truth {type address: objects} as {gcinspect name: objects}."""
    out = {}
    for addr, n in truth_types.items():
        key = "0x%x" % int(addr, 16)
        if key not in names:
            raise Fail("the target counted type %s (%d objects) in generation 2, which "
                       "gcinspect does not list" % (key, n))
        out[names[key]] = out.get(names[key], 0) + n
    return out


def check(ck, label, truth, diff, diff_text, types_a, types_b, objects_b, leak_n):
    names = {}
    for doc in (types_a, types_b):
        for e in doc["types"]:
            names["0x%x" % int(e["address"], 16)] = e["name"]
    want_a = expected_by_name(truth["a"]["types2"], names)
    want_b = expected_by_name(truth["b"]["types2"], names)
    rows = dict((r["name"], r) for r in diff["types"])
    ck.eq("%s: generation" % label, diff.get("generation"), "2")
    for name in sorted(set(want_a) | set(want_b) | set(rows)):
        r = rows.get(name)
        if not ck.true("%s: type %r has a row" % (label, name), r is not None):
            continue
        ck.eq("%s: %s objects_a" % (label, name), r["objects_a"], want_a.get(name, 0))
        ck.eq("%s: %s objects_b" % (label, name), r["objects_b"], want_b.get(name, 0))
        ck.eq("%s: %s objects_delta = the change the target measured" % (label, name),
              r["objects_delta"], want_b.get(name, 0) - want_a.get(name, 0))
        ck.eq("%s: %s deltas are B - A" % (label, name),
              (r["objects_delta"], r["bytes_delta"]),
              (r["objects_b"] - r["objects_a"], r["bytes_b"] - r["bytes_a"]))
    leak_name = names.get("0x%x" % int(truth["leak_type"], 16))
    if ck.true("%s: class Leak is named" % label, leak_name is not None):
        r = rows.get(leak_name, {})
        ck.eq("%s: Leak objects_delta" % label, r.get("objects_delta"), leak_n)
        ck.eq("%s: Leak bytes_delta = N x sys.getsizeof" % label, r.get("bytes_delta"),
              leak_n * truth["leak_sizeof"])
        ck.true("%s: Leak in the text diff" % label, leak_name in diff_text)
    deltas = [r["bytes_delta"] for r in diff["types"]]
    ck.true("%s: types sorted by growth" % label, deltas == sorted(deltas, reverse=True))
    gens = dict((g["name"], g) for g in diff["generations"])
    ck.eq("%s: generation 2 objects_a" % label, gens["2"]["objects_a"],
          truth["a"]["generations"][2])
    ck.eq("%s: generation 2 objects_b" % label, gens["2"]["objects_b"],
          truth["b"]["generations"][2])
    tot = diff["total"]
    ck.eq("%s: total objects_a" % label, tot["objects_a"],
          sum(g["objects_a"] for g in diff["generations"]))
    # The same type sums as `types`, per side.
    for side, doc in (("a", types_a), ("b", types_b)):
        by_name = {}
        for e in doc["types"]:
            o, b = by_name.get(e["name"], (0, 0))
            by_name[e["name"]] = (o + e["objects"], b + e["bytes"])
        got = dict((r["name"], (r["objects_" + side], r["bytes_" + side]))
                   for r in diff["types"] if r["objects_" + side])
        ck.eq("%s: diff side %s equals types -g 2" % (label, side), got, by_name)
    # objects in B: every Leak of sys.getsizeof bytes, and the marker's refcount.
    leaks = [o for o in objects_b
             if int(o["type_address"], 16) == int(truth["leak_type"], 16)]
    ck.eq("%s: objects --type Leak in B" % label, len(leaks), want_b.get(leak_name, 0))
    ck.true("%s: every Leak is sys.getsizeof bytes" % label,
            all(o["size"] == truth["leak_sizeof"] for o in leaks),
            repr(set(o["size"] for o in leaks)))
    marker = [o for o in objects_b
              if int(o["address"], 16) == int(truth["marker"]["address"], 16)]
    if ck.true("%s: the marker is listed once" % label, len(marker) == 1, repr(marker)):
        ck.eq("%s: marker refcount" % label, marker[0]["refcount"],
              truth["marker"]["refcount"])


def scenario(args, workdir, fork):
    label = "fork" if fork else "leak"
    truth_path = os.path.join(workdir, label + "-truth.json")
    t = LeakTarget(args.python, truth_path, args.leak, fork)
    ck = Checker()
    try:
        t.start()
        if not fork:
            t.wait_line("ready a")
            core_a = take_core(t, workdir)
            os.rename(core_a, os.path.join(workdir, "core.a"))
            core_a = os.path.join(workdir, "core.a")
            t.send()
            t.wait_line("ready b")
            b_args = [take_core(t, workdir)]
        else:
            t.worker = int(t.wait_line("ready"))
            core_a = take_core(t, workdir)
            b_args = ["--pid", str(t.worker)]
        diff = gci(args.gcinspect, ["diff", "--json", "-g", "2", core_a] + b_args, "diff")
        text = gci(args.gcinspect, ["diff", "--limit", "0", "-g", "2", core_a] + b_args,
                   "diff (text)", json_out=False)
        types_a = gci(args.gcinspect, ["types", "--json", "-g", "2", core_a], "types A")
        types_b = gci(args.gcinspect, ["types", "--json", "-g", "2"] + b_args, "types B")
        objects_b = gcitest.ndjson(gci(args.gcinspect, ["objects", "--json", "-g", "2"] + b_args,
                                       "objects B", json_out=False), "objects B")
        t.finish()
        with open(truth_path) as f:
            truth = json.load(f)
        log("%s: truth: generation 2 %d -> %d objects, leak %d, Leak is %d bytes"
            % (label, truth["a"]["generations"][2], truth["b"]["generations"][2],
               truth["leak"], truth["leak_sizeof"]))
        check(ck, label, truth, diff, text, types_a, types_b, objects_b, args.leak)
        ck.eq("%s: B is the worker" % label, diff["b"]["target"]["pid"],
              truth["worker_pid"] if fork else truth["pid"])
    finally:
        t.kill()
    return ck


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--scenario", choices=("leak", "fork", "both"), default="both")
    ap.add_argument("--leak", type=int, default=1000)
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    for path in (args.gcinspect, args.python):
        if not os.path.isfile(path):
            log("FAIL: %s does not exist" % path)
            return 1
    if shutil.which("gcore") is None:
        log("SKIP: gcore is not installed (Debian package gdb)")
        return 77
    why = gcitest.ptrace_blocker()
    if why:
        log("SKIP: " + why)
        return 77
    workdir = args.workdir or tempfile.mkdtemp(prefix="gcinspect-diff-")
    os.makedirs(workdir, exist_ok=True)
    os.environ["GCINSPECT_CACHE_DIR"] = os.path.join(workdir, "layout-cache")
    status = 1
    try:
        failures, checked = [], 0
        for fork in ((False, True) if args.scenario == "both" else
                     ((args.scenario == "fork"),)):
            ck = scenario(args, workdir, fork)
            failures += ck.failures
            checked += ck.checked
        if failures:
            log("FAIL: %d of %d checks failed:" % (len(failures), checked))
            for f in failures[:60]:
                log("  - " + f)
        else:
            log("PASS: %d checks" % checked)
            status = 0
    except Skip as e:
        log("SKIP: %s" % e)
        status = 77
    except Fail as e:
        log("FAIL: %s" % e)
    finally:
        if args.keep:
            log("kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
