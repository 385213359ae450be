#!/bin/bash
# blk_enospc.sh: a qcow2 image on a 4 MiB tmpfs that the guest writes past the free space: the guest gets an I/O error (BLKIF_RSP_ERROR), kxen-backd goes on, and qemu-img check finds no corruption (leaked clusters allowed).
. "$(dirname "$0")/lib.sh"
MNT=
trap '[ -n "$MNT" ] && umount "$MNT"; backd_stop; cleanup' EXIT

command -v qemu-img >/dev/null || skip "qemu-img is not installed (Debian package qemu-utils)"
[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
mkdir "$T/mnt"
mount -t tmpfs -o size=4m kxen-enospc "$T/mnt" || skip "cannot mount a tmpfs here"
MNT=$T/mnt
img=$MNT/full.qcow2
qemu-img create -q -f qcow2 "$img" 64M
dom0_start
mkcfg full "blk-loop 1000 5 32 0" 16 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='$img'/><target dev='xvda' bus='xen'/></disk></devices>"
id=$(create full)
wait_log "\(d$id\) blk-loop: (done|FAIL)" 60
line=$(grep "(d$id) blk-loop: FAIL" "$T/hv.log")
echo "$line"
# -5 is Xen's EIO: blkfront's answer to BLKIF_RSP_ERROR.
echo "$line" | grep -q "FAIL write of block [0-9]*: -5$" || fail "the guest did not get an I/O error on the full disk"
grep -q "d$id: vbd 51712: write at sector .*No space left on device" "$T/backd.log" || fail "kxen-backd did not log ENOSPC"
kill -0 "$BACKDPID" || fail "kxen-backd died on the full disk"
"$KXL" destroy "$id" >/dev/null 2>&1
# Its last flush may fail too: still no corruption.
wait_file "$T/backd.log" "d$id: vbd 51712: image closed" 10
qemu-img check "$img" > "$T/check.out" 2>&1; rc=$?
cat "$T/check.out"
# 0: clean; 3: leaked clusters only. 2 is corruption, 1 a check that could not run.
[ $rc = 0 ] || [ $rc = 3 ] || fail "qemu-img check: exit $rc (corruption)"
pass "full disk: the guest got EIO at $(echo "$line" | sed 's/.*FAIL //'), image consistent (qemu-img check exit $rc)"
