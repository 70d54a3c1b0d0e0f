#!/usr/bin/python3
"""check_sandbox.py: the sandbox under strace (docs/sandbox.md).

    check_sandbox.py --strace STRACE --gcinspect BIN --test-sandbox BIN --python PY

1. test_sandbox --no-live under `strace -f`: the confined child sets
   PR_SET_NO_NEW_PRIVS and installs the filter, then its forbidden calls are
   refused (socket, open for writing: EPERM) and its execve kills it (SIGSYS).
2. The real gcinspect on a live python process, stopped (the default) and
   --no-stop, and on a core of it: the filter is installed after the last
   file is opened (symbols, DWARF, the layout cache, written cold; pagemap
   and smaps) and, live, after the threads are seized and interrupted;
   every read of the target's memory that follows the stop (the walk, and
   everything after discovery) comes after it; after it, only the calls
   the filter allows happen, none is refused, the report is written to
   standard output, and the threads are detached.  On the core, the
   reports are the same with and without --no-sandbox.

Exit status: 0 passed, 1 failed, 77 strace cannot trace here (says why).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77

# What the filter lets gcinspect call (analyzer/src/sandbox.c), and what it
# is seen calling after it in these runs.
ALLOWED = {
    "read", "readv", "pread64", "preadv", "lseek", "fstat", "newfstatat", "close",
    "write", "writev", "ioctl", "mmap", "mprotect", "munmap", "mremap", "brk", "madvise",
    "futex", "clock_gettime", "getrandom", "sysinfo", "uname", "getpid", "gettid",
    "rt_sigprocmask", "rt_sigreturn", "restart_syscall", "exit", "exit_group", "tgkill",
    "ptrace",
}

LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\w+)(?P<rest>.*)$")


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class Trace:
    def __init__(self, path):
        self.calls = []    # (index, pid, name, args, ret, rest)
        self.signals = []  # (pid, text)
        for i, line in enumerate(open(path, errors="replace")):
            line = line.rstrip("\n")
            m = LINE.match(line)
            if m:
                self.calls.append((i, int(m["pid"]), m["name"], m["args"], m["ret"], m["rest"]))
            elif "+++ killed by" in line or "--- SIG" in line:
                self.signals.append((int(line.split()[0]), line))

    def find(self, pred, start=-1):
        for c in self.calls:
            if c[0] > start and pred(c):
                return c
        return None

    def all(self, pred):
        return [c for c in self.calls if pred(c)]


class Checker:
    def __init__(self):
        self.failed = []

    def expect(self, cond, what):
        log(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failed.append(what)
        return cond


def run_traced(strace, argv, out, env=None):
    trace = out + ".trace"
    p = subprocess.run([strace, "-f", "-qq", "-s", "256", "-o", trace] + argv,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    return p, Trace(trace)


def installed(t, pid=None):
    """The filter's installation: (prctl NO_NEW_PRIVS, seccomp load), or Nones."""
    nnp = t.find(lambda c: c[2] == "prctl" and c[3].startswith("PR_SET_NO_NEW_PRIVS, 1")
                 and c[4] == "0" and (pid is None or c[1] == pid))
    load = t.find(lambda c: c[2] == "seccomp" and c[3].startswith("SECCOMP_SET_MODE_FILTER")
                  and "filter=" in c[3] and c[4] == "0" and (pid is None or c[1] == pid))
    return nnp, load


def no_leak_check():
    """A sanitizer's leak check cannot run under strace (it ptraces itself)."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


def check_unit(c, strace, test_sandbox, work):
    p, t = run_traced(strace, [test_sandbox, "--no-live"], os.path.join(work, "unit"),
                      env=no_leak_check())
    out = p.stdout.decode(errors="replace")
    if not c.expect(p.returncode == 0, "test_sandbox --no-live under strace: exit %d"
                    % p.returncode):
        log(out + p.stderr.decode(errors="replace")[-2000:])
    sock = t.find(lambda c_: c_[2] == "socket" and "AF_INET" in c_[3])
    if not c.expect(sock is not None, "the confined child's socket(AF_INET) is in the trace"):
        return
    pid = sock[1]
    nnp, load = installed(t, pid)
    c.expect(nnp is not None and load is not None and nnp[0] < load[0] < sock[0],
             "pid %d: prctl(PR_SET_NO_NEW_PRIVS) = 0, then seccomp(SECCOMP_SET_MODE_FILTER) "
             "= 0, before its forbidden calls" % pid)
    c.expect(sock[4] == "-1" and "EPERM" in sock[5], "socket(AF_INET) refused: = %s%s"
             % (sock[4], sock[5]))
    wr = t.find(lambda c_: c_[1] == pid and c_[2] in ("open", "openat")
                and "gcinspect-sandbox-test" in c_[3])
    c.expect(wr is not None and wr[4] == "-1" and "EPERM" in wr[5],
             "open(\"/tmp/gcinspect-sandbox-test\", O_WRONLY|O_CREAT) refused: %s"
             % (wr and wr[4] + wr[5]))
    ex = t.find(lambda c_: c_[2] == "execve" and "/bin/true" in c_[3])
    killed = ex and [s for s in t.signals if s[0] == ex[1] and "killed by SIGSYS" in s[1]]
    c.expect(bool(killed), "execve(\"/bin/true\") after the filter: the process is "
             "killed by SIGSYS")


def start_target(python):
    code = ("import gc, os, sys\n"
            "gc.disable()\n"
            "keep = [[i, {'k': i}] for i in range(20000)]\n"
            "os.write(1, b'ready\\n')\n"
            "sys.stdin.read()\n")
    proc = subprocess.Popen([python, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    if proc.stdout.readline() != b"ready\n":
        proc.kill()
        raise RuntimeError("%s did not start" % python)
    return proc


def check_cli(c, strace, gcinspect, argv, what, work, live_pid=None):
    env = no_leak_check()
    cache = tempfile.mkdtemp(prefix="cache-", dir=work)   # cold: the cache is written
    env["GCINSPECT_CACHE_DIR"] = cache
    p, t = run_traced(strace, [gcinspect] + argv, os.path.join(work, what.replace(" ", "-")),
                      env=env)
    err = p.stderr.decode(errors="replace")
    if not c.expect(p.returncode == 0 and p.stdout.strip(),
                    "%s: exit %d, %d bytes of report (%s)"
                    % (what, p.returncode, len(p.stdout), err.strip()[-300:])):
        return
    nnp, load = installed(t)
    if not c.expect(nnp is not None and load is not None and nnp[0] < load[0],
                    "%s: prctl(PR_SET_NO_NEW_PRIVS, 1) = 0, then seccomp("
                    "SECCOMP_SET_MODE_FILTER, ...) = 0" % what):
        return
    opens = t.all(lambda c_: c_[2] in ("open", "openat", "creat", "rename", "renameat",
                                       "mkdir", "unlink", "socket", "connect", "execve",
                                       "clone", "fork", "vfork"))
    after = [o for o in opens if o[0] > load[0]]
    c.expect(not after, "%s: nothing opened, made or run after the filter: %s"
             % (what, [o[2] + "(" + o[3][:60] + ")" for o in after][:5]))
    cache_write = [o for o in opens if o[2] in ("openat", "open") and cache in o[3]
                   and "O_WRONLY" in o[3]]
    c.expect(bool(cache_write) and cache_write[-1][0] < load[0],
             "%s: the layout cache was written (cold) before the filter" % what)
    late = [x for x in t.calls if x[0] > load[0]]
    names = sorted({x[2] for x in late})
    c.expect(set(names) <= ALLOWED, "%s: after the filter only allowed calls: %s"
             % (what, " ".join(names)))
    refused = [x for x in late if x[4] == "-1" and "EPERM" in x[5]]
    c.expect(not refused, "%s: none refused: %s" % (what, [x[2] for x in refused][:5]))
    writes = [x for x in late if x[2] in ("write", "writev")]
    c.expect(writes and all(x[3].split(",")[0] in ("1", "2") for x in writes)
             and any(x[3].startswith("1,") for x in writes),
             "%s: the report written to standard output, and nothing but stdout and "
             "stderr written" % what)
    if live_pid is None:
        return
    memfd = t.find(lambda c_: c_[2] == "openat" and '"/proc/%d/mem"' % live_pid in c_[3])
    fd = memfd and memfd[4]
    for f in ("pagemap", "smaps"):
        o = t.find(lambda c_: c_[2] == "openat" and '"/proc/%d/%s"' % (live_pid, f) in c_[3])
        c.expect(o is not None and o[0] < load[0] and o[4] != "-1",
                 "%s: /proc/PID/%s opened before the filter" % (what, f))
    reads = [x for x in t.calls if x[2] == "pread64" and x[3].startswith(fd + ",")]
    if "--no-stop" in argv:
        # Discovery reads before the filter; the interpreters, lists and
        # types after it.
        c.expect(any(x[0] > load[0] for x in reads),
                 "%s: the walk reads /proc/PID/mem after the filter" % what)
        return
    intr = t.all(lambda c_: c_[2] == "ptrace" and c_[3].startswith("PTRACE_INTERRUPT"))
    seize = t.all(lambda c_: c_[2] == "ptrace" and c_[3].startswith("PTRACE_SEIZE"))
    c.expect(bool(seize) and bool(intr) and intr[-1][0] < load[0],
             "%s: threads seized and interrupted before the filter" % what)
    walk = [x for x in reads if intr and x[0] > intr[-1][0]]
    c.expect(bool(walk) and all(x[0] > load[0] for x in walk),
             "%s: every read of the target's memory after the stop (%d reads of fd %s) "
             "comes after the filter" % (what, len(walk), fd))
    det = t.all(lambda c_: c_[2] == "ptrace" and c_[3].startswith("PTRACE_DETACH"))
    c.expect(bool(det) and all(d[0] > load[0] and d[4] == "0" for d in det),
             "%s: the threads detached (PTRACE_DETACH = 0) from inside the filter" % what)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--strace", default="strace")
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--test-sandbox", required=True)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    a = ap.parse_args(argv)
    strace = shutil.which(a.strace)
    if not strace:
        log("FAIL: strace (%s) is not installed (scripts/install-deps.sh installs it)"
            % a.strace)
        return EXIT_FAIL
    probe = subprocess.run([strace, "-qq", "-o", "/dev/null", "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if probe.returncode != 0:
        log("SKIP: strace cannot trace here: %s" % probe.stdout.decode(errors="replace"))
        return EXIT_SKIP
    c = Checker()
    work = tempfile.mkdtemp(prefix="gcinspect-sandbox-")
    target = None
    try:
        check_unit(c, strace, a.test_sandbox, work)
        target = start_target(a.python)
        pid = target.pid
        check_cli(c, strace, a.gcinspect, ["--pid", str(pid)], "live, stopped", work, pid)
        check_cli(c, strace, a.gcinspect, ["types", "--no-stop", "--pid", str(pid)],
                  "live --no-stop", work, pid)
        check_cli(c, strace, a.gcinspect, ["touch", "--json", "--pid", str(pid)],
                  "live touch", work, pid)
        state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        c.expect(state in ("S", "R"), "the live target runs on afterwards (state %s)" % state)
        gcore = shutil.which("gcore")
        if c.expect(gcore is not None, "gcore is installed"):
            prefix = os.path.join(work, "core")
            subprocess.run([gcore, "-o", prefix, str(pid)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120)
            core = "%s.%d" % (prefix, pid)
            if c.expect(os.path.isfile(core), "gcore wrote %s" % core):
                check_cli(c, strace, a.gcinspect, ["--json", core], "core", work)
                check_cli(c, strace, a.gcinspect, ["touch", "--pages", core], "core touch",
                          work)
                # The sandbox changes nothing in what is reported.
                for argv in (["--json", core], ["touch", "--json", "--pages", core],
                             ["types", core]):
                    outs = [subprocess.run([a.gcinspect] + argv + extra, env=no_leak_check(),
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                            for extra in ([], ["--no-sandbox"])]
                    c.expect(outs[0].returncode == outs[1].returncode == 0 and
                             outs[0].stdout == outs[1].stdout and
                             outs[0].stderr == outs[1].stderr,
                             "gcinspect %s: the same report with and without --no-sandbox"
                             % " ".join(argv[:-1]))
    except Exception:
        import traceback
        c.failed.append("harness error")
        log("FAIL harness error:\n" + traceback.format_exc())
    finally:
        if target is not None:
            target.kill()
            target.wait()
        shutil.rmtree(work, ignore_errors=True)
    log("%s (%d failed)" % ("FAILED" if c.failed else "passed", len(c.failed)))
    return EXIT_FAIL if c.failed else EXIT_PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
