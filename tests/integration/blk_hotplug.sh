# blk_hotplug.sh: kxl block-attach/list/detach on a running guest, with the full XenbusState close sequence, and their errors.
. "$(dirname "$0")/lib.sh"

dom0_start
truncate -s 16M "$T/hp.img"
mkcfg hp "blk-hotplug" 32
id=$(create hp)
wait_log "\(d$id\) blk-hotplug: waiting for a vbd" 30
"$KXL" block-attach hp "format=raw, vdev=xvdb, access=rw, target=$T/hp.img" || fail "block-attach"
wait_log "\(d$id\) blk-hotplug: connected and verified" 30
pass "block-attach: the running guest found xvdb and verified I/O on it"
out=$("$KXL" block-list hp)
echo "$out"
echo "$out" | head -1 | grep -q "^Vdev  BE  handle state evt-ch ring-ref BE-path" || fail "block-list header"
echo "$out" | grep -Eq "^51728 +0 +51728 +4 +[0-9]+ +[0-9]+ +/local/domain/0/backend/vbd/$id/51728" || fail "block-list line"
pass "block-list shows the connected device"
# kxtop's counters: the backend's statistics file (devstats.h), once a second.
wait_file "$T/run/vbd/$id-51728" "^wr_sect 2048$" 5
# The guest reads after it writes: a file written between the two has the write only.
wait_file "$T/run/vbd/$id-51728" "^rd_sect 2048$" 5
for kv in "oo_req 0" "rd_req [1-9][0-9]*" "wr_req [1-9][0-9]*" "rd_sect 2048" "created_ns [1-9][0-9]*"; do
	grep -Eq "^$kv$" "$T/run/vbd/$id-51728" || { cat "$T/run/vbd/$id-51728"; fail "vbd counters: no '$kv'"; }
done
pass "per-vbd counters published for kxtop (1 read, 1 write request of 2048 sectors each)"

"$KXL" block-detach hp xvdb || fail "block-detach"
wait_log "\(d$id\) blk-hotplug: detached; I/O now gives -19" 10
grep -q "(d$id) blkfront: device/vbd/51728: backend is closing; closing" "$T/hv.log" || fail "guest did not close"
xenstore-exists "/local/domain/$id/device/vbd/51728" 2>/dev/null && fail "frontend directory left behind"
xenstore-exists "/local/domain/0/backend/vbd/$id/51728" 2>/dev/null && fail "backend directory left behind"
[ "$("$KXL" block-list hp | wc -l)" = 1 ] || fail "block-list after detach"
grep -q "d$id: vbd 51728: disconnected" "$T/backd.log" || fail "backend did not disconnect"
pass "block-detach walked Closing/Closed with the guest and removed both directories"

# Errors name the problem.
out=$("$KXL" block-attach hp "format=raw,vdev=xvdc,target=$T/missing.img" 2>&1) && fail "missing image accepted"
echo "$out" | grep -q "missing.img: No such file or directory" || { echo "$out"; fail "missing image message"; }
qemu-img create -q -f raw "$T/notq.img" 1M 2>/dev/null || truncate -s 1M "$T/notq.img"
out=$("$KXL" block-attach hp "format=qcow2,vdev=xvdc,target=$T/notq.img" 2>&1) && fail "raw file as qcow2 accepted"
echo "$out" | grep -q "notq.img (format qcow2):" || { echo "$out"; fail "format message"; }
out=$("$KXL" block-attach hp "format=vmdk,vdev=xvdc,target=$T/hp.img" 2>&1) && fail "vmdk accepted"
echo "$out" | grep -q "format=vmdk: expected raw or qcow2" || { echo "$out"; fail "vmdk message"; }
out=$("$KXL" block-attach hp "format=raw,vdev=sda,target=$T/hp.img" 2>&1) && fail "sda accepted"
echo "$out" | grep -q "vdev=sda: expected xvdX" || { echo "$out"; fail "vdev message"; }
out=$("$KXL" block-detach hp xvdp 2>&1) && fail "detach of a missing device succeeded"
echo "$out" | grep -q "has no vbd device 51952" || { echo "$out"; fail "detach message"; }
pass "attach/detach errors name the problem"

# xl's positional spec, on a guest without a frontend: the backend closes at once.
mkcfg idle "idle" 16
id2=$(create idle)
"$KXL" block-attach idle "$T/hp.img,raw,xvdd,r" || fail "positional block-attach"
[ "$(xenstore-read /local/domain/0/backend/vbd/$id2/51760/mode)" = r ] || fail "positional access"
# The existence check runs inside kxl's transaction: a second attach of xvdd is refused, the first kept.
out=$("$KXL" block-attach idle "$T/hp.img,raw,xvdd,r" 2>&1) && fail "second attach of xvdd accepted"
echo "$out" | grep -q "cannot add vbd 51760 of domain $id2: it exists already" || { echo "$out"; fail "exists message"; }
[ "$(xenstore-read /local/domain/0/backend/vbd/$id2/51760/mode)" = r ] || fail "second attach changed the first"
# -t bounds the wait for Closed; the backend answers at once when it gets the CPU (-j4 check: seconds).
"$KXL" block-detach -t 60 idle xvdd || fail "detach from a guest without blkfront"
pass "positional spec; detach from a guest that never connected"
"$KXL" destroy hp
"$KXL" destroy idle
