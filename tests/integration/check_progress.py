#!/usr/bin/python3
"""check_progress.py: progress on a terminal, and only there.

A core of tests/targets/gc_target.py --scale 12 (about 190 000 GC objects:
progress calls of the library every 65 536 objects) is read with
stderr on a pseudo-terminal (python's pty module) and
GCINSPECT_PROGRESS_AFTER=0 (progress from the start instead of after one
second, so that the test does not depend on how fast this machine is):
  - stderr shows "walked N objects..." (redrawn with \\r at most every 0.1 s:
    the first call is always shown), and the line is cleared at the end;
  - stdout (a pipe) is exactly the output without a terminal: valid JSON
    or NDJSON, no progress in it;
  - with stderr not a terminal, stderr stays empty.

Usage: check_progress.py --gcinspect BIN --python INTERP [--workdir DIR] [--keep]
Exit status: 0 pass, 1 fail, 77 skip (no gcore, or ptrace not allowed).
"""

import argparse
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gcitest  # noqa: E402
from gcitest import Checker, Fail, Skip, Target, log, take_core  # noqa: E402


def run_pty(argv, env):
    """(stdout bytes, stderr bytes as the terminal got them, status)."""
    master, slave = pty.openpty()
    log("+ (stderr on a terminal) " + gcitest.shell_join(argv))
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out, err = [], []
    fds = [p.stdout.fileno(), master]
    deadline = time.monotonic() + 120
    while fds and time.monotonic() < deadline:
        r, _, _ = select.select(fds, [], [], 1)
        for fd in r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:     # EIO: the terminal's other end is closed
                chunk = b""
            if not chunk:
                fds.remove(fd)
            else:
                (out if fd == p.stdout.fileno() else err).append(chunk)
    os.close(master)
    if fds:
        p.kill()
        raise Fail("%s did not finish within 120 s" % argv)
    return b"".join(out), b"".join(err), p.wait()


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", required=True)
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
    workdir = args.workdir or tempfile.mkdtemp(prefix="gcinspect-progress-")
    os.makedirs(workdir, exist_ok=True)
    env = dict(os.environ, GCINSPECT_CACHE_DIR=os.path.join(workdir, "layout-cache"),
               GCINSPECT_PROGRESS_AFTER="0")
    target = Target(args.python, workdir, scale=12)
    ck = Checker()
    status = 1
    try:
        target.start()
        core = take_core(target, workdir)
        target.release()
        for verb in (["objects", "--json"], ["summary", "--json"], ["types"]):
            cmd = [args.gcinspect] + verb + [core]
            plain = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, timeout=120)
            out, err, rc = run_pty(cmd, env)
            what = " ".join(verb)
            ck.eq("%s: status" % what, (rc, plain.returncode), (0, 0))
            ck.eq("%s: no progress without a terminal" % what, plain.stderr, b"")
            ck.true("%s: stdout is the same with stderr on a terminal" % what,
                    out == plain.stdout)
            if verb[-1] == "--json":
                try:
                    lines = out.decode().splitlines()
                    docs = [json.loads(x) for x in lines] if verb[0] == "objects" \
                        else [json.loads(out)]
                    ck.true("%s: stdout is JSON" % what, len(docs) > 0)
                    if verb[0] == "objects":
                        ck.true("%s: more objects than two progress steps" % what,
                                len(docs) > 2 * 65536, "%d objects" % len(docs))
                except ValueError as e:
                    ck.true("%s: stdout is JSON" % what, False, str(e))
            text = err.decode("utf-8", "replace")
            ck.true("%s: progress on the terminal" % what,
                    "\rgcinspect: walked 65.5k objects...\x1b[K" in text, repr(text[:300]))
            ck.true("%s: the progress line is cleared at the end" % what,
                    text.endswith("\r\x1b[K"), repr(text[-40:]))
            ck.true("%s: nothing but progress on stderr" % what,
                    text.replace("\r\x1b[K", "").replace("\x1b[K", "").strip().startswith(
                        "gcinspect: walked") or not text.strip(), repr(text[:300]))
        if ck.failures:
            log("FAIL: %d of %d checks failed:" % (len(ck.failures), ck.checked))
            for f in ck.failures:
                log("  - " + f)
        else:
            log("PASS: %d checks" % ck.checked)
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
