#!/usr/bin/python3
"""check_bad_inputs.py: gcinspect must fail cleanly on bad input.

Usage:
    check_bad_inputs.py --gcinspect BIN [--python INTERP] [--workdir DIR] [--keep]

Each case makes its input in a temporary directory, runs gcinspect with a
timeout and checks the exit status.  Where an error is expected, stderr must
be exactly one line that starts with "gcinspect: " (and, for input files,
names the file).  A death by signal or a timeout always fails.

Exit status: 0 all passed, 1 a case failed, 77 the cases that need a core
could not run (gcore missing or ptrace not allowed) and nothing failed.
"""

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
CASE_TIMEOUT = 60

# gcinspect's documented exit statuses.
OK, PARTIAL, INPUT, NOT_PYTHON, USAGE = 0, 1, 2, 3, 64
ACCESS, TRACED, NO_PROCESS, OUTPUT = 5, 6, 7, 74


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class CoreUnavailable(Exception):
    pass


# ---------------------------------------------------------------------------
# Making cores of small processes.

def gcore_of(argv, workdir, name, ready_line, before_core=None):
    """Start argv, wait for ready_line on its stdout (None: just wait a bit),
    call before_core(), take a core, kill the process and return the core's
    path."""
    gcore = shutil.which("gcore")
    if gcore is None:
        raise CoreUnavailable("gcore is not installed")
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            if int(f.read().strip()) >= 3:
                raise CoreUnavailable("kernel.yama.ptrace_scope is 3")
    except (OSError, ValueError):
        pass
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        if ready_line is not None:
            fd = proc.stdout.fileno()
            got = b""
            deadline = time.monotonic() + 60
            while not got.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("%s: not ready after 60 s" % argv[0])
                r, _, _ = select.select([fd], [], [], left)
                if r:
                    chunk = os.read(fd, 64)
                    if not chunk:
                        raise RuntimeError("%s exited early" % argv[0])
                    got += chunk
            if got != ready_line:
                raise RuntimeError("%s said %r" % (argv[0], got))
        else:
            time.sleep(0.3)
            if proc.poll() is not None:
                raise RuntimeError("%s exited early" % argv[0])
        if before_core:
            before_core()
        prefix = os.path.join(workdir, name)
        p = subprocess.run([gcore, "-o", prefix, str(proc.pid)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        core = "%s.%d" % (prefix, proc.pid)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0 or not os.path.isfile(core):
            if "ptrace: Operation not permitted" in out or "Could not attach" in out:
                raise CoreUnavailable("gcore cannot attach: " + out.strip())
            raise RuntimeError("gcore failed (%d): %s" % (p.returncode, out.strip()))
        final = os.path.join(workdir, name + ".core")
        os.rename(core, final)
        return final
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()


# ---------------------------------------------------------------------------

class Runner(object):
    def __init__(self, binary):
        self.binary = binary
        self.passed = 0
        self.failed = []
        self.skipped = []

    def run(self, name, args, statuses, one_line=True, names=None, contains=None,
            stdout_nonempty=False, stdin_file=None, prefix=None):
        """Run gcinspect ARGS and check the outcome.

        statuses: allowed exit statuses.  one_line: on a non-zero status,
        stderr must be one line starting with "gcinspect: ".  names: a path
        that this line must mention.  contains: text the line must contain.
        """
        argv = (prefix or [self.binary]) + args
        t0 = time.monotonic()
        stdin = open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL
        try:
            p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=CASE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(name, argv, "did not finish within %d s" % CASE_TIMEOUT)
            return
        finally:
            if stdin_file:
                stdin.close()
        dt = time.monotonic() - t0
        err = p.stderr.decode("utf-8", "replace")
        problems = []
        if p.returncode < 0:
            problems.append("killed by signal %d" % -p.returncode)
        elif p.returncode not in statuses:
            problems.append("exit status %d, expected %s"
                            % (p.returncode, " or ".join(map(str, statuses))))
        if p.returncode > 0 and one_line and p.returncode != PARTIAL:
            lines = err.splitlines()
            if len(lines) != 1 or not err.endswith("\n"):
                problems.append("stderr is not exactly one line: %r" % err[:600])
            if not lines or not lines[0].startswith("gcinspect: "):
                problems.append("stderr does not start with 'gcinspect: ': %r" % err[:300])
            if names is not None and names not in err:
                problems.append("stderr does not name %s: %r" % (names, err[:300]))
            if contains is not None and contains not in err:
                problems.append("stderr does not say %r: %r" % (contains, err[:300]))
        if stdout_nonempty and not p.stdout.strip():
            problems.append("nothing on stdout")
        if problems:
            self.fail(name, argv, "; ".join(problems))
        else:
            self.passed += 1
            log("ok   %-28s exit %d in %.2f s  %s"
                % (name, p.returncode, dt, err.strip().splitlines()[0] if err.strip() else ""))

    def fail(self, name, argv, why):
        self.failed.append(name)
        log("FAIL %-28s %s\n     command: %s" % (name, why, " ".join(argv)))

    def skip(self, name, why):
        self.skipped.append(name)
        log("skip %-28s %s" % (name, why))


def check_wrong_exe(r, core, wrong):
    """--exe naming another build: its build-id differs from the one in the
    core's memory, so it is reported and not used; the answer must still be
    the same, from the core's memory alone."""
    name = "--exe with another build-id"
    runs = []
    for extra in ([], ["--exe", wrong]):
        argv = [r.binary, "summary", "--json"] + extra + [core]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=CASE_TIMEOUT)
        if p.returncode != OK:
            r.fail(name, argv, "exit status %d: %s" % (p.returncode, p.stderr[:300]))
            return
        runs.append(json.loads(p.stdout.decode("utf-8")))
    good, moved = runs
    warnings = " ".join(moved.get("warnings", []))
    problems = []
    if "build-id mismatch" not in warnings or wrong not in warnings:
        problems.append("no build-id mismatch naming %s in warnings: %r" % (wrong, warnings[:300]))
    for key in ("objects", "count", "threshold"):
        a = [g[key] for g in good["gc"]["generations"]]
        b = [g[key] for g in moved["gc"]["generations"]]
        if a != b:
            problems.append("generations' %s differ: %r with the right file, %r without" % (key, a, b))
    if problems:
        r.fail(name, [r.binary, "--exe", wrong, core], "; ".join(problems))
    else:
        r.passed += 1
        log("ok   %-28s warning: %s" % (name, warnings[:120]))


def free_pid():
    """A pid no process has (and none is likely to get in the next second)."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise RuntimeError("no free pid")


def kernel_thread():
    """The pid of a kernel thread, or None (PF_KTHREAD in /proc/PID/stat)."""
    for pid in (2, 3, 4):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[6]) & 0x00200000:
                return pid
        except (OSError, IndexError, ValueError):
            pass
    return None


def check_live_states(r, python):
    """Each reason a live process cannot be read: its own message and status."""
    r.run("live: no such process", ["--pid", str(free_pid())], [NO_PROCESS],
          contains="no process with pid")
    kt = kernel_thread()
    if kt is None:
        r.skip("live: kernel thread", "no kernel thread is visible in this pid namespace")
    else:
        r.run("live: kernel thread", ["--pid", str(kt)], [NO_PROCESS],
              contains="is a kernel thread")
    # A zombie: a child that exited and that its parent (sleeping) never reaps.
    parent = subprocess.Popen([python, "-c", "import os, sys, time\n"
                               "pid = os.fork()\n"
                               "if pid == 0: os._exit(0)\n"
                               "print(pid, flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        zombie = int(parent.stdout.readline())
        deadline = time.time() + 10
        while time.time() < deadline:
            with open("/proc/%d/stat" % zombie) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.02)
        r.run("live: zombie", ["--pid", str(zombie)], [NO_PROCESS], contains="is a zombie")
    finally:
        parent.kill()
        parent.wait()
    # Traced: the target asks to be traced by its parent, this harness.
    traced = subprocess.Popen([python, "-c", "import ctypes, os, sys\n"
                               "ctypes.CDLL(None).ptrace(0, 0, 0, 0)\n"
                               "os.write(1, b'ready\\n'); sys.stdin.read(1)"],
                              stdout=subprocess.PIPE, stdin=subprocess.PIPE)
    try:
        traced.stdout.readline()
        r.run("live: already traced", ["--pid", str(traced.pid)], [TRACED],
              contains="already traced by pid %d" % os.getpid())
        r.run("live: traced, --no-stop", ["--pid", str(traced.pid), "--no-stop", "--json"],
              [OK], one_line=False)
    finally:
        traced.kill()
        traced.wait()
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        r.skip("live: permission", "needs root and setpriv to run as another user")
        return
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    target = subprocess.Popen([python, "-c", "import os, sys\n"
                               "os.write(1, b'ready\\n'); sys.stdin.read(1)"],
                              stdout=subprocess.PIPE, stdin=subprocess.PIPE)
    undumpable = subprocess.Popen(nobody + [python, "-c", "import ctypes, os, sys\n"
                                            "ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n"
                                            "os.write(1, b'ready\\n'); sys.stdin.read(1)"],
                                  stdout=subprocess.PIPE, stdin=subprocess.PIPE)
    try:
        target.stdout.readline()
        undumpable.stdout.readline()
        binary = r.binary
        r.binary = nobody[0]
        try:
            r.run("live: another user's process", nobody[1:] + [binary, "--pid", str(target.pid)],
                  [ACCESS], contains="runs as uid 0 and gcinspect as uid 65534")
            r.run("live: not dumpable", nobody[1:] + [binary, "--pid", str(undumpable.pid)],
                  [ACCESS], contains="is not dumpable")
        finally:
            r.binary = binary
        r.run("live: not dumpable, as root", ["--pid", str(undumpable.pid), "--json"], [OK],
              one_line=False)
    finally:
        for p in (target, undumpable):
            p.kill()
            p.wait()


def check_deleted_exe(r, python, workdir):
    """A core whose executable was deleted: its symbols and DWARF come from
    the debug file named by the build-id in the core's memory."""
    name = "deleted executable"
    debug = "/usr/lib/debug/.build-id"
    copy = os.path.join(workdir, "deleted-python")
    shutil.copyfile(python, copy)
    os.chmod(copy, 0o755)
    core = gcore_of([copy, "-c", "import os; os.write(1, b'ready\\n'); os.read(0, 1)"],
                    workdir, "deleted", b"ready\n", before_core=lambda: os.unlink(copy))
    argv = [r.binary, "summary", "--json", "--no-cache", core]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=CASE_TIMEOUT)
    problems = []
    if p.returncode != OK:
        problems.append("exit %d: %s" % (p.returncode, p.stderr[:300]))
    else:
        doc = json.loads(p.stdout.decode("utf-8"))
        py = doc["python"]
        if py["layout"] != "dwarf" or debug not in py["layout_name"]:
            problems.append("layout %s from %r, not DWARF from %s" % (py["layout"],
                                                                  py["layout_name"], debug))
        if not any("found by the build-id" in w for w in doc["warnings"]):
            problems.append("no warning says where the DWARF came from: %r" % doc["warnings"])
    if problems:
        r.fail(name, argv, "; ".join(problems))
    else:
        r.passed += 1
        log("ok   %-28s %s" % (name, py["layout_name"]))


def check_command_line(r, core):
    """The command line's one rule, and what a newcomer tripped over."""
    r.run("usage: unknown command", ["frobnicate", core], [USAGE],
          contains='unknown command "frobnicate"')
    r.run("usage: neither command nor file", ["frobnicate"], [USAGE],
          contains="neither a command nor a file")
    r.run("help", ["help"], [OK], stdout_nonempty=True)
    r.run("help VERB", ["help", "types"], [OK], stdout_nonempty=True)
    r.run("VERB --help", ["touch", "--help"], [OK], stdout_nonempty=True)
    r.run("help: unknown verb", ["help", "frobnicate"], [USAGE], contains="frobnicate")
    for opt in ("--exe", "--sysroot", "--debug-dir"):
        r.run("usage: %s missing" % opt, [opt, "/no/such/path", core], [USAGE],
              names="/no/such/path")
    r.run("usage: --sysroot a file", ["--sysroot", core, core], [USAGE],
          contains="not a directory")
    r.run("usage: --pid twice", ["--pid", "1", "--pid", "2"], [USAGE],
          contains="--pid given twice")
    r.run("usage: core and --pid", ["--pid", "1", core], [USAGE], contains="not both")
    r.run("usage: --limit on summary", ["summary", "--limit", "3", core], [USAGE],
          contains="--limit does not go with summary")
    r.run("usage: --limit on touch", ["touch", "--limit", "3", core], [USAGE],
          contains="--limit does not go with touch")
    r.run("usage: -g on summary", ["summary", "-g", "1", core], [USAGE],
          contains="--generation does not go with summary")
    r.run("usage: --pages on types", ["types", "--pages", core], [USAGE],
          contains="--pages does not go with types")
    r.run("usage: --json twice", ["--json", "--json", core], [USAGE],
          contains="--json given twice")
    r.run("usage: -g 3", ["types", "-g", "3", core], [USAGE], contains="choose one of")
    # A report that cannot be written is not "out of memory".
    argv = [r.binary, "summary", core]
    with open("/dev/full", "w") as full:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=full,
                           stderr=subprocess.PIPE, timeout=CASE_TIMEOUT)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != OUTPUT or "cannot write" not in err or len(err.splitlines()) != 1:
        r.fail("report to /dev/full", argv, "exit %d, stderr %r" % (p.returncode, err))
    else:
        r.passed += 1
        log("ok   %-28s exit %d  %s" % ("report to /dev/full", p.returncode, err.strip()))


def check_warnings_stream(r, core, wrong):
    """Text: warnings on stderr, the report alone on stdout; JSON: in "warnings"."""
    name = "warnings on stderr"
    argv = [r.binary, "summary", "--exe", wrong, core]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=CASE_TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    problems = []
    if p.returncode != OK:
        problems.append("exit %d" % p.returncode)
    if "warning" in out or "mismatch" in out:
        problems.append("a warning on stdout: %r" % out[-300:])
    if "gcinspect: %s: warning: " % core not in err or "build-id mismatch" not in err:
        problems.append("no warning line naming the core on stderr: %r" % err[:300])
    if problems:
        r.fail(name, argv, "; ".join(problems))
    else:
        r.passed += 1
        log("ok   %-28s %s" % (name, err.strip().splitlines()[0][:100]))


def damage_phoff(src, dst):
    """Copy an ELF64 file and point e_phoff far beyond its end."""
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF" or ident[4] != 2:
            raise RuntimeError("%s is not ELF64" % src)
        f.seek(0x20)  # e_phoff in Elf64_Ehdr
        f.write((0x7ffffffffff00000).to_bytes(8, "little"))


def note_only_core(path):
    """An x86-64 ELF core whose only program header is a PT_NOTE (no
    PT_LOAD: no memory at all).  The core reader once passed NULL to qsort
    on it, which the sanitizer build turned into exit 1 instead of 2."""
    import struct
    desc = bytearray(136)  # NT_PRPSINFO
    struct.pack_into("<i", desc, 24, 4242)
    desc[40:47] = b"python3"
    note = struct.pack("<III", 5, len(desc), 3) + b"CORE\0\0\0\0" + bytes(desc)
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) +
            struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 4, 0, 64 + 56, 0, 0, len(note), 0, 4)
    with open(path, "wb") as f:
        f.write(ehdr + phdr + note)


def truncate_half(src, dst):
    size = os.path.getsize(src)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        left = size // 2
        while left > 0:
            chunk = fi.read(min(left, 1 << 20))
            if not chunk:
                break
            fo.write(chunk)
            left -= len(chunk)


COMPRESSORS = (("zstd", "zst", ["zstd", "-q", "-c"]), ("lz4", "lz4", ["lz4", "-q", "-c"]),
               ("xz", "xz", ["xz", "-c", "-T1"]), ("gzip", "gz", ["gzip", "-c"]))


def compress(cmd, src, dst, data=None):
    with open(dst, "wb") as fo:
        if data is None:
            with open(src, "rb") as fi:
                subprocess.run(cmd, stdin=fi, stdout=fo, check=True, timeout=CASE_TIMEOUT)
        else:
            subprocess.run(cmd, input=data, stdout=fo, check=True, timeout=CASE_TIMEOUT)


def check_compressed_inputs(r, core, workdir):
    """Damaged, truncated and explosive compressed cores: exit 2, one line
    that names the file and says where (the compressed byte offset)."""
    for fmt, ext, cmd in COMPRESSORS:
        if shutil.which(cmd[0]) is None:
            r.fail("%s inputs" % fmt, [cmd[0]], "not installed (scripts/install-deps.sh)")
            continue
        good = os.path.join(workdir, "python.core." + ext)
        compress(cmd, core, good)
        with open(good, "rb") as f:
            data = f.read()
        r.run("%s core" % fmt, ["summary", good], [OK], one_line=False)
        cut = os.path.join(workdir, "cut.core." + ext)
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        r.run("%s core, truncated" % fmt, ["summary", cut], [INPUT], names=cut,
              contains="ends early, at compressed byte %d" % (len(data) // 2))
        # The magic, then bytes that are no such data.
        junk = os.path.join(workdir, "junk.core." + ext)
        with open(junk, "wb") as f:
            f.write(data[:6] + bytes((i * 131 + 7) % 256 for i in range(4096)))
        r.run("%s magic, then garbage" % fmt, ["summary", junk], [INPUT], names=junk,
              contains="compressed byte")
        # A whole stream, then garbage: not silently ignored.
        tail = os.path.join(workdir, "tail.core." + ext)
        with open(tail, "wb") as f:
            f.write(data + b"this is not %s data\n" % fmt.encode() * 4)
        r.run("%s stream, then garbage" % fmt, ["summary", tail], [INPUT], names=tail,
              contains="compressed byte")
        # A byte flipped in the middle: the checksums (or the decoder) say so.
        flip = os.path.join(workdir, "flip.core." + ext)
        mid = bytearray(data)
        for i in range(len(mid) // 2, len(mid) // 2 + 16):
            mid[i] ^= 0xff
        with open(flip, "wb") as f:
            f.write(bytes(mid))
        r.run("%s damaged in the middle" % fmt, ["summary", flip], [INPUT], names=flip,
              contains="damaged %s data" % fmt)
    if shutil.which("zstd") is None:
        return
    # Decompression bombs: 1 GiB that compresses to a few kB.  With an ELF
    # magic in front it is written out until the limit stops it.
    bomb = os.path.join(workdir, "bomb.core.zst")
    with open(bomb, "wb") as fo:
        p = subprocess.Popen(["zstd", "-q", "-c"], stdin=subprocess.PIPE, stdout=fo)
        p.stdin.write(b"\x7fELF")
        zeros = bytes(1 << 20)
        for _ in range(1024):
            p.stdin.write(zeros)
        p.stdin.close()
        p.wait(CASE_TIMEOUT)
    r.run("zstd bomb, --max-core-size 16M", ["summary", "--max-core-size", "16M", bomb],
          [INPUT], names=bomb, contains="decompresses to more than 16.0 MiB")
    # Without --max-core-size, the temporary directory's free space bounds
    # it: a 64 MiB tmpfs as TMPDIR, in a mount namespace of its own.
    small = os.path.join(workdir, "small-tmp")
    os.mkdir(small)
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0:
        argv = [unshare, "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o size=64m gcinspect-test "$0" && exec env TMPDIR="$0" "$@"',
                small, r.binary]
        r.run("zstd bomb, 64 MiB TMPDIR", ["summary", bomb], [INPUT], names=bomb,
              contains="what %s can hold" % small, prefix=argv)
    else:
        r.skip("zstd bomb, 64 MiB TMPDIR", "needs root and unshare to mount a small tmpfs")
    zbomb = os.path.join(workdir, "zeros.core.zst")
    compress(["zstd", "-q", "-c"], None, zbomb, data=bytes(64 << 20))
    r.run("zstd of zeros (not ELF)", ["summary", zbomb], [INPUT], names=zbomb,
          contains="not an ELF file")
    empty = os.path.join(workdir, "empty.core.zst")
    compress(["zstd", "-q", "-c"], None, empty, data=b"")
    r.run("zstd of nothing", ["summary", empty], [INPUT], names=empty)
    if shutil.which("lz4"):
        legacy = os.path.join(workdir, "legacy.core.lz4")
        compress(["lz4", "-q", "-l", "-c"], core, legacy)
        r.run("lz4 legacy format", ["summary", legacy], [INPUT], names=legacy,
              contains="legacy format")
    # Standard input.
    r.run("stdin: empty", ["summary", "-"], [INPUT], names="<stdin>", contains="empty",
          stdin_file=os.devnull)
    r.run("stdin: truncated zstd", ["summary", "-"], [INPUT], names="<stdin>",
          contains="ends early", stdin_file=os.path.join(workdir, "cut.core.zst"))
    r.run("usage: - twice", ["summary", "-", "-"], [USAGE], contains="once")
    r.run("usage: --max-core-size 12Q", ["summary", "--max-core-size", "12Q", bomb], [USAGE],
          contains="--max-core-size")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", default="/usr/bin/python3.11",
                    help="interpreter for the Python core (default %(default)s)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.gcinspect):
        log("FAIL: %s does not exist" % args.gcinspect)
        return EXIT_FAIL

    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
    else:
        workdir = tempfile.mkdtemp(prefix="gcinspect-bad-")
    r = Runner(args.gcinspect)
    try:
        # Files that are not cores at all.
        d = os.path.join(workdir, "a-directory")
        os.mkdir(d)
        r.run("directory", ["summary", d], [INPUT], names=d)
        missing = os.path.join(workdir, "no-such-file")
        r.run("nonexistent file", ["summary", missing], [INPUT], names=missing)
        empty = os.path.join(workdir, "empty")
        open(empty, "wb").close()
        r.run("empty file", ["summary", empty], [INPUT], names=empty)
        text = os.path.join(workdir, "text.txt")
        with open(text, "w") as f:
            f.write("this is not a core file\n" * 20)
        r.run("text file", ["summary", text], [INPUT], names=text, contains="not an ELF file")
        if os.path.isfile(args.python):
            r.run("ELF executable", ["summary", args.python], [INPUT], names=args.python)
        else:
            r.fail("ELF executable", [args.python], "interpreter missing")

        noload = os.path.join(workdir, "no-load.core")
        note_only_core(noload)
        r.run("core without PT_LOAD", ["summary", noload], [INPUT], names=noload,
              contains="no memory segments")

        # Command line.
        r.run("usage: unknown option", ["--no-such-option"], [USAGE])
        r.run("usage: no argument", [], [USAGE])
        r.run("usage: summary, no core", ["summary", "--json"], [USAGE])
        r.run("--version", ["--version"], [OK], stdout_nonempty=True)

        # Cores of small processes.
        try:
            sleep = shutil.which("sleep") or "/bin/sleep"
            sleep_core = gcore_of([sleep, "100"], workdir, "sleep", None)
            r.run("core of sleep", ["summary", sleep_core], [NOT_PYTHON], names=sleep_core)
            bad = os.path.join(workdir, "bad-phoff.core")
            damage_phoff(sleep_core, bad)
            r.run("damaged e_phoff", ["summary", bad], [INPUT], names=bad)

            py_core = gcore_of([args.python, "-c",
                                "import os; os.write(1, b'ready\\n'); os.read(0, 1)"],
                               workdir, "python", b"ready\n")
            r.run("small python core", ["summary", py_core], [OK], one_line=False)
            check_wrong_exe(r, py_core, "/usr/bin/python3.11d")
            check_warnings_stream(r, py_core, "/usr/bin/python3.11d")
            check_command_line(r, py_core)
            if os.path.isdir("/usr/lib/debug/.build-id"):
                check_deleted_exe(r, args.python, workdir)
            else:
                r.skip("deleted executable", "no debug files installed (python3.11-dbg)")
            half = os.path.join(workdir, "half.core")
            truncate_half(py_core, half)
            r.run("truncated core: summary", ["summary", half],
                  [PARTIAL, INPUT, NOT_PYTHON], names=half)
            r.run("truncated core: types", ["types", "--json", half],
                  [PARTIAL, INPUT, NOT_PYTHON], names=half)
            check_compressed_inputs(r, py_core, workdir)
        except CoreUnavailable as e:
            for name in ("core of sleep", "damaged e_phoff", "small python core",
                         "truncated core", "command line", "compressed cores"):
                r.skip(name, str(e))
        check_live_states(r, args.python)
    except Exception:
        import traceback
        r.failed.append("harness error")
        log("FAIL: harness error:\n" + traceback.format_exc())
    finally:
        if args.keep:
            log("kept: %s" % workdir)
        elif not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    log("%d passed, %d failed, %d skipped" % (r.passed, len(r.failed), len(r.skipped)))
    if r.failed:
        return EXIT_FAIL
    if r.skipped:
        return EXIT_SKIP
    return EXIT_PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
