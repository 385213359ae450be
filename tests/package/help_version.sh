#!/bin/bash
# Every program answers --help and --version: exit 0, on stdout, nothing on stderr, a first line naming it.
set -u
B=${KXEN_BUILDDIR:?run through make check}
V=${KXEN_VERSION:?run through make check}
fails=0
E=$(mktemp)
trap 'rm -f "$E"' EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for p in hypervisor/kxen-hv dom0-tools/kxenstored/kxenstored pv-drivers/back/kxen-backd \
         dom0-tools/kxl/kxl dom0-tools/kxtop/kxtop; do
	name=${p##*/}
	for opt in --help -h; do
		out=$(timeout 10 "$B/$p" "$opt" 2>"$E"); rc=$?
		first=${out%%$'\n'*}
		[ "$rc" = 0 ] || fail "$name $opt exits $rc"
		[ -s "$E" ] && fail "$name $opt writes to stderr: $(head -1 "$E")"
		[[ ${first,,} == "usage: $name "* ]] || fail "$name $opt: first line is '$first', not 'usage: $name ...'"
		# The help names the other one of --help/--version.
		grep -q -- "--version" <<< "$out" || fail "$name $opt does not mention --version"
	done
	out=$(timeout 10 "$B/$p" --version 2>"$E"); rc=$?
	first=${out%%$'\n'*}
	[ "$rc" = 0 ] || fail "$name --version exits $rc"
	[ -s "$E" ] && fail "$name --version writes to stderr: $(head -1 "$E")"
	[[ $first == "$name $V" || $first == "$name $V "* ]] || fail "$name --version: '$first', not '$name $V'"
	# An unknown option is a usage error (2), said on stderr.
	timeout 10 "$B/$p" --no-such-option >/dev/null 2>"$E"; rc=$?
	[ "$rc" = 2 ] || fail "$name --no-such-option exits $rc, not 2"
	[ -s "$E" ] || fail "$name --no-such-option says nothing on stderr"
	echo "ok: $name: --help, -h, --version ($first), bad option"
done
[ "$fails" = 0 ] || exit 1
echo "PASS: --help and --version on every program"
