# xml_libvirt.sh: libvirt-written configs create real guests (examples as shipped, a block device, an ethernet vif); dumpxml keeps them; disks the backend refuses fail the create at once.
. "$(dirname "$0")/lib.sh"

dom0_start
export KXEN_GUEST_DIR=$B/pv-drivers/guest
validate_libvirt() {   # validate_libvirt FILE: libvirt's own schema, when virt-xml-validate is installed
	command -v virt-xml-validate >/dev/null || return 0
	virt-xml-validate "$1" domain >/dev/null 2>&1 || { cat "$1"; virt-xml-validate "$1" domain; fail "libvirt's schema refuses $1"; }
}

# The examples as shipped: devices.xml after its make-images.sh, libvirt-pv.xml as it is.
cp -r "$S/xml/examples" "$T/ex"
"$T/ex/make-images.sh" > /dev/null || fail "make-images.sh"
"$KXL" create "$T/ex/devices.xml" > "$T/c.out" 2>&1 || { cat "$T/c.out"; fail "create devices.xml"; }
id=$(domid_of devices)
"$KXL" dumpxml devices > "$T/dump.xml" || fail "dumpxml devices"
grep -q "<domain type=\"xen\" id=\"$id\">" "$T/dump.xml" || { cat "$T/dump.xml"; fail "live id in dumpxml"; }
grep -q "<target dev=\"devices-eth\"/>" "$T/dump.xml" || fail "vif name kept"
grep -q "<source file=\"$T/ex/images/root.img\"/>" "$T/dump.xml" || fail "resolved image path"
validate_libvirt "$T/dump.xml"
[ "$(xenstore-read "/local/domain/0/backend/vif/$id/1/vifname")" = devices-eth ] || fail "vifname key"
[ "$(xenstore-read "/local/domain/0/backend/vif/$id/1/bridge")" = devices-eth ] || fail "ethernet vif on its own switch"
[ "$(xenstore-read "/local/domain/0/backend/vbd/$id/51712/state")" -ge 2 ] || fail "vbd not taken by the backend"
"$KXL" destroy devices || fail "destroy devices"
out=$("$KXL" create -p "$T/ex/libvirt-pv.xml" 2>&1) || { echo "$out"; fail "create libvirt-pv.xml"; }
echo "$out" | grep -q "<memballoon model='xen'>: nothing to add: the guest's balloon driver follows memory/target" || { echo "$out"; fail "memballoon note"; }
echo "$out" | grep -q "<input bus='xen'>: the PV keyboard/pointer (vkbd) connects but kxen has no input source" ||
	{ echo "$out"; fail "input note"; }
"$KXL" dumpxml libvirt-pv > "$T/dump2.xml" || fail "dumpxml libvirt-pv"
validate_libvirt "$T/dump2.xml"
"$KXL" destroy libvirt-pv

# libvirt's two <input bus='xen'>: one vkbd device, which a frontend connects to kxen-backd's vkbd backend.
mkcfg kbd vkbd-test 8 1 "<devices><input type='mouse' bus='xen'/><input type='keyboard' bus='xen'/></devices>"
id=$(create kbd)
wait_log "^\(d$id\) vkbd-test: (OK|FAIL)" 30
grep -q "^(d$id) vkbd-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log"; tail "$T/backd.log"; fail "vkbd did not connect"; }
grep -q "d$id: vkbd 0: connected (page [0-9]*, port [0-9]*): no input source" "$T/backd.log" ||
	{ tail "$T/backd.log"; fail "vkbd backend log"; }
grep -q "^(d$id) vkbd-test: 1 device(s), feature-abs-pointer 1" "$T/hv.log" || fail "one vkbd device with the backend's feature key"
"$KXL" destroy kbd 2>/dev/null
pass "<input bus='xen'>: one vkbd device, connected by kxen-backd (no input events)"
pass "examples create as shipped; dumpxml keeps the user's XML and passes libvirt's schema"

# <disk type='block'>: a loop device, served raw; the guest writes and verifies its pattern on it.
truncate -s 64M "$T/blk.img"
if loop=$(losetup -f --show "$T/blk.img" 2>/dev/null); then
	mkcfg blkdev "blk-test 16 100" 48 1 "<devices><disk type='block' device='disk'>
      <driver name='phy' type='raw'/><source dev='$loop'/><target dev='xvda' bus='xen'/></disk></devices>"
	sed -i "s/type='kxen'/type='xen'/" "$T/blkdev.xml"
	"$KXL" -N create "$T/blkdev.xml" | grep -q "disk xvda: $loop, raw, 67108864 bytes (64 MiB), read-write, block device" ||
		{ losetup -d "$loop"; fail "dry-run plan of the block device"; }
	id=$(create blkdev)
	wait_log "\(d$id\) blk-test: (OK|FAIL)" 120
	grep -q "(d$id) blk-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log" | tail; tail "$T/backd.log"; losetup -d "$loop"; fail "block device test"; }
	"$KXL" destroy blkdev 2>/dev/null   # blk-test powers off when done
	cmp -n $((1 << 20)) "$T/blk.img" /dev/zero >/dev/null && { losetup -d "$loop"; fail "the guest's data is not on the device"; }
	# xl's phy: spelling on block-attach: the backend's type says so and it serves the device.
	mkcfg phyg idle
	id=$(create phyg)
	"$KXL" block-attach phyg "phy:$loop,raw,xvdb,w" || { losetup -d "$loop"; fail "block-attach phy:"; }
	[ "$(xenstore-read "/local/domain/0/backend/vbd/$id/51728/type")" = phy ] || { losetup -d "$loop"; fail "phy type"; }
	"$KXL" destroy phyg
	losetup -d "$loop"
	pass "a block device (loop) as <disk type='block'> and as block-attach phy:: verified in the guest, data on the device"
else
	echo "losetup failed (needs root and loop devices): block device part skipped"
fi

# Disks the backend refuses: kxl create fails with the reason, and no domain is left.
refused() {   # refused NAME FILE FORMAT PATTERN
	mkcfg "$1" "blk-test 1 1" 16 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='$3'/><source file='$2'/><target dev='xvda' bus='xen'/></disk></devices>"
	out=$("$KXL" create "$T/$1.xml" 2>&1) && fail "$1: create succeeded"
	echo "$out" | grep -q -- "$4" || { echo "$out"; fail "$1: reason"; }
	echo "$out" | grep -q "$1.xml:[0-9]*: <disk>: cannot add xvda" || { echo "$out"; fail "$1: config line"; }
	"$KXL" list | grep -q "^$1 " && fail "$1: a domain was left behind"
}
dry_refused() {   # dry_refused NAME PATTERN: kxl -N opens the image read-only and fails the same way
	out=$("$KXL" -N create "$T/$1.xml" 2>&1) && fail "$1: -N create succeeded"
	echo "$out" | grep -q -- "$2" || { echo "$out"; fail "$1: -N reason"; }
}
refused missing "$T/nope.img" raw "No such file or directory"
dry_refused missing "missing.xml:[0-9]*: <disk>: .*nope.img.*No such file or directory"
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 -o lazy_refcounts=on "$T/dirty.qcow2" 16M
	# The dirty bit (incompatible feature bit 0, header byte 79), as a crash with lazy refcounts leaves it.
	printf '\001' | dd of="$T/dirty.qcow2" bs=1 seek=79 conv=notrunc status=none
	refused dirty "$T/dirty.qcow2" qcow2 "the block backend refused xvda.*image is dirty"
	qemu-img create -q -f qcow2 "$T/snap.qcow2" 16M
	qemu-img snapshot -c s1 "$T/snap.qcow2"
	refused snap "$T/snap.qcow2" qcow2 "internal snapshots"
	qemu-img create -q -f qcow2 "$T/trunc.qcow2" 16M
	truncate -s 300 "$T/trunc.qcow2"
	refused trunc "$T/trunc.qcow2" qcow2 "trunc.qcow2"
	dry_refused trunc "trunc.xml:[0-9]*: <disk>: .*trunc.qcow2"
	# Only a read-write open finds a dirty image: the dry run lists it, the backend refuses it.
	"$KXL" -N create "$T/dirty.xml" | grep -q "disk xvda: $T/dirty.qcow2, qcow2, 16777216 bytes (16 MiB), read-write" ||
		fail "dry-run plan of the dirty disk"
	# block-attach of the dirty image to a running guest: refused with the same reason.
	mkcfg idler idle
	id=$(create idler)
	out=$("$KXL" block-attach idler "format=qcow2, vdev=xvdb, access=rw, target=$T/dirty.qcow2" 2>&1) &&
		fail "block-attach of a dirty image succeeded"
	echo "$out" | grep -q "image is dirty" || { echo "$out"; fail "block-attach reason"; }
	"$KXL" destroy idler
	pass "dirty, snapshotted and truncated qcow2 images and a missing file fail create and block-attach with the reason"
else
	pass "a missing image fails create with the reason (qemu-img not installed: qcow2 cases skipped)"
fi
