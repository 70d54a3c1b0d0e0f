#!/usr/bin/python3
"""check_server.py: `gcinspect workers` on a real pre-fork server.

Starts one of
  uwsgi            uWSGI --master --processes 4 (Debian's uwsgi-core and
                   uwsgi-plugin-python3), the app loaded in the master
                   (lazy-apps is off by default);
  gunicorn         gunicorn --preload --workers 4 (Debian's python3-gunicorn);
  multiprocessing  a multiprocessing Pool(4), fork start method;
each over tests/servers/server_app.py, whose import builds 60,000 dicts of
module-level state in the master, collects, and with --freeze calls
gc.freeze() before the fork.  Servers listen on 127.0.0.1, on a free port.

Then:
  1. spreads requests until every worker has answered a few (warm-up);
  2. runs `gcinspect workers --json --pid WORKER` (the master is found from a
     worker): the master and exactly the four workers must be found, none
     left stopped, and each process's collector thresholds, enabled flag
     and frozen objects must equal what the interpreter said of itself (the
     master's record is from the end of its import: its frozen count may
     only have dropped since, by less than 1 %, as import temporaries died);
  3. asks a worker to collect (/collect: gc.collect() in the worker that
     answers, with its own Private_Dirty before and after);
  4. runs `gcinspect workers --json --pid MASTER` again.
Pass when, for that worker, the predicted full-collection copy (step 2)
agrees with its Private_Dirty growth within 5 % (or 64 kB), and, without
--freeze, its `copied` bytes grew by that growth within 10 % (or 256 kB),
nine tenths of it on pages of GC heads, and the growth is at least 4 MiB;
with --freeze, the prediction and the growth are at most 512 kB and
`copied` grew by at most 1 MiB (the unfrozen runs copy about 20 MiB).

On uWSGI without --freeze, a worker also writes pages that hold no GC
head (/touch): a loop over 120,000 strings (reference counts: the cause
`allocator` must grow by what the worker measured, within 10 %) and a write
to every page of a 4 MiB bytearray (`malloc`).  On uWSGI, the reports with
and without the prefetch of live.c
(GCINSPECT_PREFETCH=0) must find the same heaps.  With --prometheus, also: `gcinspect workers --prometheus FILE` must pass
`promtool check metrics`, and Debian's prometheus-node-exporter, serving the
file's directory with its textfile collector on 127.0.0.1, must serve every
gcinspect sample of the file in a scrape of /metrics.  And --interval 0.2
--count 2 must print one line per worker per sample.

Every process started is stopped, and the test fails if one is left.
Exit status: 0 pass, 1 fail, 77 skip (a package is not installed, or this
machine does not allow ptrace).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from gcitest import (EXIT_PASS, EXIT_FAIL, EXIT_SKIP, Fail, Skip, log,  # noqa: E402
                     check_workers_found, children, free_port, group_members, need)

WORKERS = 4
READY_TIMEOUT = 120
GCINSPECT_TIMEOUT = 120
REL_PREDICTED, ABS_PREDICTED_KB = 0.05, 64
REL_COPIED, ABS_COPIED_KB = 0.10, 256
FREEZE_PREDICTED_KB, FREEZE_GROWTH_KB, FREEZE_COPIED_KB = 512, 512, 1024
MIN_GROWTH_KB = 4096      # the unfrozen state must cost something to copy


class Server(object):
    """A server in its own session, so that everything it starts can be found
    by process group and stopped."""

    def __init__(self, kind, args, workdir):
        self.kind = kind
        self.args = args
        self.proc = None
        self.port = None
        self.log = open(os.path.join(workdir, "server.log"), "w+b")
        env = dict(os.environ)
        env["GCI_TEST_FREEZE"] = "1" if args.freeze else "0"
        env["GCI_TEST_OBJECTS"] = str(args.objects)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        app = os.path.join(HERE, "server_app.py")
        if kind == "uwsgi":
            need("/usr/bin/uwsgi", "uwsgi-core")
            if not os.path.exists("/usr/lib/uwsgi/plugins/python3_plugin.so"):
                raise Skip("uWSGI's python3 plugin is missing: install Debian's "
                           "uwsgi-plugin-python3 (scripts/install-deps.sh)")
            self.port = free_port()
            argv = ["/usr/bin/uwsgi", "--plugin", "python3", "--master",
                    "--processes", str(WORKERS), "--http-socket", "127.0.0.1:%d" % self.port,
                    "--wsgi-file", app, "--need-app", "--disable-logging",
                    "--die-on-term"]
        elif kind == "gunicorn":
            need(args.python, "python3.11")
            r = subprocess.run([args.python, "-c", "import gunicorn"], stderr=subprocess.PIPE)
            if r.returncode != 0:
                raise Skip("gunicorn is missing: install Debian's gunicorn "
                           "(scripts/install-deps.sh)")
            self.port = free_port()
            argv = [args.python, "-m", "gunicorn", "--preload", "--workers", str(WORKERS),
                    "--bind", "127.0.0.1:%d" % self.port, "--chdir", HERE,
                    "--log-level", "warning", "server_app:application"]
        else:
            if not args.python.startswith("/usr/bin/") and not os.access(args.python, os.X_OK):
                raise Fail("interpreter %s does not exist" % args.python)
            need(args.python, "python3.11")
            argv = [args.python, os.path.join(HERE, "mp_master.py")]
        log("$ " + " ".join(argv))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE if kind == "multiprocessing"
                                     else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE if kind == "multiprocessing"
                                     else self.log,
                                     stderr=self.log, env=env, cwd=workdir,
                                     start_new_session=True)
        self.lock = threading.Lock()

    # -- talking to it
    def request(self, path, timeout=60):
        if self.kind == "multiprocessing":
            with self.lock:
                self.proc.stdin.write((path + "\n").encode())
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            if not line:
                raise Fail("the pool's master exited: %s" % self.log_text())
            return json.loads(line.decode())
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read().decode())

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        if self.kind == "multiprocessing":
            line = self.proc.stdout.readline()
            if not line:
                raise Fail("the pool's master exited: %s" % self.log_text())
            return
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fail("%s exited with %s: %s" % (self.kind, self.proc.returncode,
                                                      self.log_text()))
            try:
                self.request("/pid", timeout=5)
                return
            except (OSError, ValueError):
                time.sleep(0.2)
        raise Fail("%s did not answer within %d s: %s" % (self.kind, READY_TIMEOUT,
                                                          self.log_text()))

    def spread(self, rounds):
        """Requests that keep every worker busy at once: which pids answered."""
        seen = {}
        for _ in range(rounds):
            if self.kind == "multiprocessing":
                pids = self.request("pids 16")["pids"]
            else:
                pids = []
                lock = threading.Lock()

                def one():
                    try:
                        p = self.request("/pid?sleep=0.05", timeout=30)["pid"]
                    except (OSError, ValueError) as e:
                        p = "error: %s" % e
                    with lock:
                        pids.append(p)
                threads = [threading.Thread(target=one) for _ in range(2 * WORKERS)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            for p in pids:
                if not isinstance(p, int):
                    raise Fail("a request failed: %s" % p)
                seen[p] = seen.get(p, 0) + 1
            if len(seen) >= WORKERS and min(seen.values()) >= 3:
                break
        return seen

    def log_text(self):
        try:
            self.log.seek(0)
            return self.log.read().decode(errors="replace")[-2000:]
        except (OSError, ValueError):
            return ""

    # -- stopping it
    def stop(self):
        """Stop the server and everything in its session; fail if anything
        is left."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            if self.proc.poll() is None:
                if self.kind == "multiprocessing":
                    try:
                        self.proc.stdin.write(b"quit\n")
                        self.proc.stdin.flush()
                    except OSError:
                        pass
                else:
                    # uWSGI with --die-on-term and gunicorn: SIGTERM stops them.
                    os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                if f:
                    f.close()
            self.log.close()
            self.proc = None
        # Orphaned workers are reaped by init: give it a moment.
        deadline = time.monotonic() + 10
        left = group_members(pgid)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = group_members(pgid)
        if left:
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            raise Fail("processes left behind by the %s server: %s" % (self.kind, left))


# ---------------------------------------------------------------------------

def gcinspect(args, extra, pid):
    cmd = [args.gcinspect, "workers"] + extra + ["--pid", str(pid)]
    log("$ " + " ".join(cmd))
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=GCINSPECT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("gcinspect did not finish in %d s" % GCINSPECT_TIMEOUT)
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != 0:
        if "ptrace" in err.lower() and "not permitted" in err.lower():
            raise Skip("gcinspect cannot attach: %s" % err)
        raise Fail("gcinspect exited %d: %s" % (r.returncode, err))
    return r.stdout.decode(), time.monotonic() - t0


def by_pid(report):
    return {w["pid"]: w for w in report["workers"]}


def check_report(report, master_pid, worker_pids, truth_master, truth_workers, freeze):
    """The processes found, none left stopped, and each one's collector
    against what its interpreter said of itself."""
    check_workers_found(report, master_pid, worker_pids)
    for proc in [report["master"]] + report["workers"]:
        pid = proc["pid"]
        truth = truth_master if proc["role"] == "master" else truth_workers.get(pid)
        if truth is None:
            continue
        gc = proc["gc"]
        threshold = [g["threshold"] for g in gc["generations"]]
        frozen = gc["permanent"]["objects"]
        # The master's record is from the end of the import: frozen objects
        # that were temporaries of the import have died since (a worker's
        # record is from a request just before).
        frozen_ok = (frozen == truth["freeze_count"] if proc["role"] == "worker" else
                     0.99 * truth["freeze_count"] <= frozen <= truth["freeze_count"])
        if threshold != truth["threshold"] or gc["enabled"] != truth["enabled"] or \
                not frozen_ok:
            raise Fail("pid %d (%s): gcinspect says thresholds %s, enabled %s, %d frozen; "
                       "the interpreter says %s, %s, %d"
                       % (pid, proc["role"], threshold, gc["enabled"], frozen,
                          truth["threshold"], truth["enabled"], truth["freeze_count"]))
        if proc["role"] == "worker":
            c = proc["copied"]
            if not c or c["method"] != "frames":
                raise Fail("pid %d: copied pages not compared by frame: %r" % (pid, c))
            if sum(v["pages"] for v in c["by_cause"].values()) != c["pages"]:
                raise Fail("pid %d: the causes do not add up to the copied pages" % pid)
            coll = proc["collections"]
            if not coll or coll[-1]["sharing"] is None:
                raise Fail("pid %d: no sharing in the collections" % pid)
    if freeze and truth_master["freeze_count"] < 100000:
        raise Fail("the master froze only %d objects" % truth_master["freeze_count"])


def check_prometheus(args, workdir, master_pid, worker_pids):
    need("/usr/bin/promtool", "prometheus")
    need("/usr/bin/prometheus-node-exporter", "prometheus-node-exporter")
    textdir = os.path.join(workdir, "textfile")
    os.mkdir(textdir)
    prom = os.path.join(textdir, "gcinspect.prom")
    gcinspect(args, ["--prometheus", prom], worker_pids[0])
    left = sorted(os.listdir(textdir))
    if left != ["gcinspect.prom"]:
        raise Fail("the textfile directory holds %s, not just gcinspect.prom" % left)
    with open(prom) as f:
        text = f.read()
    r = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Fail("promtool check metrics: %s" % r.stdout.decode(errors="replace"))
    log("promtool check metrics: OK (%d lines)" % len(text.splitlines()))
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            if canonical(name) in samples:
                raise Fail("the exposition repeats a series: %s" % name)
            samples[canonical(name)] = float(value)
    copied = [k for k in samples if k.startswith("gcinspect_copied_bytes{")]
    if len(copied) != WORKERS or not any(k.startswith("gcinspect_server_workers{master=\"%d\"}"
                                                      % master_pid) for k in samples):
        raise Fail("the exposition lacks a worker's gcinspect_copied_bytes or the "
                   "server's worker count")
    if samples[canonical("gcinspect_server_workers{master=\"%d\"}" % master_pid)] != WORKERS:
        raise Fail("gcinspect_server_workers is not %d" % WORKERS)

    port = free_port()
    argv = ["/usr/bin/prometheus-node-exporter", "--collector.disable-defaults",
            "--collector.textfile", "--collector.textfile.directory=" + textdir,
            "--web.listen-address=127.0.0.1:%d" % port]
    log("$ " + " ".join(argv))
    ne_log = open(os.path.join(workdir, "node_exporter.log"), "w+b")
    ne = subprocess.Popen(argv, stdout=ne_log, stderr=ne_log, stdin=subprocess.DEVNULL,
                          start_new_session=True)
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and body is None:
            if ne.poll() is not None:
                ne_log.seek(0)
                raise Fail("node_exporter exited: %s" % ne_log.read().decode(errors="replace"))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=5) as resp:
                    body = resp.read().decode()
            except OSError:
                time.sleep(0.2)
        if body is None:
            raise Fail("node_exporter did not answer on 127.0.0.1:%d" % port)
        scraped = {}
        for line in body.splitlines():
            if line.startswith("gcinspect_"):
                name, _, value = line.rpartition(" ")
                scraped[canonical(name)] = float(value)
        want = samples
        missing = [k for k in want if k not in scraped]
        wrong = [k for k in want if k in scraped and scraped[k] != want[k]]
        if missing or wrong:
            raise Fail("the scrape of node_exporter lacks %d of the file's %d samples "
                       "(%s) and differs in %d (%s)" % (len(missing), len(want), missing[:3],
                                                       len(wrong), wrong[:3]))
        if "node_textfile_scrape_error 0" not in body:
            raise Fail("node_exporter reports a textfile scrape error")
        log("node_exporter on 127.0.0.1:%d serves all %d gcinspect samples"
            % (port, len(want)))
    finally:
        ne.terminate()
        try:
            ne.wait(10)
        except subprocess.TimeoutExpired:
            ne.kill()
            ne.wait()
        ne_log.close()


def canonical(sample):
    """name{labels} with the labels sorted (node_exporter sorts them)."""
    m = re.match(r"^([^{]+)\{(.*)\}$", sample)
    if not m:
        return sample
    labels = sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)))
    return m.group(1) + "{" + ",".join('%s="%s"' % kv for kv in labels) + "}"


def check_cause(args, server, master_pid, before, what, cause):
    """A worker writes pages that hold no GC head (/touch): its copied pages
    of that cause must grow by what it measured, within 10 %, and its GC
    pages must not."""
    t = server.request("/touch?what=" + what)
    w, growth = t["pid"], t["after_kb"] - t["before_kb"]
    out, _ = gcinspect(args, ["--json"], master_pid)
    after = json.loads(out)
    b, a = by_pid(before)[w]["copied"], by_pid(after)[w]["copied"]
    delta = (a["by_cause"][cause]["pages"] - b["by_cause"][cause]["pages"]) * 4
    delta_gc = (a["by_cause"]["gc_objects"]["pages"] - b["by_cause"]["gc_objects"]["pages"]) * 4
    log("RESULT %s: worker %d wrote %s pages: Private_Dirty +%d kB, copied %s +%d kB, "
        "gc_objects +%d kB" % (args.server, w, what, growth, cause, delta, delta_gc))
    if growth < MIN_GROWTH_KB:
        raise Fail("/touch?what=%s copied only %d kB: the test cannot tell anything"
                   % (what, growth))
    if abs(delta - growth) > max(REL_COPIED * growth, ABS_COPIED_KB) or \
            delta_gc > ABS_COPIED_KB:
        raise Fail("writing %s pages: the worker measured +%d kB, gcinspect's %s cause "
                   "grew by %d kB and its gc_objects by %d kB" % (what, growth, cause,
                                                                  delta, delta_gc))
    return after


def heap_key(report):
    """What a walk found in each process: per list objects, bytes and pages,
    and the pages a full collection would write."""
    out = {}
    for p in [report["master"]] + report["workers"]:
        gc = p["gc"]
        out[p["pid"]] = ([(g["objects"], g["bytes"], g["pages"])
                          for g in gc["generations"] + [gc["permanent"]]],
                         p["collections"][-1]["pages"], p["gc_pages"])
    return out


def check_prefetch(args, master_pid):
    """The workers' walks read through the prefetch ring (live.c) and
    without it (GCINSPECT_PREFETCH=0): on an idle uWSGI server (its master
    runs no Python after the fork) both must find exactly the same heaps."""
    keys = []
    for value in ("0", "1", "0"):
        os.environ["GCINSPECT_PREFETCH"] = value
        try:
            out, _ = gcinspect(args, ["--json"], master_pid)
        finally:
            del os.environ["GCINSPECT_PREFETCH"]
        keys.append(heap_key(json.loads(out)))
    if keys[0] != keys[2]:
        log("the server changed between the runs without prefetch: not compared")
        return
    if keys[1] != keys[0]:
        diff = [pid for pid in keys[0] if keys[0][pid] != keys[1].get(pid)]
        raise Fail("with prefetch the walks of %s found other heaps than without" % diff)
    log("prefetch on and off: the same %d heaps" % len(keys[0]))


def check_interval(args, master_pid, worker_pids):
    out, _ = gcinspect(args, ["--interval", "0.2", "--count", "2"], master_pid)
    lines = [l for l in out.splitlines() if l.strip()]
    per = {}
    for l in lines:
        m = re.search(r" worker (\d+): ", l)
        if not m:
            raise Fail("--interval printed an unexpected line: %r" % l)
        per[int(m.group(1))] = per.get(int(m.group(1)), 0) + 1
    if sorted(per) != sorted(worker_pids) or set(per.values()) != {2}:
        raise Fail("--interval 0.2 --count 2: lines per worker %s, expected 2 for each of %s"
                   % (per, sorted(worker_pids)))
    log("--interval 0.2 --count 2: %d lines, 2 per worker" % len(lines))


def run(args):
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            if f.read().strip() == "3":
                raise Skip("kernel.yama.ptrace_scope is 3: ptrace attach is disabled")
    except OSError:
        pass
    if not os.access(args.gcinspect, os.X_OK):
        raise Fail("%s is not executable" % args.gcinspect)
    label = args.server + (" --freeze" if args.freeze else "")
    workdir = tempfile.mkdtemp(prefix="gcinspect-server-")
    server = None
    try:
        server = Server(args.server, args, workdir)
        server.wait_ready()
        master_pid = server.proc.pid
        seen = server.spread(40)
        log("%s: master %d; requests answered per worker: %s" % (label, master_pid, seen))
        worker_pids = children(master_pid)
        if len(worker_pids) != WORKERS:
            raise Fail("the master %d has %d children, not %d: %s"
                       % (master_pid, len(worker_pids), WORKERS, worker_pids))
        if sorted(seen) != worker_pids or min(seen.values()) < 3:
            raise Fail("not every worker answered 3 requests: %s (workers %s)"
                       % (seen, worker_pids))
        # What the interpreters say of themselves.
        truth_workers = {}
        for _ in range(8 * WORKERS):
            g = server.request("gc" if args.server == "multiprocessing" else "/gc")
            truth_workers[g["pid"]] = g
            truth_master = g["master"] if "master" in g else None
        if args.server == "multiprocessing":
            truth_master = None
            for g in truth_workers.values():
                truth_master = g["master"]
        if truth_master["pid"] != master_pid:
            raise Fail("the state was built in pid %d, not in the master %d"
                       % (truth_master["pid"], master_pid))

        out, secs = gcinspect(args, ["--json"], worker_pids[-1])
        before = json.loads(out)
        check_report(before, master_pid, worker_pids, truth_master, truth_workers, args.freeze)
        log("gcinspect: %.2f s; stopped: %s ms" % (
            secs, ", ".join("%d %.1f" % (p["pid"], p["target"]["stopped_ms"] or 0)
                            for p in [before["master"]] + before["workers"])))
        log("summary: " + before["server"]["summary"])

        c = server.request("collect" if args.server == "multiprocessing" else "/collect")
        w = c["pid"]
        growth = c["after_kb"] - c["before_kb"]
        out, _ = gcinspect(args, ["--json"], master_pid)
        after = json.loads(out)
        check_report(after, master_pid, worker_pids, truth_master, truth_workers, args.freeze)
        if w not in by_pid(before):
            raise Fail("the collecting worker %d was not a worker" % w)
        b, a = by_pid(before)[w], by_pid(after)[w]
        predicted = b["collections"][-1]["sharing"]["shared_pages"] * 4
        delta = (a["copied"]["pages"] - b["copied"]["pages"]) * 4
        delta_gc = (a["copied"]["by_cause"]["gc_objects"]["pages"]
                    - b["copied"]["by_cause"]["gc_objects"]["pages"]) * 4
        log("RESULT %s: worker %d: predicted %d kB, Private_Dirty growth %d kB, copied "
            "%d -> %d kB (+%d kB, %d kB of it on GC pages)"
            % (label, w, predicted, growth, b["copied"]["pages"] * 4,
               a["copied"]["pages"] * 4, delta, delta_gc))
        if abs(predicted - growth) > max(REL_PREDICTED * growth, ABS_PREDICTED_KB):
            raise Fail("predicted %d kB, measured %d kB: more than 5 %% (and %d kB) apart"
                       % (predicted, growth, ABS_PREDICTED_KB))
        if args.freeze:
            if predicted > FREEZE_PREDICTED_KB or growth > FREEZE_GROWTH_KB or \
                    abs(delta) > FREEZE_COPIED_KB:
                raise Fail("with gc.freeze(): predicted %d kB (at most %d), growth %d kB "
                           "(at most %d), copied +%d kB (at most %d)"
                           % (predicted, FREEZE_PREDICTED_KB, growth, FREEZE_GROWTH_KB,
                              delta, FREEZE_COPIED_KB))
        else:
            if growth < MIN_GROWTH_KB:
                raise Fail("the collection copied only %d kB: the test cannot tell "
                           "anything" % growth)
            if abs(delta - growth) > max(REL_COPIED * growth, ABS_COPIED_KB):
                raise Fail("copied grew by %d kB, the worker measured %d kB: more than "
                           "10 %% apart" % (delta, growth))
            if delta_gc < 0.9 * delta:
                raise Fail("of %d kB newly copied, only %d kB on pages of GC heads"
                           % (delta, delta_gc))
        if args.server == "uwsgi" and not args.freeze:
            report = after
            for what, cause in (("allocator", "allocator"), ("malloc", "malloc")):
                report = check_cause(args, server, master_pid, report, what, cause)
        if args.prometheus:
            check_prometheus(args, workdir, master_pid, worker_pids)
            check_interval(args, master_pid, worker_pids)
        if args.server == "uwsgi":
            check_prefetch(args, master_pid)
        server.stop()
        server = None
        log("PASS: %s" % label)
        return EXIT_PASS
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--server", required=True, choices=("uwsgi", "gunicorn", "multiprocessing"))
    ap.add_argument("--python", default="/usr/bin/python3.11",
                    help="the interpreter for gunicorn and multiprocessing")
    ap.add_argument("--freeze", action="store_true", help="gc.freeze() in the master")
    ap.add_argument("--prometheus", action="store_true",
                    help="also check the Prometheus file, node_exporter and --interval")
    ap.add_argument("--objects", type=int, default=60000)
    args = ap.parse_args(argv)

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
