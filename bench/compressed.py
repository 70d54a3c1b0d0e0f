#!/usr/bin/python3
"""compressed.py: what reading a compressed core costs.

    bench/compressed.py BUILD_DIR [--core CORE] [--python PYTHON] [--runs N]

Without --core, bench/run.sh makes its core of 2.0 M GC objects (1,000,000
dicts each holding a list, under PYTHON, default /usr/bin/python3.11) and
keeps it.  The core is compressed with the zstd, lz4, xz and gzip command
line tools at their default levels (systemd-coredump's zstd is level 3, the
default too), and `gcinspect types --json --no-dwarf` is run on the plain core, on each
compressed file, and on zstd through a pipe (-).  For each: the median wall
time of N runs, the decompression time and rate gcinspect reports under -v,
and the peak of the process's RssAnon, RssFile and RssShmem (sampled every
5 ms from /proc/PID/status).  Last, zstd once more with no writable
temporary directory (empty read-only file systems over /var/tmp and /tmp, in a
mount namespace of its own), so that gcinspect falls back to a memfd: the
decompressed core is then shmem, resident until gcinspect exits.

Every output must be the plain core's (the report is the same bytes but for
the input's name), or the benchmark stops.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peakmem  # noqa: E402
COMPRESSORS = (("zstd", "zst", ["zstd", "-q", "-c", "-T1"]), ("lz4", "lz4", ["lz4", "-q", "-c"]),
               ("xz", "xz", ["xz", "-c", "-T1"]), ("gzip", "gz", ["gzip", "-c"]))


def run(argv, stdin_path=None, pipe=False, verbose=False):
    """(seconds, stdout, stderr, peaks in kB)."""
    feeder = None
    stdin = subprocess.DEVNULL
    if stdin_path and pipe:
        feeder = subprocess.Popen(["cat", stdin_path], stdout=subprocess.PIPE)
        stdin = feeder.stdout
    elif stdin_path:
        stdin = open(stdin_path, "rb")
    dt, rc, out, err, peaks = peakmem.run(argv + (["-v"] if verbose else []),
                                          ("RssAnon", "RssFile", "RssShmem"), stdin=stdin)
    if feeder:
        feeder.stdout.close()
        feeder.wait()
    elif stdin_path:
        stdin.close()
    if rc != 0:
        sys.exit("%s: exit %d\n%s" % (" ".join(argv), rc, err.decode()))
    return dt, out, err.decode("utf-8", "replace"), peaks


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--core", help="a core to use (else bench/run.sh makes one)")
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", help="keep the compressed cores here, and reuse them "
                    "(xz takes minutes)")
    args = ap.parse_args(argv)
    gcinspect = None
    for c in ("analyzer/gcinspect", "gcinspect"):
        if os.access(os.path.join(args.build, c), os.X_OK):
            gcinspect = os.path.abspath(os.path.join(args.build, c))
    if not gcinspect:
        sys.exit("no gcinspect under %s" % args.build)
    kept = None
    core = args.core
    if not core:
        p = subprocess.run([os.path.join(HERE, "run.sh"), args.build, args.python],
                           env=dict(os.environ, KEEP="1", RUNS="1"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        m = re.search(r"^kept: (\S+)", p.stderr, re.M)
        if p.returncode != 0 or not m:
            sys.exit("bench/run.sh failed:\n%s%s" % (p.stdout, p.stderr))
        kept = m.group(1)
        core = [os.path.join(kept, f) for f in os.listdir(kept) if re.match(r"core\.\d+$", f)][0]
    work = args.workdir or tempfile.mkdtemp(prefix="gcinspect-bench-z-",
                                            dir=os.path.dirname(core))
    os.makedirs(work, exist_ok=True)
    cache = os.path.join(work, "layout-cache")
    os.environ["GCINSPECT_CACHE_DIR"] = cache
    try:
        size = os.path.getsize(core)
        print("core: %s, %.1f MB" % (core, size / 1e6))
        cases = [("plain", core, [core], None, False)]
        for fmt, ext, cmd in COMPRESSORS:
            path = os.path.join(work, "core." + ext)
            stamp = path + ".of"
            if not (os.path.isfile(stamp) and open(stamp).read() == "%s %d" % (core, size)):
                t0 = time.perf_counter()
                with open(core, "rb") as fi, open(path, "wb") as fo:
                    subprocess.run(cmd, stdin=fi, stdout=fo, check=True)
                ct = "in %.1f s" % (time.perf_counter() - t0)
                with open(stamp, "w") as f:
                    f.write("%s %d" % (core, size))
            else:
                ct = "(kept from before)"
            st = os.stat(core)  # the report's snapshot.time: when the core was written
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            print("%-5s %7.1f MB (%4.1fx), compressed by `%s` %s"
                  % (fmt, os.path.getsize(path) / 1e6, size / os.path.getsize(path),
                     " ".join(cmd), ct))
            cases.append((fmt, path, [path], None, False))
        cases.append(("zstd, pipe", os.path.join(work, "core.zst"), ["-"],
                      os.path.join(work, "core.zst"), True))
        # The built-in layout table: every run does the same work, and none
        # depends on a layout cache (the memfd run cannot write one).
        base = [gcinspect, "types", "--json", "--no-dwarf"]
        run(base + [core])  # warm the layout cache and the page cache
        want = None
        rows = []
        for name, path, tail, stdin_path, pipe in cases:
            times, peaks_all, dec, decs, where = [], {}, "", [], ""
            for i in range(args.runs):
                dt, out, err, peaks = run(base + tail, stdin_path, pipe, verbose=True)
                out = out.replace(json.dumps(path)[1:-1].encode(), b"CORE")
                out = out.replace(b"<stdin>", b"CORE")
                # From a pipe, when the core was written is unknown.
                out = re.sub(rb'"time": "[^"]*"', b'"time": null', out)
                out = out.replace(b'"time_source": "core file mtime"', b'"time_source": null')
                if want is None:
                    want = out
                if out != want:
                    sys.exit("%s: the report differs from the plain core's" % name)
                times.append(dt)
                for k, v in peaks.items():
                    peaks_all[k] = max(peaks_all.get(k, 0), v)
                m = re.search(r"(?:decompressed to|copied into) .*? in ([0-9.]+) s", err)
                if m:
                    decs.append(float(m.group(1)))
                m = re.search(r"into (an unlinked file in \S+|a memfd)", err)
                if m:
                    where = m.group(1)
            times.sort()
            if decs:
                decs.sort()
                d = decs[len(decs) // 2]
                dec = "%.2f s (%.0f MB/s of core), into %s" % (d, size / 1e6 / d, where)
            rows.append((name, times[len(times) // 2], dec, peaks_all))
        # The memfd fallback: nowhere on disk to write.  The core comes in on
        # standard input, opened before /tmp is covered.
        zst = os.path.join(work, "core.zst")
        # (Empty read-only file systems: a bind mount of a directory that
        # is itself under /tmp would vanish once /tmp is covered.)
        wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o ro,size=4k gcinspect-ro /tmp && '
                'mount -t tmpfs -o ro,size=4k gcinspect-ro /var/tmp && '
                'exec env -u TMPDIR "$@"', "sh"]
        if shutil.which("unshare") and os.geteuid() == 0:
            times, decs, pk = [], [], {}
            for i in range(args.runs):
                dt, out, err, peaks = run(wrap + base + ["-"], stdin_path=zst, verbose=True)
                times.append(dt)
                for k, v in peaks.items():
                    pk[k] = max(pk.get(k, 0), v)
                m = re.search(r"decompressed to .*? in ([0-9.]+) s", err)
                if m and "a memfd" in err:
                    decs.append(float(m.group(1)))
            times.sort()
            decs.sort()
            d = decs[len(decs) // 2] if decs else 0
            rows.append(("zstd, memfd", times[len(times) // 2],
                         "%.2f s (%.0f MB/s of core), into a memfd" % (d, size / 1e6 / d)
                         if d else "?", pk))
        print()
        print("load average: %s" % open("/proc/loadavg").read().split(" ")[0])
        print("%-12s %8s  %-48s %9s %9s %9s" % ("input", "median", "decompression (-v)",
                                                "RssAnon", "RssFile", "RssShmem"))
        for name, t, dec, pk in rows:
            print("%-12s %7.2fs  %-48s %7.1fMB %7.1fMB %7.1fMB"
                  % (name, t, dec or "-", pk.get("RssAnon", 0) / 1024,
                     pk.get("RssFile", 0) / 1024, pk.get("RssShmem", 0) / 1024))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        if kept:
            shutil.rmtree(kept, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
