#!/bin/bash
# The systemd units pass systemd-analyze verify, pointed at the programs of this build tree, and are ordered kxen-hv, kxenstored, kxen-backd.
set -u
B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed (Debian package systemd)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$T/sbin" "$T/units"
ln -s "$B/hypervisor/kxen-hv" "$B/dom0-tools/kxenstored/kxenstored" "$B/pv-drivers/back/kxen-backd" "$T/sbin/"
for u in kxen-hv kxenstored kxen-backd; do
	sed "s|@sbindir@|$T/sbin|g" "$S/dist/systemd/$u.service.in" > "$T/units/$u.service"
done
cp "$S/dist/systemd/kxen.target" "$T/units/"
out=$(cd "$T/units" && systemd-analyze verify --man=no kxen.target kxen-hv.service kxenstored.service kxen-backd.service 2>&1)
[ -z "$out" ] || fail "systemd-analyze verify: $out"
echo "ok: systemd-analyze verify is silent"

# The order: each is bound to and follows the ones before; all are part of kxen.target, which wants them.
key() { sed -n "s/^$2=//p" "$T/units/$1"; }
[ "$(key kxenstored.service BindsTo)" = kxen-hv.service ] && [ "$(key kxenstored.service After)" = kxen-hv.service ] ||
	fail "kxenstored.service must be bound to and follow kxen-hv.service"
[ "$(key kxen-backd.service BindsTo)" = "kxen-hv.service kxenstored.service" ] &&
	[ "$(key kxen-backd.service After)" = "kxen-hv.service kxenstored.service" ] ||
	fail "kxen-backd.service must be bound to and follow kxen-hv and kxenstored"
for u in kxen-hv kxenstored kxen-backd; do
	[ "$(key $u.service Type)" = notify ] || fail "$u.service is not Type=notify"
	[ "$(key $u.service Restart)" = on-failure ] || fail "$u.service has no Restart=on-failure"
	[[ $(key $u.service ExecStart) == "$T/sbin/$u -f "* ]] || fail "$u.service does not run $u -f"
	[ "$(key $u.service WantedBy)" = kxen.target ] && [ "$(key $u.service PartOf)" = kxen.target ] ||
		fail "$u.service is not part of kxen.target"
done
[ "$(key kxen.target Wants)" = "kxen-hv.service kxenstored.service kxen-backd.service" ] || fail "kxen.target does not want the three"
echo "PASS: units verified; order kxen-hv, kxenstored, kxen-backd; Type=notify, Restart=on-failure, -f"
