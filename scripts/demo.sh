#!/bin/bash
# The demo: a private kxen-hv boots several guests (hello, timers, 4-vCPU SMP, event ping-pong, a crash) and shows their output.
set -u
B=${1:?usage: demo.sh BUILDDIR SRCDIR}
S=${2:?usage: demo.sh BUILDDIR SRCDIR}
HV=$B/hypervisor/kxen-hv
KXL=$B/dom0-tools/kxl/kxl
GUEST=$B/pv-drivers/guest/kxen-guest
export KXEN_SCHEMA=$S/xml/domain.rng

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "demo: /dev/kvm is missing or not accessible: kxen needs KVM (run as root on a host with kvm loaded)"
	exit 1
fi
T=$(mktemp -d /tmp/kxen-demo.XXXXXX)
export KXEN_HV_SOCKET=$T/hv.sock
"$HV" -f -s "$KXEN_HV_SOCKET" -l "$T/hv.log" &
HVPID=$!
trap 'kill $HVPID 2>/dev/null; wait $HVPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do [ -S "$KXEN_HV_SOCKET" ] && break; sleep 0.05; done

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
waitfor() { for _ in $(seq 1 400); do grep -Eq -- "$1" "$T/hv.log" && return 0; sleep 0.05; done; echo "demo: timed out waiting for /$1/"; return 1; }

echo "== kxen demo: guests on $(uname -r) KVM =="
cfg pong "evtchn-pong 2" 1
"$KXL" create "$T/pong.xml"
waitfor '^\(d1\) evtchn-pong: port'
port=$(sed -n 's/^(d1) evtchn-pong: port \([0-9]*\).*/\1/p' "$T/hv.log" | head -1)
cfg ping "evtchn-ping 1 $port 5000" 1
"$KXL" create "$T/ping.xml"
cfg hello hello 1
"$KXL" create "$T/hello.xml"
cfg smp smp 4
"$KXL" create "$T/smp.xml"
cfg sleeper "sleep 250" 1
"$KXL" create "$T/sleeper.xml"
cfg crasher crash 1 "<on_crash>preserve</on_crash>"
"$KXL" create "$T/crasher.xml"
echo; echo "== kxl list =="
"$KXL" list
waitfor '^\(d2\) evtchn-ping: (OK|FAIL)'
waitfor 'sleep: (OK|FAIL)'
waitfor 'smp: all 4 vcpus reported'
echo; echo "== kxl list (after) =="
"$KXL" list
echo; echo "== kxl dmesg =="
"$KXL" dmesg
"$KXL" destroy crasher
"$KXL" destroy pong
