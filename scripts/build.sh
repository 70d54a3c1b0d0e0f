#!/bin/sh
# Configure and build gcinspect: scripts/build.sh [BUILD_DIR [CMAKE_ARGS...]]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
[ $# -gt 0 ] && shift
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGCI_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
