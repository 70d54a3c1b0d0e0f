#!/bin/bash
# workers.sh: `gcinspect workers` on a master and 8 workers over a heap of
# 1M tracked objects (bench/prefork_heap.py: 500,000 dicts each holding a
# list, in the oldest generation, shared with every worker).
#
#   bench/workers.sh BUILD_DIR [PYTHON]
#
# Reports, over RUNS (default 5) warm runs of `gcinspect workers --json`,
# alternately with and without the prefetch of live.c (GCINSPECT_PREFETCH=0):
# the wall time of the whole command (median), and how long each process
# was stopped for its walk (the median and the largest over every process
# of every run).  DICTS (default 500000) and WORKERS (default 8) change the
# heap and the number of workers.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BUILD_DIR [PYTHON]" >&2; exit 64; }
build=$1
python=${2:-/usr/bin/python3.11}
dicts=${DICTS:-500000}
workers=${WORKERS:-8}
runs=${RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
gcinspect=$build/analyzer/gcinspect
[ -x "$gcinspect" ] || { echo "$0: no $gcinspect" >&2; exit 66; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gcinspect-workers.XXXXXX")
pid=
cleanup() {
	exec 3>&- 2>/dev/null || true
	if [ -n "$pid" ]; then
		for w in $(sed -n 's/^workers //p' "$work/target.out" 2>/dev/null); do
			kill -KILL "$w" 2>/dev/null || true
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkfifo "$work/stdin"
"$python" "$here/prefork_heap.py" --dicts "$dicts" --workers "$workers" \
	<"$work/stdin" >"$work/target.out" &
pid=$!
exec 3>"$work/stdin"
for _ in $(seq 3000); do
	grep -qx ready "$work/target.out" && break
	kill -0 "$pid" 2>/dev/null || { echo "$0: the master exited" >&2; exit 1; }
	sleep 0.1
done
grep -qx ready "$work/target.out" || { echo "$0: the master is not ready" >&2; exit 1; }
tracked=$(sed -n 's/^tracked //p' "$work/target.out")

"$gcinspect" workers --json --pid "$pid" >/dev/null   # warm-up (layout cache)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "gcinspect workers: master + $workers workers, $tracked tracked objects in the master (median of $runs runs; load average $(cut -d' ' -f1 /proc/loadavg) before)"
# Alternating runs with the prefetch (live.c) and without it.
for mode in 1 0; do
	: >"$work/wall.$mode"
	: >"$work/stops.$mode"
done
for _ in $(seq "$runs"); do
	for mode in 1 0; do
		t0=$(date +%s.%N)
		GCINSPECT_PREFETCH=$mode "$gcinspect" workers --json --pid "$pid" >"$work/run.json"
		t1=$(date +%s.%N)
		echo "$t1 - $t0" | bc >>"$work/wall.$mode"
		"$python" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in [d["master"]] + d["workers"]:
    print(p["target"]["stopped_ms"])
' "$work/run.json" >>"$work/stops.$mode"
	done
done
for mode in 1 0; do
	[ "$mode" = 1 ] && what="with prefetch" || what="without prefetch (GCINSPECT_PREFETCH=0)"
	echo "  $what:"
	echo "    whole command                 $(median <"$work/wall.$mode") s"
	echo "    stopped per process, median   $(median <"$work/stops.$mode") ms"
	echo "    stopped per process, largest  $(sort -n "$work/stops.$mode" | tail -1) ms"
done
echo "  load average after: $(cut -d' ' -f1 /proc/loadavg)"
"$python" -c 'import json,sys; print("  " + json.load(open(sys.argv[1]))["server"]["summary"])' "$work/run.json"
