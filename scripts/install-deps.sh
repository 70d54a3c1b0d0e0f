#!/bin/sh
# Install what gcinspect needs to build, test and demo on Debian (as root).
# Idempotent: packages already present are left alone.
set -eu
pkgs="build-essential cmake pkg-config libelf-dev libdw-dev libjson-c-dev
      libcunit1-dev elfutils gdb python3 python3.11 python3.11-dbg time"
# The sandbox (libseccomp) and what tests it (strace); the fuzz targets
# (clang with libFuzzer: libclang-rt-dev); the memcheck pass (valgrind).
pkgs="$pkgs libseccomp-dev strace clang libclang-rt-dev valgrind"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: run as root to install:$missing" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
