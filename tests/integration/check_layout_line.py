#!/usr/bin/python3
"""check_layout_line.py: the layout line names the file the layout was read
from, the same live and from a core, cold and warm.

Usage:
    check_layout_line.py --gcinspect BIN --python INTERP --expect FILE
                         [--workdir DIR] [--keep]

A process of INTERP is read live (--pid) with an empty layout cache, then
again (warm); a core of it (gcore) is read with the cache the live runs
filled, and with a fresh one.  Every run must name FILE in python.layout_name
as "DWARF of FILE": never a /proc/PID/... path (the live door into the
file, or another process's, through the cache), never "(cached)".  The core's
cold and warm reports must be the same bytes.

Exit status: 0 pass, 1 fail, 77 skip (no core or no ptrace here).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_bad_inputs  # noqa: E402  (gcore_of)

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def run(binary, args, cache):
    env = dict(os.environ, GCINSPECT_CACHE_DIR=cache)
    for k in list(env):
        if k.startswith("DEBUGINFOD_"):
            del env[k]
    argv = [binary] + args
    log("+ GCINSPECT_CACHE_DIR=%s %s" % (cache, " ".join(argv)))
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("exit %d: %s" % (p.returncode, p.stderr.decode()[-2000:]))
    return p.stdout


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--expect", required=True,
                    help="the file the layout line must name; BUILD-ID: the detached "
                         "debug file of INTERP's build-id under /usr/lib/debug")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    if args.expect == "BUILD-ID" and os.path.isfile(args.python):
        import check_debuginfod
        bid = check_debuginfod.build_id(args.python)
        args.expect = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    for path in (args.gcinspect, args.python, args.expect):
        if not os.path.isfile(path):
            log("FAIL: %s does not exist" % path)
            return EXIT_FAIL
    workdir = args.workdir or tempfile.mkdtemp(prefix="gcinspect-layout-line-")
    os.makedirs(workdir, exist_ok=True)
    want = "DWARF of %s" % args.expect
    problems = []
    proc = subprocess.Popen([args.python, "-c",
                             "import os; os.write(1, b'ready\\n'); os.read(0, 1)"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        if proc.stdout.readline() != b"ready\n":
            log("FAIL: %s did not start" % args.python)
            return EXIT_FAIL
        live_cache = os.path.join(workdir, "cache-live")
        names = []
        for what in ("live, cold", "live, warm"):
            doc = json.loads(run(args.gcinspect, ["summary", "--json", "--pid", str(proc.pid)],
                                 live_cache))
            names.append((what, doc["python"]["layout_name"]))
        try:
            core = check_bad_inputs.gcore_of(
                [args.python, "-c", "import os; os.write(1, b'ready\\n'); os.read(0, 1)"],
                workdir, "python", b"ready\n")
        except check_bad_inputs.CoreUnavailable as e:
            log("SKIP: %s" % e)
            return EXIT_SKIP
        # The core, with the cache a live run of another process filled.
        doc = json.loads(run(args.gcinspect, ["summary", "--json", core], live_cache))
        names.append(("core, cache from the live run", doc["python"]["layout_name"]))
        core_cache = os.path.join(workdir, "cache-core")
        outs = []
        for what in ("core, cold", "core, warm"):
            for fmt in ([], ["--json"]):
                outs.append(run(args.gcinspect, ["summary"] + fmt + [core], core_cache))
            names.append((what, json.loads(outs[-1])["python"]["layout_name"]))
        if outs[0] != outs[2] or outs[1] != outs[3]:
            problems.append("the core's cold and warm reports differ:\n%s\n%s"
                            % (outs[0].decode()[:1500], outs[2].decode()[:1500]))
        for what, name in names:
            log("%-32s %s" % (what, name))
            if name != want:
                problems.append("%s: the layout line says %r, expected %r" % (what, name, want))
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        if args.keep:
            log("kept: %s" % workdir)
        elif not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    for p in problems:
        log("FAIL: " + p)
    if problems:
        return EXIT_FAIL
    log("PASS")
    return EXIT_PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
