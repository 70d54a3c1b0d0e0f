#!/usr/bin/python3
"""check_gdb.py: the gdb plugin on real targets, against the gcinspect CLI.

Usage:
    check_gdb.py MODE --gdb GDB --gcinspect BIN --plugin PLUGIN
                 [--python INTERP] [--target gc_target.py] [--keep]

MODE:
  core     a core of gc_target.py under INTERP (taken with gcore): gdb's
           `gc-gens --json`, `gc-types --json` and `gc-types 2 --json` must
           equal `gcinspect summary|types [-g 2] --json CORE` as JSON, and
           `gc-objects GEN --limit 0 --json` must list each list's objects,
           bytes and per-type counts exactly as the summary and types say;
           `gc-touch [1] --json` must equal `gcinspect touch [-g 1] --json`
           (when the CLI has the touch report).
  live     gc_target.py under INTERP, attached with `gdb -batch -p PID`:
           `gc-gens --json` and `gc-types --json` must equal
           `gcinspect --pid PID --no-stop --json` (taken after gdb detached,
           with the target still blocked where it was), and the target must
           run on after gdb detaches, then exit 0 when released.
  errors   on a core: `help gc-gens` (and the other commands) work, user
           errors (`gc-types 7`, `gc-objects`, `gc-gens --bogus`,
           `gc-types --limit x`) are one gdb error line with the CLI's
           message, never a Python traceback; without a target, a clear
           error too.
  install  `cmake --install` into a temporary prefix (--cmake, --build-dir):
           the installed `gcinspect gdb-script` names the installed plugin,
           the build tree's names the build tree's (--plugin), and the
           installed plugin, sourced, loads the installed library and gives
           the CLI's `summary --json` on a core.

Nothing is excluded from the comparisons: the gdb plugin hands the library
the same process information as the CLI finds (target.path is the core's
absolute path, as gdb knows it, so the CLI is given the absolute path too).
Both sides share one private layout cache, warmed first, so that
python.layout_name says "(cached)" on both.

Exit status: 0 pass, 1 fail, 77 skip (only when gdb cannot run Python at
all, or this machine cannot attach to a process).
"""

import argparse
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TARGET = os.path.join(os.path.dirname(HERE), "targets", "gc_target.py")
EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
TIMEOUT = 180


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def log(msg):
    sys.stderr.write("check_gdb: %s\n" % msg)
    sys.stderr.flush()


def run(argv, env=None, timeout=TIMEOUT, check=True):
    log("$ " + " ".join(argv))
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise Fail("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (argv[0], p.returncode,
                                                              out[-3000:], err[-3000:]))
    return p.returncode, out, err


def check_gdb_usable(gdb):
    if not gdb or not shutil.which(gdb):
        raise Skip("no gdb")
    try:
        rc, out, _ = run([gdb, "-batch", "-nx", "-ex", "python print('gdb-python-ok')"],
                         check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Skip("gdb does not run: %s" % e)
    if "gdb-python-ok" not in out:
        raise Skip("this gdb has no Python")


class Target:
    """gc_target.py, blocked at its "ready" until released."""

    def __init__(self, python, script, workdir):
        self.truth = os.path.join(workdir, "truth.json")
        self.proc = subprocess.Popen([python, script, "--truth", self.truth],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        deadline = time.time() + 120
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.time()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.kill()
                raise Fail("the target never said ready")
            c = os.read(self.proc.stdout.fileno(), 1)
            if not c:
                self.kill()
                raise Fail("the target exited before ready (status %s)" % self.proc.wait())
            line += c
        if line != b"ready\n":
            self.kill()
            raise Fail("the target said %r, not ready" % line)
        self.pid = self.proc.pid

    def state(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split(None, 1)[1].strip()
        return "?"

    def tracer(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
        return -1

    def release(self):
        self.proc.stdin.write(b"x")
        self.proc.stdin.close()
        status = self.proc.wait(timeout=60)
        if status != 0:
            raise Fail("the target exited %d after its release" % status)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def take_core(pid, workdir):
    prefix = os.path.join(workdir, "core")
    rc, out, err = run(["gcore", "-o", prefix, str(pid)], check=False)
    path = "%s.%d" % (prefix, pid)
    if rc != 0 or not os.path.exists(path):
        if "ptrace" in err.lower() or "not permitted" in err.lower():
            raise Skip("gcore cannot attach: %s" % err.strip()[-300:])
        raise Fail("gcore failed (%d): %s" % (rc, err[-2000:]))
    return path


BEGIN, END = "@@gcinspect-begin@@", "@@gcinspect-end@@"


def gdb_commands(gdb, plugin, target_args, commands, env):
    """Run commands in `gdb -batch -nx`; each one's stdout, and gdb's stderr."""
    argv = [gdb, "-batch", "-nx", "-iex", "set pagination off",
            "-ex", "source " + plugin]
    for c in commands:
        argv += ["-ex", "echo %s\\n" % BEGIN, "-ex", c, "-ex", "echo %s\\n" % END]
    argv += target_args
    rc, out, err = run(argv, env=env, check=False)
    if "Traceback" in out or "Traceback" in err:
        raise Fail("a Python traceback in gdb's output:\n%s\n%s" % (out[-3000:], err[-3000:]))
    parts = re.findall(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END) + r"\n", out, re.S)
    if len(parts) != len(commands):
        raise Fail("gdb printed %d of %d command outputs (status %d)\nstdout:\n%s\n"
                   "stderr:\n%s" % (len(parts), len(commands), rc, out[-3000:], err[-3000:]))
    return parts, err


def parse_json(text, what):
    try:
        return json.loads(text)
    except ValueError as e:
        raise Fail("%s is not JSON (%s):\n%s" % (what, e, text[:2000]))


def diff(a, b, path="$"):
    """The first places where two JSON values differ."""
    if type(a) != type(b):
        return ["%s: %r != %r" % (path, a, b)]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s.%s: only on one side" % (path, k))
            else:
                out += diff(a[k], b[k], "%s.%s" % (path, k))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: %d items != %d" % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def expect_equal(gdb_doc, cli_doc, what):
    d = diff(gdb_doc, cli_doc)
    if d:
        raise Fail("%s: gdb and the CLI differ:\n  %s" % (what, "\n  ".join(d[:20])))
    log("%s: equal" % what)


def check_objects(objs, summary, types_by_gen, gen):
    """gc-objects GEN --limit 0 --json against the summary and the types."""
    lists = {g["name"]: g for g in summary["gc"]["generations"]}
    if summary["gc"]["permanent"]:
        lists["permanent"] = summary["gc"]["permanent"]
    want = lists[gen]
    got = objs["objects"]
    if objs["matched"] != want["objects"] or len(got) != want["objects"] or objs["truncated"]:
        raise Fail("gc-objects %s: %d objects listed (matched %d), the summary says %d"
                   % (gen, len(got), objs["matched"], want["objects"]))
    if sum(o["size"] for o in got) != want["bytes"]:
        raise Fail("gc-objects %s: sizes total %d, the summary says %d bytes"
                   % (gen, sum(o["size"] for o in got), want["bytes"]))
    counts = {}
    for o in got:
        counts[o["type_address"]] = counts.get(o["type_address"], 0) + 1
        if not isinstance(o["refcount"], int) or o["refcount"] < 1:
            raise Fail("gc-objects %s: object %s has refcount %r" % (gen, o["address"],
                                                                   o["refcount"]))
    hist = {t["address"]: t["objects"] for t in types_by_gen["types"]}
    if counts != hist:
        raise Fail("gc-objects %s: per-type counts differ from types -g %s" % (gen, gen))
    if len(set(o["address"] for o in got)) != len(got):
        raise Fail("gc-objects %s: an address is listed twice" % gen)
    log("gc-objects %s: %d objects, %d bytes, %d types: as the summary and types say"
        % (gen, len(got), want["bytes"], len(hist)))


def mode_core(args, workdir, env):
    target = Target(args.python, args.target, workdir)
    try:
        core = os.path.realpath(take_core(target.pid, workdir))
        target.release()
    finally:
        target.kill()
    cli = args.gcinspect
    run([cli, "--json", core], env=env)  # warms the layout cache
    summary = parse_json(run([cli, "summary", "--json", core], env=env)[1], "CLI summary")
    types = parse_json(run([cli, "types", "--json", core], env=env)[1], "CLI types")
    gens = ["0", "1", "2"] + (["permanent"] if summary["gc"]["permanent"] else [])
    types_g = {g: parse_json(run([cli, "types", "-g", g, "--json", core], env=env)[1],
                             "CLI types -g " + g) for g in gens}
    commands = ["gc-gens --json", "gc-types --json", "gc-types 2 --json", "gc-gens",
                "gc-types --limit 5"]
    commands += ["gc-objects %s --limit 0 --json" % g for g in gens]
    commands += ["gc-objects 2 --type list --limit 3 --json", "gc-objects 1 --limit 4",
                 "gc-touch --json", "gc-touch 1 --json"]
    parts, err = gdb_commands(args.gdb, args.plugin, [args.python, core], commands, env)
    # The touch report: where the CLI has it, gc-touch must say the same.
    rc, touch, terr = run([cli, "touch", "--json", core], env=env, check=False)
    if rc == 0:
        expect_equal(parse_json(parts[7 + len(gens)], "gc-touch --json"),
                     parse_json(touch, "CLI touch"), "gc-touch --json")
        touch1 = run([cli, "touch", "-g", "1", "--json", core], env=env)[1]
        expect_equal(parse_json(parts[8 + len(gens)], "gc-touch 1 --json"),
                     parse_json(touch1, "CLI touch -g 1"), "gc-touch 1 --json")
    else:
        log("this gcinspect has no touch report (%s): gc-touch not compared" % terr.strip())
    expect_equal(parse_json(parts[0], "gc-gens --json"), summary, "gc-gens --json")
    expect_equal(parse_json(parts[1], "gc-types --json"), types, "gc-types --json")
    expect_equal(parse_json(parts[2], "gc-types 2 --json"), types_g["2"], "gc-types 2 --json")
    text = run([cli, "summary", core], env=env)[1]
    if parts[3] != text:
        raise Fail("gc-gens text differs from the CLI's:\n%s\n---\n%s" % (parts[3], text))
    text = run([cli, "types", "--limit", "5", core], env=env)[1]
    if parts[4] != text:
        raise Fail("gc-types --limit 5 text differs from the CLI's:\n%s\n---\n%s"
                   % (parts[4], text))
    log("gc-gens and gc-types text: equal to the CLI's")
    for i, g in enumerate(gens):
        objs = parse_json(parts[5 + i], "gc-objects %s --json" % g)
        for key in ("schema", "target", "python", "warnings", "integrity"):
            expect_equal(objs[key], summary[key], "gc-objects %s --json: %s" % (g, key))
        check_objects(objs, summary, types_g[g], g)
    few = parse_json(parts[5 + len(gens)], "gc-objects --type")
    lists = sum(t["objects"] for t in types_g["2"]["types"] if t["name"] == "list")
    if (few["matched"] != lists or len(few["objects"]) != min(3, lists)
            or any(o["type"] != "list" for o in few["objects"])
            or few["truncated"] != (lists > 3)):
        raise Fail("gc-objects 2 --type list --limit 3: %r" % few)
    last = parts[6 + len(gens)]
    if not re.search(r"^generation 1: [\d,]+ objects", last) or len(last.splitlines()) != 6:
        raise Fail("gc-objects 1 --limit 4 text:\n%s" % last)
    log("core of %s: pass" % args.python)


def mode_live(args, workdir, env):
    target = Target(args.python, args.target, workdir)
    try:
        # warm the layout cache, without stopping the target
        run([args.gcinspect, "--pid", str(target.pid), "--no-stop", "--json"], env=env)
        parts, err = gdb_commands(args.gdb, args.plugin, ["-p", str(target.pid)],
                                  ["gc-gens --json", "gc-types --json", "detach"], env)
        if target.proc.poll() is not None:
            raise Fail("the target died under gdb (status %s)" % target.proc.returncode)
        deadline = time.time() + 10
        while target.tracer() != 0 and time.time() < deadline:
            time.sleep(0.05)
        state = target.state()
        if target.tracer() != 0 or state.startswith(("t", "T")):
            raise Fail("after gdb: the target is %s, traced by %d" % (state, target.tracer()))
        log("after gdb detached, the target is %s, not traced" % state)
        cli = [args.gcinspect, "--pid", str(target.pid), "--no-stop", "--json"]
        summary = parse_json(run(cli, env=env)[1], "CLI summary --pid")
        types = parse_json(run([args.gcinspect, "types"] + cli[1:], env=env)[1],
                           "CLI types --pid")
        gens = parse_json(parts[0], "gc-gens --json")
        if gens["target"]["kind"] != "live" or gens["target"]["pid"] != target.pid:
            raise Fail("gc-gens --json target: %r" % gens["target"])
        gdb_types = parse_json(parts[1], "gc-types --json")
        # Two reads of a live target are two snapshots: their times differ.
        for doc in (gens, summary, gdb_types, types):
            if doc["snapshot"]["time_source"] != "walk" or not doc["snapshot"]["time"]:
                raise Fail("live snapshot time: %r" % doc["snapshot"])
            del doc["snapshot"]
        expect_equal(gens, summary, "live gc-gens --json")
        expect_equal(gdb_types, types, "live gc-types --json")
        target.release()
        log("the target ran on and exited 0 when released")
    finally:
        target.kill()
    log("live %s: pass" % args.python)


def expect_error(parts, err, index, command, message):
    if parts[index].strip():
        raise Fail("%s printed %r, not only an error" % (command, parts[index]))
    if message not in err:
        raise Fail("%s: no error %r in gdb's stderr:\n%s" % (command, message, err))
    log("%s: error %r" % (command, message))


def mode_errors(args, workdir, env):
    target = Target(args.python, args.target, workdir)
    try:
        core = os.path.realpath(take_core(target.pid, workdir))
        target.release()
    finally:
        target.kill()
    commands = ["help gc-gens", "help gc-types", "help gc-objects", "help gc-touch",
                "gc-types 7", "gc-objects", "gc-gens --bogus", "gc-types --limit x",
                "gc-objects 9", "gc-types 1 2"]
    parts, err = gdb_commands(args.gdb, args.plugin, [args.python, core], commands, env)
    for i, name in enumerate(["gc-gens", "gc-types", "gc-objects", "gc-touch"]):
        if "Usage: %s" % name not in parts[i]:
            raise Fail("help %s:\n%s" % (name, parts[i]))
    log("help: every command has its usage")
    # The CLI's own message for the same mistake
    rc, _, cli_err = run([args.gcinspect, "types", "-g", "7", core], env=env, check=False)
    cli_msg = cli_err.strip().replace("gcinspect: ", "", 1)
    if rc != 64 or not cli_msg:
        raise Fail("gcinspect types -g 7: status %d, %r" % (rc, cli_err))
    expect_error(parts, err, 4, "gc-types 7", cli_msg)
    expect_error(parts, err, 5, "gc-objects", "gc-objects needs a generation")
    expect_error(parts, err, 6, "gc-gens --bogus", "unknown option '--bogus'")
    expect_error(parts, err, 7, "gc-types --limit x", "--limit takes a count, not 'x'")
    expect_error(parts, err, 8, "gc-objects 9", 'no generation "9" in CPython')
    expect_error(parts, err, 9, "gc-types 1 2", "unexpected argument '2'")
    parts, err = gdb_commands(args.gdb, args.plugin, [], ["gc-gens"], env)
    expect_error(parts, err, 0, "gc-gens without a target", "no process and no core file")


def mode_install(args, workdir, env):
    prefix = os.path.join(workdir, "prefix")
    run([args.cmake, "--install", args.build_dir, "--prefix", prefix])
    installed = os.path.join(prefix, "share", "gcinspect", "gdb", "gcinspect_gdb.py")
    for f in (installed, os.path.join(os.path.dirname(installed), "gcinspect.gdbinit")):
        if not os.path.isfile(f):
            raise Fail("not installed: %s" % f)
    out = run([os.path.join(prefix, "bin", "gcinspect"), "gdb-script"])[1].strip()
    if out != installed:
        raise Fail("installed gcinspect gdb-script says %r, not %r" % (out, installed))
    out = run([args.gcinspect, "gdb-script"])[1].strip()
    if out != os.path.realpath(args.plugin):
        raise Fail("build tree's gcinspect gdb-script says %r, not %r" % (out, args.plugin))
    log("gdb-script: the installed and the build tree's plugin")
    target = Target(args.python, args.target, workdir)
    try:
        core = os.path.realpath(take_core(target.pid, workdir))
        target.release()
    finally:
        target.kill()
    cli = os.path.join(prefix, "bin", "gcinspect")
    run([cli, "--json", core], env=env)
    summary = parse_json(run([cli, "--json", core], env=env)[1], "CLI summary")
    parts, err = gdb_commands(args.gdb, installed, [args.python, core],
                              ["python print(library_path())", "gc-gens --json"], env)
    lib = os.path.realpath(parts[0].strip())
    if not lib.startswith(os.path.realpath(prefix) + "/"):
        raise Fail("the installed plugin loads %s, not the installed library" % lib)
    log("the installed plugin loads %s" % lib)
    expect_equal(parse_json(parts[1], "gc-gens --json"), summary, "installed gc-gens --json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["core", "live", "errors", "install"])
    ap.add_argument("--gdb", default="gdb")
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--target", default=DEFAULT_TARGET)
    ap.add_argument("--cmake", default="cmake")
    ap.add_argument("--build-dir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="gci-gdb-")
    env = dict(os.environ, GCINSPECT_CACHE_DIR=os.path.join(workdir, "cache"))
    env.pop("GCINSPECT_LIBRARY", None)
    try:
        check_gdb_usable(args.gdb)
        {"core": mode_core, "live": mode_live, "errors": mode_errors,
         "install": mode_install}[args.mode](args, workdir, env)
    except Skip as e:
        log("SKIP: %s" % e)
        return EXIT_SKIP
    except (Fail, subprocess.TimeoutExpired) as e:
        log("FAIL: %s" % e)
        return EXIT_FAIL
    finally:
        if args.keep:
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log("PASS")
    return EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
