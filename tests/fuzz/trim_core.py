#!/usr/bin/python3
"""trim_core.py CORE PAGES OUT: a copy of an x86-64 ELF core that keeps only
some pages of its memory.

PAGES lists file offsets (hex, one per line) of the pages of the file that
were read, as record_pages prints them; a page of memory is kept when a page
of the file it spans was read.  The headers and notes are kept as they are.  Each
PT_LOAD is split: runs of kept pages stay saved, the pages between them
become segments with p_filesz 0 (mapped, "not saved in the core"), so the
address space keeps its shape.  Standard library only.
"""

import struct
import sys

PAGE = 4096
PT_LOAD, PT_NOTE = 1, 4


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 64
    src, pages_path, out = argv
    data = open(src, "rb").read()
    keep = {int(line, 16) for line in open(pages_path) if line.strip()}
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    phdrs = [struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize) for i in range(phnum)]
    notes = [p for p in phdrs if p[0] == PT_NOTE]
    loads = [p for p in phdrs if p[0] == PT_LOAD]

    # New segments: [vaddr, kept, memsz, saved bytes, flags].
    segs = []
    for (_, flags, off, vaddr, _, filesz, memsz, _) in loads:
        run = None  # [start_vaddr, kept?, bytes]
        npages = (memsz + PAGE - 1) // PAGE
        for i in range(npages):
            # The file pages this memory page spans (gcore's segments
            # need not start on a page of the file): kept if either was read.
            first = (off + i * PAGE) // PAGE * PAGE
            kept = i * PAGE < filesz and (first in keep or first + PAGE in keep)
            n = min(PAGE, memsz - i * PAGE)
            chunk = data[off + i * PAGE:off + i * PAGE + min(n, max(filesz - i * PAGE, 0))] if kept else b""
            if run is not None and run[1] == kept:
                run[2] += n
                run[3] += chunk
            else:
                if run is not None:
                    segs.append(run)
                run = [vaddr + i * PAGE, kept, n, bytearray(chunk), flags]
        if run is not None:
            segs.append(run)

    nph = len(notes) + len(segs)
    head_end = 64 + nph * 56
    note_blobs = [data[p[2]:p[2] + p[5]] for p in notes]
    note_offs = []
    at = head_end
    for b in note_blobs:
        note_offs.append(at)
        at += len(b) + (-len(b) % 8)
    at += -at % PAGE
    body = bytearray()
    ph = b""
    for p, o in zip(notes, note_offs):
        ph += struct.pack("<IIQQQQQQ", PT_NOTE, p[1], o, 0, 0, p[5], 0, p[7])
    for start, kept, memsz, chunk, flags in segs:
        o = at + len(body)
        if kept:
            body += chunk
            body += b"\0" * (-len(body) % PAGE)
        ph += struct.pack("<IIQQQQQQ", PT_LOAD, flags, o, start, 0, len(chunk) if kept else 0,
                          memsz, PAGE)
    ehdr = bytearray(data[:64])
    struct.pack_into("<Q", ehdr, 0x20, 64)
    struct.pack_into("<HH", ehdr, 0x36, 56, nph)
    struct.pack_into("<Q", ehdr, 0x28, 0)  # no sections
    struct.pack_into("<HHH", ehdr, 0x3a, 0, 0, 0)
    head = bytes(ehdr) + ph
    for b, o in zip(note_blobs, note_offs):
        head += b"\0" * (o - len(head)) + b
    head += b"\0" * (at - len(head))
    with open(out, "wb") as f:
        f.write(head + body)
    sys.stderr.write("trim_core: %d of %d bytes, %d segments\n"
                     % (len(head) + len(body), len(data), len(segs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
