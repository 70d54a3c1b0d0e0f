#!/bin/sh
# Build the libFuzzer targets (tests/fuzz) with clang and run them.
#
#   scripts/fuzz.sh [--time SECONDS] [TARGET...]   each target for SECONDS (default 25):
#                                                  what CI runs (scripts/test.sh)
#   scripts/fuzz.sh --long [--runs N] [TARGET...]  a campaign: N executions per
#                                                  target (default 1,000,000)
#
# Targets: core core_patch callback layout_cache (default: all).  Each runs
# in one process on its checked-in corpus (tests/fuzz/corpus/TARGET, read,
# never written) and regression inputs, with its dictionary; what it adds
# to the corpus goes to a work directory, BUILD/fuzz-work/TARGET.  A
# finding (crash, leak, sanitizer report, timeout, a broken promise of the
# library) stops the target and is kept in BUILD/fuzz-findings/TARGET; the
# script then exits 1.  Keep a finding as a regression input
# (tests/fuzz/regressions/TARGET/) when it is fixed.  GCI_FUZZ_BUILD names
# the build directory (default build-fuzz); figures of each run are
# appended to BUILD/fuzz-summary.txt.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${GCI_FUZZ_BUILD:-$top/build-fuzz}
time=25
runs=""
long=false
targets=""
while [ $# -gt 0 ]; do
	case $1 in
	--time) time=$2; shift 2 ;;
	--long) long=true; shift ;;
	--runs) runs=$2; shift 2 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 64 ;;
	*) targets="$targets $1"; shift ;;
	esac
done
[ -n "$targets" ] || targets="core core_patch callback layout_cache"
if $long && [ -z "$runs" ]; then
	runs=1000000
fi

command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed (scripts/install-deps.sh)" >&2; exit 1; }
# The fuzz targets only (and the library they link), with clang.
CC=clang cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGCI_WERROR=ON \
	-DGCI_FUZZ=ON >/dev/null
for t in $targets; do
	set -- "$@" --target "fuzz_$t"
done
cmake --build "$build" -j "$(nproc)" "$@" >/dev/null

fuzz=$top/tests/fuzz
# Smaller quarantine and allocation stacks: faster, the same checks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=8:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $targets; do
	bin=$build/tests/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz.sh: no target $t" >&2; exit 64; }
	work=$build/fuzz-work/$t
	findings=$build/fuzz-findings/$t
	mkdir -p "$work" "$findings"
	case $t in
	layout_cache) cat "$fuzz/dict/layout_cache.dict" >"$build/fuzz-work/$t.dict" ;;
	*) cat "$fuzz/dict/elf.dict" "$fuzz/dict/cpython.dict" >"$build/fuzz-work/$t.dict" ;;
	esac
	if $long; then
		limit="-runs=$runs"
	else
		limit="-max_total_time=$time"
	fi
	log=$build/fuzz-work/$t.log
	echo "== fuzz $t ($limit)"
	rc=0
	# -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a
	# runaway allocation.  The checked-in inputs come after the work
	# directory, so that only the work directory is written.
	"$bin" $limit -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-dict="$build/fuzz-work/$t.dict" -artifact_prefix="$findings/" \
		-print_final_stats=1 \
		"$work" "$fuzz/corpus/$t" "$fuzz/regressions/$t" >"$log" 2>&1 || rc=$?
	done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true)
	cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 |
		sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, features \2, corpus \3/p')
	line="$(date -u +%Y-%m-%dT%H:%MZ) $t: ${done_line:-no Done line} ($cov), exit $rc"
	echo "$line" | tee -a "$build/fuzz-summary.txt"
	if [ "$rc" -ne 0 ]; then
		status=1
		echo "fuzz.sh: $t found something; see $log and $findings:" >&2
		grep -E 'ERROR|runtime error|fuzz: |Test unit written' "$log" | head -n 5 >&2 || true
	fi
done
exit $status
