#!/bin/bash
# Installs kxen_*.deb on this machine (as root) and runs it: systemctl start kxen.target, or, without systemd as PID 1, the units' ExecStart lines; then a guest.
# usage: tests/package/check-deb.sh KXEN_DEB [--purge]   (--purge removes the package again at the end)
# It uses the system's default sockets and /var/log/kxen: run it where no other kxen runs.
set -uo pipefail
DEB=$(readlink -f "${1:?usage: check-deb.sh KXEN_DEB [--purge]}")
PURGE=${2:-}
UNITS=/lib/systemd/system
T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-deb-check.XXXXXX")
PIDS=
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
cleanup() {
	kxl destroy deb-echo > /dev/null 2>&1
	if [ "${SYSTEMD:-}" = 1 ]; then
		systemctl stop kxen.target
	else
		for p in $PIDS; do kill "$p" 2>/dev/null; done
	fi
	[ "$PURGE" = --purge ] && apt-get purge -y -q kxen > /dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || fail "run as root (it installs a package)"
[ -r /dev/kvm ] || fail "/dev/kvm is not usable here"
[ -e /run/kxen/kxen-hv.sock ] && fail "a kxen-hv already serves /run/kxen/kxen-hv.sock"

apt-get install -y -q "$DEB" > "$T/apt.log" 2>&1 || { tail "$T/apt.log"; fail "apt install $DEB"; }
for f in /usr/sbin/kxen-hv /usr/sbin/kxenstored /usr/sbin/kxen-backd /usr/sbin/kxl /usr/sbin/kxtop \
         /usr/libexec/kxen/kxen-guest /usr/share/kxen/domain.rng /usr/share/bash-completion/completions/kxl \
         $UNITS/kxen-hv.service $UNITS/kxenstored.service $UNITS/kxen-backd.service $UNITS/kxen.target \
         /etc/default/kxen /etc/logrotate.d/kxen /var/log/kxen/console; do
	[ -e "$f" ] || fail "the package did not install $f"
done
for m in kxl kxtop kxl-domain-xml kxen-hv kxenstored kxen-backd; do
	w=$(man -w "$m" 2>&1) || fail "man $m: $w"
done
v=$(systemd-analyze verify --man=no $UNITS/kxen.target $UNITS/kxen-hv.service $UNITS/kxenstored.service \
	$UNITS/kxen-backd.service 2>&1)
[ -z "$v" ] || fail "systemd-analyze verify: $v"
[ -L /etc/systemd/system/multi-user.target.wants/kxen.target ] || fail "kxen.target is not enabled"
pass "installed: programs, guest, schema, units (verified, enabled), man pages, completion"

if [ "$(cat /proc/1/comm)" = systemd ]; then
	SYSTEMD=1
	systemctl start kxen.target || fail "systemctl start kxen.target"
	pass "systemctl start kxen.target"
else
	# As systemd would: the EnvironmentFile, then each ExecStart in the units' order, each awaited.
	echo "note: PID 1 is $(cat /proc/1/comm), not systemd: running the units' ExecStart lines"
	set -a
	# shellcheck source=/dev/null
	[ -r /etc/default/kxen ] && . /etc/default/kxen
	set +a
	for u in kxen-hv kxenstored kxen-backd; do
		cmd=$(sed -n 's/^ExecStart=//p' "$UNITS/$u.service")
		eval "set -- $cmd"
		"$@" > "$T/$u.out" 2>&1 &
		PIDS="$PIDS $!"
		echo "started: $cmd (pid $!)"
		for _ in $(seq 1 200); do
			case $u in
			kxen-hv) [ -S /run/kxen/kxen-hv.sock ] && break ;;
			kxenstored) [ -S /run/xenstored/socket ] && break ;;
			kxen-backd) grep -q serving "$T/$u.out" && break ;;
			esac
			kill -0 "$!" 2>/dev/null || { cat "$T/$u.out"; fail "$u exited"; }
			sleep 0.05
		done
	done
	pass "the daemons run as the units' ExecStart lines say (logs on stderr, for the journal)"
fi

kxl create /usr/share/doc/kxen/examples/hello.xml > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create hello.xml"; }
for _ in $(seq 1 100); do kxl dmesg | grep -q "Hello from kxen guest domain" && break; sleep 0.1; done
kxl dmesg | grep -q "Hello from kxen guest domain" || fail "no greeting from hello in kxl dmesg"
pass "kxl create /usr/share/doc/kxen/examples/hello.xml (the installed guest kernel)"

sed -e 's|<name>hello</name>|<name>deb-echo</name>|' -e 's|<cmdline>hello</cmdline>|<cmdline>echo</cmdline>|' \
	/usr/share/doc/kxen/examples/hello.xml > "$T/echo.xml"
kxl create "$T/echo.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create deb-echo"; }
log=/var/log/kxen/console/guest-deb-echo.log
for _ in $(seq 1 200); do grep -q "echo: ready" "$log" 2>/dev/null && break; sleep 0.1; done
grep -q "echo: ready" "$log" || fail "the guest's console log $log is missing its output"
pass "kxen-backd logs the guest's console in $log"
kxl list | grep -q "^deb-echo " || fail "kxl list does not show deb-echo"
kxl destroy deb-echo || fail "kxl destroy deb-echo"
kxl list | grep -q "^deb-echo " && fail "deb-echo still listed after destroy"
pass "kxl list and destroy"

if [ "${SYSTEMD:-}" != 1 ]; then
	for p in $PIDS; do kill -TERM "$p"; done
	for p in $PIDS; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && fail "pid $p ignores SIGTERM"
	done
	PIDS=
	pass "SIGTERM stops every daemon, as systemctl stop would"
fi
