#!/bin/bash
# workers_demo.sh: `gcinspect workers` on a real uWSGI server.
#
#   samples/workers_demo.sh [--freeze] [--processes N]
#
# Starts Debian's uWSGI (uwsgi-core, uwsgi-plugin-python3) with --master
# --processes N (default 4) on 127.0.0.1, serving samples/wsgi_app.py: the
# master builds samples/prefork_master.py's application state when it loads
# the app (uWSGI loads it in the master unless --lazy-apps), and with
# --freeze calls gc.freeze() before the workers are forked.  Then:
#   1. gcinspect workers --pid MASTER          every process, what each worker
#                                              copied, the summary sentence;
#   2. GET /collect                            one worker runs gc.collect()
#                                              and says what it copied;
#   3. gcinspect workers --pid WORKER          again, from that worker;
#   4. gcinspect workers --prometheus FILE     the feed for node_exporter;
# and stops uWSGI.  gcinspect is $GCINSPECT, else the build tree's
# (build/analyzer/gcinspect), else the one on PATH.
set -euo pipefail

usage() {
	echo "usage: $0 [--freeze] [--processes N]" >&2
	exit 64
}
here=$(cd "$(dirname "$0")" && pwd)
freeze=0
processes=4
while [ $# -gt 0 ]; do
	case $1 in
	--freeze) freeze=1; shift ;;
	--processes) [ $# -ge 2 ] || usage; processes=$2; shift 2 ;;
	*) usage ;;
	esac
done
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
command -v uwsgi >/dev/null && [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || {
	echo "$0: needs Debian's uwsgi-core and uwsgi-plugin-python3 (scripts/install-deps.sh)" >&2
	exit 69
}

work=$(mktemp -d "${TMPDIR:-/tmp}/workers-demo.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null || true   # uWSGI: SIGINT stops it
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
get() { /usr/bin/python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())' "http://127.0.0.1:$port$1"; }

echo "\$ uwsgi --plugin python3 --master --processes $processes --http-socket 127.0.0.1:$port --wsgi-file samples/wsgi_app.py"
GCI_DEMO_FREEZE=$freeze setsid uwsgi --plugin python3 --master --processes "$processes" \
	--http-socket "127.0.0.1:$port" --wsgi-file "$here/wsgi_app.py" --need-app \
	--disable-logging >"$work/uwsgi.log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 300); do
	get / >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/uwsgi.log" >&2; exit 1; }
	sleep 0.1
done
for _ in $(seq 20); do get / >/dev/null; done
echo
echo "\$ gcinspect workers --pid $pid"
"$gcinspect" workers --pid "$pid"
echo
echo "\$ curl http://127.0.0.1:$port/collect    # one worker runs gc.collect()"
collect=$(get /collect)
echo "$collect"
worker=$(echo "$collect" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
echo
echo "\$ gcinspect workers --pid $worker"
"$gcinspect" workers --pid "$worker"
echo
prom=$work/gcinspect.prom
echo "\$ gcinspect workers --pid $pid --prometheus $prom"
echo "\$ grep -E '^gcinspect_copied_(bytes|master_moved_bytes|cause_bytes)\\{' $prom | grep 'pid=\"$worker\"'"
"$gcinspect" workers --pid "$pid" --prometheus "$prom"
grep -E '^gcinspect_copied_(bytes|master_moved_bytes|cause_bytes)\{' "$prom" |
	grep "pid=\"$worker\"" || true
