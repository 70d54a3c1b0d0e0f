#!/bin/bash
# live.sh: gcinspect on a live process, next to the same report from a core
# of it and next to gc-gens inside gdb.
#
#   bench/live.sh BUILD_DIR [PYTHON]
#
# The target is bench/make_bench_core.py (DICTS dicts each holding a list,
# default 1,000,000: about 2M GC objects).  Reports, as medians of RUNS
# (default 5) warm runs:
#   - `gcinspect types --json --pid PID`: wall time, and how long the target
#     was stopped (target.stopped_ms in the report);
#   - the same report from a core of the same process;
#   - `gc-gens --json` inside gdb attached to the process, timed around the
#     command (gdb's own start-up aside), against `gcinspect summary --json`
#     from the core.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BUILD_DIR [PYTHON]" >&2; exit 64; }
build=$1
python=${2:-/usr/bin/python3.11}
dicts=${DICTS:-1000000}
runs=${RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
gcinspect=$build/analyzer/gcinspect
plugin=$build/gdbplugin/gcinspect_gdb.py
[ -x "$gcinspect" ] || { echo "$0: no $gcinspect" >&2; exit 66; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gcinspect-live.XXXXXX")
pid=
cleanup() {
	exec 3>&- 2>/dev/null || true
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkfifo "$work/stdin"
"$python" "$here/make_bench_core.py" --dicts "$dicts" --repeat 1 <"$work/stdin" >"$work/target.out" &
pid=$!
exec 3>"$work/stdin"
for _ in $(seq 3000); do
	grep -qx ready "$work/target.out" && break
	sleep 0.1
done
grep -qx ready "$work/target.out" || { echo "$0: target not ready" >&2; exit 1; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

# Live: one warm-up, then RUNS timed runs.
"$gcinspect" types --json --pid "$pid" >/dev/null
: >"$work/live.txt"
for _ in $(seq "$runs"); do
	t0=$(now)
	"$gcinspect" types --json --pid "$pid" >"$work/live.json"
	t1=$(now)
	stopped=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["stopped_ms"])' "$work/live.json")
	echo "$(echo "$t1 - $t0" | bc) $stopped" >>"$work/live.txt"
done
objects=$("$python" -c 'import json,sys; print(sum(t["objects"] for t in json.load(open(sys.argv[1]))["types"]))' "$work/live.json")

# The same process as a core.
gcore -o "$work/core" "$pid" >/dev/null 2>&1
core=$work/core.$pid
"$gcinspect" types --json "$core" >/dev/null
: >"$work/core.txt"
for _ in $(seq "$runs"); do
	t0=$(now); "$gcinspect" types --json "$core" >/dev/null; t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/core.txt"
	t0=$(now); "$gcinspect" summary --json "$core" >/dev/null; t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/core-summary.txt"
done

# gc-gens inside gdb, timed around the command: on the core, and attached
# to the live process.
gdb_time() { # gdb_time GDB-TARGET-ARGS...: prints seconds per gc-gens, or -
	gdb -batch -nx "$@" -ex "source $plugin" -ex "python import time" \
		-ex "python gdb.execute('gc-gens --json', to_string=True)" \
		-ex "python t=time.time(); [gdb.execute('gc-gens --json', to_string=True) for i in range($runs)]; print('gc-gens-seconds', (time.time()-t)/$runs)" \
		>"$work/gdb.out" 2>&1 || true
	local s
	s=$(awk '$1 == "gc-gens-seconds" { print $2 }' "$work/gdb.out")
	[ -n "$s" ] || { echo "$0: gdb run failed:" >&2; tail -5 "$work/gdb.out" >&2; s=-; }
	echo "$s"
}
gdb_core=- gdb_live=-
if [ -f "$plugin" ] && command -v gdb >/dev/null; then
	gdb_core=$(gdb_time "$python" "$core")
	gdb_live=$(gdb_time -p "$pid")
fi

live_s=$(cut -d' ' -f1 "$work/live.txt" | median)
stop_ms=$(cut -d' ' -f2 "$work/live.txt" | median)
core_s=$(median <"$work/core.txt")
sum_s=$(median <"$work/core-summary.txt")
echo "gcinspect live benchmark ($objects GC objects, $(du -m "$core" | cut -f1) MB core, median of $runs)"
echo "  live  types --json --pid     ${live_s} s, target stopped ${stop_ms} ms"
echo "  core  types --json           ${core_s} s"
echo "  live / core                  $(echo "scale=2; $live_s / $core_s" | bc)x"
echo "  core  summary --json         ${sum_s} s"
echo "  gdb   gc-gens --json, core   ${gdb_core} s"
echo "  gdb   gc-gens --json, live   ${gdb_live} s"
