#!/usr/bin/python3
"""check_target.py: one interpreter of the supported table, every way
gcinspect reads it, each against the target's own truth, exactly.

Starts tests/targets/gc_target.py under the interpreter.  Once it says
"ready", the target is blocked reading a pipe and holds still: one process
serves every way, in this order:

  live         gcinspect --pid PID (the target stopped for the walk)
  live-nostop  gcinspect --pid PID --no-stop
  gdb-live     the gdb plugin in `gdb -batch -p PID`: gc-gens, gc-types 1
               and 2, gc-touch (--json); the same gdb then writes the core
               (generate-core-file, as gcore does); the target must run on
               after gdb detaches, untraced
  core         a core (taken with gcore, unless gdb-live wrote it), then
               gcinspect on it (a cold and a warm layout cache, which must
               give one answer)
  gdb-core     the gdb plugin on that core (exec file and core; with
               --remove-binaries, the core alone)

Then the target is released and writes its truth (what its own gc module
said at the snapshot).  For every way: summary --json and types -g 1/-g 2
--json must equal the truth (thresholds, counts, list lengths, the freeze
count, the type histograms by type object; gcitest.compare_truth: the
generational collector, 3.14.0-3.14.4's incremental one, whose lists the
core way also reads by name, and free-threaded builds' one heap).  Beyond the truth, every way
must give the same GC state as the core, byte for byte in the JSON
(addresses, bytes and pages included), the gdb ways exactly the CLI's
documents (gdb-core the CLI's on the same core, gdb-live the CLI's
--no-stop ones, gc-touch included, with the page sharing from pagemap).

Usage:
    check_target.py --gcinspect BIN --python INTERP [--ways WAY,...]
                    [--gdb GDB --plugin PLUGIN] [--freeze] [--subinterpreter]
                    [--threads N] [--live-thread]
                    [--no-dwarf] [--debug-dir DIR] [--expect-layout dwarf|table]
                    [--chroot DIR [--gcore-inside]] [--remove-binaries]
                    [--build-failure FILE] [--compressed]
                    [--scale N] [--workdir DIR] [--keep] [--target FILE]

--chroot DIR runs the target as `chroot DIR INTERP` (INTERP is a path inside
DIR).  The core is taken by gcore from outside, so its NT_FILE note names
host paths (DIR/usr/bin/...); with --gcore-inside, the target gets a mount
namespace of its own (as in a container) and the chroot's own gcore runs in
there: the core names the inner paths, and the core ways read it with
--sysroot DIR (gdb: set sysroot DIR).

--remove-binaries: none of the interpreter's files at hand.  The core is
copied elsewhere and read with --sysroot of an empty directory (gdb: the
core alone, set sysroot to it); the live ways read the process with that
--sysroot too.  Type names that lived only in those files may then be
unreadable (name_known false): the histograms are compared on the types
whose name is known, and in their totals.

--debug-dir DIR and --no-dwarf are given to every gcinspect run; in gdb they
are `set debug-file-directory DIR` and the commands' --no-dwarf.

--threads N, --live-thread: the target builds part of its heap in N threads
that exit before the snapshot, and in one that is still alive, blocked
(free-threaded builds: abandoned mimalloc segments, a second thread's heaps).

--build-failure FILE: the interpreter is one scripts/build-pythons.sh builds;
if it (or its chroot) is missing and FILE exists, the build failed for the
reason FILE gives, and the test skips quoting it.  Missing without FILE is a
failure.

--compressed (a check of the core way): the core compressed by zstd, lz4, xz
and gzip, each under a systemd-coredump-style name, and read through
standard input (a file, a pipe, /dev/stdin): every report (summary, types,
touch, as text and JSON) must be the plain core's, but for the input's name.

Exit status: 0 pass, 1 fail, 77 skip (only when this machine cannot attach
to a process, or a gdb way was asked for and gdb cannot run Python, or
scripts/build-pythons.sh could not build the interpreter, see --build-failure).
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gcitest  # noqa: E402
from gcitest import Fail, Skip, log  # noqa: E402

WAYS = ("live", "live-nostop", "gdb-live", "core", "gdb-core")


def check_core_paths(core, chroot, python, inside):
    """The core names the interpreter as the kernel showed it to gcore."""
    files = set(gcitest.core_mapped_files(core))
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


# What every way must say alike: everything of a report but how the target
# was opened and named (target; python.layout_name names the file the layout
# came from, which the live ways find under /proc/PID), when (snapshot: the
# walk, or the core's mtime), and why memory could not be read (a callback
# reader cannot tell unmapped from unsaved).
# names=False: nor the type names, which a live process holds in memory that
# a core without its files lacks.
def gc_part(doc, names=True):
    out = dict((k, v) for k, v in doc.items() if k not in ("target", "warnings", "snapshot"))
    out["python"] = dict((k, v) for k, v in doc.get("python", {}).items()
                         if k != "layout_name")
    if names:
        out["warnings"] = [re.sub(r" \(first: [^()]*\)$", "", w)
                           for w in doc.get("warnings", [])]
    if not names and isinstance(doc.get("types"), list):
        out["types"] = [dict((k, v) for k, v in t.items() if k not in ("name", "name_known"))
                        for t in doc["types"]]
    return out


def no_time(doc):
    out = dict(doc)
    if isinstance(doc.get("snapshot"), dict):
        out["snapshot"] = dict((k, v) for k, v in doc["snapshot"].items() if k != "time")
    return out


# gdb maps the interpreter's files itself: while it runs, their clean pages
# in the target are mapped twice, and smaps counts them as Shared_Clean, not
# Private_Clean.  Where the other reader is gdb, their sum must agree.
def touch_part(doc):
    out = dict(doc)
    sm = doc.get("smaps")
    if isinstance(sm, dict):
        sm = dict(sm)
        sm["clean_kb"] = sm.pop("shared_clean_kb", 0) + sm.pop("private_clean_kb", 0)
        out["smaps"] = sm
    return out


class Row(object):
    """The reports of every way, and the checks."""

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.docs = {}          # way -> {"summary": doc, "1": doc, "2": doc, "touch": doc}
        self.failures = []
        self.checked = 0
        self.empty = None       # the empty sysroot of --remove-binaries

    def cli_args(self, core_way):
        a = []
        if self.args.no_dwarf:
            a.append("--no-dwarf")
        if self.args.debug_dir:
            a += ["--debug-dir", self.args.debug_dir]
        if self.args.remove_binaries:
            a += ["--sysroot", self.empty]
        elif core_way and self.args.gcore_inside:
            a += ["--sysroot", self.args.chroot]
        return a

    def gdb_setup(self, core_way):
        s = []
        if self.args.debug_dir:
            s.append("set debug-file-directory " + self.args.debug_dir)
        if self.args.remove_binaries:
            s.append("set sysroot " + self.empty)
        elif core_way and self.args.gcore_inside:
            s.append("set sysroot " + self.args.chroot)
        return s

    def cache_env(self, name):
        """A layout cache of the way's own (private to this run)."""
        return dict(os.environ, GCINSPECT_CACHE_DIR=os.path.join(self.workdir, "cache-" + name))

    def cli_reports(self, way, target_args, env, touch=False):
        cli = gcitest.Gcinspect(self.args.gcinspect, env)
        extra = self.cli_args(way == "core")
        docs = {"summary": cli.json(["summary", "--json"] + extra + target_args,
                                    "%s: summary" % way)}
        gens = ["1", "2"]
        if way == "core" and docs["summary"].get("gc", {}).get("collector") == "incremental":
            # The old lists by name too: together, generation 2.
            gens += ["old[0]", "old[1]"]
        for gen in gens:
            docs[gen] = cli.json(["types", "--json", "--generation", gen] + extra + target_args,
                                 "%s: types -g %s" % (way, gen))
        if touch:
            docs["touch"] = cli.json(["touch", "--json"] + extra + target_args,
                                     "%s: touch" % way)
        self.docs[way] = docs
        return docs

    def gdb_reports(self, way, target_args, env, touch=False, core=None):
        """The gdb way's documents; core: a path to write a core of the live
        process to (generate-core-file, what gcore does), before detaching."""
        # Without gdb's own reading of debug info: the plugin does not use it
        # (tests/gdb runs full sessions).
        gdb = gcitest.Gdb(self.args.gdb, self.args.plugin, env, readnever=True)
        flag = " --no-dwarf" if self.args.no_dwarf else ""
        commands = ["gc-gens --json" + flag, "gc-types 1 --json" + flag,
                    "gc-types 2 --json" + flag]
        if touch:
            commands.append("gc-touch --json" + flag)
        if core:
            commands.append("generate-core-file " + core)
        if way == "gdb-live":
            commands.append("detach")
        parts, err = gdb.run(target_args, commands, self.gdb_setup(way == "gdb-core"))
        docs = {}
        for key, c, text in zip(("summary", "1", "2", "touch"), commands, parts):
            if not text.strip():
                raise Fail("%s: `%s` printed nothing; gdb's stderr:\n%s"
                           % (way, c, err[-3000:]))
            docs[key] = gcitest.parse_json(text, "%s: %s" % (way, c))
        self.docs[way] = docs
        return docs

    def fail(self, msg):
        self.failures.append(msg)

    def check_truth(self, truth):
        for way in WAYS:
            if way not in self.docs:
                continue
            d = self.docs[way]
            ck = gcitest.Checker()
            # A live process holds the type names in its memory, files or not.
            gcitest.compare_truth(truth, d["summary"],
                                  dict((k, v) for k, v in d.items()
                                       if k not in ("summary", "touch")),
                                  self.args.expect_layout, ck,
                                  names_may_be_unknown=(self.args.remove_binaries and
                                                        "core" in way))
            self.check_target_part(way, d["summary"], truth, ck)
            self.checked += ck.checked
            for f in ck.failures:
                self.fail("%s: %s" % (way, f))
            log("%s: %d checks against the truth, %d failed" % (way, ck.checked,
                                                               len(ck.failures)))

    def check_target_part(self, way, summary, truth, ck):
        """What the summary says of its target: the CLI's live ways the pid,
        stopped for the walk (stopped_ms) or not (--no-stop: null); the core
        way the file the layout came from, never a /proc path nor the cache."""
        tgt = summary.get("target") or {}
        if way in ("live", "live-nostop"):
            ck.eq("target.kind", tgt.get("kind"), "live")
            ck.eq("target.pid", tgt.get("pid"), truth["pid"])
            stopped = tgt.get("stopped_ms")
            if way == "live":
                ck.true("target.stopped_ms is a number (the target was stopped)",
                        isinstance(stopped, (int, float)) and not isinstance(stopped, bool),
                        repr(stopped))
            else:
                ck.eq("target.stopped_ms (--no-stop)", stopped, None)
        if way == "core":
            name = summary.get("python", {}).get("layout_name") or ""
            ck.true("python.layout_name names the file the layout came from",
                    "/proc/" not in name and "(cached)" not in name, repr(name))

    def check_alike(self, way, ref, keys, strip, names=True):
        """docs of way equal to those of ref, on keys: exactly, or (strip)
        their gc_part(names)."""
        if way not in self.docs or ref not in self.docs:
            return
        for key in keys:
            if key not in self.docs[way] or key not in self.docs[ref]:
                continue
            a, b = self.docs[way][key], self.docs[ref][key]
            if "core" not in way:
                # Two reads of a live process are two snapshots, at two times.
                a, b = no_time(a), no_time(b)
            if key == "touch":
                a, b = touch_part(a), touch_part(b)
            if strip:
                a, b = gc_part(a, names), gc_part(b, names)
            self.checked += 1
            d = gcitest.json_diff(a, b)
            if d:
                self.fail("%s %s differs from %s's:\n    %s"
                          % (way, key, ref, "\n    ".join(d[:20])))
        log("%s: compared with %s" % (way, ref))


# --compressed: the compressors, and the reports each input must give alike.
COMPRESSORS = (
    ("zstd", "zst", ["zstd", "-q", "-c"]),
    ("lz4", "lz4", ["lz4", "-q", "-c"]),
    ("xz", "xz", ["xz", "-c", "-T1"]),
    ("gzip", "gz", ["gzip", "-c"]),
)
COMPRESSED_REPORTS = (
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


def check_compressed(row, core, pid, env):
    """The core compressed by each compressor's own CLI, under a systemd-style
    name, and through standard input (a file, a pipe, /dev/stdin): every
    report must be the plain core's, byte for byte, but for the input's name."""
    cli = gcitest.Gcinspect(row.args.gcinspect, env)
    extra = row.cli_args(True)

    def normalized(out, path):
        # The input's name replaced, as text and as a JSON string.
        for form in (json.dumps(path)[1:-1], path):
            out = out.replace(form, "CORE")
        return out

    plain = {}
    for r in COMPRESSED_REPORTS:
        plain[tuple(r)] = normalized(cli.output(r + extra + [core], " ".join(r) + " (plain)"),
                                     core)
    inputs = []  # (what, argv tail, stdin feed, name in the report)
    for fmt, ext, cmd in COMPRESSORS:
        path = systemd_style_name(row.workdir, pid, ext)
        if shutil.which(cmd[0]) is None:
            raise Fail("%s is not installed (scripts/install-deps.sh installs it)" % cmd[0])
        with open(core, "rb") as fi, open(path, "wb") as fo:
            subprocess.run(cmd, stdin=fi, stdout=fo, check=True, timeout=gcitest.GCORE_TIMEOUT)
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
        for r in COMPRESSED_REPORTS:
            label = "%s: %s" % (what, " ".join(r))
            feeder = None
            stdin = subprocess.DEVNULL
            if feed and feed[0] == "file":
                stdin = open(feed[1], "rb")
            elif feed:
                feeder = subprocess.Popen(["cat", feed[1]], stdout=subprocess.PIPE)
                stdin = feeder.stdout
            try:
                got = normalized(cli.output(r + extra + tail, label, stdin=stdin), name)
            finally:
                if feed:
                    stdin.close()
                if feeder:
                    feeder.wait()
            want = plain[tuple(r)]
            if feed and feed[0] == "pipe":
                # From a pipe, when the core was written is unknown: null.
                want = re.sub(r'"time": "[^"]*"', '"time": null', want)
                want = want.replace('"time_source": "core file mtime"', '"time_source": null')
            row.checked += 1
            if got != want:
                row.fail("core, %s differs from the plain core's:\n%s\n---\n%s"
                         % (label, got[:1500], want[:1500]))
    # -v says what was done, on stderr.
    path = inputs[0][1][0]
    _, _, err = cli.run(["summary", "-v"] + extra + [path], check=False)
    row.checked += 1
    if "zstd-compressed core" not in err or "decompressed to" not in err:
        row.fail("core: -v on %s does not say it decompressed zstd:\n%s" % (path, err[:2000]))
    log("core: compressed %d ways, %d reports each: compared" % (len(inputs),
                                                                 len(COMPRESSED_REPORTS)))


def run_row(args, workdir):
    row = Row(args, workdir)
    ways = args.ways
    if args.remove_binaries:
        row.empty = os.path.join(workdir, "empty-sysroot")
        os.makedirs(row.empty)
    target = gcitest.Target(args.python, workdir, script=args.target, chroot=args.chroot,
                            own_mount_ns=args.gcore_inside, freeze=args.freeze,
                            subinterpreter=args.subinterpreter, scale=args.scale,
                            keep=args.keep, threads=args.threads,
                            live_thread=args.live_thread)
    with target:
        target.start()
        pid = ["--pid", str(target.pid)]
        live_env = row.cache_env("live")
        if "live" in ways:
            row.cli_reports("live", pid, live_env)
            target.check_running("after gcinspect --pid")
        if "live-nostop" in ways or "gdb-live" in ways:
            row.cli_reports("live-nostop", pid + ["--no-stop"], live_env,
                            touch="gdb-live" in ways)
        want_core = "core" in ways or "gdb-core" in ways
        core = None
        if "gdb-live" in ways:
            # The same gdb writes the core, as gcore would (one gdb less),
            # unless it must be written from inside the target's namespace.
            if want_core and not args.gcore_inside:
                core = os.path.join(workdir, "core.%d" % target.pid)
            row.gdb_reports("gdb-live", ["-p", str(target.pid)], live_env, touch=True,
                            core=core)
            target.check_running("after gdb detached")
            if core is not None and not os.path.isfile(core):
                raise Fail("gdb's generate-core-file wrote no %s" % core)
        if want_core:
            if core is None:
                core = gcitest.take_core(target, workdir, inside=args.gcore_inside)
            if args.chroot is not None:
                check_core_paths(core, args.chroot, args.python, args.gcore_inside)
        truth = target.release()
    log("truth: python %s, generations %s (total %d), count %s, threshold %s, "
        "freeze_count %s" % (truth["version_full"], truth["generations"], truth["total"],
                             truth["count"], truth["threshold"], truth["freeze_count"]))
    # The threads the target was asked for, where its truth counts them
    # (free-threaded builds).
    for key, want in (("threads_exited", args.threads), ("live_threads", int(args.live_thread))):
        if key in truth:
            row.checked += 1
            if truth[key] != want:
                row.fail("target: truth.%s is %r, --threads/--live-thread asked for %r"
                         % (key, truth[key], want))

    if core is not None:
        log("core %s (%.1f MB)" % (core, os.path.getsize(core) / 1e6))
        exe = target.host_python
        if args.remove_binaries:
            # As if the core had been moved to a machine that has none of the
            # interpreter's files: a copy, and an empty sysroot.
            moved_dir = os.path.join(workdir, "moved")
            os.makedirs(moved_dir)
            moved = os.path.join(moved_dir, os.path.basename(core))
            shutil.copyfile(core, moved)
            os.unlink(core)
            core = moved
            exe = None
        core_env = row.cache_env("core")
        cache_dir = core_env["GCINSPECT_CACHE_DIR"]
        docs = row.cli_reports("core", [core], core_env)
        cached = os.path.isdir(cache_dir) and os.listdir(cache_dir)
        if args.expect_layout == "dwarf" and not cached:
            row.fail("core: the DWARF layout was not written to the cache %s" % cache_dir)
        if args.expect_layout == "table" and cached:
            row.fail("core: the layout cache was filled without DWARF: %s" % cached)
        cli = gcitest.Gcinspect(args.gcinspect, core_env)
        warm = cli.json(["summary", "--json"] + row.cli_args(True) + [core],
                        "core: summary (layout cache warm)")
        # Cold and warm: the same report, the layout line included.
        a, b = dict(docs["summary"]), dict(warm)
        row.checked += 1
        d = gcitest.json_diff(b, a)
        if d:
            row.fail("core: the summary with a warm layout cache differs from the cold "
                     "one:\n    %s" % "\n    ".join(d[:20]))
        docs["summary"] = warm   # what gdb, warm too, must equal
        if args.compressed:
            check_compressed(row, core, target.pid, core_env)
        if "gdb-core" in ways:
            row.gdb_reports("gdb-core", ([exe] if exe else []) + ["-c", core], core_env)
    for name, docs in row.docs.items():
        for key, doc in docs.items():
            with open(os.path.join(workdir, "%s-%s.json" % (name, key)), "w") as f:
                gcitest.json.dump(doc, f, indent=1, sort_keys=True)

    row.check_truth(truth)
    # Every way gives the same GC state as the core; gdb the CLI's documents.
    ref = "core" if "core" in row.docs else "live"
    for way in ("live", "live-nostop", "gdb-live"):
        row.check_alike(way, ref, ("summary", "1", "2"), strip=True,
                        names=not args.remove_binaries)
    # Without the files, gdb reads the core as the CLI does, but cannot say
    # why memory is unreadable: the same but for that.
    row.check_alike("gdb-core", "core", ("summary", "1", "2"), strip=args.remove_binaries)
    row.check_alike("gdb-live", "live-nostop", ("summary", "1", "2", "touch"), strip=False)
    if "gdb-live" in row.docs:
        sharing = [c.get("sharing") for c in row.docs["gdb-live"]["touch"].get("collections", [])]
        row.checked += 1
        if not sharing or not all(isinstance(s, dict) for s in sharing) or \
                row.docs["gdb-live"]["touch"].get("smaps") is None:
            row.fail("gdb-live: gc-touch --json has no page sharing or smaps: %r" % sharing)
    return row, truth


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True, help="the gcinspect binary")
    ap.add_argument("--python", required=True, help="interpreter to run the target with")
    ap.add_argument("--ways", default="core",
                    help="comma-separated, of: " + ", ".join(WAYS) + " (default core)")
    ap.add_argument("--gdb", default="gdb", help="gdb, for the gdb ways")
    ap.add_argument("--plugin", default=None, help="gcinspect_gdb.py, for the gdb ways")
    ap.add_argument("--freeze", action="store_true", help="target calls gc.freeze()")
    ap.add_argument("--subinterpreter", action="store_true",
                    help="target keeps a subinterpreter with objects of its own (3.9+)")
    ap.add_argument("--scale", type=float, default=None, help="target heap scale")
    ap.add_argument("--no-dwarf", action="store_true", help="built-in layout tables only")
    ap.add_argument("--debug-dir", default=None, metavar="DIR",
                    help="detached debug info by build-id")
    ap.add_argument("--expect-layout", choices=("dwarf", "table"), default=None)
    ap.add_argument("--workdir", default=None, help="directory for the core and outputs")
    ap.add_argument("--keep", action="store_true", help="keep the core and outputs")
    ap.add_argument("--target", default=gcitest.DEFAULT_TARGET, help="the target script")
    ap.add_argument("--chroot", default=None, metavar="DIR",
                    help="run the target inside this chroot (--python is a path inside it)")
    ap.add_argument("--gcore-inside", action="store_true",
                    help="take the core with the chroot's own gcore (inner paths in the core)")
    ap.add_argument("--remove-binaries", action="store_true",
                    help="none of the interpreter's files at hand (an empty --sysroot)")
    ap.add_argument("--threads", type=int, default=0,
                    help="target: threads that build objects and exit before the snapshot")
    ap.add_argument("--live-thread", action="store_true",
                    help="target: one more thread, alive and blocked at the snapshot")
    ap.add_argument("--build-failure", default=None, metavar="FILE",
                    help="skip, quoting FILE, if the interpreter is missing and FILE "
                         "exists (scripts/build-pythons.sh could not build it)")
    ap.add_argument("--compressed", action="store_true",
                    help="core way: also read the core compressed by zstd, lz4, xz and "
                         "gzip, and through standard input: every report must equal the "
                         "plain core's")
    args = ap.parse_args(argv)
    args.ways = [w for w in args.ways.split(",") if w]
    for w in args.ways:
        if w not in WAYS:
            ap.error("unknown way %r (choose from %s)" % (w, ", ".join(WAYS)))
    if args.gcore_inside and args.chroot is None:
        ap.error("--gcore-inside needs --chroot")
    if any(w.startswith("gdb") for w in args.ways) and not args.plugin:
        ap.error("the gdb ways need --plugin")
    if args.compressed and "core" not in args.ways:
        ap.error("--compressed is a check of the core way")
    return args


def main(argv):
    args = parse_args(argv)
    gcitest.on_signal_fail()
    why = gcitest.build_failure(args.python, args.chroot, args.build_failure)
    if why is not None:
        log("SKIP: scripts/build-pythons.sh could not build %s: %s (%s)"
            % (args.python, why, args.build_failure))
        return gcitest.EXIT_SKIP
    if args.chroot is not None:
        # A missing chroot is a failure, not a skip: the test was asked for.
        args.chroot = os.path.abspath(args.chroot)
        if not os.path.isdir(args.chroot):
            log("FAIL: chroot %s does not exist (scripts/make-chroots.sh builds it)"
                % args.chroot)
            return gcitest.EXIT_FAIL
        if not os.path.isabs(args.python):
            log("FAIL: with --chroot, --python must be an absolute path inside the chroot")
            return gcitest.EXIT_FAIL
        if os.geteuid() != 0:
            log("SKIP: --chroot needs root")
            return gcitest.EXIT_SKIP
    host_python = (os.path.join(args.chroot, args.python.lstrip("/")) if args.chroot
                   else args.python)
    for path, what in ((args.gcinspect, "gcinspect binary"), (host_python, "interpreter"),
                       (args.target, "target script")):
        if not os.path.isfile(path):
            log("FAIL: %s %s does not exist" % (what, path))
            return gcitest.EXIT_FAIL
    workdir = None
    status = gcitest.EXIT_FAIL
    t0 = time.monotonic()
    try:
        why = gcitest.ptrace_blocker()
        if why:
            raise Skip(why)
        if any(w.startswith("gdb") for w in args.ways):
            gcitest.Gdb(args.gdb, args.plugin).check_usable()
        if args.workdir is None:
            workdir = tempfile.mkdtemp(prefix="gcinspect-target-")
        else:
            workdir = os.path.abspath(args.workdir)
            os.makedirs(workdir, exist_ok=True)
        row, truth = run_row(args, workdir)
        if row.failures:
            log("FAIL: %d of %d checks failed:" % (len(row.failures), row.checked))
            for f in row.failures:
                log("  - " + f)
        else:
            log("PASS: %d checks, ways %s (python %s), %.1f s"
                % (row.checked, ",".join(args.ways), truth["version_full"],
                   time.monotonic() - t0))
            status = gcitest.EXIT_PASS
    except Skip as e:
        log("SKIP: %s" % e)
        status = gcitest.EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
    except Exception:
        import traceback
        log("FAIL: harness error:\n" + traceback.format_exc())
    finally:
        if workdir is not None:
            if args.keep:
                log("kept: %s" % workdir)
            elif args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        if status == gcitest.EXIT_FAIL and not args.keep:
            log("(rerun with --keep --workdir DIR to keep the core and outputs)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
