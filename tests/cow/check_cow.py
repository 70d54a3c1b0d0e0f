#!/usr/bin/python3
"""check_cow.py: gcinspect's touch model against a real copy-on-write.

A master process, run under the interpreter under test, disables the
collector, builds a heap of tracked objects (dicts holding lists and strings),
moves it into generation 2 with gc.collect(), optionally calls gc.freeze(),
and forks a child.  The child measures its own Private_Dirty
(/proc/self/smaps_rollup), says it is ready and waits.  Then:

  1. the harness counts the child's pages that are still shared (pagemap:
     present, not exclusively mapped) over its private writable mappings;
  2. it runs `gcinspect touch -g 2 --json --pages --pid CHILD`;
  3. it checks that the child is not left stopped, and counts the shared
     pages again: gcinspect must not have unshared them (a read through
     process_vm_readv would, on Linux 5.19 and later);
  4. it tells the child to run gc.collect(); the child reports how much its
     Private_Dirty grew.

Pass when the predicted copy (sharing.shared_pages x 4 kB, plus work_pages x
4 kB: memory the collector allocates for itself, the mark stack of
free-threaded builds) and the measured growth agree within 5 % (and 64 kB,
for small values), or, with --freeze, when both are near zero (prediction <=
128 kB, growth <= 256 kB).

With --gdb and --plugin, the gdb plugin attached to the child (gdb -p) must
then say exactly what gcinspect said: `gc-touch 2 --json --pages` equal to
the CLI's report, the pages still shared (pagemap) included, and gdb must
not unshare pages either.

Besides the child's own measurement, the harness also records the pages that
the collection actually unshared (pagemap before and after) and compares that
set with the pages gcinspect listed, so that a disagreement can be explained
page by page.

With --increment (the incremental collector of 3.14.0-3.14.4) the child runs
automatic steps instead of gc.collect(), twice:

  1. the child allocates, with the collector disabled, until young.count is
     exactly young.threshold ("fill");
  2. the harness runs `gcinspect touch -g increment --json --pages --pid
     CHILD`: what the next automatic step will do (what_if.next_collection:
     "nothing", "mark", "collect", "collect, ending the cycle") and write;
  3. the child enables the collector and allocates one more object: the
     allocation passes the threshold and the step runs at the next check of
     the eval loop ("step"); it reports its Private_Dirty growth, young.count
     and the number of collections gc.get_stats() counts for the increments;
  4. the harness reads the child again (`gcinspect summary --json`): phase
     and work_to_do after the step.

Then the harness lets the child run unmeasured steps up to the first one
that collects again (after a mark step, the next ones do nothing until its
debt in work_to_do is paid off) and checks that one the same way.

The step that ran must be the one predicted (a mark step leaves the collect
phase and no collection counted; "nothing" leaves work_to_do exactly as
predicted; a collect step counts one collection, and ending the cycle goes
back to the mark phase with work_to_do 0).  A mark step subtracts twice the
number of objects it marked from work_to_do, which gives how many objects it
really wrote against the young and pending objects gcinspect counts (an upper
bound: it does not follow references).  Every step's prediction must be
within 5 % (--mark-tolerance for a mark step) or 64 kB of the growth.

Usage:
    check_cow.py --gcinspect BIN --python INTERP [--chroot DIR] [--freeze]
                 [--increment] [--objects N] [--extra-arg ARG ...]
                 [--gdb GDB --plugin PLUGIN]

With --chroot DIR the master runs as `chroot DIR INTERP -c SOURCE` (INTERP is
a path inside DIR); the chroot needs no /proc: the master inherits a
descriptor of the host's /proc and the child opens self/smaps_rollup under it.

--build-failure FILE: the interpreter is one scripts/build-pythons.sh builds;
if it is missing and FILE exists, the build failed for the reason FILE gives,
and the test skips quoting it.

Exit status: 0 pass, 1 fail, 77 skip (only when this machine does not let us
read another process's pagemap or attach to it with ptrace, or when
scripts/build-pythons.sh could not build the interpreter).
"""

import argparse
import array
import errno
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gcitest  # noqa: E402
from gcitest import EXIT_PASS, EXIT_FAIL, EXIT_SKIP, Fail, Skip, log  # noqa: E402
from gcitest import proc_status, ptrace_blocker  # noqa: E402

READY_TIMEOUT = 180      # building the heap under a debug-less 3.15 is quick; be generous
COLLECT_TIMEOUT = 120
GCINSPECT_TIMEOUT = 120
EXIT_TIMEOUT = 30

PAGE = 4096
REL_TOLERANCE = 0.05     # |predicted - measured| <= 5 % of measured ...
ABS_SLACK_KB = 64        # ... or 64 kB, whichever is larger
FREEZE_PREDICTED_MAX_KB = 128
FREEZE_GROWTH_MAX_KB = 256
UNSHARE_MAX_PAGES = 16   # shared pages that may vanish while gcinspect runs

# The master and its child, run with -c under the interpreter under test.
# argv: PROC_FD REPORT_FD COMMAND_FD OBJECTS FREEZE(0/1)
# It writes lines to REPORT_FD and reads commands from COMMAND_FD:
#   master: "master PID TRACKED FROZEN"                (before the fork)
#   child:  "ready PID PRIVATE_DIRTY_KB"              (then waits)
#   harness -> child: "collect"
#   child:  "collected BEFORE_KB AFTER_KB UNREACHABLE"
#   harness -> child: "fill"
#   child:  "filled YOUNG_COUNT"                       (young.count = threshold)
#   harness -> child: "step"
#   child:  "stepped BEFORE_KB AFTER_KB YOUNG_COUNT COLLECTIONS_BEFORE COLLECTIONS_AFTER"
#   harness -> child: "advance N"
#   child:  "advanced"                                 (after N unmeasured steps)
# until EOF on COMMAND_FD.
TARGET = r'''
import gc, os, sys

proc_fd, report_fd, command_fd = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
n_objects, freeze = int(sys.argv[4]), sys.argv[5] == "1"

def private_dirty_kb():
    fd = os.open("self/smaps_rollup", os.O_RDONLY, dir_fd=proc_fd)
    try:
        data = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    for line in data.split(b"\n"):
        if line.startswith(b"Private_Dirty:"):
            return int(line.split()[1])
    raise SystemExit("cow target: no Private_Dirty in smaps_rollup")

def say(line):
    os.write(report_fd, (line + "\n").encode())

def command():
    buf = b""
    while not buf.endswith(b"\n"):
        c = os.read(command_fd, 1)
        if not c:
            return ""
        buf += c
    return buf.decode().strip()

gc.disable()
STATE = [{"name": "item%d" % i, "tags": ["t%d" % i, str(i)], "n": i}
         for i in range(n_objects)]
gc.collect()
if freeze:
    gc.freeze()
tracked = len(gc.get_objects())   # every generation (free-threaded: the heap)
frozen = gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0
say("master %d %d %d" % (os.getpid(), tracked, frozen))

KEEP = []

def fill():
    # Net tracked allocations until young.count is the threshold: one more
    # starts the collector's next automatic step (gc.get_count() allocates
    # a tuple and frees it: net nothing).
    threshold = gc.get_threshold()[0]
    while gc.get_count()[0] < threshold:
        KEEP.append([])
    return gc.get_count()[0]

def tick():
    pass

def step():
    # One automatic step: the allocation of x passes the threshold
    # (_Py_TriggerGC), the call of tick checks the eval breaker (_Py_RunGC).
    increments = gc.get_stats()[1]["collections"]
    before = private_dirty_kb()
    gc.enable()
    x = []
    tick()
    gc.disable()
    after = private_dirty_kb()
    KEEP.append(x)
    return before, after, gc.get_count()[0], increments, gc.get_stats()[1]["collections"]

pid = os.fork()
if pid == 0:
    # Warm up everything the measurement uses, so that measuring allocates
    # from pages the child already owns.
    for _ in range(3):
        private_dirty_kb()
        gc.get_stats()
    say("ready %d %d" % (os.getpid(), private_dirty_kb()))
    while True:
        cmd = command()
        if cmd == "collect":
            before = private_dirty_kb()
            unreachable = gc.collect()
            after = private_dirty_kb()
            say("collected %d %d %d" % (before, after, unreachable))
        elif cmd == "fill":
            say("filled %d" % fill())
        elif cmd == "step":
            say("stepped %d %d %d %d %d" % step())
        elif cmd.startswith("advance "):
            # automatic steps, unmeasured
            for _ in range(int(cmd.split()[1])):
                fill()
                step()
            say("advanced")
        else:
            break
    os._exit(0)

# The master keeps its pages (and so the sharing) until the child is gone.
os.close(report_fd)
os.close(command_fd)
os.waitpid(pid, 0)
'''


# ---------------------------------------------------------------------------
# /proc of the child, from outside.

def smaps_private_dirty_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise Fail("no Private_Dirty in /proc/%d/smaps_rollup" % pid)


def writable_private_ranges(pid):
    """(start, end, name) of every private writable mapping: the anonymous
    ones (heap, arenas, stack) and the written pages of file-backed .data/.bss
    (the GC state lives there for the main interpreter)."""
    ranges = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split(None, 5)
            perms = fields[1]
            if perms[0] != "r" or perms[1] != "w" or perms[3] != "p":
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5].strip() if len(fields) > 5 else "[anon]"
            ranges.append((start, end, name))
    return ranges


PM_PRESENT = 1 << 63
PM_EXCLUSIVE = 1 << 56


def shared_pages(pid):
    """{page address: mapping name} of the pages that are present and not
    exclusively mapped: still shared with another process."""
    out = {}
    try:
        fd = os.open("/proc/%d/pagemap" % pid, os.O_RDONLY)
    except OSError as e:
        if e.errno in (errno.EPERM, errno.EACCES):
            raise Skip("cannot open /proc/%d/pagemap: %s" % (pid, e.strerror))
        raise
    try:
        for start, end, name in writable_private_ranges(pid):
            first = start // PAGE
            npages = (end - start) // PAGE
            done = 0
            while done < npages:
                chunk = min(npages - done, 1 << 16)
                try:
                    data = os.pread(fd, chunk * 8, (first + done) * 8)
                except OSError as e:
                    if e.errno in (errno.EPERM, errno.EACCES):
                        raise Skip("cannot read /proc/%d/pagemap: %s" % (pid, e.strerror))
                    raise
                entries = array.array("Q")
                entries.frombytes(data[:len(data) // 8 * 8])
                for i, e in enumerate(entries):
                    if e & PM_PRESENT and not e & PM_EXCLUSIVE:
                        out[(first + done + i) * PAGE] = name
                if len(entries) < chunk:
                    break
                done += chunk
    finally:
        os.close(fd)
    return out


# ---------------------------------------------------------------------------
# The master and its child.

class Target(object):
    def __init__(self, python, chroot, objects, freeze):
        self.proc = None
        self.report_r = self.command_w = None
        self.child = None
        self.buf = b""
        report_r, report_w = os.pipe()
        command_r, command_w = os.pipe()
        proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        # A file, not a pipe: the child inherits it and may outlive the master.
        self.stderr = tempfile.TemporaryFile()
        argv = [python, "-c", TARGET, str(proc_fd), str(report_w), str(command_r),
                str(objects), "1" if freeze else "0"]
        if chroot is not None:
            argv = ["chroot", chroot] + argv   # chroot(8) execs: same pid
        try:
            self.proc = subprocess.Popen(argv, pass_fds=(proc_fd, report_w, command_r),
                                         stdin=subprocess.DEVNULL,
                                         stderr=self.stderr,
                                         start_new_session=True)
        finally:
            os.close(proc_fd)
            os.close(report_w)
            os.close(command_r)
        self.report_r, self.command_w = report_r, command_w

    def read_line(self, timeout, what):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out after %d s waiting for %s" % (timeout, what))
            r, _, _ = select.select([self.report_r], [], [], left)
            if not r:
                continue
            data = os.read(self.report_r, 4096)
            if not data:
                time.sleep(0.2)
                self.stderr.seek(0)
                err = self.stderr.read().strip()
                raise Fail("the target closed its report pipe before %s (exit %s)%s"
                           % (what, self.proc.poll(),
                              ":\n" + err.decode(errors="replace") if err else ""))
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode().split()

    def send(self, line):
        os.write(self.command_w, (line + "\n").encode())

    def finish(self):
        """Let the child and the master exit; kill them if they do not."""
        if self.command_w is not None:
            os.close(self.command_w)
            self.command_w = None
        ok = True
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                ok = False
        self.kill()
        return ok

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        # The child is in the master's process group; it may outlive the master.
        if self.child is not None:
            try:
                os.kill(self.child, signal.SIGKILL)
            except OSError:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        for fd in (self.report_r, self.command_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.report_r = self.command_w = None


# ---------------------------------------------------------------------------

def run(args):
    blocker = ptrace_blocker()
    if blocker:
        raise Skip(blocker)
    if not os.access(args.gcinspect, os.X_OK):
        raise Fail("%s is not executable" % args.gcinspect)
    host_python = (os.path.join(args.chroot, args.python.lstrip("/"))
                   if args.chroot else args.python)
    if not os.access(host_python, os.X_OK):
        raise Fail("interpreter %s does not exist" % host_python)
    if args.chroot and not os.path.isdir(args.chroot):
        raise Fail("chroot %s does not exist (scripts/make-chroots.sh builds it)" % args.chroot)

    label = ("chroot %s %s" % (args.chroot, args.python)) if args.chroot else args.python
    label += " --freeze" if args.freeze else ""
    t = Target(args.python, args.chroot, args.objects, args.freeze)
    try:
        kind, master, tracked, frozen = t.read_line(READY_TIMEOUT, "the master")
        assert kind == "master", kind
        kind, child, dirty0 = t.read_line(READY_TIMEOUT, "the child")
        assert kind == "ready", kind
        master, child = int(master), int(child)
        t.child = child
        log("%s: master %d (%s tracked objects, %s frozen), child %d (Private_Dirty %s kB)"
            % (label, master, tracked, frozen, child, dirty0))
        if proc_status(child).get("PPid") != str(master):
            raise Fail("pid %d is not the master's child" % child)
        if args.increment:
            status = run_increments(args, t, child, label)
            if not t.finish():
                raise Fail("the target did not exit within %d s" % EXIT_TIMEOUT)
            return status

        # From here the child holds still (reading its command pipe).
        gcitest.wait_blocked_in_read(child)
        # The whole server's report first: it reads more of the child than
        # touch (its copied pages), which faults in clean file pages that
        # the gdb check below compares in smaps.
        w = workers_view(args, child)
        shared_before = shared_pages(child)
        dirty_outer0 = smaps_private_dirty_kb(child)

        cmd = ([args.gcinspect, "touch", "-g", "2", "--json", "--pages"] + args.extra_arg
               + ["--pid", str(child)])
        log("$ " + " ".join(cmd))
        started = time.monotonic()
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=GCINSPECT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Fail("gcinspect did not finish in %d s" % GCINSPECT_TIMEOUT)
        elapsed = time.monotonic() - started
        state = proc_status(child)["State"]
        if r.returncode != 0:
            err = r.stderr.decode(errors="replace").strip()
            if "ptrace" in err.lower() and ("not permitted" in err.lower()
                                            or "EPERM" in err):
                raise Skip("gcinspect cannot attach: %s" % err)
            raise Fail("gcinspect exited %d: %s" % (r.returncode, err))
        if state[:1] in ("t", "T"):
            raise Fail("the child is left stopped after gcinspect exits: State %s" % state)
        shared_after = shared_pages(child)

        report = json.loads(r.stdout.decode())
        if report["target"]["pid"] != child:
            raise Fail("gcinspect reports pid %r, not %d" % (report["target"]["pid"], child))
        coll = report["collections"]
        # gc.collect(generation=2): "full" on 3.14.0-3.14.4 and free-threaded builds
        if len(coll) != 1 or coll[0]["generation"] not in (2, "full"):
            raise Fail("expected one collection of generation 2, got %r"
                       % [c.get("generation") for c in coll])
        coll = coll[0]
        sharing = coll.get("sharing")
        if not sharing:
            raise Fail("no sharing in gcinspect's report of a live process")
        predicted_pages = sharing["shared_pages"]
        if w.get("full_collection_copy_bytes") != predicted_pages * 4096:
            raise Fail("workers says a full collection in the child would copy %r bytes, "
                       "touch -g 2 said %d" % (w.get("full_collection_copy_bytes"),
                                                predicted_pages * 4096))
        log("workers agrees: a full collection copies %d bytes" % (predicted_pages * 4096))
        work_pages = coll.get("work_pages", 0)
        predicted_kb = (predicted_pages + work_pages) * 4
        listed = set(int(p["address"], 16) for p in coll["page_list"])
        # page_list holds the pages of GC heads; pages also counts the GC
        # state's page(s), which may or may not hold heads as well.
        if not coll["pages"] - coll["state_pages"] <= len(listed) <= coll["pages"]:
            raise Fail("page_list has %d pages, pages says %d (%d of the GC state)"
                       % (len(listed), coll["pages"], coll["state_pages"]))
        log("gcinspect: %.2f s, target stopped %.1f ms; %d objects on %d pages, "
            "%d shared, %d exclusive, %d absent; %d pages of allocator metadata, %d "
            "allocated for its work"
            % (elapsed, report["target"]["stopped_ms"], coll["objects"], coll["pages"],
               predicted_pages, sharing["exclusive_pages"], sharing["absent_pages"],
               coll.get("metadata_pages", 0), work_pages))
        # Free-threaded: the allocator metadata a collection writes is in the
        # child's memory like its objects; gcinspect must have asked pagemap
        # about those pages too (absent: it did not).
        if "metadata_pages" in coll and sharing["absent_pages"]:
            raise Fail("%d of the pages a collection writes are absent from the pagemap "
                       "query (%d of them allocator metadata)"
                       % (sharing["absent_pages"], coll["metadata_pages"]))

        if args.gdb:
            shared_after = check_gdb(args, child, report, shared_after)

        lost = sorted(set(shared_before) - set(shared_after))
        log("shared pages of the child: %d before gcinspect, %d after (%d no longer shared)"
            % (len(shared_before), len(shared_after), len(lost)))
        if len(lost) > UNSHARE_MAX_PAGES:
            by_map = {}
            for p in lost:
                by_map[shared_before[p]] = by_map.get(shared_before[p], 0) + 1
            raise Fail("gcinspect unshared %d of the child's pages (at most %d allowed): %s"
                       % (len(lost), UNSHARE_MAX_PAGES,
                          ", ".join("%d in %s" % (n, m) for m, n in sorted(by_map.items()))))

        # The collection.
        t.send("collect")
        kind, before_kb, after_kb, unreachable = t.read_line(COLLECT_TIMEOUT, "the collection")
        assert kind == "collected", kind
        growth_kb = int(after_kb) - int(before_kb)
        dirty_outer1 = smaps_private_dirty_kb(child)
        shared_final = shared_pages(child)
        copied = set(shared_after) - set(shared_final)
        copied_listed = copied & listed
        copied_other = copied - listed
        predicted_not_copied = (listed & set(shared_after)) - copied
        log("collection: gc.collect() = %s; Private_Dirty %s -> %s kB in the child (+%d kB); "
            "from outside %d -> %d kB (+%d kB, includes the pipe traffic)"
            % (unreachable, before_kb, after_kb, growth_kb,
               dirty_outer0, dirty_outer1, dirty_outer1 - dirty_outer0))
        log("pagemap: %d pages became private: %d of them listed by gcinspect, %d not; "
            "%d listed shared pages stayed shared"
            % (len(copied), len(copied_listed), len(copied_other), len(predicted_not_copied)))
        if copied_other:
            by_map = {}
            for p in copied_other:
                by_map[shared_after[p]] = by_map.get(shared_after[p], 0) + 1
            log("  not listed, by mapping: " + ", ".join(
                "%d in %s" % (n, m) for m, n in sorted(by_map.items(), key=lambda x: -x[1])))

        diff = predicted_kb - growth_kb
        if args.freeze:
            ok = predicted_kb <= FREEZE_PREDICTED_MAX_KB and growth_kb <= FREEZE_GROWTH_MAX_KB
            bound = "predicted <= %d kB and measured <= %d kB" % (
                FREEZE_PREDICTED_MAX_KB, FREEZE_GROWTH_MAX_KB)
        else:
            allowed = max(REL_TOLERANCE * abs(growth_kb), ABS_SLACK_KB)
            ok = abs(diff) <= allowed
            bound = "|difference| <= %.0f kB" % allowed
        pct = (100.0 * diff / growth_kb) if growth_kb else float("nan")
        log("RESULT %s: objects %d pages %d predicted %d kB measured %d kB "
            "difference %+d kB (%+.2f%%) pagemap-copied %d kB unshared-by-gcinspect %d pages"
            % (label, coll["objects"], coll["pages"], predicted_kb, growth_kb, diff, pct,
               len(copied) * 4, len(lost)))
        if not ok:
            raise Fail("prediction %d kB vs measured %d kB: outside %s"
                       % (predicted_kb, growth_kb, bound))
        if not t.finish():
            raise Fail("the target did not exit within %d s" % EXIT_TIMEOUT)
        log("PASS: %s" % bound)
        return EXIT_PASS
    finally:
        t.kill()


def check_gdb(args, child, report, shared_after):
    """The gdb plugin attached to the child says what the CLI said, and
    unshares nothing; the child's shared pages after gdb."""
    gdb = gcitest.Gdb(args.gdb, args.plugin, readnever=True)  # gdb's symbols: unused
    gdb.check_usable()
    extra = []
    if "--no-dwarf" in args.extra_arg:
        extra.append("--no-dwarf")
    setup = ["set debug-file-directory " + a.split("=", 1)[1]
             for a in args.extra_arg if a.startswith("--debug-dir=")]
    parts, err = gdb.run(["-p", str(child)],
                         ["gc-touch 2 --json --pages" + "".join(" " + e for e in extra),
                          "detach"], setup)
    got = gcitest.parse_json(parts[0], "gdb: gc-touch 2 --json --pages")
    # gdb maps the interpreter's files itself: while it runs, their clean
    # pages count as shared in smaps.  Their sum (and Rss) must agree.
    want = json.loads(json.dumps(report))
    for doc in (got, want):
        sm = doc.get("smaps")
        if isinstance(sm, dict):
            sm["clean_kb"] = sm.pop("shared_clean_kb", 0) + sm.pop("private_clean_kb", 0)
        doc["target"].pop("stopped_ms", None)
        doc.get("snapshot", {}).pop("time", None)   # two reads, two times
        # A cold layout cache (the CLI) or a warm one (gdb) is said here.
        doc["python"].pop("layout_name", None)
    gcitest.expect_equal(got, want, "gdb's gc-touch 2 --json --pages and the CLI's")
    state = proc_status(child)
    if state.get("State", "?")[:1] in ("t", "T") or state.get("TracerPid") != "0":
        time.sleep(0.5)
        state = proc_status(child)
        if state.get("State", "?")[:1] in ("t", "T") or state.get("TracerPid") != "0":
            raise Fail("after gdb detached, the child is %s, traced by %s"
                       % (state.get("State"), state.get("TracerPid")))
    after = shared_pages(child)
    lost = set(shared_after) - set(after)
    log("gdb: the same report (%d shared pages); %d pages no longer shared after gdb"
        % (got["collections"][0]["sharing"]["shared_pages"], len(lost)))
    if len(lost) > UNSHARE_MAX_PAGES:
        raise Fail("gdb with the plugin unshared %d of the child's pages (at most %d)"
                   % (len(lost), UNSHARE_MAX_PAGES))
    return after


def workers_view(args, child):
    """The child's entry of `gcinspect workers --json --pid CHILD` (the
    worker as the whole server's report sees it), taken while it holds
    still: what workers says it would copy must be what touch said."""
    doc = gcitest.workers_json(args.gcinspect, child, args.extra_arg)
    why = gcitest.left_stopped(child)
    if why:
        raise Fail("the child is left stopped after gcinspect workers: %s" % why)
    mine = [w for w in doc.get("workers") or [] if w.get("pid") == child]
    if len(mine) != 1:
        raise Fail("workers --pid %d does not list the child as a worker: %r"
                   % (child, [w.get("pid") for w in doc.get("workers") or []]))
    return mine[0]


def run_gcinspect(args, argv, child, quiet=False):
    cmd = [args.gcinspect] + argv + args.extra_arg + ["--pid", str(child)]
    if not quiet:
        log("$ " + " ".join(cmd))
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=GCINSPECT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("gcinspect did not finish in %d s" % GCINSPECT_TIMEOUT)
    state = proc_status(child)["State"]
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip()
        if "ptrace" in err.lower() and ("not permitted" in err.lower() or "EPERM" in err):
            raise Skip("gcinspect cannot attach: %s" % err)
        raise Fail("gcinspect exited %d: %s" % (r.returncode, err))
    if state[:1] in ("t", "T"):
        raise Fail("the child is left stopped after gcinspect exits: State %s" % state)
    report = json.loads(r.stdout.decode())
    if report["target"]["pid"] != child:
        raise Fail("gcinspect reports pid %r, not %d" % (report["target"]["pid"], child))
    return report


def run_increments(args, t, child, label):
    """Two automatic steps of the incremental collector, each predicted by
    gcinspect just before it runs (see the module's docstring)."""
    ok = True
    for n in (1, 2, 3):
        if n == 3:
            # On to the first step that collects: the debt a mark step
            # leaves (twice the objects it marked) is paid off by the
            # share each step adds (young.threshold plus 1 % of the heap,
            # growing as the child keeps what it allocates).  Advance by
            # half the steps the current share would need, until the next
            # step is no longer "nothing".
            for _ in range(40):
                summary = run_gcinspect(args, ["--json"], child, quiet=True)
                g, nc = summary["gc"], summary["next_collection"]
                if nc["step"] != "nothing":
                    break
                share = nc["work_to_do"] - g["work_to_do"]
                ahead = max(1, -nc["work_to_do"] // max(share, 1) // 2)
                log("next step: %r, work_to_do %d (%d a step): advancing %d steps"
                    % (nc["step"], g["work_to_do"], share, ahead))
                t.send("advance %d" % ahead)
                t.read_line(COLLECT_TIMEOUT, "the steps")
            else:
                raise Fail("step 3: still no step that collects after advancing")
        t.send("fill")
        kind, young = t.read_line(COLLECT_TIMEOUT, "the allocations")
        assert kind == "filled", kind
        report = run_gcinspect(args, ["touch", "-g", "increment", "--json", "--pages"], child)
        before_gc = report_interp(run_gcinspect(args, ["--json"], child))
        coll = report["collections"]
        if len(coll) != 1 or coll[0]["generation"] != "increment":
            raise Fail("expected the increment, got %r" % [c.get("generation") for c in coll])
        coll = coll[0]
        nxt = report["what_if"]["next_collection"]
        sharing = coll.get("sharing")
        if not sharing:
            raise Fail("no sharing in gcinspect's report of a live process")
        y = before_gc["generations"][0]
        if (y["count"], y["threshold"]) != (int(young), int(young)):
            raise Fail("young.count %s = threshold in the child, gcinspect says count %r, "
                       "threshold %r" % (young, y["count"], y["threshold"]))
        predicted_kb = sharing["shared_pages"] * 4
        # workers: the same increment, and the same next automatic
        # collection (none while the child keeps its collector disabled;
        # the step is what gc.collect(1) would run all the same).
        w = workers_view(args, child)
        inc = [c for c in w.get("collections") or [] if c.get("generation") == "increment"]
        got_inc = (inc[0].get("sharing") or {}).get("shared_pages") if len(inc) == 1 else inc
        if got_inc != sharing["shared_pages"]:
            raise Fail("step %d: workers says the increment would copy %r pages, touch -g "
                       "increment %d" % (n, got_inc, sharing["shared_pages"]))
        wn = w.get("next_collection") or {}
        named = nxt.get("generation")
        want = {"collection": named, "generation": 1 if named else None, "step": nxt["step"],
                "copy_bytes": sharing["shared_pages"] * 4096 if named else None,
                "approximation": coll.get("approximation") if named else None}
        got = dict((k, wn.get(k)) for k in want)
        if got != want:
            raise Fail("step %d: workers' next collection %r, touch -g increment's %r"
                       % (n, got, want))
        log("workers agrees: the increment copies %d pages; next collection %r, step %r"
            % (got_inc, named, got["step"]))
        shared_before = shared_pages(t.child)
        listed = set(int(p["address"], 16) for p in coll["page_list"])

        t.send("step")
        kind, before_kb, after_kb, young_after, inc0, inc1 = t.read_line(
            COLLECT_TIMEOUT, "the step")
        assert kind == "stepped", kind
        growth_kb = int(after_kb) - int(before_kb)
        counted = int(inc1) - int(inc0)
        shared_after = shared_pages(t.child)
        copied = set(shared_before) - set(shared_after)
        after = report_interp(run_gcinspect(args, ["--json"], child))
        step = nxt["step"]
        log("step %d: predicted %r (work_to_do %s -> %s after its share, %s pending "
            "objects), phase %s -> %s, work_to_do after %s, young.count %s -> %s, "
            "collections counted %d"
            % (n, step, before_gc["work_to_do"], nxt["work_to_do"], nxt["pending_objects"],
               before_gc["phase"], after["phase"], after["work_to_do"], young, young_after,
               counted))
        if int(young_after) > 16:
            raise Fail("step %d: young.count is %s after the allocation: no step ran"
                       % (n, young_after))
        w1 = nxt["work_to_do"]
        if step == "nothing":
            ran = (counted == 0 and after["phase"] == before_gc["phase"]
                   and after["work_to_do"] == w1)
        elif step == "mark":
            ran = counted == 0 and after["phase"] == "collect"
        elif step == "collect":
            ran = counted == 1 and after["phase"] == "collect"
        elif step == "collect, ending the cycle":
            ran = counted == 1 and after["phase"] == "mark" and after["work_to_do"] == 0
        else:
            raise Fail("step %d: gcinspect could not model the step: %r" % (n, nxt))
        if not ran:
            raise Fail("step %d: gcinspect predicted %r, but the collector did something "
                       "else (collections counted %d, phase %s, work_to_do %s, predicted "
                       "%s)" % (n, step, counted, after["phase"], after["work_to_do"], w1))
        extra = ""
        if step == "mark":
            # mark_at_start and gc_collect_increment both subtract the
            # number of objects marked from work_to_do
            marked = (w1 - after["work_to_do"]) // 2
            extra = ("; marked %d objects of the %d young and pending gcinspect counts "
                     "(%.2f %% not reachable from the roots)"
                     % (marked, coll["objects"],
                        100.0 * (coll["objects"] - marked) / max(coll["objects"], 1)))
        diff = predicted_kb - growth_kb
        pct = (100.0 * diff / growth_kb) if growth_kb else float("nan")
        stayed = len((listed & set(shared_before)) - copied)
        log("RESULT %s step %d (%s): objects %d pages %d predicted %d kB measured %d kB "
            "difference %+d kB (%+.2f%%) pagemap-copied %d kB (%d listed, %d not; %d "
            "listed shared pages stayed shared)%s"
            % (label, n, step, coll["objects"], coll["pages"], predicted_kb, growth_kb,
               diff, pct, len(copied) * 4, len(copied & listed), len(copied - listed),
               stayed, extra))
        tolerance = args.mark_tolerance if step == "mark" else REL_TOLERANCE
        allowed = max(tolerance * abs(growth_kb), ABS_SLACK_KB)
        good = abs(diff) <= allowed
        bound = "|difference| <= %.0f kB" % allowed
        if not good:
            log("FAIL step %d: prediction %d kB vs measured %d kB: outside %s"
                % (n, predicted_kb, growth_kb, bound))
            ok = False
        else:
            log("step %d: %s" % (n, bound))
    if not ok:
        raise Fail("a step's prediction was outside its bound")
    log("PASS")
    return EXIT_PASS


def report_interp(report):
    g = report["gc"]
    if g.get("collector") != "incremental":
        raise Fail("--increment: the collector is %r, not the incremental one"
                   % g.get("collector"))
    return g


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", required=True,
                    help="the interpreter (a path inside the chroot with --chroot)")
    ap.add_argument("--chroot", default=None, metavar="DIR")
    ap.add_argument("--freeze", action="store_true", help="gc.freeze() before the fork")
    ap.add_argument("--build-failure", default=None, metavar="FILE",
                    help="skip, quoting FILE, if the interpreter is missing and FILE "
                         "exists (scripts/build-pythons.sh could not build it)")
    ap.add_argument("--increment", action="store_true",
                    help="two automatic steps of the incremental collector (3.14.0-3.14.4) "
                         "instead of gc.collect()")
    ap.add_argument("--mark-tolerance", type=float, default=REL_TOLERANCE,
                    help="--increment: how far the mark step's prediction may be from the "
                         "growth, as a fraction of it (default %(default)s)")
    ap.add_argument("--extra-arg", action="append", default=[], metavar="ARG",
                    help="an extra argument for gcinspect (repeatable)")
    ap.add_argument("--gdb", default=None, help="also compare the gdb plugin (gdb -p)")
    ap.add_argument("--plugin", default=None, help="gcinspect_gdb.py, with --gdb")
    ap.add_argument("--objects", type=int, default=60000,
                    help="dicts to build, each holding a list: twice as many "
                         "tracked objects (default 60000)")
    args = ap.parse_args(argv)
    if args.gdb and not args.plugin:
        ap.error("--gdb needs --plugin")
    return args


def main(argv):
    args = parse_args(argv)
    if args.chroot:
        args.chroot = os.path.abspath(args.chroot)
    why = gcitest.build_failure(args.python, args.chroot, args.build_failure)
    if why is not None:
        log("SKIP: scripts/build-pythons.sh could not build %s: %s (%s)"
            % (args.python, why, args.build_failure))
        return EXIT_SKIP

    def on_signal(signum, frame):
        raise Fail("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        return run(args)
    except Skip as e:
        log("SKIP: %s" % e)
        return EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
