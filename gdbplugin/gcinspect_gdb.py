# gcinspect_gdb.py: gdb commands over libgcinspect.
#
#   (gdb) source /usr/local/share/gcinspect/gdb/gcinspect_gdb.py
#   (gdb) help gc-gens
#
# The commands read the selected inferior (a live process or a core file)
# through gdb, so they work wherever gdb can read memory.  The library is the
# same one the gcinspect command uses, and --json prints the same documents.
#
# The build configures this file: LIBRARY below becomes the path of
# libgcinspect.so.N in the build tree, or, installed, its path relative to
# this file's directory.  $GCINSPECT_LIBRARY overrides it.

import ctypes
import json
import os
import re
import struct

try:
    import gdb
except ImportError:  # imported outside gdb (the ABI test): ctypes only
    gdb = None

LIBRARY = "@GCI_PLUGIN_LIBRARY@"
_HERE = os.path.dirname(os.path.abspath(globals().get("__file__", ".")))

# --------------------------------------------------------------------------
# The C API (gcinspect.h), mirrored with ctypes.  tests/gdb/check_abi.py
# compares these layouts with the compiler's.
# --------------------------------------------------------------------------

c_bool, c_int, c_size_t = ctypes.c_bool, ctypes.c_int, ctypes.c_size_t
c_u32, c_u64, c_i64 = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int64
c_char_p, c_void_p = ctypes.c_char_p, ctypes.c_void_p

GCI_ERR_USAGE = 2
GCI_REPORT_SUMMARY, GCI_REPORT_TYPES, GCI_REPORT_TOUCH = 0, 1, 2
GCI_FORMAT_TEXT, GCI_FORMAT_JSON = 0, 1
GCI_LOG_WARNING, GCI_LOG_INFO, GCI_LOG_DEBUG = 0, 1, 2
GCI_SNAPSHOT_OBJECTS = 1 << 0
GCI_SNAPSHOT_TYPE_PAGES = 1 << 1


class GciError(ctypes.Structure):
    _fields_ = [("code", c_int), ("has_address", c_bool), ("address", c_u64),
                ("message", c_char_p)]


READ_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_u64, c_void_p, c_size_t)
LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, c_char_p, c_u64, c_u64, c_bool)


class GciOptions(ctypes.Structure):
    _fields_ = [("sysroot", c_char_p), ("exe", c_char_p), ("debug_dir", c_char_p),
                ("no_dwarf", c_bool), ("no_cache", c_bool), ("offline", c_bool),
                ("log", LOG_FN), ("log_arg", c_void_p), ("max_core_size", c_u64),
                ("progress", PROGRESS_FN), ("progress_arg", c_void_p)]


class GciMapping(ctypes.Structure):
    _fields_ = [("start", c_u64), ("end", c_u64), ("offset", c_u64), ("path", c_char_p)]


class GciProcessInfo(ctypes.Structure):
    _fields_ = [("pid", c_i64), ("signal", c_int), ("signal_name", c_char_p),
                ("command", c_char_p), ("args", c_char_p), ("path", c_char_p),
                ("kind", c_char_p), ("stopped", c_bool), ("stopped_usec", c_u64)]


class GciGen(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 16), ("head", c_u64), ("threshold", c_i64),
                ("count", c_i64), ("nobjects", c_size_t), ("bytes", c_u64),
                ("complete", c_bool), ("last_head", c_u64), ("first", c_size_t),
                ("data", c_void_p)]


class GciType(ctypes.Structure):
    _fields_ = [("address", c_u64), ("name", c_char_p), ("name_known", c_bool),
                ("basicsize", c_i64), ("itemsize", c_i64), ("flags", c_u64)]


class GciObject(ctypes.Structure):
    _fields_ = [("address", c_u64), ("type", c_u32), ("size", c_u32)]


class GciProblem(ctypes.Structure):
    _fields_ = [("address", c_u64), ("message", c_char_p)]


GCI_MAX_GENS = 5


class GciInterp(ctypes.Structure):
    _fields_ = [("id", c_i64), ("address", c_u64), ("gc_state", c_u64),
                ("enabled", c_int), ("collecting", c_int),
                ("long_lived_total", c_i64), ("long_lived_pending", c_i64),
                ("heap_size", c_i64), ("collector", c_char_p),
                ("visited_space", c_int), ("phase", c_int),
                ("ngens", c_size_t), ("gens", GciGen * GCI_MAX_GENS),
                ("has_permanent", c_bool), ("permanent", GciGen),
                ("has_work_to_do", c_bool), ("work_to_do", c_i64)]


class GciSmaps(ctypes.Structure):
    _fields_ = [("known", c_bool), ("mappings", c_u64), ("rss", c_u64),
                ("shared_clean", c_u64), ("shared_dirty", c_u64),
                ("private_clean", c_u64), ("private_dirty", c_u64)]


class GciSnapshot(ctypes.Structure):
    _fields_ = [("prog", c_void_p), ("version", ctypes.c_char * 32),
                ("version_hex", c_u32), ("version_source", c_char_p),
                ("layout_source", c_int), ("layout_name", c_char_p),
                ("debug_offsets", c_char_p), ("debug_build", c_bool),
                ("runtime", c_u64), ("ninterps", c_size_t),
                ("interps", ctypes.POINTER(GciInterp)),
                ("nobjects", c_size_t), ("objects", ctypes.POINTER(GciObject)),
                ("ntypes", c_size_t), ("types", ctypes.POINTER(GciType)),
                ("nproblems", c_size_t), ("problems", ctypes.POINTER(GciProblem)),
                ("smaps", GciSmaps), ("time", c_i64), ("time_source", c_char_p)]


class GciReportOptions(ctypes.Structure):
    _fields_ = [("kind", c_int), ("format", c_int), ("generation", c_char_p),
                ("pages", c_bool), ("limit", c_size_t)]


# Every struct the plugin mirrors, for the ABI test.
ABI_STRUCTS = {
    "gci_error": GciError, "gci_options": GciOptions, "gci_mapping": GciMapping,
    "gci_process_info": GciProcessInfo, "gci_gen": GciGen, "gci_type": GciType,
    "gci_object": GciObject, "gci_problem": GciProblem, "gci_interp": GciInterp,
    "gci_smaps": GciSmaps, "gci_snapshot": GciSnapshot, "gci_report_options": GciReportOptions,
}

E = ctypes.POINTER(GciError)
_lib = None
_libc = None


def library_path():
    path = os.environ.get("GCINSPECT_LIBRARY") or LIBRARY
    if path.startswith("@"):
        return "libgcinspect.so.0"  # not configured: the dynamic linker's search
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(_HERE, path))
    return path


def load_library():
    """libgcinspect and libc, loaded once; raises OSError."""
    global _lib, _libc
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(library_path())
    libc = ctypes.CDLL("libc.so.6")
    libc.free.argtypes = [c_void_p]
    libc.free.restype = None
    sig = {
        "gci_error_destroy": (None, [E]),
        "gci_program_open_callback": (E, [READ_FN, c_void_p, ctypes.POINTER(GciMapping),
                                          c_size_t, ctypes.POINTER(GciOptions),
                                          ctypes.POINTER(c_void_p)]),
        "gci_program_set_process_info": (E, [c_void_p, ctypes.POINTER(GciProcessInfo)]),
        "gci_program_destroy": (None, [c_void_p]),
        "gci_snapshot_take": (E, [c_void_p, ctypes.c_uint,
                                  ctypes.POINTER(ctypes.POINTER(GciSnapshot))]),
        "gci_snapshot_destroy": (None, [ctypes.POINTER(GciSnapshot)]),
        "gci_object_refcount": (c_i64, [ctypes.POINTER(GciSnapshot), c_size_t]),
        "gci_snapshot_warnings": (c_size_t, [ctypes.POINTER(GciSnapshot),
                                             ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))]),
        "gci_report": (E, [ctypes.POINTER(GciSnapshot), ctypes.POINTER(GciReportOptions),
                           ctypes.POINTER(c_void_p)]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _lib, _libc = lib, libc
    return lib


def _b(s):
    return None if s is None else s.encode("utf-8", "surrogateescape")


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# What gdb knows about the target
# --------------------------------------------------------------------------

_MAP_RE = re.compile(r"^\s*(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+"
                     r"(0x[0-9a-fA-F]+)(?:\s+([r-][w-][x-][psS-]))?(?:\s+(.*))?$")


def parse_mappings(text):
    """The mappings of `info proc mappings` output: [(start, end, offset, path)],
    path "" for anonymous memory ([heap], [stack], ...).  Where gdb shows the
    permissions (a live process), every readable mapping is listed, as
    /proc/PID/maps gives them to the CLI; where it does not (a core: only the
    files of its NT_FILE note), the files only (core_segments adds the rest)."""
    maps = []
    for line in text.splitlines():
        m = _MAP_RE.match(line)
        if not m:
            continue
        perms = m.group(5)
        path = (m.group(6) or "").rstrip()
        start, end, offset = int(m.group(1), 16), int(m.group(2), 16), int(m.group(4), 16)
        if end <= start:
            continue
        if perms is not None and (perms[0] != "r" or path in ("[vvar]", "[vsyscall]")):
            continue  # not readable (the CLI skips these too)
        if not path.startswith("/"):
            if perms is None:
                continue
            path, offset = "", 0
        elif path.endswith(" (deleted)"):
            path = path[:-len(" (deleted)")]
        maps.append((start, end, offset, path))
    return maps


def core_segments(path):
    """[(start, end)] of the memory an ELF core holds: every readable PT_LOAD
    segment's saved bytes (p_filesz), or [] if the file cannot be read."""
    segs = []
    try:
        with open(path, "rb") as f:
            eh = f.read(64)
            if len(eh) < 64 or eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
                return []
            phoff, = struct.unpack_from("<Q", eh, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", eh, 0x36)
            if phentsize != 56:
                return []
            f.seek(phoff)
            phdrs = f.read(56 * phnum)
            for i in range(len(phdrs) // 56):
                p_type, p_flags = struct.unpack_from("<II", phdrs, i * 56)
                p_vaddr, = struct.unpack_from("<Q", phdrs, i * 56 + 16)
                p_filesz, = struct.unpack_from("<Q", phdrs, i * 56 + 32)
                if p_type == 1 and p_flags & 4 and p_filesz:  # PT_LOAD, PF_R
                    segs.append((p_vaddr, p_vaddr + p_filesz))
    except (OSError, struct.error):
        return []
    return segs


def target_mappings(info):
    """Every mapping the library should know of: the files (they are loaded
    for symbols and DWARF) and the anonymous memory (searched for the GC
    state and _Py_DebugOffsets when the files are missing)."""
    maps = parse_mappings(gdb.execute("info proc mappings", to_string=True))
    if info["kind"] == "core":
        maps += [(a, b, 0, "") for a, b in core_segments(info["path"])]
    return maps


def parse_core_notes(path):
    """pid, signal, command and args from an ELF core's notes, read exactly as
    libgcinspect reads them (analyzer/src/core.c), or None if unreadable."""
    info = {"pid": -1, "signal": -1, "command": None, "args": None}
    try:
        with open(path, "rb") as f:
            eh = f.read(64)
            if len(eh) < 64 or eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
                return None
            phoff, = struct.unpack_from("<Q", eh, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", eh, 0x36)
            if phentsize != 56 or phnum > 0xffff:
                return None
            f.seek(phoff)
            phdrs = f.read(56 * phnum)
            for i in range(len(phdrs) // 56):
                p_type, = struct.unpack_from("<I", phdrs, i * 56)
                if p_type != 4:  # PT_NOTE
                    continue
                p_offset, = struct.unpack_from("<Q", phdrs, i * 56 + 8)
                p_filesz, = struct.unpack_from("<Q", phdrs, i * 56 + 32)
                f.seek(p_offset)
                _parse_notes(f.read(min(p_filesz, 64 << 20)), info)
    except (OSError, struct.error):
        return None
    return info


def _parse_notes(data, info):
    off, have_siginfo = 0, False
    while off + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, off)
        doff = off + 12 + ((namesz + 3) & ~3)
        if doff + descsz > len(data):
            break
        desc = data[doff:doff + descsz]
        off = doff + ((descsz + 3) & ~3)
        if ntype == 3 and descsz >= 136:  # NT_PRPSINFO
            info["pid"], = struct.unpack_from("<i", desc, 24)
            fname = desc[40:56].split(b"\0", 1)[0]
            psargs = desc[56:136].split(b"\0", 1)[0]
            psargs = bytes(32 if c < 32 else c for c in psargs)
            info["command"] = fname or None
            info["args"] = psargs or None
        elif ntype == 1 and descsz >= 36:  # NT_PRSTATUS
            if not have_siginfo and info["signal"] < 0:
                info["signal"], = struct.unpack_from("<h", desc, 12)
            if info["pid"] < 0:
                info["pid"], = struct.unpack_from("<i", desc, 32)
        elif ntype == 0x53494749 and descsz >= 4:  # NT_SIGINFO
            info["signal"], = struct.unpack_from("<i", desc, 0)
            have_siginfo = True


def _core_file():
    inf = gdb.selected_inferior()
    core = getattr(inf, "corefile", None)  # gdb 14+: a gdb.Corefile
    if core is not None:
        return getattr(core, "filename", None)
    text = gdb.execute("info target", to_string=True)
    m = re.search(r"Local core dump file:\s*\n\s*`(.*)', file type", text)
    return m.group(1) if m else None


def _read_proc(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def _is_native_process(pid):
    if pid <= 0 or not os.path.isdir("/proc/%d" % pid):
        return False
    text = gdb.execute("info target", to_string=True)
    return "Native process" in text or "running image" in text


def describe_target():
    """(kind, process info dict) of the selected inferior; GdbError if none."""
    inf = gdb.selected_inferior()
    core = _core_file()
    if core:
        info = parse_core_notes(core) or {"pid": inf.pid or -1, "signal": -1,
                                          "command": None, "args": None}
        if info["signal"] < 0:
            try:
                info["signal"] = int(gdb.parse_and_eval("$_siginfo.si_signo"))
            except gdb.error:
                pass
        info.update(kind="core", path=core)
        return info
    if not inf.pid:
        raise gdb.GdbError("no process and no core file (attach to a process, "
                           "run one, or load a core first)")
    if _is_native_process(inf.pid):
        pid = inf.pid
        comm = _read_proc(pid, "comm")
        cmdline = _read_proc(pid, "cmdline")
        if cmdline is not None:
            # as analyzer/src/live.c: every NUL but the last becomes a space
            cmdline = cmdline[:-1].replace(b"\0", b" ") + cmdline[-1:]
            cmdline = cmdline.split(b"\0", 1)[0]
        return {"kind": "live", "path": "pid %d" % pid, "pid": pid, "signal": -1,
                "command": comm.split(b"\n", 1)[0] if comm else None, "args": cmdline}
    return {"kind": "callback", "path": "pid %d" % inf.pid, "pid": inf.pid,
            "signal": -1, "command": None, "args": None}


def gdb_options(kind, pid):
    """sysroot and debug dir from gdb's settings, as the CLI would have them.
    (A live process without a sysroot of gdb's: the library looks for its
    files through /proc/PID, as the CLI does.)"""
    sysroot = gdb.parameter("sysroot") or ""
    if sysroot.startswith("target:"):
        sysroot = sysroot[len("target:"):]
    debug_dir = (gdb.parameter("debug-file-directory") or "").split(os.pathsep)[0]
    # gdb, like the library, looks under SYSROOT/usr/lib/debug by default.
    if debug_dir in ("", "/usr/lib/debug"):
        debug_dir = None
    return sysroot or None, debug_dir


def gdb_offline():
    """Whether the library must not ask debuginfod: unless gdb's own
    `set debuginfod enabled` is on (gdb asks the user at "ask"; the plugin
    cannot, so it does not ask the network either)."""
    try:
        return gdb.parameter("debuginfod enabled") != "on"
    except (RuntimeError, gdb.error):
        return True  # a gdb without debuginfod support


# --------------------------------------------------------------------------
# A snapshot of the selected inferior
# --------------------------------------------------------------------------

def _read_memory(arg, address, buf, size):
    # Never lets an exception cross into C: every failure is -1.
    try:
        data = _reader(address, size)
        if data.nbytes != size:
            return -1
        # one copy, straight from gdb's buffer into the library's block
        memoryview((ctypes.c_char * size).from_address(buf)).cast("B")[:] = data.cast("B")
        return 0
    except BaseException as e:
        try:
            if isinstance(e, KeyboardInterrupt):
                _interrupted[0] = True
            _read_failures[0] += 1
            if _read_failures[1] is None:
                _read_failures[1] = "0x%x+%d: %s" % (address, size, e)
        except BaseException:
            pass
        return -1


_read_failures = [0, None]  # failed reads, and the first one (for -v)
_interrupted = [False]      # Ctrl-C during a read: the command stops


_read_fn = READ_FN(_read_memory)
_reader = None
_log_lines = []


def _log(arg, level, message):
    try:
        names = ("warning", "info", "debug")
        if level <= _log_level[0]:
            _log_lines.append("gcinspect: %s: %s\n" % (
                names[level] if 0 <= level < 3 else "log", _s(message)))
    except BaseException:
        pass


_log_fn = LOG_FN(_log)
_log_level = [-1]


def _raise(err):
    """A library error as a gdb error (the CLI's message), freeing it."""
    message = _s(err.contents.message) or "error %d" % err.contents.code
    _lib.gci_error_destroy(err)
    raise gdb.GdbError(message)


class Snapshot:
    """A program over gdb's memory and its walked GC lists; use with `with`."""

    def __init__(self, flags=0, verbose=0, no_dwarf=False):
        self.prog = c_void_p()
        self.snap = ctypes.POINTER(GciSnapshot)()
        self.flags = flags
        self.verbose = verbose
        self.no_dwarf = bool(no_dwarf)

    def __enter__(self):
        global _reader
        try:
            lib = load_library()
        except OSError as e:
            raise gdb.GdbError("cannot load libgcinspect (%s): %s" % (library_path(), e))
        info = describe_target()
        inf = gdb.selected_inferior()
        maps = target_mappings(info)
        arr = (GciMapping * max(len(maps), 1))()
        keep = []
        for i, (start, end, offset, path) in enumerate(maps):
            keep.append(_b(path))
            arr[i] = GciMapping(start, end, offset, keep[-1])
        sysroot, debug_dir = gdb_options(info["kind"], info["pid"])
        opts = GciOptions(sysroot=_b(sysroot), debug_dir=_b(debug_dir),
                          no_dwarf=self.no_dwarf, offline=gdb_offline(), log=_log_fn)
        _log_level[0] = {0: -1, 1: GCI_LOG_INFO}.get(self.verbose, GCI_LOG_DEBUG)
        del _log_lines[:]
        _read_failures[:] = [0, None]
        _interrupted[0] = False
        _reader = inf.read_memory
        try:
            err = lib.gci_program_open_callback(_read_fn, None, arr, len(maps),
                                                ctypes.byref(opts), ctypes.byref(self.prog))
            if err:
                _raise(err)
            pi = GciProcessInfo(pid=info["pid"], signal=info["signal"],
                                command=info["command"], args=info["args"],
                                path=_b(info["path"]), kind=_b(info["kind"]),
                                stopped=False, stopped_usec=0)
            err = lib.gci_program_set_process_info(self.prog, ctypes.byref(pi))
            if err:
                _raise(err)
            err = lib.gci_snapshot_take(self.prog, self.flags, ctypes.byref(self.snap))
            if _interrupted[0]:
                if err:
                    lib.gci_error_destroy(err)
                raise gdb.GdbError("interrupted")
            if err:
                _raise(err)
        except BaseException:
            self.close()
            raise
        finally:
            if self.verbose and _read_failures[0]:
                gdb.write("gcinspect: info: %d reads of the inferior's memory failed "
                          "(first: %s)\n" % tuple(_read_failures), gdb.STDERR)
            _flush_log()
        self.path = info["path"]
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        global _reader
        if self.snap:
            _lib.gci_snapshot_destroy(self.snap)
            self.snap = ctypes.POINTER(GciSnapshot)()
        if self.prog:
            _lib.gci_program_destroy(self.prog)
            self.prog = c_void_p()
        _reader = None
        _flush_log()

    def report(self, kind, json_format, generation=None, limit=40, pages=False):
        ropts = GciReportOptions(kind=kind,
                                 format=GCI_FORMAT_JSON if json_format else GCI_FORMAT_TEXT,
                                 generation=_b(generation), pages=pages, limit=limit)
        out = c_void_p()
        err = _lib.gci_report(self.snap, ctypes.byref(ropts), ctypes.byref(out))
        if err:
            _raise(err)
        try:
            return ctypes.string_at(out.value).decode("utf-8", "replace")
        finally:
            _libc.free(out)

    def warn_partial(self):
        """As the CLI: warnings, and a partial result, are said on stderr."""
        arr = ctypes.POINTER(ctypes.c_char_p)()
        for i in range(_lib.gci_snapshot_warnings(self.snap, ctypes.byref(arr))):
            gdb.write("gcinspect: %s: warning: %s\n" % (self.path, _s(arr[i])), gdb.STDERR)
        s = self.snap.contents
        if s.nproblems:
            gdb.write("gcinspect: %s: %d integrity problem%s; the result is partial "
                      "(first: %s)\n" % (self.path, s.nproblems,
                                         "" if s.nproblems == 1 else "s",
                                         _s(s.problems[0].message)), gdb.STDERR)

    def lists(self):
        """{name: GciGen} of the main interpreter's lists."""
        s = self.snap.contents
        if not s.ninterps:
            return {}
        interp = s.interps[0]
        gens = {}
        for i in range(min(interp.ngens, GCI_MAX_GENS)):
            gens[_s(interp.gens[i].name)] = interp.gens[i]
        if interp.has_permanent:
            gens["permanent"] = interp.permanent
        return gens


def _flush_log():
    for line in _log_lines:
        gdb.write(line, gdb.STDERR)
    del _log_lines[:]


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def parse_args(arg, command, flags=(), valued=()):
    """gdb-style arguments: (positional list, {option: value}); GdbError on a
    mistake, with the CLI's wording."""
    argv = gdb.string_to_argv(arg)
    pos, opts = [], {}
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            pos.extend(argv[i:])
            break
        if a.startswith("-") and a != "-" and not re.match(r"^-\d", a):
            name, eq, value = a.partition("=")
            if name in flags and not eq:
                opts[name] = opts.get(name, 0) + 1
            elif name in valued:
                if not eq:
                    if i >= len(argv):
                        raise gdb.GdbError("option '%s' needs an argument (see help %s)"
                                           % (name, command))
                    value = argv[i]
                    i += 1
                opts[name] = value
            else:
                raise gdb.GdbError("unknown option '%s' (see help %s)" % (a, command))
        else:
            pos.append(a)
    if "--limit" in opts:
        v = opts["--limit"]
        if not re.match(r"^\d+$", v):
            raise gdb.GdbError("--limit takes a count, not '%s' (see help %s)"
                               % (v, command))
        opts["--limit"] = int(v)
    return pos, opts


def _too_many(pos, allowed, command):
    if len(pos) > allowed:
        raise gdb.GdbError("unexpected argument '%s' (see help %s)" % (pos[allowed], command))


def command(invoke):
    """An invoke() whose every failure is a one-line gdb error, never a traceback."""
    def wrapper(self, arg, from_tty):
        try:
            return invoke(self, arg, from_tty)
        except gdb.GdbError:
            raise
        except KeyboardInterrupt:
            raise gdb.GdbError("interrupted")
        except gdb.error as e:  # a gdb command the plugin runs failed
            raise gdb.GdbError(str(e))
        except Exception as e:
            raise gdb.GdbError("gcinspect plugin: internal error: %s: %s"
                               % (type(e).__name__, e))
    wrapper.__doc__ = invoke.__doc__
    return wrapper


def _complete(text, words):
    return [w for w in words if w.startswith(text)]


if gdb is not None:

    class GcGens(gdb.Command):
        """Show the CPython GC generations of the inferior.
Usage: gc-gens [--json] [--no-dwarf] [-v]

For each generation of the main interpreter (and of every other interpreter):
the threshold and count (as gc.get_threshold() and gc.get_count() would
say), the objects on its list, their bytes, and the distinct 4 KiB pages
holding their GC heads (the pages a collection writes); then the permanent
generation (gc.freeze()).  Works on a live process and on a core file.

  --json      the same JSON document as `gcinspect summary --json`
              (schema gcinspect/1)
  --no-dwarf  never read DWARF: the built-in layout tables (and
              _Py_DebugOffsets) only, as gcinspect --no-dwarf
  -v          log discovery steps (twice: more)"""

        def __init__(self):
            super().__init__("gc-gens", gdb.COMMAND_DATA)

        def complete(self, text, word):
            return _complete(word or "", ["--json", "--no-dwarf", "-v"])

        @command
        def invoke(self, arg, from_tty):
            pos, opts = parse_args(arg, "gc-gens", flags=("--json", "--no-dwarf", "-v"))
            _too_many(pos, 0, "gc-gens")
            with Snapshot(verbose=opts.get("-v", 0),
                          no_dwarf="--no-dwarf" in opts) as snap:
                gdb.write(snap.report(GCI_REPORT_SUMMARY, "--json" in opts))
                snap.warn_partial()

    class GcTypes(gdb.Command):
        """Show a type histogram of the inferior's GC lists, largest first.
Usage: gc-types [GEN|permanent] [--json] [--limit N] [--no-dwarf] [-v]

GEN is 0, 1 or 2 (the generation), or permanent (the objects gc.freeze()
moved out of the collector's reach); without it, every generation and the
permanent one together.  Each type's objects and bytes, sorted by bytes.

  --limit N  rows shown in text output (default 40; 0: all)
  --json     the same JSON document as `gcinspect types --json`
  --no-dwarf never read DWARF: the built-in layout tables
             (and _Py_DebugOffsets) only, as gcinspect --no-dwarf
  -v         log discovery steps (twice: more)"""

        def __init__(self):
            super().__init__("gc-types", gdb.COMMAND_DATA)

        def complete(self, text, word):
            return _complete(word or "", ["0", "1", "2", "permanent", "--json", "--limit",
                                          "--no-dwarf"])

        @command
        def invoke(self, arg, from_tty):
            pos, opts = parse_args(arg, "gc-types", flags=("--json", "--no-dwarf", "-v"),
                                   valued=("--limit",))
            _too_many(pos, 1, "gc-types")
            with Snapshot(verbose=opts.get("-v", 0),
                          no_dwarf="--no-dwarf" in opts) as snap:
                gdb.write(snap.report(GCI_REPORT_TYPES, "--json" in opts,
                                      generation=pos[0] if pos else None,
                                      limit=opts.get("--limit", 40)))
                snap.warn_partial()

    class GcObjects(gdb.Command):
        """List the objects on one of the inferior's GC lists.
Usage: gc-objects GEN [--type NAME] [--limit N] [--json] [--no-dwarf] [-v]

GEN is 0, 1, 2 or permanent.  For each object, in list order (the order a
collection visits them): its address (the PyObject, not the GC head), its
type's tp_name, its size in bytes (as gc-types counts them) and its
reference count read from the inferior.

  --type NAME  only objects of the type NAME (as gc-types names it: a class is
               qualified with its module, "__main__.Peer") or at address 0x...
  --limit N    objects shown (default 100; 0: all); the total is always given
  --json       JSON (schema gcinspect/1, the gc-objects section of
               docs/json-schema.md)
  --no-dwarf   never read DWARF: the built-in layout tables
               (and _Py_DebugOffsets) only, as gcinspect --no-dwarf
  -v           log discovery steps (twice: more)"""

        def __init__(self):
            super().__init__("gc-objects", gdb.COMMAND_DATA)

        def complete(self, text, word):
            return _complete(word or "", ["0", "1", "2", "permanent", "--type",
                                          "--limit", "--json", "--no-dwarf"])

        @command
        def invoke(self, arg, from_tty):
            pos, opts = parse_args(arg, "gc-objects", flags=("--json", "--no-dwarf", "-v"),
                                   valued=("--limit", "--type"))
            if not pos:
                raise gdb.GdbError("gc-objects needs a generation: 0, 1, 2 or permanent "
                                   "(see help gc-objects)")
            _too_many(pos, 1, "gc-objects")
            limit = opts.get("--limit", 100)
            with Snapshot(flags=GCI_SNAPSHOT_OBJECTS, verbose=opts.get("-v", 0),
                          no_dwarf="--no-dwarf" in opts) as snap:
                gens = snap.lists()
                gen = gens.get(pos[0])
                if gen is None:
                    s = snap.snap.contents
                    ngens = s.interps[0].ngens if s.ninterps else 0
                    raise gdb.GdbError('no generation "%s" in CPython %s (choose 0-%d%s)'
                                       % (pos[0], _s(s.version), ngens - 1,
                                          " or permanent" if "permanent" in gens else ""))
                rows, matched = object_rows(snap, gen, opts.get("--type"), limit)
                if "--json" in opts:
                    gdb.write(objects_json(snap, pos[0], opts.get("--type"), limit,
                                           rows, matched))
                else:
                    gdb.write(objects_text(snap, pos[0], gen, opts.get("--type"), limit,
                                           rows, matched))
                snap.warn_partial()

    class GcTouch(gdb.Command):
        """Show what a collection of a generation would write.
Usage: gc-touch [GEN] [--pages] [--json] [--limit N] [--no-dwarf] [-v]

The touch model (docs/touch-model.md): a collection of generation GEN writes
the GC head of every object in generations 0..GEN, the last object of the
next older generation, and the GC state.  For each collection (or only for
GEN): the objects and distinct 4 KiB pages written, and which types hold
the most of those pages.  On 3.14.0-3.14.4 (the incremental collector) the
collections are young, increment (the next automatic step) and full, also
named by their gc.collect(generation=N) number.  Needs a libgcinspect with
the touch report.

  --pages    list every page written
  --limit N  rows shown in text output (default 40; 0: all)
  --json     the same JSON document as the gcinspect touch report
  --no-dwarf never read DWARF: the built-in layout tables
             (and _Py_DebugOffsets) only, as gcinspect --no-dwarf
  -v         log discovery steps (twice: more)"""

        def __init__(self):
            super().__init__("gc-touch", gdb.COMMAND_DATA)

        def complete(self, text, word):
            return _complete(word or "", ["0", "1", "2", "young", "increment", "full",
                                          "--pages", "--json", "--limit", "--no-dwarf"])

        @command
        def invoke(self, arg, from_tty):
            pos, opts = parse_args(arg, "gc-touch",
                                   flags=("--json", "--pages", "--no-dwarf", "-v"),
                                   valued=("--limit",))
            _too_many(pos, 1, "gc-touch")
            try:
                lib = load_library()
            except OSError as e:
                raise gdb.GdbError("cannot load libgcinspect (%s): %s" % (library_path(), e))
            # The touch report came with gci_touch_compute; an older library
            # would render a summary for the unknown report kind.
            if not hasattr(lib, "gci_touch_compute"):
                raise gdb.GdbError("gc-touch needs libgcinspect with the touch report")
            flags = GCI_SNAPSHOT_TYPE_PAGES
            if "--pages" in opts:
                flags |= GCI_SNAPSHOT_OBJECTS
            with Snapshot(flags=flags, verbose=opts.get("-v", 0),
                          no_dwarf="--no-dwarf" in opts) as snap:
                gdb.write(snap.report(GCI_REPORT_TOUCH, "--json" in opts,
                                      generation=pos[0] if pos else None,
                                      limit=opts.get("--limit", 40),
                                      pages="--pages" in opts))
                snap.warn_partial()

    GcGens()
    GcTypes()
    GcObjects()
    GcTouch()


def object_rows(snap, gen, type_name, limit):
    """The rows to show of a list's kept objects: ([(index, address, type index,
    size)], number matching the filter).  Reads the records in bulk."""
    s = snap.snap.contents
    n = min(gen.nobjects, max(s.nobjects - gen.first, 0))
    if not n:
        return [], 0
    rec = ctypes.sizeof(GciObject)
    base = ctypes.addressof(s.objects.contents) + gen.first * rec
    wanted = None
    if type_name is not None:
        # a (qualified) name, or the type object's address
        try:
            addr = int(type_name, 16) if type_name.lower().startswith("0x") else None
        except ValueError:
            addr = None
        wanted = {i for i in range(s.ntypes)
                  if _s(s.types[i].name) == type_name or s.types[i].address == addr}
    if wanted is None and limit:
        raw = ctypes.string_at(base, min(n, limit) * rec)
        rows = [(gen.first + i, a, t, z)
                for i, (a, t, z) in enumerate(struct.iter_unpack("=QII", raw))]
        return rows, n
    raw = ctypes.string_at(base, n * rec)
    rows, matched = [], 0
    for i, (a, t, z) in enumerate(struct.iter_unpack("=QII", raw)):
        if wanted is None or t in wanted:
            matched += 1
            if not limit or len(rows) < limit:
                rows.append((gen.first + i, a, t, z))
    return rows, matched


def _type_name(snap, t):
    s = snap.snap.contents
    return _s(s.types[t].name) if t < s.ntypes else "<type %d>" % t


def objects_text(snap, generation, gen, type_name, limit, rows, matched):
    what = "permanent generation" if generation == "permanent" else \
        "generation %s" % generation
    out = ["%s: %s objects%s" % (what, "{:,}".format(matched),
                                 " of type %s" % type_name if type_name is not None else "")]
    if len(rows) < matched:
        out[0] += " (first %s shown; --limit 0: all)" % "{:,}".format(len(rows))
    if rows:
        out.append("  %-18s  %-30s %10s %9s" % ("address", "type", "size", "refcount"))
    for index, address, t, size in rows:
        rc = _lib.gci_object_refcount(snap.snap, index)
        out.append("  %-18s  %-30s %10s %9s" % ("0x%x" % address, _type_name(snap, t),
                                               "{:,}".format(size),
                                               "?" if rc < 0 else "{:,}".format(rc)))
    if not gen.complete:
        out.append("  (the list could not be walked to its end)")
    return "\n".join(out) + "\n"


def objects_json(snap, generation, type_name, limit, rows, matched):
    # The common keys, exactly as the library renders them for every command.
    common = json.loads(snap.report(GCI_REPORT_SUMMARY, True))
    s = snap.snap.contents
    objs = []
    for index, address, t, size in rows:
        rc = _lib.gci_object_refcount(snap.snap, index)
        ty = s.types[t] if t < s.ntypes else None
        objs.append({"address": "0x%x" % address,
                     "type": _type_name(snap, t),
                     "type_address": "0x%x" % ty.address if ty else None,
                     "size": size,
                     "refcount": rc if rc >= 0 else None})
    doc = {"schema": common["schema"], "generator": common["generator"],
           "snapshot": common["snapshot"], "target": common["target"],
           "python": common["python"], "generation": generation,
           "type": type_name, "matched": matched, "limit": limit,
           "truncated": len(objs) < matched, "objects": objs,
           "warnings": common["warnings"], "integrity": common["integrity"]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
