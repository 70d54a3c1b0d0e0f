#!/bin/sh
# The second command of the README (and what CI runs): install, build, and
# run the whole suite twice: a normal build, then under ASan+UBSan; then
# valgrind over the unit tests, fuzz replays and some integration tests, and
# each fuzz target for a short time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
chroots=/var/cache/gcinspect/chroots
"$top/scripts/make-chroots.sh" "$chroots"
status=0
for variant in release sanitize; do
	dir="$top/build-test-$variant"
	args="-DGCI_CHROOTS=$chroots"
	# The sanitize pass runs the gdb tests too: gdb loads the sanitized
	# library (tests/gdb/CMakeLists.txt says how, and what is checked).
	[ "$variant" = sanitize ] && args="$args -DGCI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
	echo "== $variant build"
	# shellcheck disable=SC2086
	"$top/scripts/build.sh" "$dir" $args
	echo "== $variant tests"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j 2 || status=1
done
# Valgrind over the release build: uninitialised reads, which ASan does not
# see (tests/valgrind/memcheck.py).
echo "== memcheck (valgrind)"
"$top/tests/valgrind/memcheck.py" --build "$top/build-test-release" -j 2 || status=1
# Each fuzz target for 25 s on its corpus (scripts/fuzz.sh --long: a campaign).
echo "== fuzz (25 s per target)"
GCI_FUZZ_BUILD="$top/build-test-fuzz" "$top/scripts/fuzz.sh" --time 25 || status=1
exit $status
