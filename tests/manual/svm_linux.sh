#!/bin/bash
# Boots Debian's cloud kernel as a Linux PV guest on a private dom0 stack and prints how far it gets, with times: for scripts/svm-rig.sh.
# usage (from a built tree, inside the rig): KXEN_BUILDDIR=. KXEN_SRCDIR=. bash tests/manual/svm_linux.sh [SECONDS [VCPUS]]
# Prints the hypervisor log and the hvc0 console (prefixed hvc0:) as they come, with seconds since
# `kxl create`, then the layer's report; exits 0 if the guest's /init ran its command ("svm-linux-userspace"), 1 if not.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/linux_lib.sh"
limit=${1:-600}
# Under TCG, building the initramfs (busybox depmod, gzip -9) takes minutes: the rig may pass one built
# outside (outside /tmp, which is the VM's own), e.g. with -x tests/manual/int80.c built static.
[ -n "${SVM_INITRAMFS:-}" ] && cp "$SVM_INITRAMFS" "$T/initramfs.gz"
linux_setup 'echo svm-linux-userspace $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo); [ -x /bin/int80 ] && { int80; echo int80-status $?; }; i=0; while [ $i -lt 20 ]; do sh -c true; i=$((i+1)); done; echo svm-linux-forkexec $i; poweroff'
[ "${2:-1}" = 1 ] || sed -i "s|<vcpu>1<|<vcpu>$2<|" "$T/linux.xml"
dom0_start
SECONDS=0 t0=${EPOCHREALTIME/./}
"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
# A fork per line (date) takes ~0.3 s under TCG: bash's own clock instead, in centiseconds.
stamp() { local l c; while IFS= read -r l; do c=$(( (${EPOCHREALTIME/./} - t0) / 10000 )); printf '[+%4d.%02d] %s\n' $((c / 100)) $((c % 100)) "$l"; done; }
# Both streams go to the rig's console as they come (a stalled boot still shows how far it got).
tail --pid=$$ -n +1 -F "$T/hv.log" 2>/dev/null | stamp | tee "$T/hv.stamped" &
tp1=$!
tail --pid=$$ -n +1 -F "$CON" 2>/dev/null | sed -u 's/^/hvc0: /' | stamp > "$T/con.stamped" &
tp2=$!
tail --pid=$$ -n +1 -F "$T/con.stamped" 2>/dev/null &
tp3=$!
ok=1
while :; do
	grep -q "domain $id (linux) \(shut down\|crashed\)" "$T/hv.log" && break
	[ $SECONDS -gt "$limit" ] && { echo "svm-linux: stopped after $limit s"; break; }
	sleep 1
done
sleep 2
"$KXL" destroy linux >/dev/null 2>&1
sleep 1
kill $tp1 $tp2 $tp3 2>/dev/null
grep -q "svm-linux-userspace" "$CON" 2>/dev/null && ok=0
echo "--- what /init printed ---"
grep -E "^(svm-linux|int80|kxen-init)|Run /init|traps:" "$CON"
echo "svm-linux: $([ $ok = 0 ] && echo "user space reached" || echo "user space NOT reached"); last console line: $(tail -n 1 "$T/con.stamped")"
exit $ok
