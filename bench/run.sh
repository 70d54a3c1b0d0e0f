#!/bin/bash
# run.sh: how fast is gcinspect on a core with two million GC objects, and
# how does that compare with the interpreter's own type histogram?
#
#   bench/run.sh BUILD_DIR [PYTHON]
#
# BUILD_DIR holds the built gcinspect (BUILD_DIR/analyzer/gcinspect, or
# BUILD_DIR/gcinspect); PYTHON defaults to /usr/bin/python3.11.
# Environment: DICTS (default 1000000) dicts, each holding a list;
# RUNS (default 3) timed runs of gcinspect after one warm-up run;
# KEEP=1 keeps the work directory (core and outputs).
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR [PYTHON]" >&2
	exit 64
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
build=$1
python=${2:-/usr/bin/python3.11}
dicts=${DICTS:-1000000}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)

gcinspect=
for c in "$build/analyzer/gcinspect" "$build/gcinspect" "$build/analyzer/cli/gcinspect"; do
	if [ -x "$c" ]; then gcinspect=$c; break; fi
done
[ -n "$gcinspect" ] || { echo "$0: no gcinspect binary under $build" >&2; exit 66; }
[ -x "$python" ] || { echo "$0: $python is not executable" >&2; exit 66; }
command -v gcore >/dev/null || { echo "$0: gcore not found (install gdb)" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gcinspect-bench.XXXXXX")
pid=
cleanup() {
	{ exec 3>&-; } 2>/dev/null || true
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -CONT "$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# 1. The target: builds the heap, times its own histogram, waits on a FIFO.
mkfifo "$work/stdin"
"$python" "$here/make_bench_core.py" --dicts "$dicts" <"$work/stdin" >"$work/target.out" &
pid=$!
exec 3>"$work/stdin"
for _ in $(seq 3000); do
	grep -qx ready "$work/target.out" && break
	kill -0 "$pid" 2>/dev/null || { echo "$0: target died:" >&2; cat "$work/target.out" >&2; exit 1; }
	sleep 0.1
done
grep -qx ready "$work/target.out" || { echo "$0: target not ready after 300 s" >&2; exit 1; }
val() { awk -v k="$1" '$1 == k { print $2; exit }' "$work/target.out"; }

# 2. The core.
t0=$(date +%s.%N)
gcore -o "$work/core" "$pid" >"$work/gcore.out" 2>&1 || { cat "$work/gcore.out" >&2; exit 1; }
t1=$(date +%s.%N)
core=$work/core.$pid
echo x >&3
exec 3>&-
wait "$pid" || true
pid=

# 3. gcinspect, warm: the first run is discarded.
have_time=0
[ -x /usr/bin/time ] && have_time=1
measure() { # measure OUTFILE: prints "seconds peak_kb"
	if [ $have_time = 1 ]; then
		/usr/bin/time -f "%e %M" -o "$work/time.out" "$gcinspect" types --json "$core" >"$1"
		cat "$work/time.out"
	else
		"$python" - "$gcinspect" "$core" "$1" <<-'EOF'
			import resource, subprocess, sys, time
			t0 = time.perf_counter()
			with open(sys.argv[3], "wb") as out:
			    rc = subprocess.call([sys.argv[1], "types", "--json", sys.argv[2]], stdout=out)
			dt = time.perf_counter() - t0
			if rc != 0:
			    sys.exit(rc)
			print("%.2f %d" % (dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
		EOF
	fi
}
measure "$work/types.json" >/dev/null
: >"$work/runs"
for _ in $(seq "$runs"); do
	measure "$work/types.json" >>"$work/runs"
done

# One more run, sampling /proc/PID/status: anonymous vs file-backed memory
# (a mapped core shows up as RssFile, not RssAnon).
"$python" "$here/peakmem.py" --fields RssAnon,RssFile,VmHWM -- \
	"$gcinspect" types --json "$core" | cut -d' ' -f2- >"$work/rss"

# 4. Report.
"$python" - "$work/target.out" "$work/runs" "$work/types.json" "$core" "$t0" "$t1" "$gcinspect" "$work/rss" <<'EOF'
import json, os, sys
target_out, runs_path, types_path, core, t0, t1, binary, rss_path = sys.argv[1:9]
rss = [int(x) for x in open(rss_path).read().split()]
vals = {}
for line in open(target_out):
    parts = line.split()
    if len(parts) == 2:
        vals[parts[0]] = parts[1]
runs = [tuple(float(x) for x in l.split()) for l in open(runs_path) if l.strip()]
secs = sorted(r[0] for r in runs)
peak_kb = max(r[1] for r in runs)
median = secs[len(secs) // 2]
doc = json.load(open(types_path))
types = doc.get("types", [])
objects = sum(t.get("objects", 0) for t in types)
inproc = float(vals["inproc_seconds_median"])
inproc_objects = int(vals["inproc_objects"])
core_size = os.path.getsize(core)
top = sorted(types, key=lambda t: -t.get("objects", 0))[:3]
print("gcinspect benchmark")
print("  gcinspect            %s" % binary)
print("  python               %s (pid %s)" % (vals.get("python"), vals.get("pid")))
print("  dicts built          %s (%.2f s)" % (vals.get("dicts"), float(vals.get("build_seconds", 0))))
print("  GC objects           %d in process, %d by gcinspect%s"
      % (inproc_objects, objects, "" if inproc_objects == objects else "  (differ: see note)"))
print("  top types            %s" % ", ".join("%s %d" % (t.get("name"), t.get("objects", 0)) for t in top))
print("  core size            %.1f MB (gcore took %.1f s)" % (core_size / 1e6, float(t1) - float(t0)))
print("  gcinspect types      %.2f s median of %d (%s), warm" % (median, len(secs), " ".join("%.2f" % s for s in secs)))
if median > 0:
    print("  gcinspect rate       %.2f M objects/s" % (objects / median / 1e6))
print("  in-process histogram %.3f s median (min %s s)" % (inproc, vals.get("inproc_seconds_min")))
if median > 0:
    print("  in-process / gcinspect time  %.2fx (>1: gcinspect is faster)" % (inproc / median))
print("  gcinspect peak RSS   %.1f MB (%.1f%% of the core size)" % (peak_kb / 1024.0, 100.0 * peak_kb * 1024 / core_size))
print("  sampled peaks        RssAnon %.1f MB, RssFile %.1f MB (every 5 ms, one more run)"
      % (rss[0] / 1024.0, rss[1] / 1024.0))
if inproc_objects != objects:
    print("  note: gcinspect counts every list incl. the permanent generation; the in-process"
          " histogram sees generations 0-2 plus its own temporaries")
EOF
