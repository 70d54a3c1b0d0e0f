#!/usr/bin/python3
"""check_debuginfod.py: debuginfod, asked on purpose.

Usage:
    check_debuginfod.py --gcinspect BIN [--python /usr/bin/python3.11]
                        [--workdir DIR] [--keep]

Debian's debuginfod server (0.188 binds every interface and has no option to
bind one) runs in a network namespace of this test's own, where only the
loopback interface exists, so nothing outside can reach it; gcinspect runs in
there too.  The server serves the Debian package holding the detached debug
info of PYTHON's build-id (found in /var/cache/apt/archives, else fetched with
`apt-get download`).  A core of PYTHON is read with an empty --debug-dir, a
fresh DEBUGINFOD_CACHE_PATH and a fresh layout cache:

  --offline        the built-in table, and the server gets no request for
                   debug info (its /metrics say so);
  online           DWARF, and the layout line names the file debuginfod put
                   in DEBUGINFOD_CACHE_PATH, "(fetched by debuginfod)"; one
                   request; every number as with the local debug file;
  warm             the layout cache: the same bytes, text and JSON;
  --no-cache       the debuginfod client's own cache: no second request;
  a stalled server DEBUGINFOD_TIMEOUT=2: gcinspect gives up on it and uses
                   the table (exit 0); unset, -v says gcinspect's 30 s.

The server is stopped at the end, whatever happens.

Exit status: 0 pass, 1 fail, 77 skip (no network namespace can be made, or
the package cannot be had).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import check_bad_inputs  # noqa: E402  (gcore_of)
from gcitest import EXIT_PASS, EXIT_FAIL, EXIT_SKIP, Fail, Skip, log, free_port  # noqa: E402

TIMEOUT = 120
NETNS_ENV = "GCI_DEBUGINFOD_TEST_NETNS"


def build_id(path):
    """The GNU build-id of an ELF64 little-endian file, from its PT_NOTEs."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise Fail("%s is not an ELF64 little-endian file" % path)
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3a], "little")
    for i in range(phnum):
        ph = data[phoff + i * phentsize: phoff + (i + 1) * phentsize]
        if int.from_bytes(ph[0:4], "little") != 4:  # PT_NOTE
            continue
        off = int.from_bytes(ph[8:16], "little")
        size = int.from_bytes(ph[32:40], "little")
        notes = data[off:off + size]
        pos = 0
        while pos + 12 <= len(notes):
            namesz, descsz, ntype = (int.from_bytes(notes[pos + k:pos + k + 4], "little")
                                     for k in (0, 4, 8))
            name = notes[pos + 12:pos + 12 + namesz]
            desc_at = pos + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and name == b"GNU\0":
                return notes[desc_at:desc_at + descsz].hex()
            pos = desc_at + ((descsz + 3) & ~3)
    raise Fail("%s has no build-id note" % path)


def the_deb(debug_file, workdir):
    """The .deb holding debug_file, from apt's cache or apt-get download."""
    p = subprocess.run(["dpkg", "-S", debug_file], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise Fail("no installed package holds %s (install python3.11-dbg: "
                   "scripts/install-deps.sh)" % debug_file)
    pkg = p.stdout.split(":")[0].strip()
    ver, arch = subprocess.check_output(
        ["dpkg-query", "-W", "-f", "${Version} ${Architecture}", pkg],
        universal_newlines=True).split()
    name = "%s_%s_%s.deb" % (pkg, ver.replace(":", "%3a"), arch)
    cached = os.path.join("/var/cache/apt/archives", name)
    if os.path.isfile(cached):
        return cached, pkg, ver
    p = subprocess.run(["apt-get", "download", "%s=%s" % (pkg, ver)], cwd=workdir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=300)
    got = os.path.join(workdir, name)
    if p.returncode != 0 or not os.path.isfile(got):
        raise Skip("cannot get %s %s (not in /var/cache/apt/archives; apt-get download: %s)"
                   % (pkg, ver, p.stdout.strip()[-300:]))
    return got, pkg, ver


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode("utf-8", "replace")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                pass
    return out


def debuginfo_requests(port):
    return int(metrics(port).get('http_requests_total{type="debuginfo"}', 0))


class Blackhole(object):
    """A server that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except socket.timeout:
                pass
            except OSError:
                return

    def close(self):
        self.stop = True
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def run(binary, args, env, what):
    argv = [binary] + args
    log("+ " + " ".join(argv))
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=TIMEOUT)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Fail("%s: exit %d\n%s" % (what, p.returncode, err))
    return p.stdout, err


def test(args, workdir):
    python = args.python
    bid = build_id(python)
    debug_file = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    deb, pkg, ver = the_deb(debug_file, workdir)
    log("build-id %s: %s %s (%s)" % (bid, pkg, ver, deb))
    debs = os.path.join(workdir, "debs")
    os.mkdir(debs)
    shutil.copy(deb, debs)
    empty = os.path.join(workdir, "empty-debug-dir")
    os.mkdir(empty)

    core = check_bad_inputs.gcore_of(
        [python, "-c", "import os; os.write(1, b'ready\\n'); os.read(0, 1)"],
        workdir, "python", b"ready\n")

    base_env = dict(os.environ)
    for k in list(base_env):
        if k.startswith("DEBUGINFOD_"):
            del base_env[k]
    # The reference: the installed debug file, no debuginfod.
    ref_env = dict(base_env, GCINSPECT_CACHE_DIR=os.path.join(workdir, "ref-cache"))
    ref = json.loads(run(args.gcinspect, ["summary", "--json", core], ref_env, "reference")[0])
    if ref["python"]["layout"] != "dwarf":
        raise Fail("the reference run (with %s) did not use DWARF: %s"
                   % (debug_file, ref["python"]["layout_name"]))

    port = free_port()
    server_log = open(os.path.join(workdir, "debuginfod.log"), "wb")
    argv = ["debuginfod", "-p", str(port), "-d", os.path.join(workdir, "debuginfod.sqlite"),
            "-Z", ".deb=dpkg-deb --fsys-tarfile", "-t", "0", "-g", "0", "-c", "1", debs]
    log("+ " + " ".join(argv))
    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=server_log,
                              stderr=subprocess.STDOUT)
    blackhole = None
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            if server.poll() is not None:
                raise Fail("debuginfod exited with %d (log: %s)" % (server.returncode,
                                                                    server_log.name))
            try:
                m = metrics(port)
                if (m.get('scanned_files_total{source=".deb archive"}', 0) >= 1 and
                        m.get('thread_work_pending{role="scan"}', 1) == 0 and
                        m.get('thread_busy{role="scan"}', 1) == 0):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise Fail("debuginfod did not scan %s within %d s" % (debs, TIMEOUT))
            time.sleep(0.2)
        log("debuginfod on 127.0.0.1:%d has scanned %s" % (port, os.path.basename(deb)))

        dcache = os.path.join(workdir, "debuginfod-client-cache")
        env = dict(base_env, DEBUGINFOD_URLS="http://127.0.0.1:%d" % port,
                   DEBUGINFOD_CACHE_PATH=dcache,
                   GCINSPECT_CACHE_DIR=os.path.join(workdir, "layout-cache"))
        common = ["--debug-dir", empty]

        # Offline: the table, and no request.
        out, err = run(args.gcinspect, ["summary", "--json", "-v", "--offline"] + common + [core],
                       env, "--offline")
        doc = json.loads(out)
        if doc["python"]["layout"] != "table":
            raise Fail("--offline: layout %r (%s), expected the built-in table"
                       % (doc["python"]["layout"], doc["python"]["layout_name"]))
        if debuginfo_requests(port) != 0:
            raise Fail("--offline: the server got %d requests for debug info"
                       % debuginfo_requests(port))
        if "--offline: debuginfod" not in err:
            raise Fail("--offline -v does not say debuginfod is not asked:\n" + err)
        log("ok   --offline: table (%s), no request" % doc["python"]["layout_name"])

        # Online, cold: DWARF from the fetched file, named.
        cold_json, err = run(args.gcinspect, ["summary", "--json", "-v"] + common + [core],
                             env, "online")
        doc = json.loads(cold_json)
        fetched = os.path.join(dcache, bid, "debuginfo")
        want = "DWARF of %s (fetched by debuginfod)" % fetched
        if doc["python"]["layout"] != "dwarf" or doc["python"]["layout_name"] != want:
            raise Fail("online: layout %r named %r, expected %r\n%s"
                       % (doc["python"]["layout"], doc["python"]["layout_name"], want, err))
        if not os.path.isfile(fetched) or build_id_of_debug(fetched) != bid:
            raise Fail("online: %s is not the debug file of build-id %s" % (fetched, bid))
        if debuginfo_requests(port) != 1:
            raise Fail("online: %d requests for debug info, expected 1"
                       % debuginfo_requests(port))
        if "DEBUGINFOD_TIMEOUT: 30 s" not in err:
            raise Fail("online -v does not say gcinspect's default timeout of 30 s:\n" + err)
        for d in (doc, ref):
            d["python"].pop("layout_name")
        if doc != ref:
            raise Fail("online: the report differs from the one with the installed "
                       "debug file:\n%s\n%s" % (json.dumps(doc)[:2000], json.dumps(ref)[:2000]))
        log("ok   online: %s, 1 request, same numbers as with %s" % (want, debug_file))

        # Warm (layout cache): the same bytes; text too.
        warm_json, _ = run(args.gcinspect, ["summary", "--json"] + common + [core], env, "warm")
        if warm_json != cold_json:
            raise Fail("warm run differs from the cold one:\n%s\n%s"
                       % (cold_json.decode()[:1500], warm_json.decode()[:1500]))
        text, _ = run(args.gcinspect, ["summary"] + common + [core], env, "text")
        if ("  layout: %s\n" % want).encode() not in text:
            raise Fail("text: no layout line naming %s:\n%s" % (fetched, text.decode()[:1500]))
        # The debuginfod client's own cache: no second request.
        nc_json, _ = run(args.gcinspect, ["summary", "--json", "--no-cache"] + common + [core],
                         env, "--no-cache")
        if nc_json != cold_json or debuginfo_requests(port) != 1:
            raise Fail("--no-cache: %d requests (expected still 1), or a different report"
                       % debuginfo_requests(port))
        log("ok   warm and text: same bytes; --no-cache: from the client's cache, no request")

        # A server that never answers: given up on after DEBUGINFOD_TIMEOUT.
        blackhole = Blackhole()
        env2 = dict(base_env, DEBUGINFOD_URLS="http://127.0.0.1:%d" % blackhole.port,
                    DEBUGINFOD_CACHE_PATH=os.path.join(workdir, "dcache2"),
                    DEBUGINFOD_TIMEOUT="2",
                    GCINSPECT_CACHE_DIR=os.path.join(workdir, "layout-cache2"))
        out, err = run(args.gcinspect, ["summary", "--json", "-v"] + common + [core], env2,
                       "stalled server")
        doc = json.loads(out)
        if doc["python"]["layout"] != "table" or "DEBUGINFOD_TIMEOUT: 2 s" not in err \
                or "debuginfod has no debug info" not in err or not blackhole.conns:
            raise Fail("stalled server: layout %s, %d connections, -v:\n%s"
                       % (doc["python"]["layout"], len(blackhole.conns), err))
        log("ok   stalled server: given up on (DEBUGINFOD_TIMEOUT=2), the table used")
    finally:
        if blackhole:
            blackhole.close()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()


def build_id_of_debug(path):
    """A detached debug file keeps the build-id note of its binary (in a section
    that is also a PT_NOTE segment only in executables): ask eu-readelf."""
    out = subprocess.check_output(["eu-readelf", "-n", path], universal_newlines=True)
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    args.gcinspect = os.path.abspath(args.gcinspect)

    if os.environ.get(NETNS_ENV) != "1":
        # Into a network namespace of our own, with only loopback, up.
        unshare = shutil.which("unshare")
        ip = shutil.which("ip")
        if os.geteuid() != 0 or not unshare or not ip:
            log("SKIP: a network namespace needs root, unshare and ip (iproute2)")
            return EXIT_SKIP
        probe = subprocess.run([unshare, "--net", ip, "link", "set", "lo", "up"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if probe.returncode != 0:
            log("SKIP: cannot make a network namespace: %s" % probe.stdout.decode().strip())
            return EXIT_SKIP
        env = dict(os.environ)
        env[NETNS_ENV] = "1"
        return subprocess.call([unshare, "--net", "sh", "-c",
                                'ip link set lo up && exec "$@"', "sh",
                                sys.executable, os.path.abspath(__file__)] + argv, env=env)

    for tool in ("debuginfod", "dpkg-deb", "eu-readelf"):
        if not shutil.which(tool):
            log("FAIL: %s is not installed (scripts/install-deps.sh installs it)" % tool)
            return EXIT_FAIL
    workdir = args.workdir or tempfile.mkdtemp(prefix="gcinspect-debuginfod-")
    os.makedirs(workdir, exist_ok=True)
    status = EXIT_FAIL
    try:
        test(args, workdir)
        log("PASS")
        status = EXIT_PASS
    except Skip as e:
        log("SKIP: %s" % e)
        status = EXIT_SKIP
    except check_bad_inputs.CoreUnavailable as e:
        log("SKIP: %s" % e)
        status = EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
    except Exception:
        import traceback
        log("FAIL: harness error:\n" + traceback.format_exc())
    finally:
        if args.keep:
            log("kept: %s" % workdir)
        elif not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
