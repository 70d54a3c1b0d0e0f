"""gcitest.py: what the test harnesses share (standard library only).

  - Skip / Fail and the exit statuses (0 pass, 1 fail, 77 skip);
  - Target: tests/targets/gc_target.py under an interpreter (on the host or
    in a chroot), blocked reading a pipe after it said "ready", so that it
    holds still until released (with fork_worker, and its one idle child);
    then its truth (what its own gc module said);
  - take_core: a core of a process, with gcore (from outside, or inside the
    target's chroot and mount namespace);
  - Gcinspect: the CLI, its JSON and NDJSON (ndjson);
  - Gdb: the gdb plugin in `gdb -batch`, several commands per run;
  - Dom / report_data: a report page's tables and the JSON it embeds;
  - build_failure: why scripts/build-pythons.sh could not build an interpreter;
  - compare_truth: a summary and the type histograms of generations 1 and 2
    against the truth, exactly (the generational collector, 3.14.0-3.14.4's
    incremental one, free-threaded builds); json_diff / expect_equal /
    report_diff for two reports;
  - compare_objects: objects --json against summary and types documents;
    check_workers_found: whom workers --json found.

Used by tests/integration/check_target.py (and the other harnesses there),
tests/gdb/check_gdb.py, tests/cow/check_cow.py, tests/html/check_html.py and
tests/servers.  Every helper raises Fail (a test failure, with what went
wrong) or Skip (this machine cannot do the thing at all, and why).
"""

import html.parser
import json
import operator
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TESTS = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TARGET = os.path.join(TESTS, "targets", "gc_target.py")

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
READY_TIMEOUT = 120
GCORE_TIMEOUT = 180
EXIT_TIMEOUT = 60
RUN_TIMEOUT = 180


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def shell_join(argv):
    out = []
    for a in argv:
        if a and all(c.isalnum() or c in "-_./=:+,@%" for c in a):
            out.append(a)
        else:
            out.append("'" + a.replace("'", "'\\''") + "'")
    return " ".join(out)


def run(argv, env=None, timeout=RUN_TIMEOUT, check=True, quiet=False, cwd=None,
        stdin=subprocess.DEVNULL):
    """(status, stdout, stderr) of argv as text; Fail on a non-zero status
    when check, or on a timeout."""
    if not quiet:
        log("+ " + ("(cd %s) " % shell_join([cwd]) if cwd else "") + shell_join(argv))
    try:
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Fail("%s did not finish within %d s" % (argv[0], timeout))
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise Fail("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                   % (argv[0], p.returncode, out[-3000:], err[-3000:]))
    return p.returncode, out, err


def on_signal_fail():
    """SIGTERM and SIGHUP (ctest's timeout) become Fail, so that cleanup runs."""
    def handler(signum, frame):
        raise Fail("harness got signal %d" % signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


# ---------------------------------------------------------------------------
# Can this machine attach to a process at all?

def ptrace_blocker():
    """A reason why ptrace attach cannot work here, or None."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read().strip())
    except (OSError, ValueError):
        scope = 0
    if scope >= 3:
        return "kernel.yama.ptrace_scope is %d: ptrace attach is disabled" % scope
    if scope >= 1 and os.geteuid() != 0:
        # gcore and gdb attach from processes that are not the target's parent.
        return "kernel.yama.ptrace_scope is %d and we are not root" % scope
    return None


PTRACE_REFUSED_MARKERS = (
    "ptrace: Operation not permitted",
    "Could not attach to process",
    "ptrace: Permission denied",
)


def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_state(pid):
    """The state letter of /proc/PID/status (R, S, t, T, Z...), or None when
    the process is gone."""
    try:
        return proc_status(pid).get("State", "").split()[0] or None
    except (OSError, IndexError):
        return None


def left_stopped(pid, timeout=10):
    """None once pid runs untraced (a tool's detach is not always
    instant: wait up to timeout seconds), else why not ("State t, traced
    by 123").  A process that is gone is not stopped."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            st = proc_status(pid)
        except OSError:
            return None
        tracer, state = int(st.get("TracerPid", "-1")), st.get("State", "?")
        if tracer == 0 and not state.startswith(("t", "T")):
            return None
        if time.monotonic() > deadline:
            return "State %s, traced by %d" % (state, tracer)
        time.sleep(0.05)


def _stat_fields():
    """(pid, the fields of /proc/PID/stat after the command name) of every
    process."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        yield int(name), stat[stat.rfind(")") + 2:].split()


def children(pid):
    """The pids whose parent is pid."""
    return sorted(p for p, fields in _stat_fields() if len(fields) > 1 and int(fields[1]) == pid)


def group_members(pgid):
    """The pids whose process group is pgid (zombies included)."""
    return sorted(p for p, fields in _stat_fields() if len(fields) > 2 and int(fields[2]) == pgid)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on now."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def need(path, package):
    """Skip unless path is an executable (from Debian's package)."""
    if not os.access(path, os.X_OK):
        raise Skip("%s is missing: install Debian's %s (scripts/install-deps.sh)"
                   % (path, package))


def wait_blocked_in_read(pid, timeout=30):
    """Wait until the main thread of pid sleeps in read(2) (or, where the
    syscall number is not known, on a pipe), and every other thread in
    read(2) or futex(2) (a thread the target keeps alive, blocked on an
    event: gc_target.py --live-thread): from then on it holds still.
    A target says "ready" and then reads; between the two it still runs."""
    import platform
    read_nr, futex_nr = {"x86_64": ("0", "202"),
                         "aarch64": ("63", "98")}.get(platform.machine(), (None, None))
    deadline = time.monotonic() + timeout
    while True:
        blocked = True
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                    nr = f.read().split(None, 1)[0]
                with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                    wchan = f.read()
                if read_nr is None:
                    ok = "pipe" in wchan or (tid != str(pid) and "futex" in wchan)
                else:
                    ok = nr == read_nr or (tid != str(pid) and nr == futex_nr)
                if not ok:
                    blocked = False
        except (OSError, IndexError) as e:
            raise Fail("cannot tell what pid %d is doing: %s" % (pid, e))
        if blocked:
            return
        if time.monotonic() > deadline:
            raise Fail("pid %d did not block in read(2) within %d s" % (pid, timeout))
        time.sleep(0.01)


# ---------------------------------------------------------------------------
# The target process.

class Target(object):
    """gc_target.py under python (a path inside chroot, if given), blocked
    reading its stdin, a pipe, once it said "ready": it holds still, every
    thread asleep (wait_blocked_in_read), until release().  Use with `with`.

    With chroot, the script and its truth live in a directory of this run's
    own under CHROOT/tmp; own_mount_ns also gives the target a mount
    namespace of its own with /proc mounted inside the chroot, as in a
    container (take_core(inside=True) joins it).

    threads: the target builds part of its heap in that many threads that
    exit before the snapshot; live_thread: and in one still alive, blocked
    (free-threaded builds: abandoned mimalloc segments, a second thread's
    heaps).  fork_worker: once its heap is built, the target forks one idle
    child (gc_target.py --fork-worker), a pre-fork server's worker:
    worker_pid, blocked reading a pipe too before start() returns."""

    def __init__(self, python, workdir, script=DEFAULT_TARGET, chroot=None,
                 own_mount_ns=False, freeze=False, subinterpreter=False, scale=None,
                 keep=False, threads=0, live_thread=False, fork_worker=False):
        self.python = python
        self.chroot = chroot
        self.keep = keep
        self.proc = None
        self.worker_pid = None
        self.fork_worker = fork_worker
        self.stderr_file = None
        self.inner = None   # (host path, path inside the chroot) of the run's directory
        self.stderr_path = os.path.join(workdir, "target.stderr")
        if chroot is None:
            self.host_python = python
            self.truth_path = os.path.join(workdir, "truth.json")
            argv = [python, script, "--truth", self.truth_path]
        else:
            self.host_python = os.path.join(chroot, python.lstrip("/"))
            host_dir = tempfile.mkdtemp(prefix="gcinspect-target.",
                                        dir=os.path.join(chroot, "tmp"))
            os.chmod(host_dir, 0o755)
            self.inner = (host_dir, "/tmp/" + os.path.basename(host_dir))
            shutil.copy(script, os.path.join(host_dir, "gc_target.py"))
            self.truth_path = os.path.join(host_dir, "truth.json")
            argv = [python, self.inner[1] + "/gc_target.py",
                    "--truth", self.inner[1] + "/truth.json"]
            if own_mount_ns:
                # unshare, sh and chroot all exec: the pid stays the
                # interpreter's.  The mount goes with the namespace.
                argv = (["unshare", "--mount", "--propagation", "private", "sh", "-c",
                         'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"', chroot]
                        + argv)
            else:
                argv = ["chroot", chroot] + argv   # chroot(8) execs: same pid
        if os.path.exists(self.truth_path):
            os.unlink(self.truth_path)
        if freeze:
            argv.append("--freeze")
        if subinterpreter:
            argv.append("--subinterpreter")
        if scale is not None:
            argv += ["--scale", str(scale)]
        if threads:
            argv += ["--threads", str(threads)]
        if live_thread:
            argv.append("--live-thread")
        if fork_worker:
            argv.append("--fork-worker")
        self.argv = argv

    @property
    def pid(self):
        return self.proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self, timeout=READY_TIMEOUT):
        log("+ " + shell_join(self.argv))
        self.stderr_file = open(self.stderr_path, "wb")
        env = dict(os.environ)
        # The target must see a pristine interpreter: no startup hooks.
        for k in ("PYTHONSTARTUP", "PYTHONMALLOC", "PYTHONDEVMODE", "PYTHONTRACEMALLOC",
                  "PYTHONHOME", "PYTHONPATH"):
            env.pop(k, None)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, env=env, close_fds=True)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        got = b""
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("target not ready after %d s (got %r)" % (timeout, got))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 64)
            if not chunk:
                rc = self.proc.wait()
                raise Fail("target exited with status %s before it was ready (got %r)\n%s"
                           % (rc, got, self.stderr_text()))
            got += chunk
        if got != b"ready\n":
            raise Fail("target said %r instead of 'ready'" % got)
        wait_blocked_in_read(self.pid)
        if self.fork_worker:
            kids = children(self.pid)
            if len(kids) != 1:
                raise Fail("target (--fork-worker) has %d children, not one: %s"
                           % (len(kids), kids))
            self.worker_pid = kids[0]
            # Until it blocks, the worker may still write pages it shares.
            wait_blocked_in_read(self.worker_pid)
        return self

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_running(self, after):
        """After a tool let go of it: the target is alive, traced by nobody
        (a detach is not always instant), and not stopped."""
        if self.proc.poll() is not None:
            raise Fail("the target died %s (status %s)\n%s"
                       % (after, self.proc.returncode, self.stderr_text()))
        why = left_stopped(self.pid)
        if why:
            raise Fail("%s, the target is left so: %s" % (after, why))

    def release(self, timeout=EXIT_TIMEOUT):
        """Let the target write its truth and exit; the truth."""
        try:
            self.proc.stdin.write(b"g")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("target did not exit within %d s after release" % timeout)
        rest = self.proc.stdout.read()
        if rc != 0:
            raise Fail("target exited with status %d\n%s" % (rc, self.stderr_text()))
        if rest:
            raise Fail("target wrote unexpected output after ready: %r" % rest[:200])
        try:
            with open(self.truth_path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise Fail("cannot read the target's truth %s: %s" % (self.truth_path, e))

    def kill(self):
        """Make sure the target is gone (also if a tracer left it stopped)."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        for sig in (signal.SIGKILL, signal.SIGCONT):
            try:
                os.kill(p.pid, sig)
            except OSError:
                pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            log("warning: target %d did not die" % p.pid)

    def close(self):
        self.kill()
        for f in (self.proc and self.proc.stdin, self.proc and self.proc.stdout,
                  self.stderr_file):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        if self.inner is not None:
            if self.keep:
                log("kept: %s" % self.inner[0])
            else:
                shutil.rmtree(self.inner[0], ignore_errors=True)


def build_failure(python, chroot, failure_file):
    """Why scripts/build-pythons.sh could not build python (a path inside
    chroot, if given), as it recorded in failure_file; None when python
    exists or nothing was recorded (then a missing python is a failure)."""
    if failure_file is None:
        return None
    host = os.path.join(os.path.abspath(chroot), python.lstrip("/")) if chroot else python
    if os.path.isfile(host) or not os.path.isfile(failure_file):
        return None
    with open(failure_file, errors="replace") as f:
        return f.read().strip() or "(no reason recorded)"


def take_core(target, workdir, inside=False):
    """A core of the target (a Target, or any process with a pid), as
    workdir/core.PID, taken by the host's gcore or (inside: a Target in a
    chroot) by the chroot's own, in the target's mount namespace and root
    directory, so that the core names the paths as the target sees them."""
    pid = target.pid
    if not inside:
        gcore = shutil.which("gcore")
        if gcore is None:
            raise Skip("gcore is not installed (Debian package gdb)")
        prefix = os.path.join(workdir, "core")
        argv = [gcore, "-o", prefix, str(pid)]
        core = "%s.%d" % (prefix, pid)
    else:
        root, (host_dir, inner_dir) = target.chroot, target.inner
        if not os.path.isfile(os.path.join(root, "usr/bin/gcore")):
            raise Fail("the chroot %s has no /usr/bin/gcore (Debian package gdb)" % root)
        # From a mount namespace of its own, /proc/PID/maps would show the
        # host paths: join the target's (its /proc) and its root.
        argv = ["nsenter", "--target", str(pid), "--mount", "--root",
                "gcore", "-o", inner_dir + "/core", str(pid)]
        core = os.path.join(host_dir, "core.%d" % pid)
    log("+ " + shell_join(argv))
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=GCORE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("gcore did not finish within %d s" % GCORE_TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0 or not os.path.isfile(core):
        for m in PTRACE_REFUSED_MARKERS:
            if m in out:
                raise Skip("gcore cannot attach (%s):\n%s" % (m, out.strip()))
        raise Fail("gcore failed with status %d:\n%s" % (p.returncode, out.strip()))
    if inside:
        moved = os.path.join(workdir, os.path.basename(core))
        shutil.move(core, moved)
        core = moved
    return os.path.realpath(core)


def core_mapped_files(core):
    """The file names in the core's NT_FILE note (ELF64 little endian)."""
    import struct
    with open(core, "rb") as f:
        ehdr = f.read(64)
        if ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
            raise Fail("%s is not a 64-bit little-endian ELF file" % core)
        phoff, = struct.unpack_from("<Q", ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
                "<IIQQQQ", phdrs, i * phentsize)
            if p_type != 4:     # PT_NOTE
                continue
            f.seek(p_offset)
            notes = f.read(p_filesz)
            pos = 0
            while pos + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                pos += 12 + ((namesz + 3) & ~3)
                desc = notes[pos:pos + descsz]
                pos += (descsz + 3) & ~3
                if ntype == 0x46494c45:     # NT_FILE
                    count, = struct.unpack_from("<Q", desc, 0)
                    names = desc[16 + 24 * count:].split(b"\0")[:count]
                    return [n.decode("utf-8", "replace") for n in names]
    raise Fail("%s has no NT_FILE note" % core)


# ---------------------------------------------------------------------------
# gcinspect and the gdb plugin.

def parse_json(text, what):
    try:
        return json.loads(text)
    except ValueError as e:
        raise Fail("%s is not JSON (%s):\n%s" % (what, e, text[:2000]))


def ndjson(text, what):
    """The objects of NDJSON (objects --json), one a line."""
    lines = text.splitlines()
    try:
        # One parse (a line per object: tens of thousands), unless a line is
        # not one object of its own.
        rows = json.loads("[" + ",".join(lines) + "]")
        if len(rows) == len(lines) and all(isinstance(r, dict) for r in rows):
            return rows
    except ValueError:
        pass
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except ValueError as e:
            raise Fail("%s: line %d is not JSON (%s): %r" % (what, i + 1, e, line[:200]))
    return rows


class Gcinspect(object):
    """The CLI; env: its environment (a private layout cache, say)."""

    def __init__(self, binary, env=None):
        self.binary = binary
        self.env = env

    def run(self, args, check=True, stdin=subprocess.DEVNULL):
        return run([self.binary] + args, env=self.env, check=check, stdin=stdin)

    def output(self, args, what, stdin=subprocess.DEVNULL):
        """The stdout of a run that must succeed (what it says on stderr is
        logged)."""
        t0 = time.monotonic()
        rc, out, err = self.run(args, check=False, stdin=stdin)
        dt = time.monotonic() - t0
        if rc < 0:
            raise Fail("%s: gcinspect killed by signal %d\n%s" % (what, -rc, err))
        if rc != 0:
            raise Fail("%s: gcinspect exited with status %d\nstderr:\n%s\nstdout:\n%s"
                       % (what, rc, err, out[:4000]))
        if err.strip():
            log("%s: gcinspect stderr:\n%s" % (what, err.rstrip()))
        log("   %s: %.2f s" % (what, dt))
        return out

    def json(self, args, what):
        """The JSON document of a run that must succeed."""
        return parse_json(self.output(args, what), what)

    def objects(self, args, what):
        """The rows of objects --json ARGS (NDJSON), a run that must succeed."""
        return ndjson(self.output(["objects", "--json"] + args, what), what)


BEGIN, END = "@@gcinspect-begin@@", "@@gcinspect-end@@"


class Gdb(object):
    """gdb -batch with the plugin sourced; env: its environment.  readnever:
    gdb reads no debug info of its own (the plugin uses none of gdb's symbols:
    it reads memory, and the files through libgcinspect), which spares the
    seconds gdb spends on the DWARF of a Debian -dbg build."""

    def __init__(self, gdb, plugin, env=None, readnever=False):
        self.gdb = gdb
        self.plugin = plugin
        self.env = env
        self.readnever = readnever

    def check_usable(self):
        """Skip when gdb is missing or has no Python."""
        if not self.gdb or not shutil.which(self.gdb):
            raise Skip("no gdb (Debian package gdb)")
        try:
            rc, out, _ = run([self.gdb, "-batch", "-nx", "-ex", "python print('gdb-python-ok')"],
                             check=False, timeout=60, quiet=True)
        except (OSError, Fail) as e:
            raise Skip("gdb does not run: %s" % e)
        if "gdb-python-ok" not in out:
            raise Skip("this gdb has no Python")

    def run(self, target_args, commands, setup=(), load=None, cwd=None):
        """Run commands after `setup` (gdb settings, before the target is
        loaded) on target_args (["-p", PID], [EXE, "-c", CORE], ...): each
        command's stdout, and gdb's stderr.  load: the gdb arguments that
        load the plugin (default: source the plugin).  Fail on a Python
        traceback, or when a command's output is missing."""
        argv = [self.gdb, "-batch", "-nx"] + (["--readnever"] if self.readnever else []) + [
            "-iex", "set pagination off", "-iex", "set debuginfod enabled off"]
        for s in setup:
            argv += ["-iex", s]
        argv += ["-ex", "source " + self.plugin] if load is None else list(load)
        for c in commands:
            argv += ["-ex", "echo %s\\n" % BEGIN, "-ex", c, "-ex", "echo %s\\n" % END]
        argv += target_args
        t0 = time.monotonic()
        rc, out, err = run(argv, env=self.env, check=False, cwd=cwd)
        log("   gdb: %.2f s" % (time.monotonic() - t0))
        if "Traceback" in out or "Traceback" in err:
            raise Fail("a Python traceback in gdb's output:\n%s\n%s"
                       % (out[-3000:], err[-3000:]))
        parts = re.findall(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END) + r"\n", out, re.S)
        if len(parts) != len(commands):
            raise Fail("gdb printed %d of %d command outputs (status %d)\nstdout:\n%s\n"
                       "stderr:\n%s" % (len(parts), len(commands), rc, out[-3000:],
                                        err[-3000:]))
        return parts, err

    def json_commands(self, target_args, commands, setup=()):
        """Commands that each print one JSON document: the documents."""
        parts, err = self.run(target_args, commands, setup)
        docs = []
        for c, text in zip(commands, parts):
            if not text.strip():
                raise Fail("gdb: %s printed nothing; gdb's stderr:\n%s" % (c, err[-3000:]))
            docs.append(parse_json(text, "gdb: " + c))
        return docs


# ---------------------------------------------------------------------------
# The page of gcinspect report.

class Dom(html.parser.HTMLParser):
    """Tables (with their attributes and cell texts), titles, scripts, and
    any attribute an injected element would carry, of a report page (the
    file, or what Chromium's --dump-dom made of it)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables = []       # (attrs, [row: (row attrs, [cell text])])
        self.title = ""
        self.scripts = []      # (attrs, text)
        self.stack = []
        self.cell = None
        self.row = None
        self.in_title = False
        self.script = None
        self.attrs_seen = set()
        self.svg_rects = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k, _ in attrs:
            self.attrs_seen.add(k)
        if tag == "table":
            self.tables.append((a, []))
            self.stack.append(self.tables[-1])
        elif tag == "tr" and self.stack:
            self.row = (a, [])
            self.stack[-1][1].append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "title":
            self.in_title = True
        elif tag == "script":
            self.script = (a, [])
        elif tag == "path" and a.get("class") in ("c0", "c1", "c2", "c3", "cp"):
            self.svg_rects += 1

    def handle_endtag(self, tag):
        if tag == "table" and self.stack:
            self.stack.pop()
        elif tag in ("td", "th") and self.cell is not None:
            self.row[1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "title":
            self.in_title = False
        elif tag == "script" and self.script is not None:
            self.scripts.append((self.script[0], "".join(self.script[1])))
            self.script = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.in_title:
            self.title += data
        if self.script is not None:
            self.script[1].append(data)

    def table(self, **want):
        return [t for t in self.tables if all(t[0].get(k) == v for k, v in want.items())]

    def data(self):
        """The texts of the JSON the page embeds (docs/json-schema.md, report):
        one, where the page is whole."""
        return [text for a, text in self.scripts if a.get("id") == "gcinspect-data"]


def report_data(page, what):
    """The documents a report page embeds: {"summary", "touch", "types"}."""
    dom = Dom()
    dom.feed(page)
    data = dom.data()
    if len(data) != 1:
        raise Fail("%s: the page embeds %d JSON documents, not one" % (what, len(data)))
    return parse_json(data[0], what + ": the embedded JSON")


# ---------------------------------------------------------------------------
# Two reports.

def json_diff(a, b, path="$"):
    """The places where two JSON values differ."""
    if type(a) != type(b):
        return ["%s: %r != %r" % (path, a, b)]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s.%s: only on one side" % (path, k))
            else:
                out += json_diff(a[k], b[k], "%s.%s" % (path, k))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: %d items != %d" % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def report_diff(a, b):
    """json_diff of two reports of one target, but for the layout name
    (which says "(cached)" on a warm run), how long a live target was
    stopped, and when (snapshot.time of a live target is the time of its
    walk: each run's own)."""
    def norm(d):
        if isinstance(d, dict):
            return dict((k, norm(v)) for k, v in d.items()
                        if k not in ("layout_name", "stopped_ms", "time"))
        if isinstance(d, list):
            return [norm(v) for v in d]
        return d
    return json_diff(norm(a), norm(b))


def expect_equal(got, want, what):
    d = json_diff(got, want)
    if d:
        raise Fail("%s: the two reports differ:\n  %s" % (what, "\n  ".join(d[:20])))
    log("%s: equal" % what)


# ---------------------------------------------------------------------------
# A report against the truth.

class Checker(object):
    def __init__(self):
        self.failures = []
        self.checked = 0

    def eq(self, what, got, want):
        self.checked += 1
        if got != want:
            self.failures.append("%s: gcinspect says %r, expected %r" % (what, got, want))
            return False
        return True

    def true(self, what, cond, detail=""):
        self.checked += 1
        if not cond:
            self.failures.append("%s%s" % (what, (": " + detail) if detail else ""))
        return cond


def get(doc, path, default=KeyError):
    cur = doc
    for k in path:
        if isinstance(cur, dict) and k in cur:
            cur = cur[k]
        elif isinstance(cur, list) and isinstance(k, int) and 0 <= k < len(cur):
            cur = cur[k]
        else:
            if default is KeyError:
                raise Fail("gcinspect output has no %s" % ".".join(str(p) for p in path))
            return default
    return cur


def histogram_diff(got, want, limit=40):
    lines = []
    for name in sorted(set(got) | set(want)):
        g = got.get(name)
        w = want.get(name)
        if g != w:
            lines.append("    %-40s gcinspect %-8s truth %-8s%s"
                         % (name, g if g is not None else "-", w if w is not None else "-",
                            "  (%+d)" % ((g or 0) - (w or 0))))
    if len(lines) > limit:
        lines = lines[:limit] + ["    ... %d more" % (len(lines) - limit)]
    return "\n".join(lines)


def compare_interpreters(truth, summary, ck):
    """Every interpreter reported, the main one first and equal to "gc"; a
    subinterpreter the target made has its own, complete lists."""
    interps = summary.get("interpreters")
    want = 1 + truth.get("subinterpreters", 0)
    if not ck.true("interpreters is a list of %d" % want,
                   isinstance(interps, list) and len(interps) == want,
                   repr(interps)[:300]):
        return
    ck.eq("interpreters[0] is the main interpreter (id 0)", interps[0].get("id"), 0)
    ck.eq("interpreters[0] equals gc", interps[0], summary.get("gc"))
    for sub in interps[1:]:
        ck.true("subinterpreter id >= 1", isinstance(sub.get("id"), int) and sub["id"] >= 1,
                repr(sub.get("id")))
        lists = sub.get("generations", []) + ([sub["permanent"]] if sub.get("permanent") else [])
        ck.true("subinterpreter lists complete", all(g.get("complete") for g in lists))
        total = sum(g.get("objects", 0) for g in lists)
        ck.true("subinterpreter holds its own objects (>= %d)"
                % truth["subinterpreter_min_objects"],
                total >= truth["subinterpreter_min_objects"], "it has %d" % total)
        ck.true("subinterpreter's GC state differs from the main one's",
                sub.get("gc_state") != interps[0].get("gc_state"))


def compare_types_doc(label, doc, lst, want_hist, want_addr, ck, names_may_be_unknown):
    """One types document (types --json, gc-types --json) against the truth.
    lst: the summary's list it covers (or a dict of the objects and bytes of
    the lists it covers): the types' objects must add up to its.  want_hist
    ({tp_name: objects}) and want_addr ({type address: {"name", "objects"}}):
    the truth's; want_hist None when the truth has none (before 3.8)."""
    ck.eq("%s schema" % label, doc.get("schema"), "gcinspect/1")
    entries = doc.get("types")
    if not ck.true("%s: list of types" % label, isinstance(entries, list)):
        return
    hist = {}
    by_addr = {}    # type address -> [name or None when unknown, objects]
    unknown = 0
    tbytes = 0
    for e in entries:
        name = e.get("name")
        known = e.get("name_known") is True
        hist[name] = hist.get(name, 0) + e.get("objects", 0)
        tbytes += e.get("bytes", 0)
        if not known:
            unknown += 1
        if not names_may_be_unknown:
            ck.true("%s: %r has name_known true" % (label, name), known,
                    repr(e.get("name_known")))
        addr = e.get("address")
        if ck.true("%s: %r has a hex address" % (label, name),
                   isinstance(addr, str) and addr.startswith("0x"), repr(addr)):
            key = "0x%x" % int(addr, 16)
            ck.true("%s: address %s listed once" % (label, key), key not in by_addr)
            by_addr[key] = [name if known else None, e.get("objects", 0)]
    ck.eq("%s: sum of objects vs the summary's list" % label, sum(hist.values()),
          lst.get("objects"))
    if tbytes != lst.get("bytes"):
        log("note: %s: sum of bytes %d != the summary's list's bytes %r"
            % (label, tbytes, lst.get("bytes")))
    if unknown:
        log("note: %s: %d of %d types have no readable name (%d objects)"
            % (label, unknown, len(by_addr),
               sum(c for n, c in by_addr.values() if n is None)))
    if want_hist is None:
        return
    # By type object: every type with exactly its objects, and its name
    # whenever gcinspect could read it.  (Names alone are ambiguous: enum
    # defines a class named "property", as the built-in type is.)
    if not ck.true("%s: the truth has types by address" % label, isinstance(want_addr, dict)):
        return
    want_addr = dict(("0x%x" % int(a, 16), v) for a, v in want_addr.items())
    diff = []
    for a in sorted(set(by_addr) | set(want_addr)):
        got_name, got_n = by_addr.get(a, (None, None))
        w = want_addr.get(a)
        want_name, want_n = (w["name"], w["objects"]) if w else (None, None)
        if got_n != want_n or (got_name is not None and got_name != want_name) or (
                got_name is None and a in by_addr and not names_may_be_unknown):
            diff.append("    %-18s gcinspect %-8s %-30s truth %-8s %s"
                        % (a, got_n if got_n is not None else "-",
                           got_name if got_name is not None
                           else ("(name unreadable)" if a in by_addr else "-"),
                           want_n if want_n is not None else "-", want_name or "-"))
    ck.checked += 1
    if diff:
        if len(diff) > 40:
            diff = diff[:40] + ["    ... %d more" % (len(diff) - 40)]
        ck.failures.append("%s by type address differs (%d types in gcinspect, %d in "
                           "truth):\n%s" % (label, len(by_addr), len(want_addr),
                                            "\n".join(diff)))
    ck.eq("%s: total objects vs truth" % label, sum(hist.values()), sum(want_hist.values()))
    if not names_may_be_unknown:
        ck.checked += 1
        if hist != want_hist:
            ck.failures.append("%s: type histogram differs (%d names in gcinspect, %d in "
                               "truth):\n%s" % (label, len(hist), len(want_hist),
                                                histogram_diff(hist, want_hist)))


def merge_types_docs(docs, generation):
    """One types document for several lists: objects and bytes summed per type."""
    by_addr = {}
    order = []
    for doc in docs:
        for e in doc.get("types") or []:
            a = e.get("address")
            if a not in by_addr:
                by_addr[a] = dict(e)
                order.append(a)
            else:
                m = by_addr[a]
                m["objects"] = m.get("objects", 0) + e.get("objects", 0)
                m["bytes"] = m.get("bytes", 0) + e.get("bytes", 0)
    merged = dict(docs[0])
    merged["generation"] = generation
    merged["types"] = [by_addr[a] for a in order]
    return merged


def compare_footprint(lists, ck):
    """Sanity of the footprint numbers of [(label, list)]."""
    for label, g in lists:
        n, b, pg = g.get("objects"), g.get("bytes"), g.get("pages")
        if not ck.true("%s objects/bytes/pages are integers" % label,
                       all(isinstance(v, int) and not isinstance(v, bool) for v in (n, b, pg)),
                       "objects=%r bytes=%r pages=%r" % (n, b, pg)):
            continue
        ck.true("%s bytes >= 32*objects" % label, b >= 32 * n, "bytes=%d objects=%d" % (b, n))
        if n > 0:
            ck.true("%s pages >= 1" % label, pg >= 1, "pages=%d objects=%d" % (pg, n))
        else:
            ck.true("%s empty: bytes and pages 0" % label, b == 0 and pg == 0,
                    "bytes=%d pages=%d" % (b, pg))


def compare_incremental(truth, gcs, gens, ck):
    """3.14.0-3.14.4: the lists are young, old[0], old[1].  What the gc module
    says maps onto them as CPython 3.14.4's gcmodule.c and gc.c define it:
    get_objects(generation=0) is young, 1 nothing, 2 both old lists;
    get_count() is (young, old[visited_space], old[1 - visited_space]);
    get_threshold() is (young, old[0], 0) - and old[1]'s threshold is 0 in
    memory unless gc.set_threshold() was given three values (the target never
    calls it)."""
    names = ["young", "old[0]", "old[1]"]
    for i, g in enumerate(gens):
        ck.eq("list %d name" % i, g.get("name"), names[i])
        ck.eq("%s threshold" % names[i], g.get("threshold"), truth["threshold"][i])
    visited = gcs.get("visited_space")
    if not ck.true("gc.visited_space is 0 or 1", visited in (0, 1), repr(visited)):
        return
    ck.true("gc.phase is mark or collect", gcs.get("phase") in ("mark", "collect"),
            repr(gcs.get("phase")))
    for i in (0, 1):
        ck.eq("old[%d] role" % i, gens[1 + i].get("role"),
              "visited" if i == visited else "pending")
    ck.eq("young count", gens[0].get("count"), truth["count"][0])
    ck.eq("old[visited_space=%d] count (gc.get_count()[1])" % visited,
          gens[1 + visited].get("count"), truth["count"][1])
    ck.eq("old[%d] (pending) count (gc.get_count()[2])" % (1 - visited),
          gens[2 - visited].get("count"), truth["count"][2])
    n0, n1, n2 = truth["generations"]
    ck.eq("truth: gc.get_objects(generation=1) is empty", n1, 0)
    ck.eq("young objects (gc.get_objects(generation=0))", gens[0].get("objects"), n0)
    o0, o1 = gens[1].get("objects"), gens[2].get("objects")
    if ck.true("old list objects are integers", isinstance(o0, int) and isinstance(o1, int),
               "%r %r" % (o0, o1)):
        ck.eq("old[0] + old[1] objects (%d + %d; gc.get_objects(generation=2))" % (o0, o1),
              o0 + o1, n2)


def compare_free_threaded(truth, summary, types_docs, ck, names_may_be_unknown):
    """Free-threaded builds: one list, "heap", holding what gc.get_objects()
    returns (of any generation), the frozen objects as the permanent
    generation, the young threshold and count as the heap's; one collection,
    "full", which writes every heap object's header."""
    gcs = get(summary, ["gc"])
    gens = gcs.get("generations")
    if not ck.true("gc.generations is a list of 1", isinstance(gens, list) and len(gens) == 1,
                   repr(gens)[:300]):
        return
    heap = gens[0]
    ck.eq("heap name", heap.get("name"), "heap")
    ck.eq("heap head (no list)", heap.get("head"), None)
    ck.eq("heap threshold (gc.get_threshold()[0])", heap.get("threshold"), truth["threshold"][0])
    ck.eq("heap count (gc.get_count()[0])", heap.get("count"), truth["count"][0])
    ck.eq("heap objects (len(gc.get_objects()))", heap.get("objects"), truth["total"])
    ck.eq("heap complete", heap.get("complete"), True)
    perm = gcs.get("permanent") or {}
    ck.eq("permanent objects (gc.get_freeze_count())", perm.get("objects"),
          truth["freeze_count"])
    if truth.get("freeze_requested"):
        ck.true("--freeze froze objects", truth["freeze_count"] > 0)
    compare_footprint([("heap", heap)] + ([("permanent", perm)] if perm else []), ck)
    cols = summary.get("collections")
    if ck.true("collections is one full collection",
               isinstance(cols, list) and len(cols) == 1, repr(cols)):
        ck.eq("collections[0].generation", cols[0].get("generation"), "full")
        ck.eq("collections[0].objects", cols[0].get("objects"), truth["total"])
        ck.true("collections[0] pages >= the heap's pages",
                cols[0].get("pages", 0) >= heap.get("pages", 0))
    # gc.get_objects(generation=N) is the whole heap for every N.
    for gen in ("1", "2"):
        doc = types_docs[gen]
        ck.eq("types %s generation" % gen, doc.get("generation"), gen)
        compare_types_doc("types %s" % gen, doc, heap, truth["types"]["heap"],
                          truth["types_by_address"]["heap"], ck, names_may_be_unknown)


def compare_truth(truth, summary, types_docs, expect_layout, ck, names_may_be_unknown=False):
    """summary (gcinspect summary --json) and types_docs ({"1": types -g 1
    --json, "2": ...}) against the truth, into ck: the generational collector,
    3.14.0-3.14.4's incremental one (compare_incremental; there types_docs may
    also hold "old[0]" and "old[1]", types -g of each old list, which together
    must be generation 2), or a free-threaded build (compare_free_threaded).
    names_may_be_unknown: the interpreter's files were not at hand, so type
    names may be unreadable."""
    compare_interpreters(truth, summary, ck)
    ck.eq("summary.schema", summary.get("schema"), "gcinspect/1")
    py = get(summary, ["python"])
    ck.eq("python.version", py.get("version"), truth["version"])
    ck.eq("python.debug_build", py.get("debug_build"), truth["debug_build"])
    if expect_layout is not None:
        ck.eq("python.layout", py.get("layout"), expect_layout)

    gcs = get(summary, ["gc"])
    ck.eq("gc.enabled", gcs.get("enabled"), truth["enabled"])
    ck.eq("gc.collecting", gcs.get("collecting"), False)
    integ = get(summary, ["integrity"])
    ck.eq("integrity.complete", integ.get("complete"), True)
    ck.eq("integrity.problems", integ.get("problems"), [])
    incremental = truth.get("incremental", False)
    ck.eq("gc.collector", gcs.get("collector"),
          "free-threaded" if truth.get("free_threaded") else
          "incremental" if incremental else "generational")
    if truth.get("free_threaded"):
        compare_free_threaded(truth, summary, types_docs, ck, names_may_be_unknown)
        return

    gens = get(summary, ["gc", "generations"])
    if not ck.true("gc.generations is a list of 3", isinstance(gens, list) and len(gens) == 3,
                   repr(gens)[:200]):
        return
    if incremental:
        compare_incremental(truth, gcs, gens, ck)
    else:
        for i, g in enumerate(gens):
            ck.eq("generation %d name" % i, g.get("name"), str(i))
            ck.eq("generation %d threshold" % i, g.get("threshold"), truth["threshold"][i])
            ck.eq("generation %d count" % i, g.get("count"), truth["count"][i])
            if truth["generations"] is not None:
                ck.eq("generation %d objects" % i, g.get("objects"), truth["generations"][i])
    objs = [g.get("objects") for g in gens]
    if truth["generations"] is None:
        if all(isinstance(o, int) for o in objs):
            ck.eq("generations 0+1+2 objects (%s)" % "+".join(map(str, objs)),
                  sum(objs), truth["total"])
        else:
            ck.true("generation objects are integers", False, repr(objs))

    perm = gcs.get("permanent")
    if truth["freeze_count"] is None:
        ck.true("no permanent generation before 3.7",
                perm is None or not perm.get("objects"), repr(perm))
    else:
        if ck.true("gc.permanent present", isinstance(perm, dict), repr(perm)):
            ck.eq("permanent objects", perm.get("objects"), truth["freeze_count"])
    if truth.get("freeze_requested") and truth["freeze_count"] is not None:
        ck.true("--freeze gave a non-empty permanent generation", truth["freeze_count"] > 0)
    compare_footprint([("generation %d" % i, g) for i, g in enumerate(gens)] +
                      ([("permanent", perm)] if isinstance(perm, dict) else []), ck)

    # Type histograms: types -g N is gc.get_objects(generation=N), which the
    # incremental collector maps onto its lists (1: none, 2: both old ones).
    if incremental:
        ck.eq("truth: no types for gc.get_objects(generation=1)", truth["types"].get("1"), {})
        old = dict((k, gens[1].get(k, 0) + gens[2].get(k, 0)) for k in ("objects", "bytes"))
        lists = {"1": {"objects": 0, "bytes": 0}, "2": old}
    else:
        lists = {"1": gens[1], "2": gens[2]}
    for gen in ("1", "2"):
        doc = types_docs[gen]
        ck.eq("types %s generation" % gen, doc.get("generation"), gen)
        compare_types_doc("types %s" % gen, doc, lists[gen],
                          truth["types"][gen] if truth["types"] else None,
                          truth.get("types_by_address", {}).get(gen), ck,
                          names_may_be_unknown)
    if incremental and "old[0]" in types_docs:
        # The old lists by name, each on its own: together, generation 2.
        parts = [types_docs["old[0]"], types_docs["old[1]"]]
        for name, doc in zip(("old[0]", "old[1]"), parts):
            ck.eq("types %s generation" % name, doc.get("generation"), name)
        compare_types_doc("types old[0] + old[1]", merge_types_docs(parts, "2"), lists["2"],
                          truth["types"]["2"], truth["types_by_address"]["2"], ck,
                          names_may_be_unknown)


# ---------------------------------------------------------------------------
# objects --json against the other reports of the same reading.

OBJECT_KEYS = {"address", "type", "type_address", "size", "refcount", "generation",
               "interpreter"}


# An objects --json row's identity: interpreter, list, address.
object_key = operator.itemgetter("interpreter", "generation", "address")


def list_names(summary, generation):
    """The main interpreter's lists (their names in summary) that types or
    objects -g GENERATION covers; generation None: every list."""
    gcs = get(summary, ["gc"])
    names = [g["name"] for g in gcs.get("generations") or []]
    if generation is None:
        return names + (["permanent"] if gcs.get("permanent") else [])
    if gcs.get("collector") == "free-threaded" and generation in ("0", "1", "2"):
        return ["heap"]
    if gcs.get("collector") == "incremental":
        old = ["old[0]", "old[1]"]
        by_number = {"0": ["young"], "1": [], "2": old, "old": old}
        if generation in by_number:
            return by_number[generation]
    return [generation]


def compare_objects(label, rows, summary, types_docs, ck):
    """The rows of objects --json (every list) against the summary of the
    same reading: the documented keys, distinct objects, and per
    interpreter and list the count and the bytes (the permanent list
    included).  And against types documents ({key: types --json [-g GEN]}):
    per type object, the objects and the bytes of the main interpreter's
    lists each covers."""
    ck.true("%s: objects listed" % label, len(rows) > 0)
    for o in rows[:1] + rows[-1:]:
        ck.eq("%s: keys of a row" % label, set(o), OBJECT_KEYS)
    ck.eq("%s: rows are distinct objects" % label, len(set(map(object_key, rows))), len(rows))
    # One pass: objects and bytes per interpreter, list and type object.
    cells = {}
    for o in rows:
        k = (o["interpreter"], o["generation"], o["type_address"])
        c = cells.get(k)
        if c is None:
            cells[k] = [1, o["size"]]
        else:
            c[0] += 1
            c[1] += o["size"]
    per = {}
    for (interp, gen, _), (n, b) in cells.items():
        pn, pb = per.get((interp, gen), (0, 0))
        per[(interp, gen)] = (pn + n, pb + b)
    for interp in summary["interpreters"]:
        lists = list(interp["generations"])
        if interp.get("permanent"):
            lists.append(interp["permanent"])
        for g in lists:
            ck.eq("%s: interpreter %s list %s objects and bytes" % (label, interp["id"],
                                                                 g["name"]),
                  per.pop((interp["id"], g["name"]), (0, 0)), (g["objects"], g["bytes"]))
    ck.eq("%s: no rows of lists summary does not name" % label, per, {})
    for key in sorted(types_docs):
        doc = types_docs[key]
        names = list_names(summary, doc.get("generation"))
        got = {}
        for (interp, gen, addr), (n, b) in cells.items():
            if interp == 0 and gen in names:
                a = "0x%x" % int(addr, 16)
                gn, gb = got.get(a, (0, 0))
                got[a] = (gn + n, gb + b)
        want = dict(("0x%x" % int(e["address"], 16), (e["objects"], e["bytes"]))
                    for e in doc.get("types") or [])
        diff = ["    %s: objects --json %s, types %s" % (a, got.get(a), want.get(a))
                for a in sorted(set(got) | set(want)) if got.get(a) != want.get(a)]
        ck.true("%s: objects and bytes per type object of lists %s = types -g %s"
                % (label, "+".join(names) or "(none)", doc.get("generation")),
                not diff, "\n" + "\n".join(diff[:20]))


def check_workers_found(report, master_pid, worker_pids):
    """workers --json: the master and exactly worker_pids found, each read
    (no error), none left stopped."""
    if report["master"]["pid"] != master_pid:
        raise Fail("master found: %d, expected %d" % (report["master"]["pid"], master_pid))
    found = sorted(w["pid"] for w in report["workers"])
    if found != sorted(worker_pids):
        raise Fail("workers found: %s, expected %s" % (found, sorted(worker_pids)))
    for p in [master_pid] + found:
        why = left_stopped(p)
        if why:
            raise Fail("pid %d is left stopped: %s" % (p, why))
    for proc in [report["master"]] + report["workers"]:
        if proc["error"]:
            raise Fail("pid %d could not be read: %s" % (proc["pid"], proc["error"]))


def full_collection(collections):
    """Of a touch document's (or a workers process's) collections, the one
    gc.collect() runs: generation 2, or "full" (3.14.0-3.14.4, free-threaded
    builds); None unless exactly one."""
    full = [c for c in collections or [] if c.get("generation") in (2, "full")]
    return full[0] if len(full) == 1 else None


def workers_json(binary, pid, extra=(), env=None):
    """gcinspect workers --json --pid PID: the document; Fail on an exit
    status other than 0."""
    return Gcinspect(binary, env).json(["workers", "--json"] + list(extra) + ["--pid", str(pid)],
                                       "workers --pid %d" % pid)
