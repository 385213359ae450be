# kill -9 of kxenstored while a guest writes and watches: restarted, it has every acknowledged node with its permissions, and the guest carries on.
. "$(dirname "$0")/xenbus_lib.sh"
dom0_start
# 80 writes, one every 50 ms: the kill lands in the middle of the guest's traffic.
id=$(xb_create xsl "xs-loop data 80 50")
D=/local/domain/$id
wait_log "^\(d$id\) xs-loop: watching data/watched" 20
wait_log "^\(d$id\) xs-loop: acked 10$" 20
xenstore-write "$D/data/dom0" "from dom0" || fail "xenstore-write"
xenstore-chmod "$D/data/dom0" "b$id" r0 || fail "xenstore-chmod"
# A dom0 client writing as fast as it can, logging each acknowledged write: the kill lands among them.
( i=0; while i=$((i + 1)) && xenstore-write "/stress/k$i" "v$i" 2>/dev/null; do echo "$i" >> "$T/dom0.acked"; done ) &
writer=$!
for _ in $(seq 1 100); do [ "$(wc -l < "$T/dom0.acked" 2>/dev/null || echo 0)" -ge 20 ] && break; sleep 0.05; done
# Everything but the running writes, with permissions: must be equal after the restart.
xenstore-ls -f -p | grep -v "^$D/data/n\|^/stress" > "$T/before.ls"
kill -9 "$XSPID"
wait "$XSPID" 2>/dev/null
XSPID=
acked=$(grep -c "^(d$id) xs-loop: acked" "$T/hv.log")
wait "$writer"                  # its next write fails with the daemon gone
dom0_acked=$(wc -l < "$T/dom0.acked")
[ "$dom0_acked" -ge 20 ] || fail "the dom0 writer got only $dom0_acked writes in"
sleep 0.3                       # the guest's next write waits in its ring meanwhile
mv "$T/xs.log" "$T/xs-1.log"
xs_start
grep "restored d$id" "$T/xs.log" || { cat "$T/xs.log"; fail "d$id was not restored"; }
wait_log "^\(d$id\) xs-loop: (acked $((acked + 10))|FAIL)" 30
grep -q "^(d$id) xs-loop: FAIL" "$T/hv.log" && { grep "^(d$id)" "$T/hv.log" | tail; fail "the guest's xenbus failed across the restart"; }
# Every write the guest saw acknowledged before the kill (and the 10 after), with the guest's ownership.
for i in $(seq 1 "$((acked + 10))"); do
	v=$(xenstore-read "$D/data/n$i") || fail "$D/data/n$i, acknowledged before the kill, is gone"
	[ "$v" = "v$i" ] || fail "$D/data/n$i is '$v', want 'v$i'"
done
p=$(xenstore-ls -f -p "$D/data" | sed -n "s|^$D/data/n1 = \"v1\" *(\(.*\))|\1|p")
[ "$p" = "n$id" ] || fail "$D/data/n1 permissions are '$p', want 'n$id'"
for i in $(seq 1 "$dom0_acked"); do
	[ "$(xenstore-read "/stress/k$i" 2>/dev/null)" = "v$i" ] || fail "/stress/k$i, acknowledged to dom0 before the kill, is lost"
done
xenstore-ls -f -p | grep -v "^$D/data/n\|^/stress" > "$T/after.ls"
diff "$T/before.ls" "$T/after.ls" || fail "the tree (with permissions) changed across the restart"
# The guest's watch, registered before the kill, fires for a change made after it.
xenstore-write "$D/data/watched/after" "yes" || fail "xenstore-write after the restart"
wait_log "^\(d$id\) xs-loop: event path=data/watched/after token=xs-loop" 10
wait_log "^\(d$id\) xs-loop: (OK 80 writes|FAIL)" 30
grep -q "^(d$id) xs-loop: OK 80 writes" "$T/hv.log" || fail "the guest's loop did not finish"
kill -0 "$XSPID" || fail "the restarted kxenstored died"

# A guest that dies while kxenstored is down is released when it comes back, its home removed.
id2=$(xb_create xsd "sleep 1500")
kill -9 "$XSPID"
wait "$XSPID" 2>/dev/null
XSPID=
wait_log "^\(XEN\) domain $id2 \(xsd\) destroyed" 20
mv "$T/xs.log" "$T/xs-2.log"
xs_start
grep -q "d$id2 died while kxenstored was down" "$T/xs.log" || { cat "$T/xs.log"; fail "dead d$id2 not released at restart"; }
xenstore-exists "/local/domain/$id2" && fail "/local/domain/$id2 outlived its domain across the restart"
pass "kill -9 of kxenstored: $dom0_acked acknowledged dom0 writes, $acked acknowledged guest writes, permissions and the guest's watch survived; its xenbus resumed; a guest that died meanwhile was released"
