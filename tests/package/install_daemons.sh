#!/bin/bash
# README's "Running it by hand" on an installed tree: daemons in their default (daemon) mode, a guest created, its console attached, listed, destroyed, all stopped.
set -u
B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is missing or not readable and writable by $(id -un)"
command -v tmux >/dev/null || skip "tmux missing: install the Debian package tmux"

T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-install.XXXXXX")
D=$T/root
LOGS=$T/log
TM=$T/tmux.sock
fail() {
	echo "FAIL: $*"
	for f in "$LOGS"/*.log "$T"/*.term; do [ -s "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done
	exit 1
}
pass() { echo "PASS: $*"; }

# The daemons this test started: only they run the programs installed under its private directory.
pids_of() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$SBIN/$1" ] && echo "${p#/proc/}"
	done
}
# stop NAME: SIGTERM, then it must be gone within 10 s.
stop() {
	local pids
	pids=$(pids_of "$1")
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null
	for _ in $(seq 1 100); do
		pids=$(pids_of "$1")
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	return 1
}
cleanup() {
	tmux -S "$TM" kill-server 2>/dev/null
	for p in $(cat "$T"/state/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
	for d in kxen-backd kxenstored kxen-hv; do
		stop "$d" || { echo "cleanup: $d ignores SIGTERM: killing it"; kill -KILL $(pids_of "$d") 2>/dev/null; }
	done
	rm -rf "$T"
}
trap cleanup EXIT

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$B" install DESTDIR="$D" > "$T/install.term" 2>&1 || fail "make install DESTDIR=$D"
SBIN=$(dirname "$(find "$D" -path '*/sbin/kxl')")
[ -x "$SBIN/kxen-hv" ] && [ -x "$SBIN/kxenstored" ] && [ -x "$SBIN/kxen-backd" ] && [ -x "$SBIN/kxtop" ] ||
	fail "make install left out a program in $SBIN"
for f in kxen-guest domain.rng kxl.1 kxtop.1 kxl-domain-xml.5 kxen-hv.8 kxenstored.8 kxen-backd.8 \
         kxen-hv.service kxenstored.service kxen-backd.service kxen.target; do
	[ -n "$(find "$D" -name "$f")" ] || fail "make install did not install $f"
done
grep -qx "ExecStart=${SBIN#"$D"}/kxen-hv -f \$KXEN_HV_OPTS" "$(find "$D" -name kxen-hv.service)" ||
	fail "kxen-hv.service does not start the installed kxen-hv"
pass "make install: programs, guest, schema, man pages, units, completion"

export PATH="$SBIN:$PATH"
# Private sockets, state and run directories through the programs' own environment variables.
export KXEN_HV_SOCKET=$T/hv.sock XENSTORED_PATH=$T/xs.sock
export KXEN_STATE_DIR=$T/state KXEN_DUMP_DIR=$T/dump KXEN_RUN_DIR=$T/run
# DESTDIR: the guest and schema paths compiled into kxl are not under it.
export KXEN_GUEST_DIR=$(dirname "$(find "$D" -name kxen-guest)") KXEN_SCHEMA=$(find "$D" -name domain.rng)
mkdir -p "$LOGS" "$T/console"

# start NAME ARGS...: as typed at a shell: it must return at once and say nothing on the terminal.
start() {
	local name=$1 rc
	shift
	timeout 20 "$name" "$@" > "$T/$name.term" 2>&1 < /dev/null
	rc=$?
	[ "$rc" = 124 ] && fail "'$name $*' did not return within 20 s"
	[ "$rc" = 0 ] || fail "'$name $*' exited $rc"
}
# wait_for WHAT TEST...: polls the test for 10 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	fail "timed out waiting for $what"
}

# README: kxen-hv -d; kxenstored; kxen-backd (logs and the store's socket moved to $T by their options).
start kxen-hv -d -l "$LOGS/kxen-hv.log"
wait_for "kxen-hv's socket" test -S "$KXEN_HV_SOCKET"
start kxenstored -s "$XENSTORED_PATH" -D "$T/xsdata" -l "$LOGS/kxenstored.log"
wait_for "kxenstored's socket" test -S "$XENSTORED_PATH"
start kxen-backd -o "$T/console" -l "$LOGS/kxen-backd.log"
wait_for "kxen-backd to serve" grep -q serving "$LOGS/kxen-backd.log"
for d in kxen-hv kxenstored kxen-backd; do
	[ -n "$(pids_of "$d")" ] || fail "$d is not running after its start command returned"
	[ -s "$T/$d.term" ] && fail "$d wrote to the terminal it was started from: $(head -3 "$T/$d.term")"
done
pass "the three daemons detached, silent on the terminal, serving"

# README: kxl create xml/examples/hello.xml (its kernel path is the installed guest's).
kxl create "$S/xml/examples/hello.xml" > "$T/create.term" 2>&1 || { cat "$T/create.term"; fail "kxl create hello.xml"; }
# hello greets and powers off at once, before any backend attaches: its greeting is in kxen-hv's log.
dmesg_has() { kxl dmesg > "$T/dmesg.term" 2>&1 && grep -q "$1" "$T/dmesg.term"; }
wait_for "hello's greeting in kxl dmesg" dmesg_has "Hello from kxen guest domain"
pass "kxl create xml/examples/hello.xml: the greeting is in kxl dmesg"

# An interactive guest: kxl console in a terminal, a line typed, its answer seen, Ctrl-] detaches.
sed -e 's|<name>hello</name>|<name>inst-echo</name>|' -e 's|<cmdline>hello</cmdline>|<cmdline>echo</cmdline>|' \
	"$S/xml/examples/hello.xml" > "$T/echo.xml"
kxl create "$T/echo.xml" > "$T/create.term" 2>&1 || { cat "$T/create.term"; fail "kxl create echo.xml"; }
wait_for "the echo guest" grep -q "echo: ready" "$T/console/guest-inst-echo.log"
tmux -S "$TM" -f /dev/null new-session -d -s c -x 100 -y 20 \
	"env PATH='$PATH' XENSTORED_PATH='$XENSTORED_PATH' KXEN_HV_SOCKET='$KXEN_HV_SOCKET' kxl console inst-echo; echo KXL-EXIT=\$?; sleep 30"
pane_has() { tmux -S "$TM" capture-pane -p -t c > "$T/pane" && grep -Eq -- "$1" "$T/pane"; }
wait_for "the console on the terminal" pane_has "echo: ready"
tmux -S "$TM" send-keys -t c "installed kxen" Enter
wait_for "the guest's answer on the terminal" pane_has "echo: INSTALLED KXEN \(14 chars\)"
tmux -S "$TM" send-keys -t c C-]
wait_for "kxl console to detach" pane_has "KXL-EXIT=0"
pass "kxl console: typed a line, the guest answered, Ctrl-] detached"

# README: kxl list; the installed bash completion offers the running domain.
kxl list > "$T/list.term" 2>&1 || fail "kxl list"
grep -q "^inst-echo " "$T/list.term" || { cat "$T/list.term"; fail "kxl list does not show inst-echo"; }
COMPL=$(find "$D" -path '*/completions/kxl')
got=$(bash -c '. "$1"; COMP_WORDS=(kxl destroy inst-); COMP_CWORD=2; _kxl; echo "${COMPREPLY[*]}"' _ "$COMPL")
[ "$got" = inst-echo ] || fail "completing 'kxl destroy inst-' gave '$got', not inst-echo"
pass "kxl list shows the guest; completion offers its name"

kxl destroy inst-echo || fail "kxl destroy inst-echo"
kxl list | grep -q "^inst-echo " && fail "inst-echo is still listed after kxl destroy"
pass "kxl destroy"

# Everything stops on SIGTERM, backends first, and leaves no socket behind.
for d in kxen-backd kxenstored kxen-hv; do
	stop "$d" || fail "$d (pid $(pids_of "$d")) ignores SIGTERM"
done
[ -e "$KXEN_HV_SOCKET" ] && fail "kxen-hv left its socket behind"
[ -e "$XENSTORED_PATH" ] && fail "kxenstored left its socket behind"
for d in kxen-hv kxenstored kxen-backd; do
	[ -s "$LOGS/$d.log" ] || fail "$d's log file $LOGS/$d.log is empty"
done
pass "all daemons stopped on SIGTERM; their logs are in files"
