#!/bin/sh
# Unpacks Debian's xen-utils-4.17 (Xen's own xenstore-control and test-xenstore) into a cache for the xenstore tests; never installs it.
# Usage: fetch-xen-utils.sh [CACHE_DIR]; prints the directory holding the binaries. Its libraries
# (libxenstore4, libxenmisc4.17) come with libxen-dev, which install-deps.sh installs.
set -e
if [ -n "${1:-}" ]; then
	cache=$1
elif [ "$(id -u)" = 0 ]; then
	cache=/var/cache/kxen
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/kxen
fi
pkg=xen-utils-4.17
bin=$cache/$pkg
if [ ! -x "$bin/xenstore-control" ] || [ ! -x "$bin/test-xenstore" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download needs no root; the .deb (about 1.4 MB) is dropped once unpacked.
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/err") ||
		{ echo "fetch-xen-utils.sh: apt-get download $pkg failed: $(tail -1 "$tmp/err")" >&2; exit 1; }
	dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
	# Only the two programs the tests run are kept (about 40 KB, not the package's 10 MB).
	mkdir -p "$tmp/keep"
	cp "$tmp/root/usr/lib/xen-4.17/bin/xenstore-control" "$tmp/root/usr/lib/xen-4.17/bin/test-xenstore" "$tmp/keep/"
	rm -rf "$bin"
	mv "$tmp/keep" "$bin"
fi
echo "$bin"
