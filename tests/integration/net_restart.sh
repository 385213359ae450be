#!/bin/bash
# net_restart.sh: kill -9 of kxen-backd in the middle of a UDP stream between two guests; restarted, both vifs reconnect and the stream ends checked (loss allowed, nothing corrupt or reordered).
. "$(dirname "$0")/net_lib.sh"
trap 'backd_stop; cleanup' EXIT

dom0_start
udp_stream "${NET_RESTART_MB:-256}"
backd_stop KILL
grep -q "(d$ids) udp-send: done" "$T/hv.log" && fail "the stream ended before the kill: nothing was tested"
backd_start
wait_log "\(d$idr\) udp-recv: (got|no end marker)" 300
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
