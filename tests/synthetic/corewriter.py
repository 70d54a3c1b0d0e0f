"""Minimal x86-64 ELF core files, and a fake CPython heap to put in them.

Standard library only.  Two parts:

* CoreWriter: an ET_CORE/EM_X86_64 file with one PT_NOTE (NT_PRPSINFO,
  optionally NT_PRSTATUS and NT_FILE) and PT_LOAD segments from
  {vaddr: bytes}.  A segment may keep fewer bytes in the file than it maps
  (p_filesz < p_memsz: "not saved in the core"), and the whole file can be
  cut short (a truncated core).  By default there is no NT_FILE: nothing
  beside the core, so gcinspect has no executable, no symbols, no DWARF.

* FakeCPython: the interpreter's data as gcinspect finds it with no
  binaries: a _PyRuntime whose first bytes are the _Py_DebugOffsets block,
  the main interpreter (and optionally a subinterpreter) with its GC state
  laid out as in the built-in table for that version, type objects with
  their names in the core, and GC objects with 16-byte heads on the
  generation lists and the permanent list.  It returns the truth: per list
  the objects, bytes (by the rule of docs/json-schema.md), pages and
  per-type counts.
"""

import struct

# ---------------------------------------------------------------------------
# ELF core writer

ET_CORE = 4
EM_X86_64 = 62
PT_LOAD = 1
PT_NOTE = 4
PF_R, PF_W, PF_X = 4, 2, 1
NT_PRSTATUS = 1
NT_PRPSINFO = 3
NT_FILE = 0x46494C45

EHDR_SIZE = 64
PHDR_SIZE = 56
PRPSINFO_SIZE = 136
PRSTATUS_SIZE = 336
PAGE = 4096


def _note(name, ntype, desc):
    name_b = name.encode() + b"\0"
    out = struct.pack("<III", len(name_b), len(desc), ntype)
    out += name_b + b"\0" * (-len(name_b) % 4)
    out += desc + b"\0" * (-len(desc) % 4)
    return out


def prpsinfo(pid, fname, psargs):
    """struct elf_prpsinfo of x86-64 Linux (136 bytes)."""
    d = bytearray(PRPSINFO_SIZE)
    d[0] = 0           # pr_state
    d[1] = ord("T")    # pr_sname: stopped
    struct.pack_into("<Q", d, 8, 0x400000)        # pr_flag
    struct.pack_into("<II", d, 16, 0, 0)          # pr_uid, pr_gid
    struct.pack_into("<iiii", d, 24, pid, 1, pid, pid)  # pid, ppid, pgrp, sid
    d[40:56] = fname.encode()[:15].ljust(16, b"\0")
    d[56:136] = psargs.encode()[:79].ljust(80, b"\0")
    return bytes(d)


def prstatus(pid, signal):
    """struct elf_prstatus of x86-64 Linux (336 bytes): signal and pid only."""
    d = bytearray(PRSTATUS_SIZE)
    struct.pack_into("<i", d, 0, signal)    # si_signo
    struct.pack_into("<h", d, 12, signal)   # pr_cursig
    struct.pack_into("<i", d, 32, pid)      # pr_pid
    return bytes(d)


def nt_file(files, page=PAGE):
    """files: [(start, end, file_offset_bytes, path)]."""
    d = struct.pack("<QQ", len(files), page)
    for start, end, off, _ in files:
        d += struct.pack("<QQQ", start, end, off // page)
    for *_, path in files:
        d += path.encode() + b"\0"
    return d


class Segment:
    def __init__(self, vaddr, data, memsz=None, filesz=None, flags=PF_R | PF_W):
        self.vaddr = vaddr
        self.data = bytes(data)
        self.memsz = len(self.data) if memsz is None else memsz
        self.filesz = min(len(self.data), self.memsz) if filesz is None else filesz
        self.flags = flags
        assert self.filesz <= len(self.data) or self.filesz == 0
        self.offset = None  # set by CoreWriter.build


class CoreWriter:
    """An x86-64 ELF core.  segments: {vaddr: bytes} or [Segment]."""

    def __init__(self, segments, pid=4242, fname="python3", psargs="python3 app.py",
                 files=None, signal=19):
        if isinstance(segments, dict):
            segments = [Segment(v, b) for v, b in sorted(segments.items())]
        self.segments = sorted(segments, key=lambda s: s.vaddr)
        self.pid, self.fname, self.psargs = pid, fname, psargs
        self.files = files or []
        self.signal = signal

    def build(self):
        notes = b""
        if self.signal is not None:
            notes += _note("CORE", NT_PRSTATUS, prstatus(self.pid, self.signal))
        notes += _note("CORE", NT_PRPSINFO, prpsinfo(self.pid, self.fname, self.psargs))
        if self.files:
            notes += _note("CORE", NT_FILE, nt_file(self.files))
        phnum = 1 + len(self.segments)
        note_off = EHDR_SIZE + phnum * PHDR_SIZE
        off = note_off + len(notes)
        off += -off % PAGE
        body = bytearray()
        for seg in self.segments:
            seg.offset = off + len(body)
            body += seg.data[:seg.filesz]
            body += b"\0" * (-len(body) % PAGE)
        ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
        ehdr = ident + struct.pack("<HHIQQQIHHHHHH", ET_CORE, EM_X86_64, 1, 0,
                                   EHDR_SIZE, 0, 0, EHDR_SIZE, PHDR_SIZE, phnum,
                                   0, 0, 0)
        phdrs = struct.pack("<IIQQQQQQ", PT_NOTE, 0, note_off, 0, 0, len(notes), 0, 4)
        for seg in self.segments:
            phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, seg.flags, seg.offset, seg.vaddr,
                                 0, seg.filesz, seg.memsz, PAGE)
        head = ehdr + phdrs + notes
        head += b"\0" * (off - len(head))
        return bytes(head + body)

    def write(self, path, truncate_at=None):
        """Write the core; truncate_at cuts the file after that many bytes."""
        data = self.build()
        if truncate_at is not None:
            data = data[:truncate_at]
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def file_offset(self, vaddr):
        """Where the byte of vaddr sits in the file (after build/write)."""
        for seg in self.segments:
            if seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                return seg.offset + (vaddr - seg.vaddr)
        raise ValueError("0x%x is not saved in the core" % vaddr)


# ---------------------------------------------------------------------------
# Sparse memory for building the fake heap

class Memory:
    """Writable regions {base: bytearray}; addresses are absolute."""

    def __init__(self):
        self.regions = {}

    def region(self, base, size):
        self.regions[base] = bytearray(size)

    def _at(self, addr, n):
        for base, buf in self.regions.items():
            if base <= addr and addr + n <= base + len(buf):
                return buf, addr - base
        raise ValueError("0x%x (+%d) is outside every region" % (addr, n))

    def write(self, addr, data):
        buf, off = self._at(addr, len(data))
        buf[off:off + len(data)] = data

    def u64(self, addr, value):
        self.write(addr, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))

    def i64(self, addr, value):
        self.write(addr, struct.pack("<q", value))

    def i32(self, addr, value):
        self.write(addr, struct.pack("<i", value))

    def read_u64(self, addr):
        buf, off = self._at(addr, 8)
        return struct.unpack_from("<Q", buf, off)[0]

    def copy(self, src, dst, n):
        buf, off = self._at(src, n)
        self.write(dst, bytes(buf[off:off + n]))


# ---------------------------------------------------------------------------
# Version data

def version_hex(major, minor, micro, level=0xF, serial=0):
    return (major << 24) | (minor << 16) | (micro << 8) | (level << 4) | serial


# Positions of the fields gcinspect reads inside _Py_DebugOffsets, per minor
# version, as in analyzer/src/debug_offsets.c (sections in order, one
# uint64_t per field).  Extra 3.15 gc fields: frame, generation_stats_size,
# generation_stats follow collecting.
DEBUG_BLOCK = {
    13: dict(size=584, runtime_size=24, finalizing=32, interpreters_head=40,
             interp_size=48, interp_id=56, interp_next=64, interp_threads_head=72,
             interp_gc=80, pyobject_size=352, ob_type=360, type_size=368, tp_name=376,
             tp_repr=384, tp_flags=392, gc_size=568, gc_collecting=576),
    14: dict(size=760, runtime_size=24, finalizing=32, interpreters_head=40,
             interp_size=48, interp_id=56, interp_next=64, interp_threads_head=72,
             interp_gc=88, pyobject_size=400, ob_type=408, type_size=416, tp_name=424,
             tp_repr=432, tp_flags=440, gc_size=648, gc_collecting=656),
    15: dict(size=888, runtime_size=24, finalizing=32, interpreters_head=40,
             interp_size=48, interp_id=56, interp_next=64, interp_threads_head=72,
             interp_gc=88, pyobject_size=464, ob_type=472, type_size=480, tp_name=488,
             tp_repr=496, tp_flags=504, gc_size=752, gc_collecting=760),
}

# The runtime/interpreter offsets and the inside of the GC state, per
# layout (analyzer/src/layout.c tables; notes §3.4, §3.5, §3.7, §4.2).
# "3.14inc" equals the DWARF of a real 3.14.4 (release and debug), and
# DEBUG_BLOCK[14] its _Py_DebugOffsets (760 bytes, interp gc at 88, gc at 648).
LAYOUTS = {
    "3.13": dict(
        minor=13, collector="generational",
        interpreters_head=632, interpreters_main=640,
        interp_next=7264, interp_id=7272, interp_gc=7400, interp_size=8192,
        gc_size=240, gc_collecting=200, gc_enabled=12,
        gens=[24, 48, 72], gen_names=["0", "1", "2"], generation0=96,
        permanent=104, long_lived_total=224, long_lived_pending=232,
        heap_size=None, thresholds=[2000, 10, 10]),
    "3.14": dict(
        minor=14, collector="generational",
        interpreters_head=808, interpreters_main=816,
        interp_next=7272, interp_id=7280, interp_gc=7408, interp_size=8192,
        gc_size=264, gc_collecting=192, gc_enabled=12,
        gens=[24, 48, 72], gen_names=["0", "1", "2"], generation0=256,
        permanent=96, long_lived_total=240, long_lived_pending=248,
        heap_size=216, thresholds=[2000, 10, 10]),
    "3.14inc": dict(
        minor=14, collector="incremental",
        interpreters_head=808, interpreters_main=816,
        interp_next=7272, interp_id=7280, interp_gc=7408, interp_size=8192,
        gc_size=240, gc_collecting=192, gc_enabled=12,
        gens=[24, 48, 72], gen_names=["young", "old[0]", "old[1]"], generation0=None,
        permanent=96, long_lived_total=None, long_lived_pending=None,
        heap_size=216, work_to_do=224, visited_space=232, phase=236,
        thresholds=[2000, 10, 0]),
    "3.15": dict(
        minor=15, collector="generational",
        interpreters_head=936, interpreters_main=944,
        interp_next=7264, interp_id=7272, interp_gc=7400, interp_size=8192,
        gc_size=176, gc_collecting=112, gc_enabled=0,
        gens=[8, 32, 56], gen_names=["0", "1", "2"], generation0=168,
        permanent=80, long_lived_total=152, long_lived_pending=160,
        heap_size=144, gc_frame=120, gc_generation_stats=104,
        thresholds=[2000, 10, 10]),
}

# PyObject / PyTypeObject of 3.8+ GIL release builds.
OB_REFCNT, OB_TYPE, OB_SIZE = 0, 8, 16
TP_NAME, TP_BASICSIZE, TP_ITEMSIZE, TP_FLAGS = 24, 32, 40, 168
TYPE_OBJECT_SIZE = 416          # what the debug offsets publish as type_object.size
GC_HEAD = 16

TPFLAGS_INLINE_VALUES = 1 << 2
TPFLAGS_MANAGED_WEAKREF = 1 << 3
TPFLAGS_MANAGED_DICT = 1 << 4
TPFLAGS_HEAPTYPE = 1 << 9
TPFLAGS_BASETYPE = 1 << 10
TPFLAGS_READY = 1 << 12
TPFLAGS_HAVE_GC = 1 << 14
TPFLAGS_LIST_SUBCLASS = 1 << 25
TPFLAGS_TUPLE_SUBCLASS = 1 << 26
TPFLAGS_DICT_SUBCLASS = 1 << 29
TPFLAGS_TYPE_SUBCLASS = 1 << 31
PREHEADER_FLAGS = TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF
PREHEADER = 16

# Where things go: the runtime's data (non-PIE executable style) and a heap.
RUNTIME_BASE = 0x9A0000
RUNTIME_SIZE = 0x1000            # published runtime_state.size
HEAP_BASE = 0x7F3A5C000000
BIG_ITEMS = 1 << 16


class TypeSpec:
    def __init__(self, name, basicsize, itemsize=0, flags=0, heap=False):
        self.name = name
        self.basicsize = basicsize
        self.itemsize = itemsize
        self.flags = flags | TPFLAGS_HAVE_GC | TPFLAGS_READY | (TPFLAGS_HEAPTYPE if heap else 0)
        self.heap = heap      # a heap type: itself a GC object (on gen 2)
        self.address = None
        self.name_address = None


def default_types():
    """Static types in the runtime data, plus a heap class with a pre-header."""
    return [
        TypeSpec("type", 928, 40, TPFLAGS_TYPE_SUBCLASS | TPFLAGS_BASETYPE),
        TypeSpec("dict", 48, 0, TPFLAGS_DICT_SUBCLASS | TPFLAGS_BASETYPE),
        TypeSpec("list", 40, 0, TPFLAGS_LIST_SUBCLASS | TPFLAGS_BASETYPE),
        TypeSpec("tuple", 24, 8, TPFLAGS_TUPLE_SUBCLASS | TPFLAGS_BASETYPE),
        TypeSpec("function", 160, 0),
        # |ob_size| × itemsize: a negative count counts by its magnitude
        TypeSpec("NegVar", 32, 4),
        TypeSpec("pkg.mod.\u00dcn\u00efcode", 56, 0),
        TypeSpec("Widget", 16, 0, TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF |
                 TPFLAGS_INLINE_VALUES | TPFLAGS_BASETYPE, heap=True),
    ]


class Obj:
    """One GC object: its slot, GC head and PyObject addresses, and size."""

    def __init__(self, tspec, ob_size, slot, head, op, nbytes, listname):
        self.type = tspec
        self.ob_size = ob_size
        self.slot, self.head, self.op = slot, head, op
        self.bytes = nbytes
        self.list = listname


class FakeCPython:
    """
    A fake CPython heap.  version: (minor, micro), e.g. (13, 2); layout key
    chosen from it (3.14.0-3.14.4: "3.14inc").  lists: {name: [type name or
    (type name, ob_size)]} with names "0", "1", "2", "permanent" (for the
    incremental layout "young", "old[0]", "old[1]", "permanent").
    """

    def __init__(self, minor, micro, lists, counts=(37, 3, 1), free_threaded=False,
                 subinterpreter=False, visited_space=1, phase=0, seed=1,
                 heap_size=None, long_lived=(1234, 56), work_to_do=0):
        self.minor, self.micro = minor, micro
        if minor == 14 and micro <= 4:
            self.key = "3.14inc"
        else:
            self.key = "3.%d" % minor
        self.L = LAYOUTS[self.key]
        self.block = DEBUG_BLOCK[minor]
        self.version_hex = version_hex(3, minor, micro)
        self.version = "3.%d.%d" % (minor, micro)
        self.lists = lists
        self.counts = counts
        self.free_threaded = free_threaded
        self.subinterpreter = subinterpreter
        self.visited_space = visited_space
        self.phase = phase
        self.seed = seed
        self.long_lived = long_lived
        self.types = {t.name: t for t in default_types()}
        self.mem = Memory()
        self.heap_extra = 0x20000   # mapped room after the last object
        self.heap_size = heap_size
        self.work_to_do = work_to_do
        self.build()

    # -- layout -----------------------------------------------------------

    def gen_names(self):
        return list(self.L["gen_names"])

    def build(self):
        L, B = self.L, self.block
        mem = self.mem
        self.runtime = RUNTIME_BASE
        self.interp = RUNTIME_BASE + RUNTIME_SIZE
        self.sub = self.interp + L["interp_size"] if self.subinterpreter else None
        types_at = self.interp + L["interp_size"] * (2 if self.subinterpreter else 1)
        static_types = [t for t in self.types.values() if not t.heap]
        names_at = types_at + TYPE_OBJECT_SIZE * len(static_types)
        rt_size = names_at + 4096 - RUNTIME_BASE
        rt_size += -rt_size % PAGE
        mem.region(RUNTIME_BASE, rt_size)

        # _Py_DebugOffsets
        mem.write(self.runtime, b"xdebugpy")
        mem.u64(self.runtime + 8, self.version_hex)
        mem.u64(self.runtime + 16, 1 if self.free_threaded else 0)
        pyobj_size = 32 if self.free_threaded else 16
        gc_size = L["gc_size"] + (8 if self.free_threaded and self.minor == 13 else 0)
        fields = dict(runtime_size=RUNTIME_SIZE, finalizing=L["interpreters_head"] - 8,
                      interpreters_head=L["interpreters_head"],
                      interp_size=L["interp_size"], interp_id=L["interp_id"],
                      interp_next=L["interp_next"], interp_threads_head=L["interp_next"] + 24,
                      interp_gc=L["interp_gc"], pyobject_size=pyobj_size,
                      ob_type=24 if self.free_threaded else OB_TYPE,
                      type_size=TYPE_OBJECT_SIZE,
                      tp_name=TP_NAME + (16 if self.free_threaded else 0),
                      tp_repr=88 + (16 if self.free_threaded else 0),
                      tp_flags=TP_FLAGS + (16 if self.free_threaded else 0),
                      gc_size=gc_size, gc_collecting=L["gc_collecting"])
        for k, v in fields.items():
            mem.u64(self.runtime + B[k], v)
        if self.minor == 15:
            mem.u64(self.runtime + B["gc_collecting"] + 8, L["gc_frame"])
            mem.u64(self.runtime + B["gc_collecting"] + 16, 1120)
            mem.u64(self.runtime + B["gc_collecting"] + 24, L["gc_generation_stats"])

        # interpreters: head is the newest (the subinterpreter), main the main one
        mem.u64(self.runtime + L["interpreters_head"], self.sub or self.interp)
        mem.u64(self.runtime + L["interpreters_main"], self.interp)
        mem.i64(self.interp + L["interp_id"], 0)
        mem.u64(self.interp + L["interp_next"], 0)
        if self.sub:
            mem.i64(self.sub + L["interp_id"], 1)
            mem.u64(self.sub + L["interp_next"], self.interp)

        # type objects and their names
        at, nat = types_at, names_at
        for t in static_types:
            self._type_object(t, at, nat)
            at += TYPE_OBJECT_SIZE
            nat += len(t.name.encode()) + 1
        self.names_at = names_at
        # heap types' names go after the static ones
        for t in self.types.values():
            if t.heap:
                t.name_address = nat
                mem.write(nat, t.name.encode() + b"\0")
                nat += len(t.name.encode()) + 1
        assert nat < RUNTIME_BASE + rt_size

        self._build_heap()

    def _type_object(self, t, at, name_at):
        mem = self.mem
        t.address = at
        if t.name_address is None:
            t.name_address = name_at
            mem.write(name_at, t.name.encode() + b"\0")
        mem.i64(at + OB_REFCNT, 0xFFFFFFFF)
        mem.u64(at + OB_TYPE, self.types["type"].address or at)
        mem.i64(at + OB_SIZE, 0)
        mem.u64(at + TP_NAME, t.name_address)
        mem.i64(at + TP_BASICSIZE, t.basicsize)
        mem.i64(at + TP_ITEMSIZE, t.itemsize)
        mem.u64(at + TP_FLAGS, t.flags)

    def obj_bytes(self, t, ob_size, op):
        """The size rule of docs/json-schema.md."""
        n = t.basicsize
        if t.itemsize > 0:
            items = abs(ob_size)
            body = items * t.itemsize
            last = op + n + body - 1
            if items <= 0xFFFFFFFF and self._mapped(last):
                n += body
        n += GC_HEAD
        if t.flags & PREHEADER_FLAGS:
            n += PREHEADER
        return n

    def _mapped(self, addr):
        for base, size in self._mapped_ranges:
            if base <= addr < base + size:
                return True
        return False

    def _build_heap(self):
        import random
        rng = random.Random(self.seed)
        L = self.L
        # Allocation order: young lists first, the permanent list, then the
        # last generation (so a cut through the heap hits only that list).
        names = self.gen_names()
        order = names[:-1] + ["permanent", names[-1]]
        interps = [("main", self.interp)] + ([("sub", self.sub)] if self.sub else [])
        plan = []   # (interp label, list name, type spec, ob_size)
        for label, _ in interps:
            lists = self.lists if label == "main" else self.sub_lists()
            for name in order:
                for entry in lists.get(name, []):
                    tname, ob_size = entry if isinstance(entry, tuple) else (entry, None)
                    t = self.types[tname]
                    if ob_size is None:
                        ob_size = rng.randrange(0, 6) if t.itemsize else 0
                    plan.append((label, name, t, ob_size))
        # Heap types are GC objects themselves: each on main's last
        # generation, first in memory (a cut through the heap leaves them).
        plan[:0] = [("main", names[-1], self.types["type"], 0, t)
                    for t in self.types.values() if t.heap]

        # lay out slots
        addr = HEAP_BASE + 0x40
        slots = []
        for p in plan:
            t = p[2]
            ob_size = p[3]
            pre = PREHEADER if t.flags & PREHEADER_FLAGS else 0
            # counts of BIG_ITEMS or more get no room: their items end in
            # unmapped memory (or overflow), so they are not counted
            body = t.basicsize + (abs(ob_size) * t.itemsize if abs(ob_size) < BIG_ITEMS else 0)
            if len(p) == 5:
                body = max(body, TYPE_OBJECT_SIZE)
            size = pre + GC_HEAD + body
            size += -size % 16
            # now and then a gap, so the objects spread over several pages
            if rng.random() < 0.15:
                addr += rng.choice([0x1000, 0x2000, 0x330])
                addr += -addr % 16
            slots.append((p, addr, pre))
            addr += size
        heap_len = addr - HEAP_BASE + self.heap_extra
        heap_len += -heap_len % PAGE
        self.heap_len = heap_len
        self.mem.region(HEAP_BASE, heap_len)
        self._mapped_ranges = [(b, len(buf)) for b, buf in self.mem.regions.items()]

        self.objects = {}     # (interp label, list name) -> [Obj]
        for label, _ in interps:
            for name in names + ["permanent"]:
                self.objects[(label, name)] = []
        for p, slot, pre in slots:
            label, name, t, ob_size = p[:4]
            head = slot + pre
            op = head + GC_HEAD
            if len(p) == 5:      # a heap type object
                heap_t = p[4]
                self._type_object(heap_t, op, None)
                nbytes = self.obj_bytes(t, 0, op)
            else:
                self.mem.i64(op + OB_REFCNT, rng.randrange(1, 50))
                self.mem.u64(op + OB_TYPE, 0)  # filled below (heap types)
                if t.itemsize:
                    self.mem.i64(op + OB_SIZE, ob_size)
                nbytes = self.obj_bytes(t, ob_size, op)
            self.objects[(label, name)].append(Obj(t, ob_size, slot, head, op, nbytes, name))
        for objs in self.objects.values():
            for o in objs:
                self.mem.u64(o.op + OB_TYPE, o.type.address)

        # GC states and lists
        for label, interp in interps:
            self._gc_state(label, interp, rng)

    def heap_size_of(self, label):
        """heap_size as the state holds it: the number of GC objects, approximately."""
        if self.heap_size is not None and label == "main":
            return self.heap_size
        return sum(len(v) for (lb, _), v in self.objects.items() if lb == label) + 3

    def sub_lists(self):
        """A subinterpreter's small heap."""
        n = self.gen_names()
        return {n[0]: ["dict", "list"], n[2]: ["function", "tuple", "dict"], "permanent": []}

    def gc_state_address(self, interp):
        return interp + self.L["interp_gc"]

    def list_head(self, label, name):
        interp = self.interp if label == "main" else self.sub
        gc = self.gc_state_address(interp)
        if name == "permanent":
            return gc + self.L["permanent"]
        return gc + self.L["gens"][self.gen_names().index(name)]

    def _space_bit(self, name):
        """3.14.0-3.14.4: bit 0 of _gc_next is the object's old space.  As in
        cores of a real 3.14.4 (scripts/build-pythons.sh): young objects carry
        the pending space, old[0] 0, old[1] 1, frozen ones the visited space
        (_PyGC_Freeze sets it), and the list heads' own _gc_next no bit."""
        if self.L["collector"] != "incremental":
            return 0
        if name == "young":
            return 1 ^ self.visited_space
        if name == "old[0]":
            return 0
        if name == "old[1]":
            return 1
        return self.visited_space     # permanent

    def _gc_state(self, label, interp, rng):
        L, mem = self.L, self.mem
        gc = self.gc_state_address(interp)
        mem.i32(gc + L["gc_enabled"], 1)
        mem.i32(gc + L["gc_collecting"], 0)
        if L["generation0"] is not None:
            mem.u64(gc + L["generation0"], gc + L["gens"][0])
        if L["long_lived_total"] is not None:
            mem.i64(gc + L["long_lived_total"], self.long_lived[0])
            mem.i64(gc + L["long_lived_pending"], self.long_lived[1])
        if L["heap_size"] is not None:
            mem.i64(gc + L["heap_size"], self.heap_size_of(label))
        if L["collector"] == "incremental":
            mem.i64(gc + L["work_to_do"], self.work_to_do if label == "main" else 0)
            mem.i32(gc + L["visited_space"], self.visited_space)
            mem.i32(gc + L["phase"], self.phase)
        for i, off in enumerate(L["gens"]):
            mem.i32(gc + off + 16, L["thresholds"][i])
            mem.i32(gc + off + 20, self.counts[i] if label == "main" else i)
        for name in self.gen_names() + ["permanent"]:
            self._link(self.list_head(label, name), self.objects[(label, name)],
                       self._space_bit(name), rng)

    def _link(self, head, objs, next_bit, rng):
        mem = self.mem
        if not objs:
            mem.u64(head, head)
            mem.u64(head + 8, head)
            return
        heads = [o.head for o in objs]
        mem.u64(head, heads[0])
        mem.u64(head + 8, heads[-1])
        for i, h in enumerate(heads):
            nxt = heads[i + 1] if i + 1 < len(heads) else head
            prv = heads[i - 1] if i else head
            # _gc_prev bit 0: finalized, persists between collections
            finalized = 1 if rng.random() < 0.3 else 0
            mem.u64(h, nxt | next_bit)
            mem.u64(h + 8, prv | finalized)

    # -- output -----------------------------------------------------------

    def segments(self, heap_filesz=None):
        """Segments for CoreWriter; heap_filesz < heap size leaves the rest unsaved."""
        segs = []
        for base, buf in sorted(self.mem.regions.items()):
            if base == HEAP_BASE and heap_filesz is not None:
                segs.append(Segment(base, bytes(buf[:heap_filesz]), memsz=len(buf),
                                    filesz=heap_filesz))
            else:
                segs.append(Segment(base, bytes(buf)))
        return segs

    def core(self, heap_filesz=None, **kw):
        kw.setdefault("fname", "python3.%d" % self.minor)
        kw.setdefault("psargs", "/usr/bin/python3.%d -m app --workers 4" % self.minor)
        return CoreWriter(self.segments(heap_filesz), **kw)

    def list_truth(self, label, name):
        objs = self.objects[(label, name)]
        hist = {}
        for o in objs:
            h = hist.setdefault(o.type.name, [0, 0])
            h[0] += 1
            h[1] += o.bytes
        return dict(objects=len(objs), bytes=sum(o.bytes for o in objs),
                    pages=len({o.head >> 12 for o in objs}),
                    head=self.list_head(label, name),
                    types={k: tuple(v) for k, v in hist.items()})

    def truth(self):
        """What gcinspect must report, per interpreter."""
        out = {"runtime": self.runtime, "version": self.version,
               "version_hex": self.version_hex, "interpreters": []}
        interps = [("main", self.interp, 0)]
        if self.sub:
            interps.append(("sub", self.sub, 1))
        for label, addr, iid in interps:
            gc = self.gc_state_address(addr)
            gens = []
            for i, name in enumerate(self.gen_names()):
                t = self.list_truth(label, name)
                t.update(name=name, threshold=self.L["thresholds"][i],
                         count=self.counts[i] if label == "main" else i)
                gens.append(t)
            perm = self.list_truth(label, "permanent")
            perm["name"] = "permanent"
            it = dict(id=iid, address=addr, gc_state=gc, enabled=True, collecting=False,
                      generations=gens, permanent=perm)
            has_ll = self.L["long_lived_total"] is not None
            it["long_lived_total"] = self.long_lived[0] if has_ll else None
            it["long_lived_pending"] = self.long_lived[1] if has_ll else None
            it["heap_size"] = (self.heap_size_of(label) if self.L["heap_size"] is not None
                               else None)
            it["collector"] = self.L["collector"]
            if self.L["collector"] == "incremental":
                it["visited_space"] = self.visited_space
                it["phase"] = "collect" if self.phase else "mark"
                it["work_to_do"] = self.work_to_do if label == "main" else 0
            out["interpreters"].append(it)
        return out
