"""A fake free-threaded CPython (3.13t, 3.14t, 3.15t) for corewriter.py cores.

Standard library only.  FakeFreeThreaded lays out what gcinspect reads of a
Py_GIL_DISABLED interpreter with no binaries at hand: _PyRuntime beginning
with _Py_DebugOffsets (free_threaded = 1), the interpreter and its GC state
(thresholds and counts, never-used list heads), thread states whose
_PyThreadStateImpl.mimalloc holds four mimalloc heaps, and 32 MiB-aligned
mimalloc segments whose pages hold the objects: heap tag 2 (objects at the
block) and 3 (after a 16-byte pre-header); free blocks on every kind of list
(free, local_free, xthread_free, the heap's delayed frees) with stale
headers that still say "tracked"; abandoned segments of exited threads
(mimalloc 2.1: the interpreter's pool; 2.5: the sub-process's OS list and
an arena segment found by its header).

Offsets are those of ../shared notes free-threaded.md (DWARF of 3.13.15t;
the 3.14.4 headers; the 3.14.10 and 3.15.2 headers compiled with
-DPy_GIL_DISABLED), written out here on their own.  truth() returns what
gcinspect must report: per list objects, bytes, pages, per-type counts,
and the pages a collection writes.
"""

import random
import struct

import corewriter as cw

SEGMENT = 32 << 20
SLICE = 64 << 10

# mimalloc 2.1.2 (3.13, 3.14.0-3.14.4) and the 2.5 line (3.14.10, 3.15.2).
MI21 = dict(mts_heaps=8, mts_initialized=13872, heap_size=3064, heap_pages=1040,
            heap_tdf=2840, heap_thread_id=2848, heap_page_count=3024, page_size=96,
            p_used=(24, 4), p_block=(28, 4), p_local=32, p_xthread=40, p_xheap=48,
            p_next=56, p_prev=64, p_start=None, p_tag=(8, 3),
            seg_segment_slices=224, seg_info_slices=232, seg_kind=240, seg_entries=248,
            seg_thread=256, seg_slices=264, seg_abandoned_next=176, seg_used=208,
            seg_abandoned=192, pool=True)
MI25 = dict(mts_heaps=8, mts_initialized=17480, heap_size=3088, heap_pages=1288,
            heap_tdf=8, heap_thread_id=16, heap_page_count=192, page_size=112,
            p_used=(32, 2), p_block=(40, 8), p_local=24, p_xthread=56, p_xheap=64,
            p_next=72, p_prev=80, p_start=48, p_tag=(35, 0),
            seg_subproc=40, seg_segment_slices=248, seg_info_slices=256, seg_kind=264,
            seg_entries=272, seg_thread=280, seg_slices=288, seg_os_next=232,
            seg_used=216, seg_abandoned=200, pool=False,
            subproc_count=0, subproc_os_count=8, subproc_os_list=96)

LAYOUTS = {
    "3.13": dict(minor=13, interp_head=632, interp_main=640, interp_next=7264,
                 interp_id=7272, interp_threads=7344, interp_gc=7400,
                 interp_mimalloc=10816, gc_size=248, gc_enabled=12, gc_collecting=200,
                 gens=[24, 48, 72], long_lived=(224, 232), heap_size_off=None,
                 tstate_thread_id=152, tstate_mimalloc=352, mi=MI21, type_size=432,
                 state_end=240),
    "3.14old": dict(minor=14, interp_head=808, interp_main=816, interp_next=7272,
                    interp_id=7280, interp_threads=7344, interp_gc=7408,
                    interp_mimalloc=10944, gc_size=288, gc_enabled=12, gc_collecting=192,
                    gens=[24, 48, 72], long_lived=(240, 248), heap_size_off=216,
                    tstate_thread_id=152, tstate_mimalloc=936, mi=MI21, type_size=432,
                    state_end=256),
    "3.14": dict(minor=14, interp_head=808, interp_main=816, interp_next=7272,
                 interp_id=7280, interp_threads=7344, interp_gc=7408,
                 interp_mimalloc=10928, gc_size=288, gc_enabled=12, gc_collecting=192,
                 gens=[24, 48, 72], long_lived=(240, 248), heap_size_off=216,
                 tstate_thread_id=152, tstate_mimalloc=936, mi=MI25, type_size=432,
                 state_end=256),
    "3.15": dict(minor=15, interp_head=936, interp_main=944, interp_next=7264,
                 interp_id=7272, interp_threads=7336, interp_gc=7400,
                 interp_mimalloc=10880, gc_size=176, gc_enabled=0, gc_collecting=112,
                 gens=[8, 32, 56], long_lived=(152, 160), heap_size_off=144,
                 tstate_thread_id=176, tstate_mimalloc=1104, mi=MI25, type_size=440,
                 state_end=168),
}

# PyObject of free-threaded builds, PyTypeObject fields 16 bytes further.
OB_TID, OB_GC_BITS, OB_REF_LOCAL, OB_REF_SHARED, OB_TYPE, OB_SIZE = 0, 11, 12, 16, 24, 32
TP_NAME, TP_BASICSIZE, TP_ITEMSIZE, TP_FLAGS = 40, 48, 56, 184
TRACKED, UNREACHABLE, FROZEN = 1, 4, 8

RUNTIME_BASE = 0x9A0000
RUNTIME_SIZE = 0x1000
INTERP_SIZE = 0x4000
TSTATE_BASE = 0x5A5A00000000
TSTATE_SIZE = 0x8000
SEG_BASE = 0x7E0000000000


class TypeSpec(object):
    def __init__(self, name, basicsize, itemsize=0, flags=0):
        self.name, self.basicsize, self.itemsize = name, basicsize, itemsize
        self.flags = flags | cw.TPFLAGS_HAVE_GC | cw.TPFLAGS_READY
        self.address = None

    @property
    def pre(self):
        return bool(self.flags & cw.PREHEADER_FLAGS)


def ft_types():
    return [
        TypeSpec("dict", 64, 0, cw.TPFLAGS_DICT_SUBCLASS),
        TypeSpec("list", 56, 0, cw.TPFLAGS_LIST_SUBCLASS),
        TypeSpec("tuple", 40, 8, cw.TPFLAGS_TUPLE_SUBCLASS),
        TypeSpec("function", 176),
        TypeSpec("NegVar", 48, 4),
        TypeSpec("pkg.mod.\u00dcn\u00efcode", 72),
        TypeSpec("Widget", 32, 0, cw.TPFLAGS_MANAGED_DICT | cw.TPFLAGS_MANAGED_WEAKREF |
                 cw.TPFLAGS_INLINE_VALUES | cw.TPFLAGS_HEAPTYPE),
        TypeSpec("Slotted", 48, 0, cw.TPFLAGS_HEAPTYPE),
    ]


class Block(object):
    """One block of a page: an object (kind "obj") or free (kind "free", "local",
    "thread", "delayed")."""

    def __init__(self, addr, kind, type_=None, bits=0, ob_size=0, local=1):
        self.addr, self.kind, self.type, self.bits = addr, kind, type_, bits
        self.ob_size, self.local = ob_size, local
        self.op = None


class Page(object):
    def __init__(self, seg, idx, tag, bsize, capacity):
        self.seg, self.idx, self.tag, self.bsize, self.capacity = seg, idx, tag, bsize, capacity
        self.blocks = []
        self.heap = 0


class Segment(object):
    def __init__(self, base, thread_id, abandoned=False):
        self.base, self.thread_id, self.abandoned = base, thread_id, abandoned
        self.pages = []
        self.next_idx = 1


class FakeFreeThreaded(object):
    """
    minor, micro: 13/14/15.  threads: live thread states, each with a plan
    {tag: [page spec]} where a page spec is a list of block specs; abandoned:
    segments of exited threads, each a list of (tag, [block spec]).  A block
    spec: ("obj", type name, bits[, ob_size]) or "free" / "local" / "thread"
    / "delayed".
    """

    def __init__(self, minor, micro, threads=None, abandoned=None, counts=(1234, 3, 0),
                 long_lived=(4321, 0), arena_abandoned=None, seed=5, mimalloc=None):
        # mimalloc: "2.1" or "2.5" for a 3.14 release between 3.14.5 and
        # 3.14.9, where which one CPython vendors is not known here
        if minor == 14 and (mimalloc == "2.1" or (mimalloc is None and micro <= 4)):
            self.key = "3.14old"
        else:
            self.key = "3.%d" % minor
        self.L = LAYOUTS[self.key]
        self.M = self.L["mi"]
        self.minor, self.micro = minor, micro
        self.version_hex = cw.version_hex(3, minor, micro)
        self.version = "3.%d.%d" % (minor, micro)
        self.block = cw.DEBUG_BLOCK[minor]
        self.counts, self.long_lived = counts, long_lived
        self.rng = random.Random(seed)
        self.types = dict((t.name, t) for t in ft_types())
        self.mem = cw.Memory()
        self.threads_plan = threads if threads is not None else default_threads()
        self.abandoned_plan = abandoned if abandoned is not None else default_abandoned()
        # 2.5: how many abandoned segments sit in an arena (found by their
        # header) rather than on the OS list
        self.arena_abandoned = (len(self.abandoned_plan) // 2 if arena_abandoned is None
                                else arena_abandoned)
        self.segments = []
        self.tstates = []      # (address, thread id, {tag: heap address})
        self.build()

    # -- memory ----------------------------------------------------------

    def u(self, addr, value, size):
        self.mem.write(addr, value.to_bytes(size, "little"))

    def build(self):
        L, M, mem = self.L, self.M, self.mem
        self.runtime = RUNTIME_BASE
        self.interp = RUNTIME_BASE + RUNTIME_SIZE
        types_at = self.interp + INTERP_SIZE
        names_at = types_at + L["type_size"] * len(self.types)
        self.subproc = names_at + 0x800 if not M["pool"] else None
        rt_size = names_at + 0x1000 - RUNTIME_BASE
        mem.region(RUNTIME_BASE, rt_size)
        # _Py_DebugOffsets
        B = self.block
        mem.write(self.runtime, b"xdebugpy")
        mem.u64(self.runtime + 8, self.version_hex)
        mem.u64(self.runtime + 16, 1)
        fields = dict(runtime_size=RUNTIME_SIZE, finalizing=L["interp_head"] - 8,
                      interpreters_head=L["interp_head"], interp_size=INTERP_SIZE,
                      interp_id=L["interp_id"], interp_next=L["interp_next"],
                      interp_threads_head=L["interp_threads"], interp_gc=L["interp_gc"],
                      pyobject_size=32, ob_type=OB_TYPE, type_size=L["type_size"],
                      tp_name=TP_NAME, tp_repr=104, tp_flags=TP_FLAGS,
                      gc_size=L["gc_size"], gc_collecting=L["gc_collecting"])
        for k, v in fields.items():
            mem.u64(self.runtime + B[k], v)
        mem.u64(self.runtime + L["interp_head"], self.interp)
        mem.u64(self.runtime + L["interp_main"], self.interp)
        mem.i64(self.interp + L["interp_id"], 0)
        # the GC state: thresholds and counts; the list heads stay zero
        gc = self.gc_state = self.interp + L["interp_gc"]
        mem.i32(gc + L["gc_enabled"], 1)
        mem.i32(gc + L["gc_collecting"], 0)
        for i, off in enumerate(L["gens"]):
            mem.i32(gc + off + 16, (2000, 10, 10)[i])
            mem.i32(gc + off + 20, self.counts[i])
        mem.i64(gc + L["long_lived"][0], self.long_lived[0])
        mem.i64(gc + L["long_lived"][1], self.long_lived[1])
        if L["heap_size_off"] is not None:
            mem.i64(gc + L["heap_size_off"], 777)
        # types, their names in the runtime's data
        at, nat = types_at, names_at
        for t in self.types.values():
            t.address = at
            mem.write(nat, t.name.encode() + b"\0")
            mem.u64(at + OB_TYPE, at)
            mem.u64(at + TP_NAME, nat)
            mem.i64(at + TP_BASICSIZE, t.basicsize)
            mem.i64(at + TP_ITEMSIZE, t.itemsize)
            mem.u64(at + TP_FLAGS, t.flags)
            at += L["type_size"]
            nat += len(t.name.encode()) + 1
        # thread states
        prev = 0
        n = len(self.threads_plan)
        if n:
            mem.region(TSTATE_BASE, TSTATE_SIZE * n)
        for k in range(n):
            ts = TSTATE_BASE + TSTATE_SIZE * k
            tid = 0x7F0000001000 + 0x10000 * k
            heaps = {}
            m = ts + L["tstate_mimalloc"]
            mem.u64(ts + L["tstate_thread_id"], tid)
            self.u(m + M["mts_initialized"], 1, 4)
            for tag in range(4):
                heap = m + M["mts_heaps"] + tag * M["heap_size"]
                heaps[tag] = heap
                mem.u64(heap + M["heap_thread_id"], tid)
            self.tstates.append((ts, tid, heaps))
        # the list, main thread state last pushed: head is the newest
        for k, (ts, tid, heaps) in enumerate(self.tstates):
            mem.u64(ts + 8, self.tstates[k + 1][0] if k + 1 < n else 0)
        mem.u64(self.interp + L["interp_threads"], self.tstates[0][0] if n else 0)
        # segments: live threads', then abandoned ones
        nseg = n + len(self.abandoned_plan)
        for k in range(n):
            ts, tid, heaps = self.tstates[k]
            seg = self._segment(SEG_BASE + SEGMENT * k, tid)
            for tag, pages in sorted(self.threads_plan[k].items()):
                for spec in pages:
                    self._page(seg, tag, spec, heaps[tag], tid)
            self._heap_queues(heaps, seg)
        self.abandoned_segments = []
        for j, pages in enumerate(self.abandoned_plan):
            seg = self._segment(SEG_BASE + SEGMENT * (n + j), 0, abandoned=True)
            for tag, spec in pages:
                self._page(seg, tag, spec, 0, 0)
            self.abandoned_segments.append(seg)
        self._abandoned_lists()
        for seg in self.segments:
            self._write_segment(seg)

    def _segment(self, base, tid, abandoned=False):
        seg = Segment(base, tid, abandoned)
        self.segments.append(seg)
        return seg

    def _page(self, seg, tag, spec, heap, tid):
        """A page of one 64 KiB slice holding the blocks of spec."""
        types = [self.types[b[1]] for b in spec if isinstance(b, tuple)]
        need = max([t.basicsize + (16 if t.pre else 0) + 8 * 4 for t in types] + [64])
        bsize = (need + 15) // 16 * 16
        page = Page(seg, seg.next_idx, tag, bsize, len(spec))
        seg.next_idx += 1
        page.heap = heap
        start = self.page_start(page)
        for i, b in enumerate(spec):
            addr = start + i * bsize
            if isinstance(b, tuple):
                kind, tname, bits = b[0], b[1], b[2]
                t = self.types[tname]
                ob_size = b[3] if len(b) > 3 else (self.rng.randrange(0, 4) if t.itemsize else 0)
                blk = Block(addr, "obj", t, bits, ob_size, local=self.rng.randrange(1, 9))
                blk.op = addr + (16 if tag == 3 else 0)
            else:
                blk = Block(addr, b)
            page.blocks.append(blk)
        seg.pages.append(page)
        return page

    def start_offset(self, bsize):
        if 8 <= bsize <= 64:
            return 3 * bsize
        if bsize <= 512:
            return bsize
        return 0

    def page_start(self, page):
        return page.seg.base + page.idx * SLICE + self.start_offset(page.bsize)

    def page_desc(self, page):
        return page.seg.base + self.M["seg_slices"] + page.idx * self.M["page_size"]

    def _heap_queues(self, heaps, seg):
        """Each heap's pages on one queue (bin 5) through page->next."""
        M, mem = self.M, self.mem
        by_heap = {}
        for p in seg.pages:
            by_heap.setdefault(p.heap, []).append(p)
        self.queues = getattr(self, "queues", {})
        for heap, pages in by_heap.items():
            self.queues[heap] = pages
            q = heap + M["heap_pages"] + 5 * 24
            mem.u64(q, self.page_desc(pages[0]))
            mem.u64(q + 8, self.page_desc(pages[-1]))
            mem.u64(heap + M["heap_page_count"], len(pages))
            delayed = [b for p in pages for b in p.blocks if b.kind == "delayed"]
            mem.u64(heap + M["heap_tdf"], delayed[0].addr if delayed else 0)
            for i, b in enumerate(delayed):
                b.link = delayed[i + 1].addr if i + 1 < len(delayed) else 0
            for i, p in enumerate(pages):
                p.next = self.page_desc(pages[i + 1]) if i + 1 < len(pages) else 0

    def _abandoned_lists(self):
        M, mem, L = self.M, self.mem, self.L
        segs = self.abandoned_segments
        pool = self.interp + L["interp_mimalloc"]
        if M["pool"]:
            # pool->abandoned (tagged with an ABA count in the low bits) holds
            # the first half, pool->abandoned_visited the rest
            half = (len(segs) + 1) // 2
            first, second = segs[:half], segs[half:]
            mem.u64(pool + 64, (first[0].base | 0x3) if first else 0)
            mem.u64(pool + 0, second[0].base if second else 0)
            for chain in (first, second):
                for i, s in enumerate(chain):
                    s.link = chain[i + 1].base if i + 1 < len(chain) else 0
            return
        mem.u64(pool, self.subproc)
        arena = segs[:self.arena_abandoned]
        os_list = segs[self.arena_abandoned:]
        mem.u64(self.subproc + M["subproc_count"], len(segs))
        mem.u64(self.subproc + M["subproc_os_count"], len(os_list))
        mem.u64(self.subproc + M["subproc_os_list"], os_list[0].base if os_list else 0)
        for i, s in enumerate(os_list):
            s.link = os_list[i + 1].base if i + 1 < len(os_list) else 0
        for s in arena:
            s.link = None

    def _write_segment(self, seg):
        M, mem = self.M, self.mem
        mem.region(seg.base, SLICE)                     # the info slice
        mem.u64(seg.base + M["seg_segment_slices"], 512)
        mem.u64(seg.base + M["seg_info_slices"], 1)
        mem.u64(seg.base + M["seg_entries"], 512)
        mem.u64(seg.base + M["seg_thread"], seg.thread_id)
        mem.u64(seg.base + M["seg_used"], len(seg.pages))
        mem.u64(seg.base + M["seg_abandoned"], len(seg.pages) if seg.abandoned else 0)
        if not M["pool"]:
            mem.u64(seg.base + M["seg_subproc"], self.subproc)
            if seg.abandoned and seg.link is not None:
                mem.u64(seg.base + M["seg_os_next"], seg.link)
        elif seg.abandoned:
            mem.u64(seg.base + M["seg_abandoned_next"], seg.link)
        # slice 0: the segment's own header
        d0 = seg.base + M["seg_slices"]
        self.u(d0, 1, 4)
        self.u(d0 + M["p_block"][0], 1, M["p_block"][1])
        for p in seg.pages:
            self._write_page(p)
        # the rest of the segment: one free span (block size 0)
        if seg.next_idx < 512:
            d = seg.base + M["seg_slices"] + seg.next_idx * M["page_size"]
            self.u(d, 512 - seg.next_idx, 4)

    def _write_page(self, p):
        M, mem = self.M, self.mem
        d = self.page_desc(p)
        start = self.page_start(p)
        mem.region(p.seg.base + p.idx * SLICE, SLICE)
        self.u(d, 1, 4)                                   # slice_count
        self.u(d + 4, 0, 4)                               # slice_offset
        tag_byte, shift = M["p_tag"]
        self.u(d + tag_byte, p.tag << shift, 1)
        self.u(d + 10, p.capacity, 2)
        self.u(d + 12, (SLICE - self.start_offset(p.bsize)) // p.bsize, 2)
        self.u(d + M["p_block"][0], p.bsize, M["p_block"][1])
        if M["p_start"] is not None:
            mem.u64(d + M["p_start"], start)
        mem.u64(d + M["p_xheap"], p.heap)
        mem.u64(d + M["p_next"], getattr(p, "next", 0))
        lists = {}
        for b in p.blocks:
            if b.kind in ("free", "local", "thread"):
                lists.setdefault(b.kind, []).append(b)
        nfree = len(lists.get("free", [])) + len(lists.get("local", []))
        self.u(d + M["p_used"][0], p.capacity - nfree, M["p_used"][1])
        for kind, off in (("free", 16), ("local", M["p_local"]), ("thread", M["p_xthread"])):
            chain = lists.get(kind, [])
            head = chain[0].addr if chain else 0
            if kind == "thread":
                head |= 1        # a delayed-free flag in the low bits
            mem.u64(d + off, head)
            for i, b in enumerate(chain):
                b.link = chain[i + 1].addr if i + 1 < len(chain) else 0
        p.lists = lists
        for b in p.blocks:
            if b.kind == "obj":
                self._write_object(b, p)
            else:
                # a freed block keeps a stale header that says "tracked"
                op = b.addr + (16 if p.tag == 3 else 0)
                mem.u64(op + OB_TYPE, self.types["dict"].address)
                mem.write(op + OB_GC_BITS, bytes([TRACKED]))
                mem.u64(b.addr, b.link)

    def _write_object(self, b, p):
        mem, op = self.mem, b.op
        mem.u64(op + OB_TID, p.seg.thread_id)
        mem.write(op + OB_GC_BITS, bytes([b.bits]))
        self.u(op + OB_REF_LOCAL, b.local, 4)
        mem.u64(op + OB_REF_SHARED, 0)
        mem.u64(op + OB_TYPE, b.type.address)
        if b.type.itemsize:
            mem.i64(op + OB_SIZE, b.ob_size)

    # -- output ----------------------------------------------------------

    def core(self, heap_filesz=None, unsaved=(), **kw):
        """unsaved: region bases whose bytes the core does not keep."""
        kw.setdefault("fname", "python3.%dt" % self.minor)
        kw.setdefault("psargs", "/usr/bin/python3.%dt -m app" % self.minor)
        segs = []
        for b, buf in sorted(self.mem.regions.items()):
            if b in unsaved:
                segs.append(cw.Segment(b, b"", memsz=len(buf), filesz=0))
            else:
                segs.append(cw.Segment(b, bytes(buf)))
        return cw.CoreWriter(segs, **kw)

    def obj_bytes(self, b):
        t = b.type
        n = t.basicsize + (abs(b.ob_size) * t.itemsize if t.itemsize else 0)
        return n + (16 if t.pre else 0)

    def all_pages(self):
        return [p for s in self.segments for p in s.pages]

    def truth(self, skip_pages=()):
        """What gcinspect reports; skip_pages: pages it must leave out."""
        lists = {"heap": [], "permanent": []}
        unreachable = 0
        skip_pages = list(skip_pages) + [p for p in self.all_pages() if p.tag not in (2, 3)]
        for p in self.all_pages():
            if p in skip_pages:
                continue
            for b in p.blocks:
                if b.kind != "obj" or not b.bits & TRACKED:
                    continue
                if b.bits & UNREACHABLE:
                    unreachable += 1
                    continue
                lists["permanent" if b.bits & FROZEN else "heap"].append((b, p))
        out = {"unreachable": unreachable,
               # objects --json: (address, type, size, list) of each, sorted
               "rows": sorted(("0x%x" % b.op, b.type.name, self.obj_bytes(b), name)
                              for name, objs in lists.items() for b, _ in objs)}
        for name, objs in lists.items():
            hist = {}
            pages = set()
            for b, p in objs:
                h = hist.setdefault(b.type.name, [0, 0])
                h[0] += 1
                h[1] += self.obj_bytes(b)
                end = 24 if p.seg.abandoned else 12
                pages |= {b.op >> 12, (b.op + end - 1) >> 12}
            out[name] = dict(objects=len(objs), bytes=sum(self.obj_bytes(b) for b, _ in objs),
                             pages=len(pages), page_set=pages,
                             types=dict((k, tuple(v)) for k, v in hist.items()))
        # what a collection writes: heap headers, allocator metadata, GC state
        meta = set()
        for p in self.all_pages():
            if p in skip_pages:
                continue
            d = self.page_desc(p)
            meta.add((d + self.M["p_xthread"]) >> 12)
            lists_ = p.lists
            delayed = [b for b in p.blocks if b.kind == "delayed"]
            if lists_.get("local") or lists_.get("thread") or delayed:
                meta |= {d >> 12, (d + self.M["page_size"] - 1) >> 12}
            for kind in ("local", "thread"):
                if lists_.get(kind):
                    meta.add(lists_[kind][-1].addr >> 12)
            meta |= {b.addr >> 12 for b in delayed}
            if delayed:
                meta.add((p.heap + self.M["heap_tdf"]) >> 12)
        state = set(range(self.gc_state >> 12, ((self.gc_state + self.L["state_end"] - 1) >> 12) + 1))
        all_pages = out["heap"]["page_set"] | meta | state
        out["collection"] = {"generation": "full", "objects": out["heap"]["objects"],
                             "pages": len(all_pages), "bytes": 4096 * len(all_pages)}
        return out


def default_threads():
    """Two live threads: tags 2 and 3, every kind of block."""
    o = lambda t, bits=TRACKED, *rest: ("obj", t, bits) + rest  # noqa: E731
    main = {
        2: [[o("dict"), o("list"), "free", o("tuple", TRACKED, 3), o("dict", 0), "local",
             o("function", TRACKED | FROZEN), o("NegVar", TRACKED, -3), "thread",
             o("pkg.mod.\u00dcn\u00efcode")],
            [o("list")] * 6 + ["delayed", o("dict", TRACKED | FROZEN), "delayed",
                               o("Slotted")]],
        3: [[o("Widget"), "free", o("Widget", TRACKED | FROZEN), o("Widget"), "local",
             "local", o("Widget", 0)]],
    }
    other = {
        2: [[o("dict")] * 3 + ["thread", "thread", o("list", TRACKED | FROZEN)]],
        3: [[o("Widget"), o("Widget")]],
    }
    return [main, other]


def default_abandoned():
    """Two segments of exited threads (3.13: pool lists; 2.5: arena + OS list)."""
    o = lambda t, bits=TRACKED: ("obj", t, bits)  # noqa: E731
    return [
        [(2, [o("dict"), "free", o("tuple"), o("list", TRACKED | FROZEN)]),
         (3, [o("Widget"), o("Widget")]),
         (1, [o("dict"), o("dict")])],          # heap tag 1: not GC objects
        [(2, [o("function"), o("function"), "local", o("dict")])],
    ]
