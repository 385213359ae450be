#!/bin/bash
# The demo: a private dom0 stack (kxen-hv, kxenstored, kxen-backd) boots guests and shows them working.
set -u
B=${1:?usage: demo.sh BUILDDIR SRCDIR}
S=${2:?usage: demo.sh BUILDDIR SRCDIR}
HV=$B/hypervisor/kxen-hv
XSD=$B/dom0-tools/kxenstored/kxenstored
BACKD=$B/pv-drivers/back/kxen-backd
KXL=$B/dom0-tools/kxl/kxl
KXTOP=$B/dom0-tools/kxtop/kxtop
GUEST=$B/pv-drivers/guest/kxen-guest
export KXEN_SCHEMA=$S/xml/domain.rng

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "demo: /dev/kvm is missing or not accessible: kxen needs KVM (run as root on a host with kvm loaded)"
	exit 1
fi
T=$(mktemp -d /tmp/kxen-demo.XXXXXX)
export KXEN_HV_SOCKET=$T/hv.sock XENSTORED_PATH=$T/xs.sock KXEN_STATE_DIR=$T/state KXEN_DUMP_DIR=$T/dump
PIDS=
stop() {
	"$KXL" shutdown -F -a -w -t 5 >/dev/null 2>&1
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap stop EXIT
waitsock() { for _ in $(seq 1 200); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "demo: $2 did not start"; exit 1; }

"$HV" -f -s "$KXEN_HV_SOCKET" -l "$T/hv.log" & PIDS="$! $PIDS"
waitsock "$KXEN_HV_SOCKET" kxen-hv
"$XSD" -f -s "$XENSTORED_PATH" -H "$KXEN_HV_SOCKET" -l "$T/xs.log" -D "$T/xsdata" & PIDS="$! $PIDS"
waitsock "$XENSTORED_PATH" kxenstored
"$BACKD" -f -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/backd.log" & PIDS="$! $PIDS"

cfg() {   # cfg NAME CMDLINE VCPUS EXTRA
	cat > "$T/$1.xml" <<XML
<domain type='kxen'>
  <name>$1</name>
  <memory unit='MiB'>8</memory>
  <vcpu>$3</vcpu>
  <os><type>xenpv</type><kernel>$GUEST</kernel><cmdline>$2</cmdline></os>
  ${4:-}
</domain>
XML
}
create() { "$KXL" create "$T/$1.xml" | tee -a "$T/create.out"; }
domid() { "$KXL" domid "$1"; }
waitfor() { for _ in $(seq 1 400); do grep -Eq -- "$1" "${2:-$T/hv.log}" 2>/dev/null && return 0; sleep 0.05; done; echo "demo: timed out waiting for /$1/"; return 1; }

echo "== kxen demo: guests on $(uname -r) KVM, with kxenstored and kxen-backd =="
# Debian's stock cloud kernel as a Xen PV guest, when scripts/fetch-images.sh has filled the cache
# (setup.sh's install-deps.sh does): it boots for ~15-30 s beside the others, so it goes first.
IMG=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
LINUX=
if [ -r "$IMG/vmlinuz-cloud" ] && [ -r "$IMG/initramfs-cloud.gz" ]; then
	cat > "$T/linux.xml" <<XML
<domain type='xen'>
  <name>linux</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>$IMG/vmlinuz-cloud</kernel>
    <initrd>$IMG/initramfs-cloud.gz</initrd>
    <cmdline>console=hvc0 earlyprintk=xen kxen.run="echo demo: \$(uname -sr) up; grep MemTotal /proc/meminfo; poweroff -f"</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
</domain>
XML
	create linux && LINUX=1
else
	echo "(no Linux guest: $IMG has no vmlinuz-cloud and initramfs-cloud.gz; run scripts/fetch-images.sh)"
fi
# A fresh kxen-hv hands out ids in order: pong is 1 and offers its port to ping, 2.
cfg pong "evtchn-pong 2" 1
create pong
waitfor "^\(d1\) evtchn-pong: port"
port=$(sed -n "s/^(d1) evtchn-pong: port \([0-9]*\).*/\1/p" "$T/hv.log" | head -1)
cfg ping "evtchn-ping 1 $port 5000" 1
create ping
cfg hello hello 1
create hello
cfg smp smp 4
create smp
cfg xenbus xs-test 1
create xenbus
cfg counter "count 5 100" 1
create counter
cfg idler idle 1
create idler
cfg crasher crash 1 "<on_crash>preserve</on_crash>"
create crasher
echo; echo "== kxl list =="
"$KXL" list
waitfor "^\(d2\) evtchn-ping: (OK|FAIL)" || true
waitfor 'smp: all 4 vcpus reported'
waitfor "^\(d[0-9]+\) xs-test: (OK|FAILED)"
waitfor 'idle: blocking'
waitfor 'control: watching control/shutdown'

echo; echo "== xenstore: the home of domain idler, written by kxl create (xenstore-ls) =="
xenstore-ls -f "/local/domain/$(domid idler)" 2>/dev/null | sed 's/^/  /'
echo; echo "== the counter guest's console, as kxen-backd logged it =="
waitfor "5" "$T/console/guest-counter.log" || true
sed 's/\r$//; s/^/  /' "$T/console/guest-counter.log" 2>/dev/null
echo; echo "== kxl shutdown idler: asked through control/shutdown, the guest acknowledges =="
"$KXL" shutdown -w idler
grep -E "^\(d[0-9]+\) control: shutdown request" "$T/hv.log" | sed 's/^/  /'
echo; echo "== kxtop, batch mode, two refreshes one second apart =="
"$KXTOP" -b -i 2 -d 1 -H "$KXEN_HV_SOCKET" 2>&1 | tail -n +1
if [ -n "$LINUX" ]; then
	echo; echo "== Debian's cloud kernel on hvc0, as kxen-backd logged it (its /init runs uname and powers off) =="
	for _ in $(seq 1 180); do grep -q "(linux) shut down" "$T/hv.log" && break; sleep 1; done
	grep -E "^\(d1\) \[ *[0-9.]+\] (Linux version|Hypervisor detected)" "$T/hv.log" | sed 's/^/  /'
	grep -E "Run /init|demo: |MemTotal" "$T/console/guest-linux.log" 2>/dev/null | sed 's/\r$//; s/^/  /'
	grep -E "\(linux\) shut down" "$T/hv.log" | sed 's/^/  /'
fi
echo; echo "== kxl dmesg (the hypervisor's log: guest output and events) =="
"$KXL" dmesg
"$KXL" destroy crasher
