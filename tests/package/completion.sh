#!/bin/bash
# kxl's bash completion, sourced as bash-completion would: commands, prefixes, per-command options, XML files, keys.
# Domain names need running daemons: install_daemons.sh checks them against a real guest.
set -u
B=${KXEN_BUILDDIR:?run through make check}
C=$B/dist/completion/kxl
[ -s "$C" ] || { echo "FAIL: $C was not built"; exit 1; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# No kxl on PATH and no daemons: 'kxl list' must fail quietly, offering no domain.
PATH=/usr/bin:/bin
# shellcheck source=/dev/null
. "$C"
complete -p kxl | grep -q -- "-F _kxl" || fail "the script does not register _kxl for kxl"

# comp WORDS...: completes the last word (may be empty) and prints the sorted candidates on one line.
comp() {
	COMP_WORDS=(kxl "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_kxl 2>"$T/err"
	[ -s "$T/err" ] && fail "completing '$*' printed: $(cat "$T/err")"
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
	local want=$1; shift
	local got
	got=$(comp "$@")
	if [ "$got" = "$want" ]; then echo "ok: kxl $* -> $got"; else fail "kxl $*<TAB>: got '$got', want '$want'"; fi
}

# Every command 'kxl help' lists, and nothing else.
all=$("$B/dom0-tools/kxl/kxl" help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
[ -n "$all" ] || fail "cannot read the commands from kxl help"
expect "$all" ""
expect "create" cr
expect "destroy dmesg domid domname dump-core dumpxml" d
expect "--help --version -N -s -v" -
expect "create" -v -s /tmp/sock cr
# Options of one command, also through a prefix kxl accepts.
expect "--help -F -c -p" create -
expect "--help -F -T -a -t -w" shutdown -
expect "--help -F -T -a -t -w" shut -
expect "--help -f -t" block-detach -
expect "" shutdown -t ""
expect "" info ""
# XML files (and directories, to walk into) for create and validate; every argument of validate.
mkdir "$T/dir" && touch "$T/dir/a.xml" "$T/dir/b.xml" "$T/dir/notes.txt" && mkdir "$T/dir/sub"
cd "$T/dir" || exit 1
expect "a.xml b.xml sub" create ""
touch "my vm.xml"
COMP_WORDS=(kxl create my); COMP_CWORD=2; _kxl 2>/dev/null
[ "${#COMPREPLY[@]}" = 1 ] && [ "${COMPREPLY[0]}" = "my vm.xml" ] || fail "a name with a space: got ${#COMPREPLY[@]} words: ${COMPREPLY[*]}"
rm "my vm.xml"
expect "a.xml" create -p a
expect "a.xml b.xml sub" validate a.xml ""
expect "" create a.xml ""
expect "a.xml b.xml notes.txt sub" dump-core dom ""
expect "block-attach block-detach block-list" help bl
expect "bridge= ip= mac=" network-attach dom ""
expect "bridge=" network-attach dom mac=00:16:3e:00:00:01 br
# No daemon here: no domain to offer, and no error printed.
expect "" destroy ""
[ "$fails" = 0 ] || exit 1
echo "PASS: kxl completion"
