#!/bin/bash
# linux_blk.sh: Debian's cloud kernel's xen-blkfront against kxen-backd's blkback in one boot: a raw disk of the right size with a host-written pattern read and a guest-written one (dd conv=fsync) seen by the host after power-off, an ext4 made at test time mounted, written and fsck-clean afterwards, a read-only disk read-only in Linux (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init's commands (no '<' or '"': they travel in the XML's kernel command line): the disks' sizes and ro flags,
# the host's pattern at the raw disk's sector 0, the guest's at 1 MiB, ext4 mounted and written, a refused write.
run=$(tr '\n' ' ' <<'RUN'
for i in $(seq 99); do [ -b /dev/xvdc ] && break; sleep 0.2; done;
for d in xvda xvdb xvdc; do echo disk $d size $(cat /sys/block/$d/size) ro $(cat /sys/block/$d/ro); done;
x() { dd $@ 2>/dev/null; };
echo host-pattern $(x if=/dev/xvda bs=4k count=1 | md5sum);
x if=/dev/urandom of=/tmp/g bs=4k count=64; echo guest-pattern $(md5sum /tmp/g);
x if=/tmp/g of=/dev/xvda bs=4k seek=256 conv=fsync; echo guest-write-status $?;
echo readback $(x if=/dev/xvda bs=4k skip=256 count=64 iflag=direct | md5sum);
mkdir /mnt; mount /dev/xvdb /mnt; echo mount-status $?; echo host-file $(cat /mnt/from-host);
cp /tmp/g /mnt/from-guest; echo guest-file $(md5sum /mnt/from-guest);
x if=/dev/urandom of=/mnt/junk bs=64k count=64; sync; rm /mnt/junk; sync; fstrim /mnt; echo fstrim-status $?;
umount /mnt; echo umount-status $?;
echo ro-pattern $(x if=/dev/xvdc bs=4k count=1 | md5sum);
x if=/tmp/g of=/dev/xvdc bs=4k count=1 conv=fsync; echo ro-write-status $?;
echo disk-checks-done; exec sleep 600
RUN
)
linux_setup "$run"
command -v mkfs.ext4 > /dev/null && command -v e2fsck > /dev/null && command -v debugfs > /dev/null ||
	skip "no e2fsprogs (mkfs.ext4, e2fsck, debugfs) on this host"
dom0_start

# xvda raw with a random first block; xvdb an ext4 built from a tree (mkfs.ext4 -d); xvdc raw, read-only.
truncate -s 48M "$T/disk.img"
head -c 4096 /dev/urandom > "$T/hostpat"
dd if="$T/hostpat" of="$T/disk.img" conv=notrunc 2>/dev/null
mkdir "$T/tree"
echo "written on the host $$" > "$T/tree/from-host"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d "$T/tree" "$T/ext4.img" 32M > "$T/mkfs.out" 2>&1 || { cat "$T/mkfs.out"; fail "mkfs.ext4 -d"; }
# Every block of metadata written here: what the guest leaves allocated is then its own data.
alloc0=$(stat -c %b "$T/ext4.img")
truncate -s 16M "$T/ro.img"
head -c 4096 /dev/urandom > "$T/ropat"
dd if="$T/ropat" of="$T/ro.img" conv=notrunc 2>/dev/null
disk() {   # disk FILE DEV [readonly]
	echo "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$1'/><target dev='$2' bus='xen'/>${3:+<readonly/>}</disk>"
}
sed -i "s|</os>|</os><devices>$(disk "$T/disk.img" xvda)$(disk "$T/ext4.img" xvdb)$(disk "$T/ro.img" xvdc ro)</devices>|" "$T/linux.xml"
"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
wait_until 400 console_has "^disk-checks-done" || { tail -30 "$CON"; tail -20 "$T/backd.log"; fail "the guest's disk commands did not all run"; }

# The handshake: Linux's grant table (GNTTABOP_setup_table's frames, kxen's pages above its RAM, mapped by PTE)
# and xenbus keys, the features it took from blkback.
grep -q "d$id: vbd 51712: connected: .*persistent grants" "$T/backd.log" || { tail "$T/backd.log"; fail "blkback did not connect xvda"; }
console_has "blkfront: xvda: flush diskcache: enabled; persistent grants: enabled; indirect descriptors: enabled" ||
	fail "Linux's blkfront did not take flush, persistent grants and indirect descriptors"
console_has "^disk xvda size 98304 ro 0" && console_has "^disk xvdb size 65536 ro 0" && console_has "^disk xvdc size 32768 ro 1" ||
	{ grep "^disk" "$CON"; fail "Linux's disk sizes or ro flags differ from the images (48 MiB, 32 MiB, 16 MiB read-only)"; }
pass "xen-blkfront connected three disks, sizes from blkback, the read-only one read-only in Linux"
console_has "^host-pattern $(md5sum < "$T/hostpat" | cut -d' ' -f1)" || fail "the block the host wrote read differently in Linux"
g=$(sed -n 's/^guest-pattern \([0-9a-f]*\) .*/\1/p' "$CON")
[ -n "$g" ] && console_has "^guest-write-status 0" && console_has "^readback $g" ||
	fail "the guest's dd conv=fsync write or its direct-I/O read-back failed"
console_has "response has wrong operation" && fail "blkfront refused a response's operation"
pass "Linux read the host's block and wrote its own (dd conv=fsync, indirect requests), read back with O_DIRECT"
console_has "^mount-status 0" && console_has "^host-file written on the host $$" && console_has "^guest-file $g" &&
	console_has "^umount-status 0" || fail "ext4 from mkfs.ext4 -d: mount, the host's file or the guest's write failed"
console_has "^fstrim-status 0" || fail "fstrim in Linux failed (discard not negotiated?)"
pass "ext4 built on the host mounted in Linux, its file read, a new file written and synced, fstrim run"
console_has "^ro-pattern $(md5sum < "$T/ropat" | cut -d' ' -f1)" || fail "the read-only disk's block read differently"
console_has "^ro-write-status 0" && fail "a write to the read-only disk succeeded in Linux"
pass "the read-only disk serves reads and Linux refuses writes to it"

# Power-off, then the host's view once blkback closed the images.
"$KXL" shutdown linux > "$T/shutdown.out" 2>&1 || { cat "$T/shutdown.out"; fail "kxl shutdown of the Linux guest"; }
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
for v in 51712 51728 51744; do wait_file "$T/backd.log" "d$id: vbd $v: image closed" 60; done
[ "$(dd if="$T/disk.img" bs=4096 skip=256 count=64 2>/dev/null | md5sum | cut -d' ' -f1)" = "$g" ] ||
	fail "the host does not see the guest's pattern at 1 MiB of disk.img"
e2fsck -fn "$T/ext4.img" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn after the guest's writes"; }
debugfs -R "dump /from-guest $T/from-guest" "$T/ext4.img" > /dev/null 2>&1
[ "$(md5sum < "$T/from-guest" | cut -d' ' -f1)" = "$g" ] || fail "the guest's file in ext4.img differs on the host"
cmp -s <(head -c 4096 "$T/ro.img") "$T/ropat" || fail "the read-only image changed"
# The 4 MiB the guest wrote and deleted were discarded through to the file (holes punched): less than 1 MiB more.
alloc1=$(stat -c %b "$T/ext4.img")
[ $(( (alloc1 - alloc0) * 512 )) -lt 1048576 ] ||
	fail "ext4.img grew by $(( (alloc1 - alloc0) / 2 )) KiB of allocation: fstrim's discards did not reach the image"
pass "after power-off the host sees the guest's block, e2fsck -fn is clean, the guest's file is in the ext4 image and its trimmed space is a hole"
