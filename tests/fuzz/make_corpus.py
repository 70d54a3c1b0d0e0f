#!/usr/bin/python3
"""make_corpus.py --gcinspect BIN --seed-core CORE [--cache-from CORE...] OUTDIR

Writes the seed corpora of the fuzz targets under OUTDIR (tests/fuzz/corpus
in the repository; they are checked in, this script says how they were
made):

  core/          small synthetic cores (corewriter.py, segments packed): 3.13
                 with a subinterpreter, 3.14.2 (incremental), 3.15,
                 free-threaded 3.13t (its _Py_DebugOffsets page only), a heap
                 cut short (p_filesz < p_memsz), 3.15 with an executable named
                 by NT_FILE; four of them compressed (zstd, xz, lz4, gzip)
  callback/      some of the same address spaces as fuzz_callback inputs,
                 3.15 with a mapped ELF file (headers, PT_INTERP, a build-id
                 note), and free-threaded 3.13t and 3.14t heaps (fakeft.py:
                 mimalloc segments; the 3.13t core also zstd-compressed in
                 core/)
  core_patch/    patches of the seed core (seeds/python3.11-tiny.core.xz,
                 decompressed: CORE) that each break one thing gcinspect reads
                 (a list head, a back-link, a type pointer, the GC state...),
                 and one input per report selector
  layout_cache/  cache files gcinspect wrote for real builds (--cache-from:
                 cores whose interpreter has DWARF here), renamed to the
                 build-id the target expects

Standard library only.  Run by hand (see tests/fuzz/README.md).
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "synthetic"))
import corewriter as cw  # noqa: E402

CACHE_BUILD_ID = "c561f3aa7232f2bd6ac6d56bd475f1c154a00486"  # as in fuzz_layout_cache.c


class SmallFake(cw.FakeCPython):
    """A fake heap with little room after its last object: small seeds."""

    def build(self):
        self.heap_extra = 0x100
        super().build()


def small_heap(names=("0", "1", "2")):
    return {
        names[0]: ["dict", ("tuple", 3), "Widget"],
        names[1]: ["list", ("NegVar", -5)],
        names[2]: ["function", "pkg.mod.\u00dcn\u00efcode", ("tuple", 1 << 40), "dict"],
        "permanent": ["tuple", "function"],
    }


def compact(data):
    """A core's bytes with segments packed 8-byte aligned instead of by page
    (gcore writes them so too): smaller seeds, the same memory."""
    phnum, = struct.unpack_from("<H", data, 0x38)
    phdrs = [list(struct.unpack_from("<IIQQQQQQ", data, 64 + i * 56)) for i in range(phnum)]
    out = bytearray(data[:64 + phnum * 56])
    for ph in phdrs:
        out += b"\0" * (-len(out) % 8)
        at = len(out)
        out += data[ph[2]:ph[2] + ph[5]]
        ph[2] = at
    for i, ph in enumerate(phdrs):
        struct.pack_into("<IIQQQQQQ", out, 64 + i * 56, *ph)
    return bytes(out)


def callback_input(regions, maps=()):
    """fuzz_callback's format; runs of 64 or more zero bytes are zero-fill
    regions (length with bit 15 set), which keeps the seeds small."""
    out = bytearray([len(maps)])
    for start, end, off, path in maps:
        p = path.encode()
        out += struct.pack("<QQQB", start, end, off, len(p)) + p
    for base, buf in sorted(regions):
        buf = bytes(buf)
        at = 0
        while at < len(buf):
            zeros = len(buf[at:at + 0x7FFF]) - len(buf[at:at + 0x7FFF].lstrip(b"\0"))
            if zeros >= 64:
                out += struct.pack("<QH", base + at, 0x8000 | zeros)
                at += zeros
                continue
            end = at
            while end < len(buf) and end - at < 0x7FFF:
                if buf[end:end + 64] == bytes(64):
                    break
                end += 1
            end = max(end, at + 1)
            out += struct.pack("<QH", base + at, end - at) + buf[at:end]
            at = end
    return bytes(out)


def elf_header_page(build_id):
    """The first page of an ELF executable as mapped: headers, PT_INTERP,
    PT_NOTE with a GNU build-id."""
    page = bytearray(4096)
    phnum = 3
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    page[0:64] = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64, 0, 0, 64,
                                     56, phnum, 64, 0, 0)
    interp = b"/lib64/ld-linux-x86-64.so.2\0"
    note = struct.pack("<III", 4, len(build_id), 3) + b"GNU\0" + build_id
    interp_at, note_at = 0x200, 0x240
    page[interp_at:interp_at + len(interp)] = interp
    page[note_at:note_at + len(note)] = note
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x1000, 0x1000, 0x1000)
    ph += struct.pack("<IIQQQQQQ", 3, 4, interp_at, 0x400000 + interp_at, 0, len(interp),
                      len(interp), 1)
    ph += struct.pack("<IIQQQQQQ", 4, 4, note_at, 0x400000 + note_at, 0, len(note),
                      len(note), 4)
    page[64:64 + len(ph)] = ph
    return bytes(page)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def saved_regions(data):
    """The saved bytes of a core's PT_LOADs: (vaddr, bytes)."""
    phnum, = struct.unpack_from("<H", data, 0x38)
    out = []
    for i in range(phnum):
        t, _, off, vaddr, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, 64 + i * 56)
        if t == 1 and filesz:
            out.append((vaddr, data[off:off + filesz]))
    return out


def synthetic(outdir):
    fakes = {
        "3.13-sub": SmallFake(13, 2, small_heap(), subinterpreter=True),
        "3.14.2-incremental": SmallFake(14, 2, small_heap(("young", "old[0]", "old[1]")),
                                        visited_space=1, phase=1),
        "3.15": SmallFake(15, 2, small_heap(), counts=(1999, 9, 0)),
    }
    os.makedirs(os.path.join(outdir, "core"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "callback"), exist_ok=True)
    for name, fake in fakes.items():
        data = compact(fake.core().build())
        write(os.path.join(outdir, "core", name), data)
        if name != "3.15":
            write(os.path.join(outdir, "callback", name), callback_input(saved_regions(data)))
    # Free-threaded: refused from its _Py_DebugOffsets, all that is kept.
    ft = SmallFake(13, 1, small_heap(), free_threaded=True)
    page = bytes(ft.mem.regions[cw.RUNTIME_BASE][:cw.PAGE])
    data = compact(cw.CoreWriter([cw.Segment(cw.RUNTIME_BASE, page)]).build())
    write(os.path.join(outdir, "core", "3.13t"), data)
    write(os.path.join(outdir, "callback", "3.13t"), callback_input(saved_regions(data)))
    # Compressed by the tools a core is met compressed with (systemd-coredump's
    # zstd and lz4, xz, gzip): the decompressors' path.
    for name, tool in (("3.13t", ["zstd", "-19", "-q", "-c"]),
                       ("3.14.2-incremental", ["xz", "-9", "-c"]),
                       ("3.15", ["lz4", "-9", "-q", "-c"])):
        plain = open(os.path.join(outdir, "core", name), "rb").read()
        packed = subprocess.run(tool, input=plain, stdout=subprocess.PIPE, check=True).stdout
        write(os.path.join(outdir, "core", "%s-%s" % (name, tool[0])), packed)
    # A heap that runs into memory the core did not save.
    base = fakes["3.13-sub"]
    cut = base.objects[("main", "2")][2].head - cw.HEAP_BASE
    data = compact(base.core(heap_filesz=cut).build())
    write(os.path.join(outdir, "core", "3.13-not-saved"), data)
    write(os.path.join(outdir, "core", "3.13-not-saved-gzip"),
          subprocess.run(["gzip", "-9", "-n", "-c"], input=data, stdout=subprocess.PIPE,
                         check=True).stdout)
    # An executable mapped at 0x400000, named by NT_FILE: the files of a core,
    # find_exe_path and the build-id check of a callback program.
    elf = elf_header_page(bytes(range(20)))
    files = [(0x400000, 0x401000, 0, "/usr/bin/python3.15"),
             (0x401000, 0x402000, 0x1000, "/usr/bin/python3.15")]
    segs = fakes["3.15"].segments() + [cw.Segment(0x400000, elf, flags=cw.PF_R)]
    write(os.path.join(outdir, "core", "3.15-with-exe"),
          compact(cw.CoreWriter(segs, files=files, fname="python3.15").build()))
    regions = saved_regions(compact(fakes["3.15"].core().build())) + [(0x400000, elf)]
    write(os.path.join(outdir, "callback", "3.15-with-exe"),
          callback_input(regions, maps=[(0x400000, 0x401000, 0, "/usr/bin/python3.15"),
                                        (0x401000, 0x402000, 0x1000, "/usr/bin/python3.15")]))


def freethreaded(outdir):
    """Free-threaded heaps (fakeft.py) with one thread and one exited one:
    mimalloc segments, pages of tags 2 and 3, free blocks of each kind.  A
    segment's metadata makes such a core about 390 KB of mostly zeros: as a
    callback address space (zero runs encoded) it is 2.5 KB, and the core
    itself goes in compressed."""
    import fakeft
    o = lambda t, bits=fakeft.TRACKED, *rest: ("obj", t, bits) + rest  # noqa: E731
    threads = [{2: [[o("dict"), "free", o("list"), o("tuple", fakeft.TRACKED, 3), "local",
                     o("dict", 0)]],
                3: [[o("Widget"), "thread"]]}]
    abandoned = [[(2, [o("function"), "free", o("dict")])]]
    for minor, micro in ((13, 15), (14, 10)):
        fake = fakeft.FakeFreeThreaded(minor, micro, threads=threads, abandoned=abandoned)
        data = compact(fake.core().build())
        name = "3.%dt-mimalloc" % minor
        write(os.path.join(outdir, "callback", name), callback_input(saved_regions(data)))
        if minor == 13:
            write(os.path.join(outdir, "core", name + "-zstd"),
                  subprocess.run(["zstd", "-19", "-q", "-c"], input=data,
                                 stdout=subprocess.PIPE, check=True).stdout)


def patches(outdir, gcinspect, seed):
    """Patches of the seed core, at the file offsets of what gcinspect reads."""
    doc = json.loads(subprocess.run([gcinspect, "summary", "--json", "--no-cache", seed],
                                    check=True, capture_output=True).stdout)
    data = open(seed, "rb").read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    loads = []
    for i in range(phnum):
        t, _, off, vaddr, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * 56)
        if t == 1 and filesz:
            loads.append((vaddr, filesz, off))

    def file_off(addr):
        for vaddr, filesz, off in loads:
            if vaddr <= addr < vaddr + filesz:
                return off + addr - vaddr
        return None

    def patch(sel, *edits):
        out = bytearray([sel])
        for addr, value in edits:
            off = file_off(addr)
            if off is None:
                continue
            out += struct.pack("<IB", off, len(value)) + value
        return bytes(out)

    gc = doc["gc"]
    gens = gc["generations"] + [gc["permanent"]]
    heads = [int(g["head"], 16) for g in gens]
    state = int(gc["gc_state"], 16)
    d = os.path.join(outdir, "core_patch")
    os.makedirs(d, exist_ok=True)
    for sel in list(range(12)) + [15]:
        write(os.path.join(d, "report-%d" % sel), bytes([sel]))
    write(os.path.join(d, "lean-snapshot"), bytes([0x8f]))
    write(os.path.join(d, "with-files"), bytes([0x4f]))

    def u64(v):
        return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

    # The first object of generation 1: its head, back-link and type.
    first = struct.unpack_from("<Q", data, file_off(heads[1]))[0]
    items = {
        "gen1-head-next-null": patch(15, (heads[1], u64(0))),
        "gen1-head-next-self": patch(15, (heads[1], u64(heads[1]))),
        "gen1-head-prev-unmapped": patch(15, (heads[1] + 8, u64(0x10000))),
        "gen0-head-next-misaligned": patch(15, (heads[0], u64(heads[0] + 3))),
        "first-object-backlink": patch(15, (first + 8, u64(first))),
        "first-object-loop": patch(15, (first, u64(first))),
        "first-object-type-null": patch(15, (first + 16 + 8, u64(0))),
        "first-object-type-self": patch(15, (first + 16 + 8, u64(first + 16))),
        "state-generation0": patch(15, (state + 0x18 + 0, u64(0))),
        "state-counts": patch(15, (heads[0] + 16, struct.pack("<ii", -1, 0x7fffffff))),
    }
    for name, blob in items.items():
        write(os.path.join(d, name), blob)


def caches(outdir, gcinspect, cores):
    d = os.path.join(outdir, "layout_cache")
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GCINSPECT_CACHE_DIR=tmp)
        for core in cores:
            subprocess.run([gcinspect, "summary", core], env=env, capture_output=True)
        for name in sorted(os.listdir(tmp)):
            text = open(os.path.join(tmp, name)).read()
            lines = text.splitlines(True)
            lines = [("build-id %s\n" % CACHE_BUILD_ID) if l.startswith("build-id ") else l
                     for l in lines]
            write(os.path.join(d, name), "".join(lines).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcinspect", required=True)
    ap.add_argument("--seed-core", required=True)
    ap.add_argument("--cache-from", action="append", default=[])
    ap.add_argument("outdir")
    a = ap.parse_args()
    synthetic(a.outdir)
    freethreaded(a.outdir)
    patches(a.outdir, a.gcinspect, a.seed_core)
    caches(a.outdir, a.gcinspect, a.cache_from)
    return 0


if __name__ == "__main__":
    sys.exit(main())
