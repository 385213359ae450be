#!/bin/bash
# linux_root.sh: Linux with its root on a raw ext4 disk built at test time (mkfs.ext4 -d): switch_root, blkfront's negotiated features, a read-only ext4 disk read-only in Linux, block-attach/detach of a qcow2 disk while it runs, e2fsck -fn clean after power-off (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
. "$(dirname "$0")/linux_root_lib.sh"
command -v xenstore-read > /dev/null || skip "xenstore-utils (xenstore-read) is not installed"
root_setup "$ROOT_REPORT
mkdir -p /mnt; mount /dev/xvdc /mnt; echo ro-mount \$? \$(grep ' /mnt ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)
echo ro-file \$(cat /mnt/from-host)
mount -o remount,rw /mnt; echo ro-remount-rw \$?
touch /mnt/x; echo ro-touch \$?
umount /mnt
echo attach-me
i=0; while [ ! -b /dev/xvdb ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
echo xvdb-size \$(cat /sys/block/xvdb/size)
echo hp-host \$(dd if=/dev/xvdb bs=4k count=1 2>/dev/null | md5sum)
dd if=/from-guest of=/dev/xvdb bs=64k seek=1 conv=fsync 2>/dev/null; echo hp-write \$?
echo detach-me
i=0; while [ -e /sys/block/xvdb ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
echo xvdb-gone \$([ -e /sys/block/xvdb ] && echo no || echo yes)"
dom0_start

# xvdc: a read-only ext4; xvdb (attached later): a qcow2 with a host block at 0.
mkdir "$T/rotree"
echo "read-only on the host $$" > "$T/rotree/from-host"
mkfs.ext4 -q -F -d "$T/rotree" "$T/ro.img" 16M > "$T/mkfs.out" 2>&1 || { cat "$T/mkfs.out"; fail "mkfs.ext4 -d (read-only disk)"; }
ro_sum=$(md5sum < "$T/ro.img")
head -c 4096 /dev/urandom > "$T/hostpat"
truncate -s 32M "$T/hp.raw"
dd if="$T/hostpat" of="$T/hp.raw" conv=notrunc 2>/dev/null
qemu-img convert -O qcow2 "$T/hp.raw" "$T/hp.qcow2" || fail "qemu-img convert"
root_boot "$(xml_disk "$T/root.img" xvda raw)$(xml_disk "$T/ro.img" xvdc raw ro)"
wait_console "kxen-init: root=/dev/xvda (rw): switching to its /sbin/init"
root_checks_report
root_checks_negotiated 4096

wait_console "ro-touch"
con_line "ro-mount 0 ro" && console_has "^ro-file read-only on the host $$" || { grep "^ro-" "$CON"; fail "the read-only ext4 disk did not mount read-only"; }
console_has "^ro-remount-rw 0" && fail "mount -o remount,rw of the read-only disk succeeded in Linux"
console_has "^ro-touch 0" && fail "a file was created on the read-only disk"
console_has "Read-only file system" || fail "Linux did not say EROFS for the read-only disk"
pass "the read-only disk mounts read-only in Linux, remount,rw fails, a new file gets EROFS"

# Hot-plug: the guest waits for xvdb, reads the host's block, writes its own, then waits for it to go.
wait_console "attach-me"
"$KXL" block-attach linux "format=qcow2, vdev=xvdb, access=rw, target=$T/hp.qcow2" > "$T/attach.out" 2>&1 ||
	{ cat "$T/attach.out"; fail "kxl block-attach"; }
wait_console "detach-me" 120
con_line "xvdb-size 65536" || { grep "^xvdb-size" "$CON"; fail "xvdb's size in Linux is not the image's 32 MiB"; }
console_has "^hp-host $(md5sum < "$T/hostpat" | cut -d' ' -f1)" || fail "the attached disk's first block read differently in Linux"
console_has "^hp-write 0" || fail "the guest's write to the attached disk failed"
pass "block-attach of a qcow2 disk to the running Linux guest: xvdb appears, the host's block reads back, a write succeeds"
"$KXL" block-detach -t 60 linux xvdb > "$T/detach.out" 2>&1 || { cat "$T/detach.out"; fail "kxl block-detach (no Closed from the backend?)"; }
wait_console "xvdb-gone" 120
console_has "^xvdb-gone yes" || fail "xvdb is still in Linux's /sys/block after block-detach"
grep -q "d$id: vbd 51728: disconnected" "$T/backd.log" && grep -q "d$id: vbd 51728: closed" "$T/backd.log" ||
	{ grep "d$id: vbd 51728" "$T/backd.log"; fail "blkback did not go through disconnect and Closed"; }
xenstore-exists "/local/domain/$id/device/vbd/51728" 2>/dev/null && fail "xvdb's frontend directory left behind"
wait_file "$T/backd.log" "d$id: vbd 51728: image closed" 30
qemu-img check "$T/hp.qcow2" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "qemu-img check of the detached image"; }
qemu-img convert -O raw "$T/hp.qcow2" "$T/hp.out"
cmp -s <(dd if="$T/hp.out" bs=64k skip=1 2>/dev/null | head -c "$(seq 1 40000 | wc -c)") <(seq 1 40000) ||
	fail "the detached image does not hold what the guest wrote at 64 KiB"
pass "block-detach: Closing then Closed with Linux's blkfront, xvdb gone from Linux, the image checks clean and holds the guest's write"

# Power-off (/t.sh ends, busybox init remounts / read-only), then the host's view of the root disk.
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
for v in 51712 51744; do wait_file "$T/backd.log" "d$id: vbd $v: image closed" 60; done
root_checks_files "$T/root.img"
[ "$(md5sum < "$T/ro.img")" = "$ro_sum" ] || fail "the read-only image changed"
