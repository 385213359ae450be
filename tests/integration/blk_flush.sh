# blk_flush.sh: data the guest wrote and saw a flush acknowledged for survives kill -9 of kxen-backd and kxen-hv (raw and qcow2).
. "$(dirname "$0")/lib.sh"

check_image() {   # check_image FILE FORMAT SEQ: the first MiB holds blk-flush's pattern for SEQ
	local raw=$1
	if [ "$2" = qcow2 ]; then
		# A writer killed between its refcount and table updates may leave leaked clusters
		# (qemu-img check exit 3: space counted as used that nothing references, never data
		# lost, as qemu after a crash); corruption (2) or an unreadable image (1) fails. The
		# leaks must then repair to a clean image.
		qemu-img check "$1" > "$T/check.out" 2>&1
		case $? in
		0) ;;
		3) qemu-img check -q -r leaks "$1" > "$T/repair.out" 2>&1 && qemu-img check -q "$1" ||
			{ cat "$T/check.out" "$T/repair.out"; fail "leaks after kill -9 do not repair"; }
		   echo "note: $(grep -c '^Leaked cluster' "$T/check.out") leaked clusters after kill -9, repaired" ;;
		*) cat "$T/check.out"; fail "qemu-img check after kill -9" ;;
		esac
		qemu-img convert -O raw "$1" "$T/conv.raw"
		raw=$T/conv.raw
	fi
	python3 - "$raw" "$3" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read(1 << 20)
seq = int(sys.argv[2])
words = struct.unpack('<%dQ' % (len(data) // 8), data)
bad = [i for i, w in enumerate(words) if w != ((i * 8) ^ (seq << 48) ^ 0x6b78656e00000000)]
if bad:
    print("first bad word at byte", bad[0] * 8, "of", len(words) * 8); sys.exit(1)
PY
}

run() {   # run FORMAT SEQ
	local img=$T/flush.$1
	if [ "$1" = qcow2 ]; then qemu-img create -q -f qcow2 "$img" 32M; else truncate -s 32M "$img"; fi
	dom0_start
	mkcfg fl "blk-flush $2" 32 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='$1'/><source file='$img'/><target dev='xvda' bus='xen'/></disk></devices>"
	id=$(create fl)
	wait_log "\(d$id\) blk-flush: (acked|FAIL)" 60
	grep -q "(d$id) blk-flush: acked $2" "$T/hv.log" || fail "no flush ack"
	# Right after the ack: no clean shutdown for anyone.
	kill -9 "$BACKDPID" "$HVPID"
	wait "$BACKDPID" "$HVPID" 2>/dev/null
	BACKDPID= HVPID=
	kill "$XSPID"; wait "$XSPID" 2>/dev/null; XSPID=
	for p in $(monitor_pids); do kill "$p" 2>/dev/null; done
	check_image "$img" "$1" "$2" || fail "$1: acknowledged data lost after kill -9"
	pass "$1: the flushed MiB survived kill -9 of kxen-backd and kxen-hv"
	mv "$T/hv.log" "$T/hv-$1.log"
}

run raw 5
if command -v qemu-img >/dev/null; then
	run qcow2 9
else
	echo "qemu-img not installed (Debian package qemu-utils): qcow2 part skipped"
fi
