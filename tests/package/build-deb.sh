#!/bin/bash
# Builds kxen_*.deb from this tree (dpkg-buildpackage -b -us -uc in a clean copy); minutes, so not part of make check.
# usage: tests/package/build-deb.sh [OUTDIR]   (default: the current directory)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)
missing=
for p in dpkg-dev debhelper dh-autoreconf; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "build-deb.sh: missing Debian packages:$missing (apt-get install$missing)" >&2
	exit 1
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/kxen-deb.XXXXXX")
trap 'rm -rf "$W"' EXIT
ver=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
# The tree's files as git knows them (tracked and new, not ignored): no build products of a developer's tree.
mkdir "$W/kxen-$ver"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$W/kxen-$ver")
start=$(date +%s)
(cd "$W/kxen-$ver" && dpkg-buildpackage -b -us -uc) > "$W/build.log" 2>&1 || {
	tail -40 "$W/build.log"
	echo "build-deb.sh: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
cp "$W"/kxen_*.deb "$OUT"/
echo "build-deb.sh: built $(cd "$W" && ls kxen_*.deb) in $(($(date +%s) - start)) s, in $OUT"
