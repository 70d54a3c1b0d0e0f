#!/bin/sh
# Build the Debian chroots the integration tests run interpreters in:
#
#   scripts/make-chroots.sh [CACHE_DIR]     (default /var/cache/gcinspect/chroots)
#
#   CACHE_DIR/sid        python3.13, 3.14, 3.15 with their -dbg builds, and gdb
#   CACHE_DIR/bullseye   python3.9 with python3.9-dbg, and gdb
#
# Each chroot is built once with mmdebstrap into a temporary directory and
# renamed into place only when complete, so an interrupted build is never
# used.  A stamp file inside it records the suite, mirror and package list;
# when that changes, the chroot is rebuilt.  When both are up to date the
# script only compares two stamps.  Needs root (mmdebstrap, chroot).
set -eu

cache=${1:-/var/cache/gcinspect/chroots}

# name|suite|packages (comma-separated, as mmdebstrap --include takes them)
chroots="sid|sid|python3.13,python3.13-dbg,python3.14,python3.14-dbg,python3.15,python3.15-dbg,gdb
bullseye|bullseye|python3.9,python3.9-dbg,gdb"

say() { echo "make-chroots: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, chroot)"

# The mirror this machine's apt already uses (scripts/lib/mirror.sh).
. "$(dirname "$0")/lib/mirror.sh"
mirror=$(debian_mirror)

stamp_text() {  # suite packages
	printf 'gcinspect-chroot 1\nsuite %s\nmirror %s\npackages %s\n' "$1" "$mirror" "$2"
}

up_to_date() {  # name suite packages
	[ -f "$cache/$1/.gcinspect-stamp" ] &&
		[ "$(cat "$cache/$1/.gcinspect-stamp")" = "$(stamp_text "$2" "$3")" ]
}

all_up_to_date() {
	echo "$chroots" | while IFS='|' read -r name suite pkgs; do
		up_to_date "$name" "$suite" "$pkgs" || exit 1
	done
}

# The quick path: nothing to do, nothing to install, no lock to take.
if [ -d "$cache" ] && all_up_to_date; then
	say "chroots in $cache are up to date"
	exit 0
fi

mkdir -p "$cache"
# One builder at a time: fd 9 holds the lock until the script ends.
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
	say "installing mmdebstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 || {
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends mmdebstrap
	}
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

# Leftovers of interrupted builds (we hold the lock: nobody else is building).
for d in "$cache"/.tmp-* "$cache"/.old-*; do
	[ -e "$d" ] || continue
	say "removing the leftover $d"
	rm -rf --one-file-system "$d"
done

build_one() {  # name suite packages
	name=$1 suite=$2 pkgs=$3
	if up_to_date "$name" "$suite" "$pkgs"; then
		say "$name: up to date"
		return 0
	fi
	say "$name: building ($suite: $pkgs) from $mirror"
	start=$(date +%s)
	tmp=$(mktemp -d "$cache/.tmp-$name.XXXXXX")
	if ! mmdebstrap --variant=apt --quiet \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--include="$pkgs" "$suite" "$tmp" "$mirror" </dev/null >&2; then
		die "$name: mmdebstrap failed"
	fi
	stamp_text "$suite" "$pkgs" >"$tmp/.gcinspect-stamp"
	chmod 755 "$tmp"
	if [ -e "$cache/$name" ]; then
		mv "$cache/$name" "$cache/.old-$name.$$"
	fi
	mv "$tmp" "$cache/$name"
	tmp=""
	rm -rf --one-file-system "$cache/.old-$name.$$"
	say "$name: done in $(($(date +%s) - start)) s, $(du -sh "$cache/$name" | cut -f1)"
}

# Not a pipe: the loop must run in this shell, so that the EXIT trap sees $tmp.
while IFS='|' read -r name suite pkgs; do
	build_one "$name" "$suite" "$pkgs"
done <<EOF
$chroots
EOF
