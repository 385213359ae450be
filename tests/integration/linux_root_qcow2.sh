#!/bin/bash
# linux_root_qcow2.sh: Linux with its root on a qcow2 image of an ext4 built at test time: switch_root, writes, / remounted read-only, then kxl destroy while dd writes to a second qcow2 disk; both images pass qemu-img check, the root's ext4 is e2fsck-clean with the guest's files (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
. "$(dirname "$0")/linux_root_lib.sh"
command -v xenstore-read > /dev/null || skip "xenstore-utils (xenstore-read) is not installed"
root_setup "$ROOT_REPORT
mount -o remount,ro /; echo root-ro \$?
echo dd-start
while :; do dd if=/dev/zero of=/dev/xvdb bs=1M oflag=direct 2>/dev/null; done"
dom0_start
qemu-img convert -O qcow2 "$T/root.img" "$T/root.qcow2" || fail "qemu-img convert of the root disk"
qemu-img create -q -f qcow2 "$T/data.qcow2" 256M || fail "qemu-img create"
root_boot "$(xml_disk "$T/root.qcow2" xvda qcow2)$(xml_disk "$T/data.qcow2" xvdb qcow2)"
wait_console "kxen-init: root=/dev/xvda (rw): switching to its /sbin/init"
root_checks_report
# qcow2 discards whole clusters (64 KiB here).
root_checks_negotiated 65536
wait_console "dd-start"
console_has "^root-ro 0" || fail "mount -o remount,ro / failed in the guest"

# Killed mid-write: once 20 MiB of dd's direct writes reached the data disk (kxen-backd's counters), kxl destroy.
wait_file "$T/run/vbd/$id-51728" "^wr_sect ([4-9][0-9]{4}|[0-9]{6,})$" 120
"$KXL" destroy linux > "$T/destroy.out" 2>&1 || { cat "$T/destroy.out"; fail "kxl destroy"; }
for v in 51712 51728; do wait_file "$T/backd.log" "d$id: vbd $v: image closed" 60; done
for img in root data; do
	qemu-img check "$T/$img.qcow2" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "qemu-img check of $img.qcow2 after kxl destroy mid-write"; }
done
[ "$(qemu-img info --output=json "$T/data.qcow2" | sed -n 's/.*"actual-size": \([0-9]*\).*/\1/p')" -gt $((16 << 20)) ] ||
	fail "data.qcow2 did not grow by what dd wrote"
pass "kxl destroy while dd wrote to a qcow2 disk: data.qcow2 and the root image pass qemu-img check"
qemu-img convert -O raw "$T/root.qcow2" "$T/root.raw" || fail "qemu-img convert of the root image"
root_checks_files "$T/root.raw"
