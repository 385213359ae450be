#!/bin/bash
# linux_smp_soak.sh: boots Debian's cloud kernel with 2 vCPUs again and again under one private dom0 stack, each boot running smpstress's mix (threads, cross-CPU pipe ping-pong, mmap churn, fork/exec) and ubench, and keeps the console and hypervisor logs of every boot that did not power off cleanly (the SMP soak of docs/linux-pv.md 6.3).
#
# usage: KXEN_BUILDDIR=... KXEN_SRCDIR=... bench/linux_smp_soak.sh [BOOTS [PARALLEL [KEEPDIR]]]
# PARALLEL guests run at a time (default 1); a failed boot's logs go to KEEPDIR (default /tmp/kxen-smp-soak).
# Prints one line per boot and a count; asserts nothing about time.
S=${KXEN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export KXEN_SRCDIR=$S KXEN_BUILDDIR=${KXEN_BUILDDIR:-$S}
. "$S/tests/integration/lib.sh"
. "$S/tests/integration/linux_lib.sh"
BOOTS=${1:-10} PAR=${2:-1} KEEP=${3:-/tmp/kxen-smp-soak}
mkdir -p "$KEEP"
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
abi=$(cat "$C/linux-abi" 2>/dev/null)
"$S/scripts/mkinitramfs.sh" -k "$C/linux-image-$abi-cloud-amd64" -b "$C/busybox" -x "$B/tests/integration/smpstress" \
	-x "$B/bench/guest/ubench" -o "$T/initramfs.gz" > "$T/mkinitramfs.out" 2>&1 || { cat "$T/mkinitramfs.out"; exit 1; }
dom0_start
run=${SOAK_RUN:-'smpstress -n 3 mix segv; ubench -t 100; smpstress mix; poweroff -f'}
clean=0 bad=0 n=0
# boot NAME: one guest from create to its end; prints its verdict.
boot() {
	local name=$1 id con=$T/console/guest-$1.log
	linux_setup "$run" "$name"
	sed -i -e 's|<vcpu>1<|<vcpu>2<|' "$T/$name.xml"
	"$KXL" create "$T/$name.xml" > "$T/create-$name.out" 2>&1 || { echo "$name: create failed"; cat "$T/create-$name.out"; return 1; }
	id=$(domid_of "$name")
	wait_until 900 grep -Eq "^\(XEN\) domain $id \($name\) (shut down|destroyed)" "$T/hv.log"
	sleep 1
	if grep -Eq "^\(XEN\) domain $id \($name\) shut down: poweroff" "$T/hv.log" && grep -q "smpstress: done cpus=2 failed=0" "$con" &&
		! grep -q "BUG:\|Oops\|cut here\|FAIL" "$con"; then
		echo "$name: clean ($(grep -c 'smpstress: .* ok' "$con") checks ok)"
		"$KXL" destroy "$name" > /dev/null 2>&1
		return 0
	fi
	echo "$name: FAILED: $(grep -E "^\(XEN\) domain $id \($name\)" "$T/hv.log" | tail -1)"
	cp "$con" "$KEEP/$name.console"; grep -E "^\((d$id|XEN)\)" "$T/hv.log" > "$KEEP/$name.hv"
	"$KXL" destroy "$name" > /dev/null 2>&1
	return 1
}
while [ $n -lt "$BOOTS" ]; do
	pids=
	for _ in $(seq 1 "$PAR"); do
		[ $n -lt "$BOOTS" ] || break
		n=$((n + 1))
		boot "soak$n" > "$T/verdict$n" 2>&1 &
		pids="$pids $!:$n"
	done
	for p in $pids; do
		wait "${p%%:*}" && clean=$((clean + 1)) || bad=$((bad + 1))
		cat "$T/verdict${p#*:}"
	done
done
cp "$T/hv.log" "$KEEP/hv.log"
echo "linux_smp_soak: $BOOTS boots with 2 vCPUs: $clean clean, $bad failed (logs of failures in $KEEP)"
