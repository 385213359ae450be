#!/bin/bash
# The man pages render without a warning (groff -ww, mandoc's lint when installed), and kxl.1 covers every command of 'kxl help'.
set -u
B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
command -v groff >/dev/null || { echo "SKIP: groff is not installed (Debian package groff-base)"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

pages=("$B/dist/kxl.1" "$S"/dist/man/*.[158])
[ "${#pages[@]}" = 6 ] || fail "expected 6 man pages, found ${#pages[@]}: ${pages[*]}"
for p in "${pages[@]}"; do
	[ -s "$p" ] || { fail "$p is missing or empty"; continue; }
	w=$(groff -ww -man -z "$p" 2>&1)
	[ -z "$w" ] || fail "groff warns about $p: $w"
	if command -v mandoc >/dev/null; then
		# STYLE notes are advice; warnings and errors are not.
		w=$(mandoc -T lint -W warning "$p" 2>&1)
		[ -z "$w" ] || fail "mandoc warns about $p: $w"
	fi
	echo "ok: ${p##*/}"
done

# kxl.1 is generated from the command table: one section per command of 'kxl help'.
for c in $("$B/dom0-tools/kxl/kxl" help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	grep -q "^\.SS \"${c//-/\\\\-}[ \"]" "$B/dist/kxl.1" || fail "kxl.1 has no section for '$c'"
done
# The hand-written pages follow their program: every option --help lists is in the page.
for pair in hypervisor/kxen-hv:kxen-hv.8 dom0-tools/kxenstored/kxenstored:kxenstored.8 \
            pv-drivers/back/kxen-backd:kxen-backd.8 dom0-tools/kxtop/kxtop:kxtop.1; do
	prog=$B/${pair%%:*} page=$S/dist/man/${pair#*:}
	for o in $("$prog" --help | grep -oE '^ +(-[A-Za-z]|--[a-z0-9-]+)([ ,=]+--[a-z0-9-]+)?' | grep -oE -- '--?[A-Za-z0-9-]+'); do
		# roff writes each '-' of an option as '\-': match a backslash before each.
		re=$(printf '%s' "$o" | sed 's/-/[\\]-/g')
		grep -qE -- "$re([^A-Za-z0-9-]|$)" "$page" || fail "${page##*/} lacks ${prog##*/}'s option $o"
	done
done
[ "$fails" = 0 ] || exit 1
echo "PASS: man pages render cleanly; kxl.1 has every command; every option of --help is in its page"
