#!/usr/bin/python3
"""check_gdb.py: the gdb plugin on real targets, against the gcinspect CLI.

Usage:
    check_gdb.py MODE --gdb GDB --gcinspect BIN --plugin PLUGIN
                 [--python INTERP] [--target gc_target.py] [--keep]

MODE:
  core     a core of gc_target.py under INTERP (taken with gcore): gdb's
           `gc-gens --json`, `gc-types --json` and `gc-types 2 --json` must
           equal `gcinspect summary|types [-g 2] --json CORE` as JSON, and
           `gc-objects GEN --limit 0 --json` must list each list's objects,
           bytes and per-type counts exactly as the summary and types say;
           `gc-touch [1] --json` must equal `gcinspect touch [-g 1] --json`
           (when the CLI has the touch report).
  live     gc_target.py under INTERP, attached with `gdb -batch -p PID`:
           `gc-gens --json`, `gc-types --json` and `gc-touch 2 --json` must
           equal `gcinspect [types|touch -g 2] --pid PID --no-stop --json`
           (taken after gdb detached, with the target still blocked where it
           was), the page sharing from pagemap included; and the target must
           run on after gdb detaches, then exit 0 when released.
  errors   on a core: `help gc-gens` (and the other commands) work, user
           errors (`gc-types 7`, `gc-objects`, `gc-gens --bogus`,
           `gc-types --limit x`) are one gdb error line with the CLI's
           message, never a Python traceback; without a target, a clear
           error too.
  install  `cmake --install` (--cmake, --build-dir) into two temporary
           prefixes, and into a third with DESTDIR: the installed
           `gcinspect gdb-script` names the installed plugin, the build
           tree's names the build tree's (--plugin); the installed plugin
           and the installed gcinspect.gdbinit, each sourced from every
           place it was installed to (and the gdbinit from another
           directory as cwd, and from a ~/.gdbinit-like file that sources
           it), load the library installed next to them and give the CLI's
           `summary --json` on a core.

Every mode shares tests/gcitest.py with the matrix (tests/integration/
check_target.py), which reads every supported interpreter in gdb too; this
test runs full gdb sessions (gdb reading its own debug info) and what the
matrix does not: text output, gc-objects, errors, installation.

Nothing is excluded from the comparisons: the gdb plugin hands the library
the same process information as the CLI finds (target.path is the core's
absolute path, as gdb knows it, so the CLI is given the absolute path too).
Both sides share one private layout cache, warmed first (a cold and a
warm run report the same; the warm one is faster).

Exit status: 0 pass, 1 fail, 77 skip (only when gdb cannot run Python at
all, or this machine cannot attach to a process).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gcitest  # noqa: E402
from gcitest import Fail, Skip, log, parse_json, expect_equal  # noqa: E402

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = gcitest.EXIT_PASS, gcitest.EXIT_FAIL, gcitest.EXIT_SKIP


def run(argv, env=None, check=True):
    return gcitest.run(argv, env=env, check=check)


def core_of(args, workdir):
    """A core of gc_target.py under args.python (the target then released)."""
    with gcitest.Target(args.python, workdir, script=args.target) as target:
        target.start()
        core = gcitest.take_core(target, workdir)
        target.release()
    return core


def gdb_commands(gdb, plugin, target_args, commands, env):
    """Each command's stdout in a full gdb session, and gdb's stderr."""
    return gcitest.Gdb(gdb, plugin, env).run(target_args, commands)


def check_objects(objs, summary, types_by_gen, gen):
    """gc-objects GEN --limit 0 --json against the summary and the types."""
    lists = {g["name"]: g for g in summary["gc"]["generations"]}
    if summary["gc"]["permanent"]:
        lists["permanent"] = summary["gc"]["permanent"]
    want = lists[gen]
    got = objs["objects"]
    if objs["matched"] != want["objects"] or len(got) != want["objects"] or objs["truncated"]:
        raise Fail("gc-objects %s: %d objects listed (matched %d), the summary says %d"
                   % (gen, len(got), objs["matched"], want["objects"]))
    if sum(o["size"] for o in got) != want["bytes"]:
        raise Fail("gc-objects %s: sizes total %d, the summary says %d bytes"
                   % (gen, sum(o["size"] for o in got), want["bytes"]))
    counts = {}
    for o in got:
        counts[o["type_address"]] = counts.get(o["type_address"], 0) + 1
        if not isinstance(o["refcount"], int) or o["refcount"] < 1:
            raise Fail("gc-objects %s: object %s has refcount %r" % (gen, o["address"],
                                                                   o["refcount"]))
    hist = {t["address"]: t["objects"] for t in types_by_gen["types"]}
    if counts != hist:
        raise Fail("gc-objects %s: per-type counts differ from types -g %s" % (gen, gen))
    if len(set(o["address"] for o in got)) != len(got):
        raise Fail("gc-objects %s: an address is listed twice" % gen)
    log("gc-objects %s: %d objects, %d bytes, %d types: as the summary and types say"
        % (gen, len(got), want["bytes"], len(hist)))


def mode_core(args, workdir, env):
    core = core_of(args, workdir)
    cli = args.gcinspect
    run([cli, "--json", core], env=env)  # warms the layout cache
    summary = parse_json(run([cli, "summary", "--json", core], env=env)[1], "CLI summary")
    types = parse_json(run([cli, "types", "--json", core], env=env)[1], "CLI types")
    gens = ["0", "1", "2"] + (["permanent"] if summary["gc"]["permanent"] else [])
    types_g = {g: parse_json(run([cli, "types", "-g", g, "--json", core], env=env)[1],
                             "CLI types -g " + g) for g in gens}
    commands = ["gc-gens --json", "gc-types --json", "gc-types 2 --json", "gc-gens",
                "gc-types --limit 5"]
    commands += ["gc-objects %s --limit 0 --json" % g for g in gens]
    commands += ["gc-objects 2 --type list --limit 3 --json", "gc-objects 1 --limit 4",
                 "gc-touch --json", "gc-touch 1 --json"]
    parts, err = gdb_commands(args.gdb, args.plugin, [args.python, core], commands, env)
    # The touch report: where the CLI has it, gc-touch must say the same.
    rc, touch, terr = run([cli, "touch", "--json", core], env=env, check=False)
    if rc == 0:
        expect_equal(parse_json(parts[7 + len(gens)], "gc-touch --json"),
                     parse_json(touch, "CLI touch"), "gc-touch --json")
        touch1 = run([cli, "touch", "-g", "1", "--json", core], env=env)[1]
        expect_equal(parse_json(parts[8 + len(gens)], "gc-touch 1 --json"),
                     parse_json(touch1, "CLI touch -g 1"), "gc-touch 1 --json")
    else:
        log("this gcinspect has no touch report (%s): gc-touch not compared" % terr.strip())
    expect_equal(parse_json(parts[0], "gc-gens --json"), summary, "gc-gens --json")
    expect_equal(parse_json(parts[1], "gc-types --json"), types, "gc-types --json")
    expect_equal(parse_json(parts[2], "gc-types 2 --json"), types_g["2"], "gc-types 2 --json")
    text = run([cli, "summary", core], env=env)[1]
    if parts[3] != text:
        raise Fail("gc-gens text differs from the CLI's:\n%s\n---\n%s" % (parts[3], text))
    text = run([cli, "types", "--limit", "5", core], env=env)[1]
    if parts[4] != text:
        raise Fail("gc-types --limit 5 text differs from the CLI's:\n%s\n---\n%s"
                   % (parts[4], text))
    log("gc-gens and gc-types text: equal to the CLI's")
    for i, g in enumerate(gens):
        objs = parse_json(parts[5 + i], "gc-objects %s --json" % g)
        for key in ("schema", "target", "python", "warnings", "integrity"):
            expect_equal(objs[key], summary[key], "gc-objects %s --json: %s" % (g, key))
        check_objects(objs, summary, types_g[g], g)
    few = parse_json(parts[5 + len(gens)], "gc-objects --type")
    lists = sum(t["objects"] for t in types_g["2"]["types"] if t["name"] == "list")
    if (few["matched"] != lists or len(few["objects"]) != min(3, lists)
            or any(o["type"] != "list" for o in few["objects"])
            or few["truncated"] != (lists > 3)):
        raise Fail("gc-objects 2 --type list --limit 3: %r" % few)
    last = parts[6 + len(gens)]
    if not re.search(r"^generation 1: [\d,]+ objects", last) or len(last.splitlines()) != 6:
        raise Fail("gc-objects 1 --limit 4 text:\n%s" % last)
    log("core of %s: pass" % args.python)


def mode_live(args, workdir, env):
    with gcitest.Target(args.python, workdir, script=args.target) as target:
        target.start()
        pid = str(target.pid)
        # warm the layout cache, without stopping the target
        run([args.gcinspect, "--pid", pid, "--no-stop", "--json"], env=env)
        parts, err = gdb_commands(args.gdb, args.plugin, ["-p", pid],
                                  ["gc-gens --json", "gc-types --json", "gc-touch 2 --json",
                                   "detach"], env)
        target.check_running("after gdb detached")
        log("after gdb detached, the target runs on, not traced")
        cli = [args.gcinspect, "--pid", pid, "--no-stop", "--json"]
        summary = parse_json(run(cli, env=env)[1], "CLI summary --pid")
        types = parse_json(run([args.gcinspect, "types"] + cli[1:], env=env)[1],
                           "CLI types --pid")
        touch = parse_json(run([args.gcinspect, "touch", "-g", "2"] + cli[1:], env=env)[1],
                           "CLI touch -g 2 --pid")
        gens = parse_json(parts[0], "gc-gens --json")
        if gens["target"]["kind"] != "live" or gens["target"]["pid"] != target.pid:
            raise Fail("gc-gens --json target: %r" % gens["target"])
        gdb_types = parse_json(parts[1], "gc-types --json")
        # Two reads of a live target are two snapshots: their times differ.
        for doc in (gens, summary, gdb_types, types):
            if doc["snapshot"]["time_source"] != "walk" or not doc["snapshot"]["time"]:
                raise Fail("live snapshot time: %r" % doc["snapshot"])
            del doc["snapshot"]
        expect_equal(gens, summary, "live gc-gens --json")
        expect_equal(gdb_types, types, "live gc-types --json")
        # Page sharing from pagemap, as the CLI reads it.  (gdb maps the
        # interpreter's files too: their clean pages count as shared while
        # it runs, so only Rss, not how it splits, is compared in smaps.)
        gtouch = parse_json(parts[2], "gc-touch 2 --json")
        if gtouch.get("smaps") is None or \
                any(c.get("sharing") is None for c in gtouch["collections"]):
            raise Fail("live gc-touch --json has no sharing or smaps: %r"
                       % [c.get("sharing") for c in gtouch["collections"]])
        for doc in (gtouch, touch):
            sm = doc["smaps"]
            sm["clean_kb"] = sm.pop("shared_clean_kb") + sm.pop("private_clean_kb")
            del doc["snapshot"]
        expect_equal(gtouch, touch, "live gc-touch 2 --json")
        target.release()
        log("the target ran on and exited 0 when released")
    log("live %s: pass" % args.python)


def expect_error(parts, err, index, command, message):
    if parts[index].strip():
        raise Fail("%s printed %r, not only an error" % (command, parts[index]))
    if message not in err:
        raise Fail("%s: no error %r in gdb's stderr:\n%s" % (command, message, err))
    log("%s: error %r" % (command, message))


def mode_errors(args, workdir, env):
    core = core_of(args, workdir)
    commands = ["help gc-gens", "help gc-types", "help gc-objects", "help gc-touch",
                "gc-types 7", "gc-objects", "gc-gens --bogus", "gc-types --limit x",
                "gc-objects 9", "gc-types 1 2"]
    parts, err = gdb_commands(args.gdb, args.plugin, [args.python, core], commands, env)
    for i, name in enumerate(["gc-gens", "gc-types", "gc-objects", "gc-touch"]):
        if "Usage: %s" % name not in parts[i]:
            raise Fail("help %s:\n%s" % (name, parts[i]))
    log("help: every command has its usage")
    # The CLI's own message for the same mistake
    rc, _, cli_err = run([args.gcinspect, "types", "-g", "7", core], env=env, check=False)
    cli_msg = cli_err.strip().replace("gcinspect: ", "", 1)
    if rc != 64 or not cli_msg:
        raise Fail("gcinspect types -g 7: status %d, %r" % (rc, cli_err))
    expect_error(parts, err, 4, "gc-types 7", cli_msg)
    expect_error(parts, err, 5, "gc-objects", "gc-objects needs a generation")
    expect_error(parts, err, 6, "gc-gens --bogus", "unknown option '--bogus'")
    expect_error(parts, err, 7, "gc-types --limit x", "--limit takes a count, not 'x'")
    expect_error(parts, err, 8, "gc-objects 9", 'no generation "9" in CPython')
    expect_error(parts, err, 9, "gc-types 1 2", "unexpected argument '2'")
    parts, err = gdb_commands(args.gdb, args.plugin, [], ["gc-gens"], env)
    expect_error(parts, err, 0, "gc-gens without a target", "no process and no core file")


def install(args, workdir, name, prefix, destdir=None):
    """cmake --install into prefix (under destdir): the root the files are in."""
    env = dict(os.environ)
    if destdir:
        env["DESTDIR"] = destdir
    run([args.cmake, "--install", args.build_dir, "--prefix", prefix], env=env)
    root = destdir + prefix if destdir else prefix
    share = os.path.join(root, "share", "gcinspect", "gdb")
    for f in ("gcinspect_gdb.py", "gcinspect.gdbinit"):
        if not os.path.isfile(os.path.join(share, f)):
            raise Fail("%s: not installed: %s" % (name, os.path.join(share, f)))
    out = run([os.path.join(root, "bin", "gcinspect"), "gdb-script"])[1].strip()
    want = os.path.join(share, "gcinspect_gdb.py")
    if out != want:
        raise Fail("%s: installed gcinspect gdb-script says %r, not %r" % (name, out, want))
    return root


def mode_install(args, workdir, env):
    out = run([args.gcinspect, "gdb-script"])[1].strip()
    if out != os.path.realpath(args.plugin):
        raise Fail("build tree's gcinspect gdb-script says %r, not %r" % (out, args.plugin))
    # Two prefixes (one with a space in it) and a staged install: each must
    # work from where it is, whatever the prefix configured at build time.
    roots = [("prefix", install(args, workdir, "prefix", os.path.join(workdir, "prefix"))),
             ("another prefix", install(args, workdir, "another prefix",
                                        os.path.join(workdir, "other prefix"))),
             ("DESTDIR", install(args, workdir, "DESTDIR", "/opt/gcinspect-test",
                                 destdir=os.path.join(workdir, "stage")))]
    log("gdb-script: the build tree's plugin, and each installed one")
    core = core_of(args, workdir)
    cli = os.path.join(roots[0][1], "bin", "gcinspect")
    run([cli, "--json", core], env=env)
    summary = parse_json(run([cli, "--json", core], env=env)[1], "CLI summary")
    elsewhere = os.path.join(workdir, "elsewhere")
    os.makedirs(elsewhere)
    gdb = gcitest.Gdb(args.gdb, args.plugin, env, readnever=True)
    commands = ["python print(library_path())", "gc-gens --json"]
    for name, root in roots:
        share = os.path.join(root, "share", "gcinspect", "gdb")
        gdbinit = os.path.join(share, "gcinspect.gdbinit")
        # as ~/.gdbinit would: a file that sources the installed one
        home = os.path.join(workdir, "home-%s.gdbinit" % name.replace(" ", "-"))
        with open(home, "w") as f:
            f.write("# a user's gdbinit\nsource %s\n" % gdbinit)
        ways = [("the plugin", ["-ex", "source " + os.path.join(share, "gcinspect_gdb.py")],
                 None),
                ("the gdbinit by a relative path",
                 ["-ex", "source " + os.path.relpath(gdbinit, elsewhere)], elsewhere),
                ("the gdbinit from a user's gdbinit", ["-x", home], elsewhere)]
        for what, load, cwd in ways:
            parts, err = gdb.run(["-c", core], commands, load=load, cwd=cwd)
            lib = os.path.realpath(parts[0].strip())
            if not lib.startswith(os.path.realpath(root) + "/"):
                raise Fail("%s, %s: loads %s, not the library installed there (%s)"
                           % (name, what, lib, root))
            expect_equal(parse_json(parts[1], "gc-gens --json"), summary,
                         "%s, %s: gc-gens --json (library %s)" % (name, what, lib))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["core", "live", "errors", "install"])
    ap.add_argument("--gdb", default="gdb")
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--target", default=gcitest.DEFAULT_TARGET)
    ap.add_argument("--cmake", default="cmake")
    ap.add_argument("--build-dir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="gci-gdb-")
    env = dict(os.environ, GCINSPECT_CACHE_DIR=os.path.join(workdir, "cache"))
    env.pop("GCINSPECT_LIBRARY", None)
    try:
        gcitest.Gdb(args.gdb, args.plugin).check_usable()
        {"core": mode_core, "live": mode_live, "errors": mode_errors,
         "install": mode_install}[args.mode](args, workdir, env)
    except Skip as e:
        log("SKIP: %s" % e)
        return EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        return EXIT_FAIL
    finally:
        if args.keep:
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log("PASS")
    return EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
