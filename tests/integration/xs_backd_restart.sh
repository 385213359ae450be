#!/bin/bash
# kill -9 of kxenstored while a guest writes its disk and prints to its console: kxen-backd reconnects, the guest's vbd and console never stop, and a domain and a disk attached after the restart are served.
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT

N=1600 KIB=32
dom0_start
truncate -s 64M "$T/loop.raw"
mkcfg xbr "blk-loop $N 5 $KIB 5" 16 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$T/loop.raw'/><target dev='xvda' bus='xen'/></disk></devices>"
id=$(create xbr)
LOG=$T/console/guest-xbr.log
wait_file "$LOG" "blk-loop: (acked 100|FAIL)" 60
kill -9 "$XSPID"
wait "$XSPID" 2>/dev/null
XSPID=
wait_file "$T/backd.log" "xenstore: connection lost" 10
# Disk I/O needs no xenstore: the guest keeps writing while it is down.
down=$(grep -c "blk-loop: acked" "$LOG")
sleep 1
grep -q "blk-loop: FAIL" "$LOG" && fail "the guest's disk failed while kxenstored was down"
grep -q "blk-loop: done" "$LOG" && fail "the guest finished before the restart: nothing was tested"
mv "$T/xs.log" "$T/xs-1.log"
xs_start
wait_file "$T/backd.log" "xenstore: reconnected after [0-9]+ tries" 20
kill -0 "$BACKDPID" 2>/dev/null || fail "kxen-backd exited"
after=$(grep -c "blk-loop: acked" "$LOG")
wait_file "$LOG" "blk-loop: (done|FAIL)" 180
grep "blk-loop: FAIL" "$LOG" && fail "the guest saw a disk error across the restart"
# The console carried the whole run: the acks printed before, during and after the outage, in order.
tr -d '\r' < "$LOG" | sed -n 's/^blk-loop: acked //p' > "$T/got"
seq 100 100 $N > "$T/want"
cmp -s "$T/got" "$T/want" || { diff "$T/want" "$T/got" | head; fail "console lines lost or repeated across the restart"; }
# Connected once each: a device dropped and taken over again would say so twice.
[ "$(grep -c "d$id: vbd 51712: connected" "$T/backd.log")" = 1 ] || fail "the vbd was reconnected: it should have stayed connected"
[ "$(grep -c "d$id: console attached" "$T/backd.log")" = 1 ] || fail "the console was attached again: it should have stayed"
pass "kill -9 of kxenstored (at $down acks of $((N / 100)), $after after the reconnect): the vbd and console stayed connected, $N writes verified, every console line once"

# After the restart: a new domain is found (@introduceDomain watched again) and a disk attached to it is served.
truncate -s 16M "$T/hp.img"
mkcfg hp "blk-hotplug" 32
id2=$(create hp)
wait_log "\(d$id2\) blk-hotplug: waiting for a vbd" 30
"$KXL" block-attach hp "format=raw, vdev=xvdb, access=rw, target=$T/hp.img" || fail "block-attach after the restart"
wait_log "\(d$id2\) blk-hotplug: (connected and verified|FAIL)" 30
grep -q "(d$id2) blk-hotplug: connected and verified" "$T/hv.log" || fail "the disk attached after the restart failed"
wait_file "$T/console/guest-hp.log" "blk-hotplug: connected and verified" 10
pass "after the restart a new domain's console and a block-attach to it were served"

# A second loss while nothing is connected to reconnect to for a while: backd keeps retrying, then resumes.
lines=$(wc -l < "$T/backd.log")
kill -9 "$XSPID"
wait "$XSPID" 2>/dev/null
XSPID=
wait_until 20 eval 'tail -n +$((lines + 1)) "$T/backd.log" | grep -q "xenstore: reconnect 3 failed"' ||
	fail "kxen-backd did not retry while kxenstored was down"
sleep 2                         # backoff grown to its ceiling
kill -0 "$BACKDPID" 2>/dev/null || fail "kxen-backd exited while kxenstored was down"
mv "$T/xs.log" "$T/xs-2.log"
xs_start
wait_until 20 eval '[ "$(grep -c "xenstore: reconnected" "$T/backd.log")" = 2 ]' || fail "kxen-backd did not reconnect a second time"
"$KXL" block-detach hp xvdb || fail "block-detach after the second restart"
wait_log "\(d$id2\) blk-hotplug: detached" 20
pass "a second restart, with failed reconnects before it: kxen-backd reconnected and served a detach"
"$KXL" destroy "$id" >/dev/null 2>&1
"$KXL" destroy "$id2" >/dev/null 2>&1
