# linux_root_lib.sh: a Linux guest whose root is an ext4 disk built at test time (sourced after linux_lib.sh).

# root_setup SCRIPT: SKIPs without e2fsprogs or qemu-img; $T/rootfs is this tree's busybox tree (scripts/mkinitramfs.sh -d)
# with /from-host and /t.sh = SCRIPT (run by the disk's busybox init through kxen.run=/t.sh), made into the 64 MiB ext4
# image $T/root.img (mkfs.ext4 -d); $T/linux.xml boots Debian's cloud kernel with root=/dev/xvda rw and blkfront's
# 4-page ring (its module parameter: Linux 6.1 asks for 1 page unless told). Not 16 pages: with persistent grants
# blkfront allocates ring slots x (segments + 1) pages per disk up front (512 x 33 pages = 66 MiB at order 4), and
# 256 segments a request (blkfront's max_indirect_segments, 32 by default) on 16 pages would need 514 MiB per disk.
root_setup() {
	local abi
	linux_setup "/t.sh"
	for t in mkfs.ext4 e2fsck debugfs qemu-img; do
		command -v $t > /dev/null || skip "no $t on this host (e2fsprogs, qemu-utils)"
	done
	abi=$(cat "$C/linux-abi")
	"$S/scripts/mkinitramfs.sh" -k "$C/linux-image-$abi-cloud-amd64" -b "$C/busybox" -d "$T/rootfs" > "$T/mkroot.out" 2>&1 ||
		{ cat "$T/mkroot.out"; fail "scripts/mkinitramfs.sh -d"; }
	echo "written on the host $$" > "$T/rootfs/from-host"
	printf '%s\n' "$1" > "$T/rootfs/t.sh"
	chmod 755 "$T/rootfs/t.sh"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d "$T/rootfs" "$T/root.img" 64M > "$T/mkfs.out" 2>&1 ||
		{ cat "$T/mkfs.out"; fail "mkfs.ext4 -d"; }
	sed -i "s|console=hvc0|console=hvc0 root=/dev/xvda rw xen_blkfront.max_ring_page_order=2|" \
		"$T/linux.xml"
}

# xml_disk FILE DEV FORMAT [readonly]: a <disk> element.
xml_disk() {
	echo "<disk type='file' device='disk'><driver name='qemu' type='$3'/><source file='$1'/><target dev='$2' bus='xen'/>${4:+<readonly/>}</disk>"
}

# root_boot DISKS_XML: adds the <disk> elements to $T/linux.xml, creates the guest; sets id.
root_boot() {
	sed -i "s|</os>|</os><devices>$1</devices>|" "$T/linux.xml"
	"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
	id=$(domid_of linux)
	[ -n "$id" ] || fail "no domain id in the log"
}

# con_line LINE: the console has exactly LINE (hvc0's \r dropped).
con_line() { tr -d '\r' < "$CON" | grep -qx -- "$1"; }

# wait_console LINE [SECONDS]: waits for a console line starting with LINE; fails with the console's tail.
wait_console() {
	wait_until "${2:-400}" console_has "^$1" ||
		{ tail -30 "$CON"; tail -20 "$T/backd.log"; fail "the guest never printed '$1'"; }
}

# root_checks_negotiated GRANULARITY: the 4-page ring, indirect segments, persistent grants, flush and discard, seen from
# xenstore, kxen-backd's log and the guest's own report (the 'q-', 'fe-' and dmesg lines root scripts print).
root_checks_negotiated() {
	local fe=/local/domain/$id/device/vbd/51712 i gran=$1
	[ "$(xenstore-read "$fe/ring-page-order")" = 2 ] || fail "Linux did not take the 4-page ring (ring-page-order)"
	for i in $(seq 0 3); do xenstore-read "$fe/ring-ref$i" > /dev/null || fail "no ring-ref$i in $fe"; done
	[ "$(xenstore-read "$fe/feature-persistent")" = 1 ] || fail "Linux did not ask for persistent grants"
	grep -q "d$id: vbd 51712: connected: 4-page ring, .*persistent grants" "$T/backd.log" ||
		{ grep "d$id: vbd 51712" "$T/backd.log"; fail "blkback did not connect xvda's 4-page ring with persistent grants"; }
	console_has "blkfront: xvda: flush diskcache: enabled; persistent grants: enabled; indirect descriptors: enabled;" ||
		fail "Linux's blkfront did not take flush, persistent grants and indirect descriptors"
	# 32 segments a request (indirect: 11 fit in a direct one), a write-back cache (flush), discard in the image's units.
	con_line "q-max_segments 32" && con_line "q-max_hw_sectors_kb 128" && con_line "q-write_cache write back" &&
		con_line "q-discard_granularity $gran" || { grep "^q-" "$CON"; fail "xvda's queue limits in Linux"; }
	pass "Linux's blkfront negotiated a 4-page ring (ring-ref0..3), persistent grants, indirect segments (32 a request), flush and discard"
}

# The guest's report of its root and its queue limits (the start of every root script).
ROOT_REPORT='m=$(grep "^/dev/xvda / " /proc/mounts); echo root $(echo $m | cut -d" " -f1-3) $(echo $m | cut -d" " -f4 | cut -d, -f1)
echo host-file $(cat /from-host)
for f in max_segments max_hw_sectors_kb write_cache discard_granularity; do echo q-$f $(cat /sys/block/xvda/queue/$f); done
seq 1 40000 > /from-guest; echo guest-file $(md5sum < /from-guest)
dd if=/dev/urandom of=/data bs=64k count=128 2>/dev/null; echo guest-data $(md5sum < /data)
sync; echo sync-status $?'

# root_checks_report: the root the guest reports is xvda, ext4, read-write, with the host's file.
root_checks_report() {
	wait_console "sync-status"
	con_line "root /dev/xvda / ext4 rw" || { grep "^root \|kxen-init" "$CON"; fail "the guest's / is not xvda's ext4, read-write"; }
	console_has "^host-file written on the host $$" || fail "the host's file on the root disk read differently"
	console_has "^sync-status 0" || fail "sync on the root disk failed"
	pass "Linux switched to ext4 on xvda as / (read-write), read the host's file, wrote and synced its own"
}

# root_checks_files IMAGE_RAW [FILE:TAG...]: e2fsck -fn is clean and the guest's files are in the image with the right
# bytes: /from-guest and /data, and each /FILE whose md5 the guest printed as 'guest-TAG MD5'.
root_checks_files() {
	local f sum more=
	e2fsck -fn "$1" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn of the root disk after the guest"; }
	for f in from-guest:file data:data "${@:2}"; do
		rm -f "$T/got"
		debugfs -R "dump /${f%%:*} $T/got" "$1" > /dev/null 2>&1
		sum=$(md5sum < "$T/got" 2>/dev/null | cut -d' ' -f1)
		console_has "^guest-${f#*:} $sum " || fail "/${f%%:*} in the root image differs from what the guest wrote (md5 $sum)"
	done
	for f in "${@:2}"; do more="$more, /${f%%:*}"; done
	pass "e2fsck -fn of the root disk is clean; /from-guest, /data$more hold what the guest wrote"
}
