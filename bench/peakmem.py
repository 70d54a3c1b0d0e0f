#!/usr/bin/python3
"""peakmem.py: run a command, and say how long it took and its peak memory.

    bench/peakmem.py [--out FILE] [--fields F,...] -- COMMAND [ARG...]

Prints one line: the wall time in seconds, then the peak of each field of
/proc/PID/status (kB; default RssAnon,RssFile), sampled every 5 ms while
the command runs.  RssAnon is the tool's own memory; a mapped core shows up
as RssFile; a decompressed core in a memfd as RssShmem.  The command's
standard output goes to FILE (default /dev/null), its standard error is
dropped; a non-zero exit stops with that status.

bench/run.sh and bench/objects.sh run it; bench/compressed.py imports
sample() and run() from it.
"""

import argparse
import subprocess
import sys
import threading
import time

INTERVAL = 0.005


def sample(pid, fields, peaks, done):
    """Until done is set: the peak of each of fields ("RssAnon"...) of
    /proc/pid/status into peaks (kB)."""
    keys = dict((f + ":", f) for f in fields)
    while not done.is_set():
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    parts = line.split()
                    if parts and parts[0] in keys:
                        k = keys[parts[0]]
                        peaks[k] = max(peaks.get(k, 0), int(parts[1]))
        except (OSError, ValueError):
            pass
        time.sleep(INTERVAL)


def run(argv, fields=("RssAnon", "RssFile"), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE):
    """(seconds, returncode, stdout, stderr, peaks) of argv."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr)
    peaks, done = dict((f, 0) for f in fields), threading.Event()
    t = threading.Thread(target=sample, args=(p.pid, fields, peaks, done), daemon=True)
    t.start()
    out, err = p.communicate()
    dt = time.perf_counter() - t0
    done.set()
    t.join()
    return dt, p.returncode, out, err, peaks


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/dev/null")
    ap.add_argument("--fields", default="RssAnon,RssFile")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")
    fields = tuple(f for f in args.fields.split(",") if f)
    with open(args.out, "wb") as out:
        dt, rc, _, _, peaks = run(cmd, fields, stdout=out, stderr=subprocess.DEVNULL)
    if rc != 0:
        sys.exit("%s exited with status %d" % (cmd[0], rc))
    print(" ".join(["%.2f" % dt] + ["%d" % peaks[f] for f in fields]))


if __name__ == "__main__":
    main(sys.argv[1:])
