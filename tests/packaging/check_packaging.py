#!/usr/bin/python3
"""check_packaging.py: what `cmake --install` gives a user, as a user meets it.

Usage:
    check_packaging.py CHECK --build-dir DIR --source-dir DIR [--cmake CMAKE]
                       [--sanitize]

CHECK is one of:
  man         the installed gcinspect(1) renders with `man --warnings -l` at
              80 columns without a single warning, and has every section
  reference   the man page describes every command and option the program's
              own help lists and every gdb command the plugin defines, and
              README.md's reference tables are what the man page makes
              (scripts/gen-readme-usage.py --check)
  completion  the installed bash completion loads (directly, and on demand
              through bash-completion's loader from the prefix), and
              completes commands (`gcinspect t<TAB>` gives the commands that
              `gcinspect help` lists starting with t), a command's options,
              -g's lists, and --pid's pids (a process started here among them)
  cmake       find_package(gcinspect) in a tiny CMake project built against
              the install prefix: gcinspect::gcinspect links and runs; the
              same program through pkg-config; the JSON schema and the touch
              model installed under share/doc/gcinspect

Each check installs the build into a temporary prefix of its own.
Exit status: 0 pass, 1 fail, 77 skip (the tool the check needs is missing
and the machine cannot have it: never for man, bash or cmake, which
scripts/install-deps.sh installs).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77


class Fail(Exception):
    pass


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def sh(argv, **kw):
    log("+ " + " ".join(argv))
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("universal_newlines", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(argv, **kw)


def install(args, prefix):
    p = sh([args.cmake, "--install", args.build_dir, "--prefix", prefix])
    if p.returncode != 0:
        raise Fail("cmake --install failed:\n%s%s" % (p.stdout, p.stderr))


def need(tool):
    if shutil.which(tool) is None:
        raise Fail("%s is not installed (scripts/install-deps.sh installs it)" % tool)


# ---------------------------------------------------------------------------

MAN_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "DEBUG INFORMATION",
                "COMPRESSED AND SYSTEMD CORES", "GDB COMMANDS", "EXIT STATUS", "ENVIRONMENT",
                "FILES", "EXAMPLES", "SEE ALSO")


def check_man(args, prefix):
    need("man")
    page = os.path.join(prefix, "share", "man", "man1", "gcinspect.1")
    if not os.path.isfile(page):
        raise Fail("no man page installed at %s" % page)
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    p = sh(["man", "--warnings", "-l", page], env=env)
    if p.returncode != 0 or p.stderr.strip():
        raise Fail("man --warnings -l %s: exit %d, warnings:\n%s" % (page, p.returncode, p.stderr))
    text = p.stdout
    for s in MAN_SECTIONS:
        if not re.search(r"^%s$" % re.escape(s), text, re.M):
            raise Fail("the rendered page has no %s section" % s)
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    if too_wide:
        raise Fail("lines wider than 80 columns:\n%s" % "\n".join(too_wide[:5]))
    unfilled = re.findall(r"@[A-Z_]+@", open(page).read())
    if unfilled:
        raise Fail("%s has unfilled placeholders: %s" % (page, unfilled))
    log("ok   %s renders at 80 columns without warnings (%d lines)"
        % (page, len(text.splitlines())))


def help_commands(binary):
    out = subprocess.check_output([binary, "help"], universal_newlines=True)
    m = re.search(r"^Commands:\n(.*?)\n\n", out, re.S | re.M)
    if not m:
        raise Fail("gcinspect help has no Commands: list")
    return [line.split()[0] for line in m.group(1).splitlines() if line.strip()]


def help_options(binary, command=None):
    out = subprocess.check_output([binary, "help"] + ([command] if command else []),
                                  universal_newlines=True)
    return re.findall(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", out, re.M)


def man_sections(page_text):
    secs, name = {}, None
    for line in page_text.splitlines():
        if line.startswith(".SH "):
            name = line[4:].strip().strip('"')
            secs[name] = ""
        elif name:
            secs[name] += line + "\n"
    return secs


def check_reference(args, prefix):
    binary = os.path.join(prefix, "bin", "gcinspect")
    src = os.path.join(args.source_dir, "docs", "gcinspect.1.in")
    secs = man_sections(open(src).read())
    plain = {k: v.replace("\\-", "-") for k, v in secs.items()}
    problems = []
    for c in help_commands(binary):
        if not re.search(r"^\\fB%s\\fR" % re.escape(c.replace("-", "\\-")), secs["COMMANDS"], re.M):
            problems.append("command %s (gcinspect help) is not in the man page's COMMANDS" % c)
    for o in help_options(binary):
        if o not in plain["OPTIONS"]:
            problems.append("option %s (gcinspect help) is not in the man page's OPTIONS" % o)
    plugin = open(os.path.join(args.source_dir, "gdbplugin", "gcinspect_gdb.py")).read()
    gdb_cmds = re.findall(r'super\(\).__init__\("(gc-[a-z-]+)"', plugin)
    if not gdb_cmds:
        problems.append("found no gdb command in the plugin")
    for c in gdb_cmds:
        if not re.search(r"^\\fB%s\\fR" % re.escape(c.replace("-", "\\-")),
                         secs["GDB COMMANDS"], re.M):
            problems.append("gdb command %s (gcinspect_gdb.py) is not in the man page's "
                            "GDB COMMANDS" % c)
    p = sh([sys.executable, os.path.join(args.source_dir, "scripts", "gen-readme-usage.py"),
            "--check"])
    if p.returncode != 0:
        problems.append("README.md: " + (p.stderr or p.stdout).strip())
    if problems:
        raise Fail("\n  ".join([""] + problems))
    log("ok   the man page describes %d commands, %d options, %d gdb commands; README.md "
        "agrees" % (len(help_commands(binary)), len(help_options(binary)), len(gdb_cmds)))


def complete(binary, script, words, loader=None, env=None):
    """COMPREPLY for the command line words (the last one being completed)."""
    setup = ('source %s' % shquote(script)) if loader is None else loader
    prog = ('%s\n'
            'complete -p gcinspect >/dev/null || { echo "not registered" >&2; exit 3; }\n'
            'COMP_WORDS=(%s)\n'
            'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n'
            'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}\n'
            '_gcinspect\n'
            'printf "%%s\\n" "${COMPREPLY[@]}"\n'
            % (setup, " ".join(shquote(w) for w in [binary] + words)))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
                       cwd=tempfile.gettempdir() if env is None else env.get("PWD"), env=env)
    if p.returncode != 0:
        raise Fail("bash completion of %r: exit %d: %s" % (words, p.returncode, p.stderr))
    return [w for w in p.stdout.split("\n") if w]


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def check_completion(args, prefix):
    need("bash")
    binary = os.path.join(prefix, "bin", "gcinspect")
    script = os.path.join(prefix, "share", "bash-completion", "completions", "gcinspect")
    if not os.path.isfile(script):
        raise Fail("no completion installed at %s" % script)
    empty = tempfile.mkdtemp(prefix="gcinspect-complete-")  # no files to offer
    env = dict(os.environ, PWD=empty, PATH=os.path.dirname(binary) + ":" + os.environ["PATH"])
    problems = []
    try:
        commands = help_commands(binary)
        want = sorted(c for c in commands if c.startswith("t"))
        got = sorted(complete(binary, script, ["t"], env=env))
        if not want or got != want:
            problems.append("gcinspect t<TAB>: %s, expected %s" % (got, want))
        got = sorted(complete(binary, script, [""], env=env))
        if got != sorted(commands):
            problems.append("gcinspect <TAB>: %s, expected the commands %s" % (got, commands))
        for command in commands:
            opts = help_options(binary, command)
            got = complete(binary, script, [command, "--"], env=env)
            missing = [o for o in opts if o not in got]
            if missing:
                problems.append("gcinspect %s --<TAB> lacks %s" % (command, missing))
        got = complete(binary, script, ["types", "--gen"], env=env)
        if got != ["--generation"]:
            problems.append("gcinspect types --gen<TAB>: %s" % got)
        got = complete(binary, script, ["types", "-g", ""], env=env)
        if "permanent" not in got or "2" not in got:
            problems.append("gcinspect types -g <TAB>: %s" % got)
        got = complete(binary, script, ["help", "to"], env=env)
        if got != ["touch"]:
            problems.append("gcinspect help to<TAB>: %s" % got)
        sleeper = subprocess.Popen(["sleep", "300"])
        try:
            got = complete(binary, script, ["--pid", str(sleeper.pid)[:2]], env=env)
            if str(sleeper.pid) not in got:
                problems.append("gcinspect --pid %s<TAB> does not offer pid %d: %s"
                                % (str(sleeper.pid)[:2], sleeper.pid, got[:20]))
        finally:
            sleeper.kill()
            sleeper.wait()
        # As bash-completion finds it: on demand, from the prefix's share/.
        loader = "/usr/share/bash-completion/bash_completion"
        if os.path.isfile(loader):
            env2 = dict(env, XDG_DATA_DIRS=os.path.join(prefix, "share") + ":/usr/share",
                        BASH_COMPLETION_USER_DIR=os.path.join(empty, "none"))
            setup = ('source %s\n'
                     '__load_completion gcinspect || _completion_loader gcinspect\n'
                     % shquote(loader))
            got = sorted(complete(binary, script, ["t"], loader=setup, env=env2))
            if got != want:
                problems.append("through bash-completion's loader: gcinspect t<TAB>: %s" % got)
        else:
            problems.append("%s is missing (Debian package bash-completion, "
                            "scripts/install-deps.sh)" % loader)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    if problems:
        raise Fail("\n  ".join([""] + problems))
    log("ok   completion: commands, options of every command, -g, help, --pid; loaded "
        "directly and by bash-completion from %s" % os.path.join(prefix, "share"))


CONSUMER_C = r'''
#include <stdio.h>
#include <gcinspect.h>

int main(void)
{
	/* A call into the library, not only its header. */
	struct gci_program *prog = NULL;
	struct gci_error *err = gci_program_open_core("/nonexistent/core", NULL, &prog);
	int status = err ? gci_error_exit_status(err->code) : -1;
	printf("gcinspect %s %d\n", GCI_VERSION_STRING, status);
	gci_error_destroy(err);
	return 0;
}
'''

CONSUMER_CMAKE = r'''
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(gcinspect @MAJOR_MINOR@ REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE gcinspect::gcinspect)
'''


def check_cmake(args, prefix):
    need("cc")
    need("pkg-config")
    work = tempfile.mkdtemp(prefix="gcinspect-consumer-")
    try:
        with open(os.path.join(work, "main.c"), "w") as f:
            f.write(CONSUMER_C)
        version = open(os.path.join(args.source_dir, "CMakeLists.txt")).read()
        version = re.search(r"project\(gcinspect VERSION ([0-9.]+)", version).group(1)
        with open(os.path.join(work, "CMakeLists.txt"), "w") as f:
            f.write(CONSUMER_CMAKE.replace("@MAJOR_MINOR@", ".".join(version.split(".")[:2])))
        want = "gcinspect %s 2\n" % version  # a missing core: exit status 2
        flags = ["-fsanitize=address,undefined"] if args.sanitize else []
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        build = os.path.join(work, "build")
        p = sh([args.cmake, "-S", work, "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix,
                "-DCMAKE_C_FLAGS=" + " ".join(flags)])
        if p.returncode != 0:
            raise Fail("find_package(gcinspect) failed:\n%s%s" % (p.stdout, p.stderr))
        p = sh([args.cmake, "--build", build])
        if p.returncode != 0:
            raise Fail("building against gcinspect::gcinspect failed:\n%s%s"
                       % (p.stdout, p.stderr))
        p = sh([os.path.join(build, "consumer")], env=env)
        if p.returncode != 0 or p.stdout != want:
            raise Fail("the CMake consumer printed %r (exit %d), expected %r\n%s"
                       % (p.stdout, p.returncode, want, p.stderr))
        log("ok   find_package(gcinspect): gcinspect::gcinspect links and runs: %s"
            % p.stdout.strip())
        # The same with pkg-config (shared library).
        pc_env = dict(env, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        p = sh(["pkg-config", "--cflags", "--libs", "gcinspect"], env=pc_env)
        if p.returncode != 0:
            raise Fail("pkg-config gcinspect: %s" % p.stderr)
        exe = os.path.join(work, "consumer-pc")
        q = sh(["cc"] + flags + ["-o", exe, os.path.join(work, "main.c")] + p.stdout.split(),
               env=pc_env)
        if q.returncode != 0:
            raise Fail("cc with pkg-config's flags failed:\n%s" % q.stderr)
        r = sh([exe], env=dict(env, LD_LIBRARY_PATH=os.path.join(prefix, "lib")))
        if r.stdout != want:
            raise Fail("the pkg-config consumer printed %r" % r.stdout)
        log("ok   pkg-config gcinspect: %s" % p.stdout.strip())
        for doc in ("json-schema.md", "touch-model.md"):
            path = os.path.join(prefix, "share", "doc", "gcinspect", doc)
            if not os.path.isfile(path):
                raise Fail("%s is not installed" % path)
        log("ok   share/doc/gcinspect holds json-schema.md and touch-model.md")
    finally:
        shutil.rmtree(work, ignore_errors=True)


CHECKS = {"man": check_man, "reference": check_reference, "completion": check_completion,
          "cmake": check_cmake}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cmake", default="cmake")
    ap.add_argument("--sanitize", action="store_true")
    args = ap.parse_args(argv)
    prefix = tempfile.mkdtemp(prefix="gcinspect-prefix-")
    try:
        install(args, prefix)
        CHECKS[args.check](args, prefix)
        log("PASS")
        return EXIT_PASS
    except Fail as e:
        log("FAIL: %s" % e)
        return EXIT_FAIL
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
