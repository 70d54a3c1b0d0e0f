#!/usr/bin/python3
"""check_workers_cli.py: `gcinspect workers` given the wrong things.

Each case must end with its documented exit status and one line on stderr
that says what was wrong, never a signal or a hang, and leave no process
stopped:

  usage (64): a core file instead of --pid; --count without --interval;
      --interval 0 and --interval abc; --interval given to summary;
  input (2): a process with no child (not a server);
  no process (7): a pid that does not exist;
  not Python (3): a shell that forked subshells (a pre-fork "server" of
      another program): the master is found, and reading it says why not;
  output (74): --prometheus into a directory that does not exist (and no
      temporary file is left);
  SIGINT during --interval: exit 0, every sample complete, nothing stopped.

Exit status: 0 pass, 1 fail, 77 skip (ptrace disabled).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gcitest import (EXIT_PASS, EXIT_FAIL, EXIT_SKIP, Fail, log,  # noqa: E402
                     children, proc_state, ptrace_blocker)

PYTHON = "/usr/bin/python3.11"
# A Python master with two forked workers that idle.
MASTER = r'''
import os, sys, time
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        while True:
            time.sleep(1)
    kids.append(pid)
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
for pid in kids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
'''


def run(gcinspect, args, want, must_say, timeout=60):
    cmd = [gcinspect] + args
    log("$ " + " ".join(cmd))
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail("%s: no answer in %d s" % (" ".join(args), timeout))
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != want:
        raise Fail("%s: exit %d, expected %d (stderr: %s)" % (" ".join(args), r.returncode,
                                                              want, err))
    lines = [l for l in err.splitlines() if l.strip()]
    if not lines or not any(must_say in l for l in lines):
        raise Fail("%s: stderr does not say %r: %r" % (" ".join(args), must_say, err))
    log("  exit %d: %s" % (r.returncode, lines[-1]))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcinspect", required=True)
    g = ap.parse_args(argv).gcinspect
    why = ptrace_blocker()
    if why:
        log("SKIP: " + why)
        return EXIT_SKIP
    procs = []
    tmp = tempfile.mkdtemp(prefix="gcinspect-workers-cli-")
    try:
        run(g, ["workers", "/no/such/core"], 64, "--pid")
        run(g, ["workers", "--pid", "1", "--count", "2"], 64, "--count goes with --interval")
        run(g, ["workers", "--pid", "1", "--interval", "0"], 64, "--interval")
        run(g, ["workers", "--pid", "1", "--interval", "abc"], 64, "--interval")
        run(g, ["summary", "--pid", "1", "--interval", "1"], 64, "does not go with summary")

        lone = subprocess.Popen(["sleep", "600"], start_new_session=True)
        procs.append(lone)
        run(g, ["workers", "--pid", str(lone.pid)], 2, "not part of a pre-fork server")
        lone.kill()
        lone.wait()
        run(g, ["workers", "--pid", str(lone.pid)], 7, "no process with pid %d" % lone.pid)

        shell = subprocess.Popen(["/bin/sh", "-c", "(sleep 600; :) & (sleep 600; :) & wait"],
                                 start_new_session=True)
        procs.append(shell)
        deadline = time.monotonic() + 10
        while len(children(shell.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        run(g, ["workers", "--pid", str(shell.pid)], 3, "pid %d" % shell.pid)

        master = subprocess.Popen([PYTHON, "-c", MASTER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, start_new_session=True)
        procs.append(master)
        if master.stdout.readline().strip() != b"ready":
            raise Fail("the Python master did not start")
        workers = children(master.pid)
        missing = os.path.join(tmp, "no", "such", "dir", "gcinspect.prom")
        run(g, ["workers", "--pid", str(master.pid), "--prometheus", missing], 74,
            "cannot write " + missing)
        if os.listdir(tmp):
            raise Fail("--prometheus left %s behind" % os.listdir(tmp))

        cmd = [g, "workers", "--interval", "0.2", "--pid", str(workers[0])]
        log("$ " + " ".join(cmd) + "   (then SIGINT)")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(p)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            raise Fail("--interval did not stop on SIGINT")
        lines = out.decode().splitlines()
        if p.returncode != 0 or not lines or len(lines) % len(workers):
            raise Fail("--interval then SIGINT: exit %d, %d lines for %d workers (%s)"
                       % (p.returncode, len(lines), len(workers), err.decode()))
        for pid in [master.pid] + workers:
            if proc_state(pid) in ("t", "T"):
                raise Fail("pid %d is left stopped" % pid)
        log("  exit 0: %d samples, nothing left stopped" % (len(lines) // len(workers)))
        master.stdin.close()
        master.wait(30)
        log("PASS")
        return EXIT_PASS
    except Fail as e:
        log("FAIL: %s" % e)
        return EXIT_FAIL
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    p.kill()
                p.wait()
        for d, _, files in os.walk(tmp, topdown=False):
            for f in files:
                os.unlink(os.path.join(d, f))
            os.rmdir(d)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
