#!/bin/sh
# The first command of the README: install, build, make a sample core of a
# pre-fork master and show gcinspect on it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"
out=$(mktemp -d /tmp/gcinspect-demo.XXXXXX)
core=$("$top/samples/make-core.sh" --freeze /usr/bin/python3.11 "$out" | tail -n 1)
echo
echo "\$ gcinspect $core"
"$top/build/analyzer/gcinspect" "$core"
echo
echo "\$ gcinspect types --generation permanent --limit 15 $core"
"$top/build/analyzer/gcinspect" types --generation permanent --limit 15 "$core"
echo
echo "\$ gcinspect touch --generation 2 $core"
"$top/build/analyzer/gcinspect" touch --generation 2 "$core"
echo
echo "Live workers, with and without gc.freeze(): samples/prefork_demo.sh [--freeze]"
