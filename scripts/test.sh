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
# CPython 3.14.4 (release, debug) and 3.13.15t, built from source: a build
# that fails is reported here and its tests skip, saying why.
pythons=/var/cache/gcinspect/pythons
"$top/scripts/build-pythons.sh" "$pythons" ||
	echo "== build-pythons.sh failed (see above): the tests that need those interpreters skip" >&2
status=0
for variant in release sanitize; do
	dir="$top/build-test-$variant"
	args="-DGCI_CHROOTS=$chroots -DGCI_PYTHONS=$pythons"
	exclude=""
	# The gdb tests load libgcinspect into gdb, which is not built with ASan
	# and hangs with the runtime preloaded.  A sanitize build registers the
	# matrix rows of tests/integration and the cow tests without their gdb
	# ways, so they run there: core and live; the plugin's own tests run
	# separately below, with the runtime loaded by dlopen.
	[ "$variant" = sanitize ] && args="$args -DGCI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" &&
		exclude="-LE gdb"
	echo "== $variant build"
	# shellcheck disable=SC2086
	"$top/scripts/build.sh" "$dir" $args
	echo "== $variant tests"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j 2 $exclude || status=1
	if [ "$variant" = sanitize ]; then
		# The gdb plugin's own tests do run under ASan: gdb loads the
		# sanitized library with dlopen (tests/gdb/CMakeLists.txt says how,
		# and what is checked then; docs/sandbox.md).
		echo "== sanitize tests: the gdb plugin's"
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			ctest --test-dir "$dir" --output-on-failure -j 2 -R '^gdb-' || status=1
	fi
done
# Valgrind over the release build: uninitialised reads, which ASan does not
# see (tests/valgrind/memcheck.py).
echo "== memcheck (valgrind)"
"$top/tests/valgrind/memcheck.py" --build "$top/build-test-release" -j 2 || status=1
# Each fuzz target for 25 s on its corpus (scripts/fuzz.sh --long: a campaign).
echo "== fuzz (25 s per target)"
GCI_FUZZ_BUILD="$top/build-test-fuzz" "$top/scripts/fuzz.sh" --time 25 || status=1
exit $status
