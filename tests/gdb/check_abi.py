#!/usr/bin/env python3
"""check_abi.py ABI_LAYOUT PLUGIN: the ctypes mirror of gcinspect.h in the gdb
plugin must have the compiler's sizes, offsets and enum values."""
import importlib.util
import json
import subprocess
import sys


def main():
    layout = json.loads(subprocess.check_output([sys.argv[1]]))
    spec = importlib.util.spec_from_file_location("gcinspect_gdb", sys.argv[2])
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)  # no gdb module here: ctypes only
    import ctypes
    bad = []
    for name, want in layout.items():
        if name == "enums":
            for enum, value in want.items():
                if getattr(plugin, enum, None) != value:
                    bad.append("%s: plugin %r, C %d" % (enum, getattr(plugin, enum, None),
                                                        value))
            continue
        cls = plugin.ABI_STRUCTS.get(name)
        if cls is None:
            bad.append("struct %s: not mirrored" % name)
            continue
        if ctypes.sizeof(cls) != want["size"]:
            bad.append("struct %s: size %d, C %d" % (name, ctypes.sizeof(cls), want["size"]))
        mirrored = [f[0] for f in cls._fields_]
        if mirrored != list(want["fields"]):
            bad.append("struct %s: fields %s, C %s" % (name, mirrored, list(want["fields"])))
        for field, offset in want["fields"].items():
            got = getattr(cls, field).offset if field in mirrored else None
            if got != offset:
                bad.append("struct %s: %s at %s, C %d" % (name, field, got, offset))
    for line in bad:
        print("check_abi: " + line)
    if bad:
        return 1
    print("check_abi: %d structs match" % (len(layout) - 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
