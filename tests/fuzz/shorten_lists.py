#!/usr/bin/python3
"""shorten_lists.py CORE REPORT.json N OUT: a copy of a core in which every GC
list holds at most its first N objects.

REPORT.json is gcinspect's `summary --json` of CORE (it names each list's
head).  Each longer list is closed after its Nth object: that object's
_gc_next points back at the head (its flag bits kept) and the head's
_gc_prev at it.  The objects cut off are no longer on any list, so a trimmed
copy (trim_core.py) need not hold their pages: a real heap, real types, and
a seed small enough to fuzz fast.  The GC state's counts are left alone
(gcinspect reports them as read).  Standard library only.
"""

import json
import struct
import sys

PT_LOAD = 1


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 64
    src, report, n, out = argv
    n = int(n)
    data = bytearray(open(src, "rb").read())
    doc = json.load(open(report))
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    loads = []
    for i in range(phnum):
        t, _, off, vaddr, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * 56)
        if t == PT_LOAD and filesz:
            loads.append((vaddr, filesz, off))

    def at(addr):
        for vaddr, filesz, off in loads:
            if vaddr <= addr and addr + 8 <= vaddr + filesz:
                return off + addr - vaddr
        raise ValueError("0x%x is not in the core" % addr)

    def u64(addr):
        return struct.unpack_from("<Q", data, at(addr))[0]

    def set_u64(addr, v):
        struct.pack_into("<Q", data, at(addr), v)

    mask = ~3 & 0xFFFFFFFFFFFFFFFF
    for interp in doc["interpreters"]:
        for gen in interp["generations"] + [interp["permanent"]]:
            head = int(gen["head"], 16)
            p, k = u64(head) & mask, 0
            while p != head and k < n - 1:
                p, k = u64(p) & mask, k + 1
            if p == head or u64(p) & mask == head:
                continue  # n objects or fewer
            set_u64(p, head | (u64(p) & 3))
            set_u64(head + 8, p | (u64(head + 8) & 3))
            sys.stderr.write("shorten_lists: list %s closed after %d objects (of %d)\n"
                             % (gen["name"], n, gen["objects"]))
    with open(out, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
