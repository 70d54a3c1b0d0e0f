#!/bin/sh
# Install what gcinspect needs to build, test and demo on Debian (as root).
# Idempotent: packages already present are left alone.
set -eu
pkgs="build-essential cmake pkg-config libelf-dev libdw-dev libjson-c-dev
      libdebuginfod-dev libzstd-dev liblz4-dev liblzma-dev zlib1g-dev
      libcunit1-dev elfutils gdb python3 python3.11 python3.11-dbg time
      zstd lz4 xz-utils gzip debuginfod iproute2 man-db bash-completion
      chromium"
# The pre-fork servers of tests/servers, and what checks the Prometheus feed.
pkgs="$pkgs uwsgi-core uwsgi-plugin-python3 gunicorn prometheus
      prometheus-node-exporter"
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
	# prometheus and prometheus-node-exporter are services: their packages
	# must not start them (they would listen on every address).  Where no
	# policy says so already, one does for the time of the install.
	policy=/usr/sbin/policy-rc.d
	own_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	status=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing ||
		status=$?
	[ -n "$own_policy" ] && rm -f "$policy"
	[ "$status" -eq 0 ] || exit "$status"
fi
