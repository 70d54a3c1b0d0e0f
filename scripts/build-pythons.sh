#!/bin/sh
# Build the CPython interpreters that no Debian package provides, for the
# integration tests:
#
#   scripts/build-pythons.sh [CACHE_DIR]    (default /var/cache/gcinspect/pythons)
#
#   3.14.4     CPython 3.14.4, the last release with the incremental collector,
#              from the upstream tarball the mirror serves as Debian's orig
#              tarball (sha256 checked); CFLAGS='-g -O2', DWARF inside
#   3.13.15t   free-threaded CPython 3.13.15 (--disable-gil) from Debian's
#              python3.13 source package; -g -O2, DWARF inside
#   3.14.4d    CPython 3.14.4 --with-pydebug, DWARF inside
#
# built in that order (the first two are the ones other work waits for).
#
# Where they live.  The interpreters are built and kept inside a Debian sid
# chroot of their own, CACHE_DIR/chroot (made with mmdebstrap, like
# scripts/make-chroots.sh, plus the build dependencies), each under
# /opt/gcinspect-py/NAME:
#
#   chroot CACHE_DIR/chroot /opt/gcinspect-py/3.14.4/bin/python3.14
#   chroot CACHE_DIR/chroot /opt/gcinspect-py/3.13.15t/bin/python3.13t
#   chroot CACHE_DIR/chroot /opt/gcinspect-py/3.14.4d/bin/python3.14d
#
# That is how the tests run Debian's interpreters in CACHE/chroots/sid too
# (check_target.py --chroot): sid's libraries (glibc, libssl...) are newer than
# the host's, so a binary linked against them cannot run on the host, and a
# core taken from outside names the host path CACHE_DIR/chroot/opt/...,
# which exists as such.  The build dependencies are not installed into the
# shared chroots of make-chroots.sh: that would change, under other tests'
# feet, the chroots whose stamps say what they hold.
#
# Caching.  Each interpreter is installed into a staging directory, checked
# (below), stamped and renamed into place only when complete, so an
# interrupted build is never used.  Its stamp records its recipe (source,
# configure arguments, RECIPE) and the chroot's own stamp; a change of
# either rebuilds it.  When everything is up to date the script only reads
# four stamps.  One builder at a time (flock on CACHE_DIR/.lock).  Build
# logs: CACHE_DIR/logs/NAME.log.
#
# Checks before a build is accepted: sys.version, the collector's default
# thresholds, sys._is_gil_enabled() (3.13t), a debug build being one, and
# the DWARF (gdb in the chroot) describing the GC state the tests read:
# young, old[2], work_to_do, visited_space, phase for 3.14.4; ob_gc_bits and
# the mimalloc heaps for 3.13.15t.
#
# Needs root (mmdebstrap, chroot, unshare) and the Debian mirror this
# machine's apt uses (read from the apt sources; no host is hard-coded).
set -eu

cache=${1:-/var/cache/gcinspect/pythons}
case $cache in /*) ;; *) cache=$(pwd)/$cache ;; esac
root=$cache/chroot
optdir=/opt/gcinspect-py

# Bump when the build steps change in a way the stamps below do not show.
RECIPE=1

# The chroot: sid, the build dependencies, dpkg-dev for apt-get source,
# curl for the tarball, gdb for the DWARF checks (and for the tests' gcore
# run inside the chroot).
suite=sid
packages="gcc,make,pkg-config,xz-utils,dpkg-dev,curl,ca-certificates,gdb,\
libffi-dev,zlib1g-dev,libssl-dev,libbz2-dev,liblzma-dev,libsqlite3-dev,\
libreadline-dev,libncurses-dev,uuid-dev,libgdbm-dev,libzstd-dev,\
libexpat1-dev,libmpdec-dev"

PY314_TARBALL=pool/main/p/python3.14/python3.14_3.14.4.orig.tar.xz
PY314_SHA256=d923c51303e38e249136fc1bdf3568d56ecb03214efdef48516176d3d7faaef8
PY313_SOURCE=python3.13
PY313_VERSION=3.13.15

# name|source|configure arguments (evaluated by sh)|binary|checks
#   source: tarball (PY314_*) or debsrc (PY313_*)
#   checks: version, GIL (gil/nogil), debug (release/debug), thresholds,
#           DWARF to look for (dwarf-incremental / dwarf-ft)
common="--enable-shared=no --without-ensurepip --disable-test-modules"
pythons="3.14.4|tarball|$common CFLAGS='-g -O2'|python3.14|3.14.4 gil release 2000,10,0 dwarf-incremental
3.13.15t|debsrc|$common --disable-gil CFLAGS='-g -O2'|python3.13t|3.13.15 nogil release 2000,10,10 dwarf-ft
3.14.4d|tarball|$common --with-pydebug|python3.14d|3.14.4 gil debug 2000,10,0 dwarf-incremental"

t0=$(date +%s)
say() { echo "build-pythons: [$(($(date +%s) - t0)) s] $*" >&2; }
# A failure is also written to each file of $failfiles: the tests that need
# the interpreter skip, quoting it (check_target.py --build-failure, and
# tests/cow/check_cow.py, tests/layout).
failfiles=""
die() {
	say "FAILED: $*"
	for f in $failfiles; do
		printf '%s\n' "$*" >"$f" || :
	done
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, chroot)"

# The mirror this machine's apt already uses (scripts/lib/mirror.sh).
. "$(dirname "$0")/lib/mirror.sh"
mirror=$(debian_mirror)

chroot_stamp_text() {
	printf 'gcinspect-pythons-chroot 1\nsuite %s\nmirror %s\npackages %s\n' \
		"$suite" "$mirror" "$packages"
}

python_stamp_text() {  # name source configure
	case $2 in
	tarball) src="tarball $mirror/$PY314_TARBALL sha256 $PY314_SHA256" ;;
	debsrc) src="debian source $PY313_SOURCE $PY313_VERSION" ;;
	esac
	printf 'gcinspect-python %s\nname %s\nprefix %s/%s\nsource %s\nconfigure %s\n%s\n' \
		"$RECIPE" "$1" "$optdir" "$1" "$src" "$3" "$(chroot_stamp_text)"
}

chroot_up_to_date() {
	[ -f "$root/.gcinspect-stamp" ] &&
		[ "$(cat "$root/.gcinspect-stamp")" = "$(chroot_stamp_text)" ]
}

python_up_to_date() {  # name source configure
	f=$root$optdir/$1/.gcinspect-stamp
	[ -f "$f" ] && [ "$(cat "$f")" = "$(python_stamp_text "$1" "$2" "$3")" ]
}

all_up_to_date() {
	chroot_up_to_date || return 1
	echo "$pythons" | while IFS='|' read -r name src conf bin checks; do
		python_up_to_date "$name" "$src" "$conf" || exit 1
	done
}

where() {
	echo "$pythons" | while IFS='|' read -r name src conf bin checks; do
		say "  chroot $root $optdir/$name/bin/$bin"
	done
}

# The quick path: nothing to do, no lock to take.
if all_up_to_date; then
	say "interpreters in $root are up to date:"
	where
	exit 0
fi

mkdir -p "$cache" "$cache/logs" "$cache/status"
# One builder at a time: fd 9 holds the lock until the script ends.
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then
	if ! flock -n 9; then
		say "waiting for another build-pythons.sh to finish (lock $cache/.lock)"
		flock 9
	fi
fi

tmp=""
cleanup() {
	if [ -n "$tmp" ] && [ -e "$tmp" ]; then
		say "removing the incomplete $tmp"
		rm -rf --one-file-system "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Leftovers of interrupted runs (we hold the lock: nobody else is building).
for d in "$cache"/.tmp-* "$cache"/.old-* "$root/build" "$root$optdir"/.old-*; do
	[ -e "$d" ] || continue
	say "removing the leftover $d"
	rm -rf --one-file-system "$d"
done

# Run a command inside the chroot with a clean environment, /proc and
# /dev/shm mounted in a private mount namespace (gone with it).
# Where mount namespaces are not allowed (some containers), plain chroot:
# the builds work without /proc, only less like a real system.
private_mounts=yes
if ! unshare --mount --propagation private true 2>/dev/null; then
	say "note: unshare --mount is not allowed here: building without /proc in the chroot"
	private_mounts=no
fi
in_root() {
	if [ "$private_mounts" = no ]; then
		chroot "$root" /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
		return
	fi
	# shellcheck disable=SC2016  # expanded by the inner sh
	unshare --mount --propagation private sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" &&
		mount -t tmpfs -o mode=1777 shm "$r/dev/shm" &&
		exec chroot "$r" /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
		sh "$root" "$@"
}

# ---------------------------------------------------------------------------
# The chroot.  Without it, no interpreter can be built.

failfiles=$(echo "$pythons" | while IFS='|' read -r name src conf bin checks; do
	printf '%s ' "$cache/status/$name.failed"
done)

if ! chroot_up_to_date; then
	if ! command -v mmdebstrap >/dev/null 2>&1; then
		say "installing mmdebstrap"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 || {
			apt-get update -qq
			apt-get install -y -qq --no-install-recommends mmdebstrap
		}
	fi
	say "chroot: building ($suite with the build dependencies) from $mirror"
	tmp=$(mktemp -d "$cache/.tmp-chroot.XXXXXX")
	if ! mmdebstrap --variant=apt --quiet \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--include="$packages" "$suite" "$tmp" \
		"deb $mirror $suite main" "deb-src $mirror $suite main" </dev/null >&2; then
		die "chroot: mmdebstrap failed"
	fi
	chroot_stamp_text >"$tmp/.gcinspect-stamp"
	chmod 755 "$tmp"
	if [ -e "$root" ]; then
		mv "$root" "$cache/.old-chroot.$$"
	fi
	mv "$tmp" "$root"
	tmp=""
	rm -rf --one-file-system "$cache/.old-chroot.$$"
	say "chroot: done, $(du -sh "$root" | cut -f1)"
else
	say "chroot: up to date"
fi

# ---------------------------------------------------------------------------
# Sources, cached inside the chroot (a new chroot fetches them again).

srcdir=/var/cache/gcinspect-src

fetch_tarball() {
	f=$srcdir/$(basename "$PY314_TARBALL")
	if [ -f "$root$f" ] &&
		[ "$(sha256sum <"$root$f" | cut -d' ' -f1)" = "$PY314_SHA256" ]; then
		return 0
	fi
	say "downloading $mirror/$PY314_TARBALL"
	mkdir -p "$root$srcdir"
	in_root curl -fsSL --retry 3 -o "$f.part" "$mirror/$PY314_TARBALL" ||
		die "could not download $mirror/$PY314_TARBALL (the mirror must serve it)"
	got=$(sha256sum <"$root$f.part" | cut -d' ' -f1)
	if [ "$got" != "$PY314_SHA256" ]; then
		rm -f "$root$f.part"
		die "$mirror/$PY314_TARBALL: sha256 is $got, expected $PY314_SHA256"
	fi
	mv "$root$f.part" "$root$f"
}

# The .dsc and its files; apt checks them against the signed Sources index.
fetch_debsrc() {
	if ls "$root$srcdir/${PY313_SOURCE}_$PY313_VERSION"-*.dsc >/dev/null 2>&1; then
		return 0
	fi
	say "downloading Debian's $PY313_SOURCE $PY313_VERSION source package"
	in_root apt-get update -qq >&2 || die "apt-get update in the chroot failed"
	ver=$(in_root apt-cache showsrc "$PY313_SOURCE" |
		sed -n "s/^Version: \($PY313_VERSION-.*\)/\1/p" | sort -V | tail -n 1)
	[ -n "$ver" ] || die "the mirror has no $PY313_SOURCE $PY313_VERSION source package" \
		"(apt-cache showsrc $PY313_SOURCE in $root lists: $(in_root apt-cache showsrc \
		"$PY313_SOURCE" | sed -n 's/^Version: //p' | tr '\n' ' '))"
	mkdir -p "$root$srcdir/.part"
	# (As root: the directory is not _apt's.)
	in_root sh -c "cd $srcdir/.part && apt-get source -qq --download-only \
		-o APT::Sandbox::User=root --only-source $PY313_SOURCE=$ver" >&2 ||
		die "apt-get source $PY313_SOURCE=$ver failed"
	mv "$root$srcdir/.part"/* "$root$srcdir/"
	rmdir "$root$srcdir/.part"
}

# ---------------------------------------------------------------------------
# One interpreter: unpack, configure, make, install into a staging
# directory, check, stamp, rename into place.

# The checks, run by the new interpreter itself.
check_py='import gc, sys, sysconfig
want_ver, want_gil, want_kind, want_thr = sys.argv[1:5]
got = "%d.%d.%d" % sys.version_info[:3]
assert got == want_ver, "version %s, expected %s" % (got, want_ver)
assert sys.version_info.releaselevel == "final", sys.version
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
assert gil == (want_gil == "gil"), "sys._is_gil_enabled() is %r" % gil
ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
assert ft == (want_gil == "nogil"), "Py_GIL_DISABLED is %r" % ft
debug = hasattr(sys, "gettotalrefcount")
assert debug == (want_kind == "debug"), "debug build: %r" % debug
thr = ",".join(map(str, gc.get_threshold()))
assert thr == want_thr, "gc.get_threshold() is (%s), expected (%s)" % (thr, want_thr)
gc.collect()
print("%s: gil %s, debug %s, gc.get_threshold() (%s)" % (sys.version.split()[0], gil, debug, thr))'

check_dwarf() {  # binary (inside the chroot) what
	case $2 in
	dwarf-incremental)
		types="struct _gc_runtime_state"
		want="young old\\[2\\] work_to_do visited_space phase permanent_generation heap_size" ;;
	dwarf-ft)
		types="PyObject|struct _mimalloc_thread_state|struct _mimalloc_interp_state"
		want="ob_tid ob_gc_bits ob_ref_local ob_ref_shared heaps\\[ abandoned_pool" ;;
	esac
	args=""
	old_ifs=$IFS
	IFS='|'
	for t in $types; do
		args="$args -ex 'ptype /o $t'"
	done
	IFS=$old_ifs
	out=$(eval "in_root gdb -nx -batch $args \"\$1\"" 2>&1) ||
		die "gdb could not read the DWARF of $1: $out"
	for w in $want; do
		echo "$out" | grep -q "[[:space:]*]$w" ||
			die "the DWARF of $1 has no member $w in $types:
$out"
	done
}

build_python() {  # name source configure binary checks
	name=$1 src=$2 conf=$3 bin=$4 checks=$5
	if python_up_to_date "$name" "$src" "$conf"; then
		say "$name: up to date"
		return 0
	fi
	start=$(date +%s)
	log=$cache/logs/$name.log
	: >"$log"
	work=/build/$name
	rm -rf --one-file-system "$root$work"
	mkdir -p "$root$work"
	case $src in
	tarball)
		fetch_tarball
		say "$name: unpacking $(basename "$PY314_TARBALL")"
		in_root tar -C "$work" -xf "$srcdir/$(basename "$PY314_TARBALL")" >>"$log" 2>&1 ||
			die "$name: unpacking failed (log: $log)"
		;;
	debsrc)
		fetch_debsrc
		dsc=$(cd "$root$srcdir" && find . -maxdepth 1 -name "${PY313_SOURCE}_$PY313_VERSION-*.dsc" |
			sort -V | tail -n 1)
		dsc=${dsc#./}
		say "$name: unpacking $dsc (with Debian's patches)"
		in_root dpkg-source -x "$srcdir/$dsc" "$work/Python-src" >>"$log" 2>&1 ||
			die "$name: dpkg-source -x $dsc failed (log: $log)"
		;;
	esac
	srctree=$(cd "$root$work" && find . -mindepth 1 -maxdepth 1 -type d | head -n 1)
	srctree=$work/${srctree#./}
	prefix=$optdir/$name
	stage=$work/stage

	steps="./configure --prefix=$prefix $conf
make -j$(nproc)
make install DESTDIR=$stage"
	echo "$steps" | while IFS= read -r step; do
		say "$name: $(echo "$step" | cut -d' ' -f1-2) (log: $log)"
		echo "== $step" >>"$log"
		if ! in_root sh -c "cd $srctree && $step" >>"$log" 2>&1; then
			tail -n 30 "$log" >&2
			echo "build-pythons: $name: '$step' failed; the last lines of $log are above" >&2
			exit 1
		fi
	done || die "$name: the build failed (log: $log)"

	# Checks, on the staged copy (it finds its library by its own location).
	# shellcheck disable=SC2086  # five words
	set -- $checks
	ver=$1 gil=$2 kind=$3 thr=$4 dwarf=$5
	staged=$stage$prefix/bin/$bin
	[ -x "$root$staged" ] || die "$name: the build installed no $prefix/bin/$bin"
	out=$(in_root "$staged" -c "$check_py" "$ver" "$gil" "$kind" "$thr" 2>&1) ||
		die "$name: the new interpreter fails its checks: $out"
	say "$name: $out"
	check_dwarf "$staged" "$dwarf"
	say "$name: its DWARF describes the GC state"

	python_stamp_text "$name" "$src" "$conf" >"$root$stage$prefix/.gcinspect-stamp"
	mkdir -p "$root$optdir"
	if [ -e "$root$prefix" ]; then
		mv "$root$prefix" "$root$optdir/.old-$name"
	fi
	mv "$root$stage$prefix" "$root$prefix"
	rm -rf --one-file-system "$root$optdir/.old-$name" "$root$work"
	say "$name: done in $(($(date +%s) - start)) s: chroot $root $prefix/bin/$bin"
}

# Each in a subshell of its own: one that fails leaves the others to be built.
failed=""
while IFS='|' read -r name src conf bin checks; do
	set +e
	(
		set -e
		failfiles=$cache/status/$name.failed
		build_python "$name" "$src" "$conf" "$bin" "$checks"
	)
	rc=$?
	set -e
	if [ "$rc" -eq 0 ]; then
		rm -f "$cache/status/$name.failed"
	else
		failed="$failed $name"
		[ -s "$cache/status/$name.failed" ] ||
			echo "the build stopped with status $rc" >"$cache/status/$name.failed"
	fi
done <<EOF
$pythons
EOF
rm -rf --one-file-system "$root/build"
if [ -n "$failed" ]; then
	say "FAILED to build:$failed (why: $cache/status/NAME.failed and $cache/logs/);" \
		"the tests that need them will skip, saying so"
	exit 1
fi
say "all interpreters ready:"
where
