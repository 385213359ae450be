# blk_rw.sh: a guest with a raw and a qcow2 disk from its XML writes a pattern, reads it back and verifies it; a read-only disk refuses writes.
. "$(dirname "$0")/lib.sh"

dom0_start
truncate -s 64M "$T/raw.img"
mkdisk() {   # mkdisk NAME FILE FORMAT [readonly] [extra blk-test words]
	mkcfg "$1" "blk-test 16 100 ${4:+ro} ${5:-}" 48 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='$3'/><source file='$2'/><target dev='xvda' bus='xen'/>${4:+<readonly/>}
    </disk></devices>"
}

# release NAME ID: the guest powers itself off after its test (destroy it if it has not yet), then
# kxen-backd frees the vbd: "image closed" is logged once disk_close has flushed and closed the file.
# Only then is the image the host sees complete: reading it earlier races with the last flush.
release() {
	listed "$2" && "$KXL" destroy "$1" 2>/dev/null
	wait_file "$T/backd.log" "d$2: vbd 51712: image closed" 60
}

mkdisk rawg "$T/raw.img" raw
id=$(create rawg)
wait_log "\(d$id\) blk-test: (OK|FAIL)" 120
grep -q "(d$id) blk-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log" | tail -20; tail -20 "$T/backd.log"; fail "raw disk test"; }
grep "(d$id) blk-test: vbd" "$T/hv.log" | grep -q "ring 4 pages, 256 segments per request, persistent grants, flush yes, discard yes" ||
	fail "negotiated features"
pass "raw: 16 MiB written, flushed, read back and verified; random I/O; discard; past-the-end refused"
# The data is in the file the host sees: word 0 of MiB 3 names its own offset.
python3 - "$T/raw.img" <<'PY' || fail "host view of the guest's data"
import struct, sys
f = open(sys.argv[1], 'rb'); f.seek(3 << 20)
w = struct.unpack('<Q', f.read(8))[0]
sys.exit(0 if w == ((3 << 20) ^ 0x6b78656e00000000) else 1)
PY
pass "the guest's pattern is in the image file"
grep -q "d$id: vbd 51712: connected: 4-page ring" "$T/backd.log" || fail "backend log"
grep -q "raw.img (raw, 131072 sectors, discard granularity 4096)" "$T/backd.log" || fail "raw discard-granularity"
grep -q "(d$id) blk-test: data in place (zero copy)" "$T/hv.log" || fail "zero copy is the default"
grep "(d$id) blk-test: requests" "$T/hv.log" | grep -q "(bounced 0)" || fail "an aligned buffer was bounced"
release rawg "$id"

# The bounce path (blkfront copying through its persistent pages), as an unaligned buffer or a full grant cache takes it.
truncate -s 64M "$T/raw2.img"
mkdisk cpg "$T/raw2.img" raw "" copy
id=$(create cpg)
wait_log "\(d$id\) blk-test: (OK|FAIL)" 120
grep -q "(d$id) blk-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log" | tail -20; fail "copy-mode disk test"; }
grep "(d$id) blk-test: requests" "$T/hv.log" | grep -q "(bounced 0)" && fail "copy mode did not bounce"
release cpg "$id"
cmp -n $((16 << 20)) "$T/raw2.img" "$T/raw.img" || fail "copy mode wrote other bytes than zero copy"
pass "copy mode: verified in the guest, same bytes on the host as the zero-copy run"

if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 "$T/disk.qcow2" 64M
	mkdisk qg "$T/disk.qcow2" qcow2
	id=$(create qg)
	wait_log "\(d$id\) blk-test: (OK|FAIL)" 120
	grep -q "(d$id) blk-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log" | tail; tail "$T/backd.log"; fail "qcow2 disk test"; }
	grep -q "disk.qcow2 (qcow2, 131072 sectors, discard granularity 65536)" "$T/backd.log" ||
		fail "qcow2 discard-granularity is not its 64 KiB cluster size"
	release qg "$id"
	# Cleanly closed, the image must be entirely clean: no leaked cluster either (exit 3), which
	# only a writer killed between its refcount and table updates may leave (blk_flush.sh).
	qemu-img check "$T/disk.qcow2" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "qemu-img check after the guest's writes"; }
	qemu-img convert -O raw "$T/disk.qcow2" "$T/conv.raw"
	cmp -n $((8 << 20)) "$T/conv.raw" "$T/raw.img" || fail "qcow2 contents differ from the raw run's"
	pass "qcow2: verified in the guest, qemu-img check clean, same bytes as the raw run"
	# Extended L2 entries (subclusters): the guest's writes and its discard change the subcluster
	# bitmaps; without a backing file at 16 KiB and 2 MiB clusters, over one at 64 KiB.
	head -c $((64 << 20)) /dev/urandom > "$T/xbase.raw"
	cp "$T/xbase.raw" "$T/xexpect.raw"
	dd if="$T/raw.img" of="$T/xexpect.raw" bs=1M count=16 conv=notrunc status=none
	for cs in 16384 2097152 65536; do
		back=; ref="$T/raw.img"
		[ $cs = 65536 ] && back="-b xbase.raw -F raw" ref="$T/xexpect.raw"
		(cd "$T" && qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=$cs $back "x$cs.qcow2" 64M)
		mkdisk "x$cs" "$T/x$cs.qcow2" qcow2
		id=$(create "x$cs")
		wait_log "\(d$id\) blk-test: (OK|FAIL)" 120
		grep -q "(d$id) blk-test: OK" "$T/hv.log" || { grep "(d$id)" "$T/hv.log" | tail; tail "$T/backd.log"; fail "extended L2 ($cs) disk test"; }
		grep -q "x$cs.qcow2 (qcow2, 131072 sectors, discard granularity $((cs / 32)))" "$T/backd.log" ||
			fail "extended L2 ($cs): discard-granularity is not the subcluster size"
		release "x$cs" "$id"
		qemu-img check "$T/x$cs.qcow2" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "qemu-img check of the extended L2 ($cs) image"; }
		qemu-img compare -q -f raw -F qcow2 "$ref" "$T/x$cs.qcow2" || fail "extended L2 ($cs): qemu-img compare with the reference"
	done
	pass "extended L2 entries (16 KiB, 2 MiB, 64 KiB over a backing file): verified in the guest, qemu-img check clean, qemu-img compare equal to the raw run"
else
	echo "qemu-img not installed (Debian package qemu-utils): qcow2 part skipped"
fi

mkdisk rog "$T/raw.img" raw ro
id=$(create rog)
wait_log "\(d$id\) blk-test: (OK|FAIL)" 60
grep -q "(d$id) blk-test: write to the read-only disk: refused" "$T/hv.log" || fail "read-only write not refused"
grep -q "(d$id) blk-test: OK" "$T/hv.log" || fail "read-only disk test"
pass "read-only disk refuses writes and serves reads"
