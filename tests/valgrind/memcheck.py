#!/usr/bin/python3
"""memcheck.py --build DIR [-j N] [--tests REGEX]: tests under valgrind memcheck.

Valgrind finds what the ASan+UBSan pass cannot: reads of uninitialised
memory (gcc has no MemorySanitizer, and clang's needs every library
rebuilt with it: libelf, libdw, json-c).  This runs, from a build's own
ctest list (ctest --show-only=json-v1):

  * every C test program labelled unit or fuzz (the unit tests, the layout
    tables against DWARF, the replay of every fuzz corpus and regression
    input) directly under valgrind;
  * the harness tests matching --tests (default: a subset of the synthetic
    cores and three real cores, below) with gcinspect replaced by a wrapper
    that runs it under valgrind.

Any valgrind error, and any definite leak, exits 99, which fails the test.
gcinspect runs with --no-sandbox here: valgrind implements no seccomp (it
would refuse the filter), and the sandbox has tests of its own
(ctest -L sandbox).  Exit status: 0 all passed, 1 otherwise.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

VALGRIND_OPTS = ["-q", "--error-exitcode=99", "--leak-check=full",
                 "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                 "--num-callers=30"]
# A subset, for CI's time: the synthetic cases of every collector kind and
# every kind of damage (the heaviest, j, c2 and l4, and the bad-input suite's
# decompression bombs take minutes under valgrind each), and real cores:
# DWARF in a shared libpython, a GC state found by its shape, and a
# free-threaded build's mimalloc heaps.  The matrix rows are read the ways
# that run gcinspect itself (--ways core,live).
DEFAULT_TESTS = (r"^(synthetic-(a-3\.13|c-free-threaded|d-loop|e-backlink|f-unmapped"
                 r"|g-not-saved|h-truncated|k-bad-types|l-ft-free-lists|l3-ft-damage)"
                 r"|target-pyenv-3\.12\.1|target-debian-3\.11-nobinaries"
                 r"|target-cpython-3\.13\.15t-dwarf)$")
# Verbs that take no --no-sandbox: those with no target, and workers, which
# is never confined (it finds and opens the server's processes as it goes).
NO_TARGET = ("help", "gdb-script", "-h", "--help", "-V", "--version", "workers")


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def wrapper(path, valgrind, gcinspect):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "# gcinspect under valgrind (memcheck.py); without the sandbox, which\n"
                "# valgrind cannot run (it implements no seccomp).\n"
                "sandbox=--no-sandbox\n"
                "for a in \"$@\"; do\n"
                "  case $a in %s) sandbox= ;; esac\n"
                "done\n"
                "exec %s %s %s \"$@\" $sandbox\n"
                % ("|".join(NO_TARGET), valgrind, " ".join(VALGRIND_OPTS), gcinspect))
    os.chmod(path, 0o755)


def labels(test):
    for p in test.get("properties", []):
        if p["name"] == "LABELS":
            return set(p["value"])
    return set()


def run(name, argv, cwd):
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=1200)
        rc, out = p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        rc, out = -1, "timed out after 1200 s"
    return name, rc, out, time.monotonic() - t0


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--tests", default=DEFAULT_TESTS,
                    help="harness tests to run with gcinspect under valgrind")
    a = ap.parse_args(argv)
    valgrind = shutil.which("valgrind")
    if not valgrind:
        log("FAIL: valgrind is not installed (scripts/install-deps.sh installs it)")
        return 1
    build = os.path.abspath(a.build)
    gcinspect = os.path.join(build, "analyzer", "gcinspect")
    show = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                          check=True, stdout=subprocess.PIPE).stdout
    tests = json.loads(show)["tests"]
    tmp = tempfile.mkdtemp(prefix="gcinspect-memcheck-")
    # The bad-input tests run gcinspect as another user (nobody) too.
    os.chmod(tmp, 0o755)
    wrapped = os.path.join(tmp, "gcinspect")
    wrapper(wrapped, valgrind, gcinspect)
    harness = re.compile(a.tests)
    jobs = []
    for t in tests:
        cmd, name, lab = t.get("command"), t["name"], labels(t)
        if not cmd:
            continue
        cwd = next((p["value"] for p in t.get("properties", [])
                    if p["name"] == "WORKING_DIRECTORY"), build)
        if lab & {"unit", "fuzz"} and "sandbox" not in lab:
            jobs.append((name, [valgrind] + VALGRIND_OPTS + cmd, cwd))
        elif harness.search(name) and "--gcinspect" in cmd:
            cmd = list(cmd)
            cmd[cmd.index("--gcinspect") + 1] = wrapped
            if "--ways" in cmd:
                cmd[cmd.index("--ways") + 1] = "core,live"
            jobs.append((name, cmd, cwd))
    failed = []
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as ex:
        for name, rc, out, dt in ex.map(lambda j: run(*j), jobs):
            ok = rc == 0 or rc == 77
            log("%s %-40s exit %d, %.0f s" % ("ok  " if ok else "FAIL", name, rc, dt))
            if not ok:
                failed.append(name)
                log(out[-6000:])
    shutil.rmtree(tmp, ignore_errors=True)
    log("memcheck: %d of %d passed in %.0f s%s"
        % (len(jobs) - len(failed), len(jobs), time.monotonic() - t0,
           ("; failed: " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
