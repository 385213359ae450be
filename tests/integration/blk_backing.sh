# blk_backing.sh: a qcow2 overlay whose header names an absolute backing file is refused; named in the XML's <backingStore> it serves the guest.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null || skip "qemu-img not installed (Debian package qemu-utils)"

dom0_start
mkdir -p "$T/base" "$T/vm"
head -c $((64 << 20)) /dev/urandom > "$T/base/base.raw"
# An absolute name in the header: what a hostile image would use to show a host file to the guest.
qemu-img create -q -f qcow2 -b "$T/base/base.raw" -F raw "$T/vm/top.qcow2" 64M
cp "$T/vm/top.qcow2" "$T/vm/pristine.qcow2"
mkdisk() {   # mkdisk NAME [extra XML inside <disk>]
	mkcfg "$1" "blk-test 16 100" 48 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='$T/vm/top.qcow2'/><target dev='xvda' bus='xen'/>${2:-}
    </disk></devices>"
}

mkdisk refused
"$KXL" create "$T/refused.xml" > "$T/create.out" 2>&1 && fail "an absolute backing file in the image was followed"
grep -q "backing file '$T/base/base.raw' is an absolute path" "$T/create.out" ||
	{ cat "$T/create.out"; fail "the refusal does not say why"; }
cmp -s "$T/vm/top.qcow2" "$T/vm/pristine.qcow2" || fail "the refused image changed"
pass "a backing file the image names by absolute path is refused, with the reason"

mkdisk named "<backingStore type='file'><format type='raw'/><source file='$T/base/base.raw'/><backingStore/></backingStore>"
id=$(create named)
wait_log "\(d$id\) blk-test: (OK|FAIL)" 120
grep -q "(d$id) blk-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log" | tail; tail "$T/backd.log"; fail "blk-test over the named backing file"; }
"$KXL" destroy named 2>/dev/null   # it may have powered off already
# The guest flushed before its last discard and kxen-backd may still hold the image: no corruption (exit 2),
# leaked clusters (exit 3) allowed until the backend closes it.
rc=0; qemu-img check -q "$T/vm/top.qcow2" || rc=$?
[ $rc = 0 ] || [ $rc = 3 ] || fail "qemu-img check after the guest's writes: exit $rc"
# Past what the guest wrote, the overlay still reads as the backing file.
qemu-img convert -O raw "$T/vm/top.qcow2" "$T/conv.raw"
cmp -s <(tail -c $((32 << 20)) "$T/conv.raw") <(tail -c $((32 << 20)) "$T/base/base.raw") ||
	fail "the overlay's unwritten half differs from its backing file"
pass "named in <backingStore>, the backing file serves the guest; qemu-img finds no corruption"
