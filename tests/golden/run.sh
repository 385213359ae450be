#!/bin/bash
# Golden tests: `kxl -N create` output for every example and good config, `kxl validate` errors for broken ones.
# Regenerate after an intended change with: KXL_GOLDEN_UPDATE=1 make -C tests/golden check
# (then review `git diff tests/golden`). Needs no /dev/kvm: -N never connects to kxen-hv.
set -u
B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
# The installed guest directory depends on --prefix (a Debian build has /usr/libexec/kxen).
GD=${KXEN_GUEST_INSTALL_DIR:?run through make check}
KXL=$B/dom0-tools/kxl/kxl
G=$S/tests/golden
export KXEN_SCHEMA=$S/xml/domain.rng KXEN_GUEST_DIR=$B/pv-drivers/guest
T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-golden.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0 n=0

# Generated UUIDs and MACs (absent from the input) and ELF details of the current guest build vary,
# and so do the addresses of a Linux layout with the Debian kernel fetched (the regions' order stays).
normalise() { # INPUT < output
	local in=$1
	sed -e "s|$GD|@GUESTDIR@|g" -e "s|$B|@BUILDDIR@|g" -e "s|$S|@SRCDIR@|g" \
	    -e '/^  guest OS /d' -e '/^  entry 0x/d' -e '/^  segment [0-9]*:/d' \
	    -e '/^    pfn \|^  initial mapping \|^  start_info: \|^  vCPU 0: \|^  kernel image: /{
	        s/0x[0-9a-f]*/0x#/g; s/[0-9][0-9]* \(pages*\|bytes\|page-table\)/# \1/g
	        s/\(nr_pages\|mod_len\|flags\) [0-9x]*/\1 #/g; s/bzImage [0-9.]*/bzImage #/; }' |
	while IFS= read -r line; do
		for u in $(grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|([0-9a-f]{2}:){5}[0-9a-f]{2}' <<<"$line"); do
			grep -qi -- "$u" "$in" || grep -qi -- "${u//-/}" "$in" || line=${line//$u/@GENERATED@}
		done
		printf '%s\n' "$line"
	done
}

check() { # NAME EXPECTED-FILE ACTUAL-FILE
	n=$((n + 1))
	if [ -n "${KXL_GOLDEN_UPDATE:-}" ]; then
		cp "$3" "$2"
	elif ! diff -u "$2" "$3"; then
		echo "FAIL: $1"
		fails=$((fails + 1))
	fi
}

# The good configs run from a copy, with the images devices.xml names made as its comment says.
mkdir -p "$T/src/xml" "$T/src/tests/golden"
cp -r "$S/xml/examples" "$T/src/xml/"
cp -r "$G/good" "$T/src/tests/golden/"
"$T/src/xml/examples/make-images.sh" > /dev/null || { echo "FAIL: make-images.sh"; exit 1; }
# They name the default prefix's guest; in the copies it is this build's configured directory, where
# `make install` puts one: whether or not a guest is installed there, kxl must plan with the build
# tree's ($KXEN_GUEST_DIR), which the expected outputs name (.ci/run checks it with one installed).
sed -i "s|<kernel>/usr/local/libexec/kxen/|<kernel>$GD/|" "$T"/src/xml/examples/*.xml "$T"/src/tests/golden/good/*.xml

# Good configs: the examples and tests/golden/good/*.xml. Inputs are named by path relative to $S.
for f in "$T"/src/xml/examples/*.xml "$T"/src/tests/golden/good/*.xml; do
	top=$T/src
	rel=${f#$top/}
	out=$G/expected/$(echo "$rel" | tr / _).out
	# Linux examples need the images scripts/fetch-images.sh puts in its cache.
	img=$(sed -n 's|.*<kernel>\(/var/cache/kxen/images/[^<]*\)</kernel>.*|\1|p' "$f")
	if [ -n "$img" ] && [ ! -r "$img" ]; then
		echo "golden: $rel skipped: $img is missing (run scripts/fetch-images.sh)"
		continue
	fi
	( cd "$top" && "$KXL" -N create "$rel" ) 2>&1 | sed "s|$T/src/|@SRCDIR@/|g" > "$T/out"
	echo "exit ${PIPESTATUS[0]}" >> "$T/out"
	normalise "$f" < "$T/out" > "$T/norm"
	check "$rel" "$out" "$T/norm"
done

# Broken configs: the exact message and exit status of kxl validate.
for f in "$G"/bad/*.xml; do
	rel=${f#$S/}
	out=$G/expected/$(echo "$rel" | tr / _).err
	( cd "$S" && "$KXL" validate "$rel" ) > "$T/out" 2>&1
	echo "exit $?" >> "$T/out"
	check "$rel" "$out" "$T/out"
done
# tests/data/bad keeps each message once, in NAME.err (the unit tests read it too), named from its directory.
for f in "$S"/tests/data/bad/*.xml; do
	n=$((n + 1))
	err=${f%.xml}.err
	( cd "$S/tests/data/bad" && "$KXL" validate "${f##*/}" ) > "$T/out" 2>&1
	echo "exit $?" >> "$T/out"
	if [ -n "${KXL_GOLDEN_UPDATE:-}" ]; then
		sed -e '$d' -e 's/^kxl: //' "$T/out" > "$err"
	elif ! { sed 's/^/kxl: /' "$err"; echo "exit 1"; } | diff -u - "$T/out"; then
		echo "FAIL: ${f#$S/}"
		fails=$((fails + 1))
	fi
done
echo "golden: $n checked, $fails differ"
[ "$fails" = 0 ]
