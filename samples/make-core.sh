#!/bin/bash
# make-core.sh: take a core of samples/prefork_master.py for gcinspect to read.
#
#   samples/make-core.sh [--freeze] [--workers N] [PYTHON] OUTDIR
#
# Starts the sample master under PYTHON (default /usr/bin/python3.11), waits
# until it says "ready", takes a core with gcore into OUTDIR, stops the
# master (and its workers) and prints the path of the core.
set -euo pipefail

usage() {
	echo "usage: $0 [--freeze] [--workers N] [PYTHON] OUTDIR" >&2
	exit 64
}

here=$(cd "$(dirname "$0")" && pwd)
master_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--freeze) master_args+=(--freeze); shift ;;
	--workers) [ $# -ge 2 ] || usage; master_args+=(--workers "$2"); shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $# in
1) python=/usr/bin/python3.11; outdir=$1 ;;
2) python=$1; outdir=$2 ;;
*) usage ;;
esac

command -v gcore >/dev/null || { echo "$0: gcore not found (install gdb)" >&2; exit 69; }
[ -x "$python" ] || { echo "$0: $python is not executable" >&2; exit 66; }
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

log=$(mktemp "${TMPDIR:-/tmp}/make-core.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$python" "$here/prefork_master.py" "${master_args[@]}" >"$log" </dev/null &
pid=$!

for _ in $(seq 1200); do
	grep -qx ready "$log" && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "$0: the master exited before it was ready:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.1
done
grep -qx ready "$log" || { echo "$0: the master was not ready after 120 s" >&2; exit 1; }

if ! gcore -o "$outdir/core" "$pid" >"$log.gcore" 2>&1; then
	echo "$0: gcore failed:" >&2
	cat "$log.gcore" >&2
	rm -f "$log.gcore"
	exit 1
fi
rm -f "$log.gcore"
core=$outdir/core.$pid
[ -f "$core" ] || { echo "$0: gcore wrote no $core" >&2; exit 1; }
echo "$core"
