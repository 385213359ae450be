#!/bin/bash
# What kxl writes for a libvirt-style config (<domain type='xen'>) must pass libvirt's own schema (virt-xml-validate).
set -u
B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
KXL=$B/dom0-tools/kxl/kxl
export KXEN_SCHEMA=$S/xml/domain.rng KXEN_GUEST_DIR=$B/pv-drivers/guest
if ! command -v virt-xml-validate >/dev/null; then
	echo "SKIP: virt-xml-validate is missing (Debian package libvirt-clients)"
	exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-virtxml.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0 fails=0
for f in "$S"/xml/examples/*.xml "$S"/tests/golden/good/*.xml "$S"/tests/data/good/*.xml; do
	grep -q "<domain type='xen'" "$f" || continue
	n=$((n + 1))
	# kxl -v validate prints "FILE: valid", then the config as kxl create saves it and dumpxml shows it.
	if ! "$KXL" -v validate "$f" > "$T/out" 2>&1; then
		echo "FAIL: ${f#$S/}: kxl refuses it"; cat "$T/out"; fails=$((fails + 1)); continue
	fi
	tail -n +2 "$T/out" > "$T/dump.xml"
	if ! virt-xml-validate "$T/dump.xml" domain > "$T/v" 2>&1; then
		echo "FAIL: ${f#$S/}: libvirt's schema refuses kxl's output"; cat "$T/v" "$T/dump.xml"
		fails=$((fails + 1))
	fi
done
echo "libvirt schema: $n configs checked, $fails refused"
[ "$n" -gt 5 ] && [ "$fails" = 0 ]
