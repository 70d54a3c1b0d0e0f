#!/bin/bash
# objects.sh: does `gcinspect objects --json` stream in constant memory, and
# what do objects, report and diff cost on a big heap?
#
#   bench/objects.sh BUILD_DIR [PYTHON]
#
# Builds two heaps with bench/make_bench_core.py (SMALL, default 100000,
# and LARGE, default 1000000 dicts each holding a list: 0.2 M and 2.0 M GC
# objects), takes a core of each, and for each core measures, with
# /proc/PID/status sampled every 5 ms, the peak anonymous memory (RssAnon;
# the mmap'd core is RssFile) and the time of:
#   gcinspect summary --json           (the baseline)
#   gcinspect objects --json > FILE    (every object, one line each)
#   gcinspect report -o FILE.html
#   gcinspect diff --json CORE CORE
# KEEP=1 keeps the work directory.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BUILD_DIR [PYTHON]" >&2; exit 64; }
build=$1
python=${2:-/usr/bin/python3.11}
here=$(cd "$(dirname "$0")" && pwd)
gcinspect=
for c in "$build/analyzer/gcinspect" "$build/gcinspect"; do
	if [ -x "$c" ]; then gcinspect=$c; break; fi
done
[ -n "$gcinspect" ] || { echo "$0: no gcinspect binary under $build" >&2; exit 66; }
command -v gcore >/dev/null || { echo "$0: gcore not found (install gdb)" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gcinspect-bench-objects.XXXXXX")
pid=
cleanup() {
	exec 3>&- 2>/dev/null || true
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

make_core() { # make_core DICTS NAME: the core's path on stdout
	mkfifo "$work/stdin.$2"
	"$python" "$here/make_bench_core.py" --dicts "$1" --repeat 1 <"$work/stdin.$2" \
		>"$work/target.$2" &
	pid=$!
	exec 3>"$work/stdin.$2"
	for _ in $(seq 3000); do
		grep -qx ready "$work/target.$2" && break
		kill -0 "$pid" 2>/dev/null || { echo "$0: target died" >&2; exit 1; }
		sleep 0.1
	done
	gcore -o "$work/core.$2" "$pid" >"$work/gcore.$2" 2>&1
	echo x >&3
	exec 3>&-
	wait "$pid" || true
	echo "$work/core.$2.$pid"
	pid=
}

# measure OUT ARGS...: "seconds peak_RssAnon_kB peak_RssFile_kB"
measure() {
	local out=$1
	shift
	"$python" "$here/peakmem.py" --out "$out" -- "$@"
}

echo "gcinspect objects/report/diff benchmark ($gcinspect, $python)"
for spec in "${SMALL:-100000}:small" "${LARGE:-1000000}:large"; do
	dicts=${spec%%:*}
	name=${spec##*:}
	core=$(make_core "$dicts" "$name")
	"$gcinspect" summary --json "$core" >/dev/null  # warm the page and layout caches
	objects=$(grep '^inproc_objects' "$work/target.$name" | awk '{print $2}')
	printf '\n%s: %s dicts, %s GC objects in process, core %.0f MB\n' "$name" "$dicts" \
		"$objects" "$(echo "$(stat -c %s "$core") / 1000000" | bc -l)"
	printf '  %-34s %8s %14s %14s %s\n' command seconds "RssAnon kB" "RssFile kB" output
	for cmd in "summary --json" "objects --json" "report -o $work/$name.html" "diff --json $core"; do
		# shellcheck disable=SC2086
		read -r secs anon file < <(measure "$work/out" "$gcinspect" $cmd "$core")
		case $cmd in
		objects*) what="$(wc -l <"$work/out") lines, $(stat -c %s "$work/out") bytes" ;;
		report*) what="$(stat -c %s "$work/$name.html") bytes of HTML" ;;
		*) what="$(stat -c %s "$work/out") bytes" ;;
		esac
		printf '  %-34s %8s %14s %14s %s\n' "${cmd%% /*}" "$secs" "$anon" "$file" "$what"
	done
	rm -f "$core"
done
