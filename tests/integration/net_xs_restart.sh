#!/bin/bash
# net_xs_restart.sh: kill -9 of kxenstored in the middle of a UDP stream between two guests; kxen-backd reconnects to the restarted one and both vifs stay connected throughout (nothing corrupt or reordered).
. "$(dirname "$0")/net_lib.sh"
trap 'backd_stop; cleanup' EXIT

dom0_start
udp_stream "${NET_XS_RESTART_MB:-2048}"
kill -9 "$XSPID"
wait "$XSPID" 2>/dev/null
XSPID=
wait_file "$T/backd.log" "xenstore: connection lost" 10
before=$(net_stats "$idr" 0 rx_pkts)
sleep 0.5
grep -q "(d$ids) udp-send: done" "$T/hv.log" && fail "the stream ended before the restart: nothing was tested"
# The data path needs no xenstore: the receiver counts on while it is down.
[ "$(net_stats "$idr" 0 rx_pkts)" -gt "$before" ] || fail "the stream stopped while kxenstored was down"
mv "$T/xs.log" "$T/xs-1.log"
xs_start
wait_file "$T/backd.log" "xenstore: reconnected" 20
grep -q "(d$ids) udp-send: done" "$T/hv.log" && fail "the stream ended before kxen-backd reconnected: nothing was tested"
wait_log "\(d$idr\) udp-recv: (got|no end marker)" 300
line=$(grep "^(d$idr) udp-recv:" "$T/hv.log" | tail -1)
echo "$line"
echo "$line" | grep -q "got [0-9]* of [0-9]* datagrams" || fail "the receiver saw no end marker"
echo "$line" | grep -q "bad 0, out of order 0" || fail "corrupt or reordered datagrams across the restart"
for id in $idr $ids; do
	[ "$(grep -c "d$id: vif 0: connected" "$T/backd.log")" = 1 ] || fail "d$id's vif was reconnected: it should have stayed connected"
done
pass "UDP stream across kill -9 of kxenstored, both vifs connected once: $(echo "$line" | sed 's/.*udp-recv: //')"
