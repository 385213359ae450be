#!/bin/bash
# net_restart.sh: kill -9 of kxen-backd in the middle of a UDP stream between two guests; restarted, both vifs reconnect and the stream ends checked (loss allowed, nothing corrupt or reordered).
. "$(dirname "$0")/net_lib.sh"
trap 'backd_stop; cleanup' EXIT

dom0_start
idr=$(net_guest nr "udp-recv ip=192.0.2.2/24 5001 90" br0 2)
wait_log "\(d$idr\) udp-recv: listening on port 5001" 30
ids=$(net_guest ns "udp-send ip=192.0.2.1/24 192.0.2.2 5001 ${NET_RESTART_MB:-256}" br0 1)
# The stream is flowing once the receiver's counters move.
for _ in $(seq 1 200); do
	[ "$(net_stats "$idr" 0 rx_pkts)" -gt 1000 ] 2>/dev/null && break
	sleep 0.05
done
[ "$(net_stats "$idr" 0 rx_pkts)" -gt 1000 ] || fail "the stream did not start"
backd_stop KILL
grep -q "(d$ids) udp-send: done" "$T/hv.log" && fail "the stream ended before the kill: nothing was tested"
backd_start
wait_log "\(d$idr\) udp-recv: (got|no end marker)" 120
line=$(grep "^(d$idr) udp-recv:" "$T/hv.log" | tail -1)
echo "$line"
grep "^(d$ids) udp-send:" "$T/hv.log"
wait_log "\(d$ids\) udp-send: (done|send of)" 10
echo "$line" | grep -q "got [0-9]* of [0-9]* datagrams" || fail "the receiver saw no end marker after the restart"
echo "$line" | grep -q "bad 0, out of order 0" || fail "corrupt or reordered datagrams across the restart"
for id in $idr $ids; do
	[ "$(grep -c "d$id: vif 0: connected" "$T/backd.log")" -ge 2 ] || fail "the restarted kxen-backd did not reconnect d$id's vif"
done
pass "UDP stream across kill -9 of kxen-backd: $(echo "$line" | sed 's/.*udp-recv: //')"
