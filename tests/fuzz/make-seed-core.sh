#!/bin/sh
# Make the seed of fuzz_core_patch: a core of a small python3.11 process
# whose GC lists are cut short after 150 objects each (shorten_lists.py),
# trimmed to the pages gcinspect reads (record_pages, trim_core.py),
# xz-compressed:
#
#   tests/fuzz/make-seed-core.sh BUILD_DIR [PYTHON]   (default /usr/bin/python3.11)
#
# writes tests/fuzz/seeds/python3.11-tiny.core.xz.  Needs gdb (gcore) and a
# build (BUILD_DIR/tests/fuzz/record_pages, BUILD_DIR/analyzer/gcinspect).
# The trimmed core must give gcinspect the same report as the untrimmed one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
python=${2:-/usr/bin/python3.11}
keep=${GCI_SEED_LIST_OBJECTS:-150}   # objects kept on each GC list
record=$build/tests/fuzz/record_pages
gcinspect=$build/analyzer/gcinspect
tmp=$(mktemp -d /tmp/gcinspect-seed.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkfifo "$tmp/ready" "$tmp/go"
# No site, no environment: the smallest heap the interpreter starts with,
# frozen (the permanent generation), and objects on each generation.
"$python" -I -S -c 'import gc, os, sys
gc.disable(); gc.collect(); gc.freeze()
old = [[] for _ in range(300)]; gc.collect(1)
middle = [{"k": []} for _ in range(100)]; gc.collect(0)
young = [[i] for i in range(100)]
os.write(int(sys.argv[1]), b"ready\n")
os.read(int(sys.argv[2]), 1)' 3 4 4<"$tmp/go" 3>"$tmp/ready" &
pid=$!
exec 5>"$tmp/go"
read -r _ <"$tmp/ready"
gcore -o "$tmp/core" "$pid" >/dev/null 2>&1
exec 5>&-
wait "$pid" || true
pid=
core=$tmp/core.$(ls "$tmp" | sed -n 's/^core\.//p')
# gcore does not put segments on page boundaries of the file: a first pass
# realigns them (keeping a little more).  Then every list is closed after
# its first $keep objects, and the second pass keeps exactly the pages read.
"$record" "$core" >"$tmp/pages1"
python3 "$here/trim_core.py" "$core" "$tmp/pages1" "$tmp/aligned.core"
"$gcinspect" summary --json --no-cache "$tmp/aligned.core" >"$tmp/aligned.json"
python3 "$here/shorten_lists.py" "$tmp/aligned.core" "$tmp/aligned.json" "$keep" "$tmp/short.core"
"$record" "$tmp/short.core" >"$tmp/pages2"
python3 "$here/trim_core.py" "$tmp/short.core" "$tmp/pages2" "$tmp/tiny.core"
for c in "$tmp/short.core" "$tmp/tiny.core"; do
	"$gcinspect" summary --json --no-cache "$c" | sed '/"path":/d' >"$c.json"
done
if ! cmp -s "$tmp/short.core.json" "$tmp/tiny.core.json"; then
	echo "make-seed-core: the trimmed core reads differently:" >&2
	diff "$tmp/short.core.json" "$tmp/tiny.core.json" >&2
	exit 1
fi
mkdir -p "$here/seeds"
python3 -c 'import lzma, sys
open(sys.argv[2], "wb").write(lzma.compress(open(sys.argv[1], "rb").read(), preset=9 | lzma.PRESET_EXTREME))' \
	"$tmp/tiny.core" "$here/seeds/python3.11-tiny.core.xz"
ls -l "$here/seeds/python3.11-tiny.core.xz"
