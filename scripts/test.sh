#!/bin/sh
# The second command of the README (and what CI runs): install, build, and
# run the whole suite twice: a normal build, then under ASan+UBSan.
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
	# and hangs with the runtime preloaded: they run in the release pass,
	# and the callback source they use is unit-tested under ASan.  (A
	# sanitize build registers the matrix rows of tests/integration and the
	# cow tests without their gdb ways, so they run there: core and live.)
	[ "$variant" = sanitize ] && args="$args -DGCI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" &&
		exclude="-LE gdb"
	echo "== $variant build"
	# shellcheck disable=SC2086
	"$top/scripts/build.sh" "$dir" $args
	echo "== $variant tests"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j 2 $exclude || status=1
done
exit $status
