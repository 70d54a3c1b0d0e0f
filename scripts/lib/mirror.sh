# Sourced by scripts/make-chroots.sh and scripts/build-pythons.sh (POSIX sh).
#
# debian_mirror: print the Debian mirror this machine's apt already uses
# (deb822 sources first, then sources.list), else deb.debian.org.  The
# chroots and the CPython sources come from the same place as every other
# package of the set-up.
debian_mirror() {
	m=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		m=$(sed -n 's|^URIs:[[:space:]]*\([^[:space:]]*/debian\)/*[[:space:]]*$|\1|p' \
			/etc/apt/sources.list.d/debian.sources | head -n 1)
	fi
	if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
		m=$(sed -n 's|^deb[[:space:]]\{1,\}\([^[:space:]]*/debian\)/*[[:space:]].*|\1|p' \
			/etc/apt/sources.list | head -n 1)
	fi
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}
