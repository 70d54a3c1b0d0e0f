#!/bin/bash
# prefork_demo.sh: the pre-fork scenario, live.  gcinspect predicts what a
# worker's full collection will copy; then the worker collects and measures it.
#
#   samples/prefork_demo.sh [--freeze] [--workers N] [--scale N] [PYTHON]
#
# Starts samples/prefork_master.py under PYTHON (default /usr/bin/python3.11)
# with N workers (default 2), which fork from a master that built its state
# (and, with --freeze, called gc.freeze()).  Then, on the first worker:
#   1. gcinspect touch -g 2 --pid WORKER   (the prediction)
#   2. kill -USR1 WORKER                   (the worker runs gc.collect() and
#                                           prints its Private_Dirty growth)
# and stops the master and its workers.  gcinspect is $GCINSPECT, else the
# build tree's (build/analyzer/gcinspect), else the one on PATH.
set -euo pipefail

usage() {
	echo "usage: $0 [--freeze] [--workers N] [--scale N] [PYTHON]" >&2
	exit 64
}

here=$(cd "$(dirname "$0")" && pwd)
master_args=()
workers=2
while [ $# -gt 0 ]; do
	case $1 in
	--freeze) master_args+=(--freeze); shift ;;
	--workers) [ $# -ge 2 ] || usage; workers=$2; shift 2 ;;
	--scale) [ $# -ge 2 ] || usage; master_args+=(--scale "$2"); shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $# in
0) python=/usr/bin/python3.11 ;;
1) python=$1 ;;
*) usage ;;
esac
[ "$workers" -ge 1 ] 2>/dev/null || { echo "$0: --workers needs a number >= 1" >&2; exit 64; }
master_args+=(--workers "$workers")

gcinspect=${GCINSPECT:-}
if [ -z "$gcinspect" ]; then
	if [ -x "$here/../build/analyzer/gcinspect" ]; then
		gcinspect=$(cd "$here/../build/analyzer" && pwd)/gcinspect
	else
		gcinspect=$(command -v gcinspect) || {
			echo "$0: no gcinspect: build it (cmake --build build) or set GCINSPECT" >&2
			exit 69
		}
	fi
fi
[ -x "$python" ] || { echo "$0: $python is not executable" >&2; exit 66; }

log=$(mktemp "${TMPDIR:-/tmp}/prefork-demo.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true   # the master stops its workers
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	# Workers whose master was killed leave by themselves within a second;
	# do not wait for that.
	for w in ${worker_pids:-}; do
		kill -KILL "$w" 2>/dev/null || true
	done
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

wait_for() {   # wait_for REGEX SECONDS: until a line of the log matches
	local i
	for i in $(seq $(($2 * 10))); do
		grep -qE "$1" "$log" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$0: the master exited:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "$0: no line matching '$1' after $2 s:" >&2
	cat "$log" >&2
	exit 1
}

echo "\$ $python samples/prefork_master.py ${master_args[*]}"
"$python" "$here/prefork_master.py" "${master_args[@]}" >"$log" </dev/null &
pid=$!
wait_for '^ready$' 120
worker_pids=$(sed -n 's/^workers //p' "$log")
worker=${worker_pids%% *}
echo "master $pid, workers $worker_pids"
echo

echo "\$ gcinspect touch -g 2 --pid $worker"
"$gcinspect" touch -g 2 --pid "$worker"
echo

echo "\$ kill -USR1 $worker    # the worker runs gc.collect()"
kill -USR1 "$worker"
wait_for "^worker $worker: " 60
grep "^worker $worker: " "$log"
