# Two guests ping-pong events over an interdomain channel.
. "$(dirname "$0")/lib.sh"
dom0_start
# Without xenstore yet, each guest learns its peer from its command line: a fresh
# kxen-hv hands out domids 1, 2, ... so the pong is 1 and the ping will be 2.
mkcfg pong "evtchn-pong 2"
pong=$(create pong)
[ "$pong" = 1 ] || fail "pong got domid $pong, expected 1"
wait_log "^\(d1\) evtchn-pong: port [0-9]+"
port=$(sed -n "s/^(d1) evtchn-pong: port \([0-9]*\).*/\1/p" "$T/hv.log" | head -1)
mkcfg ping "evtchn-ping 1 $port 2000"
ping=$(create ping)
[ "$ping" = 2 ] || fail "ping got domid $ping, expected 2"
wait_log "^\(d2\) evtchn-ping: (OK|FAIL)" 30
grep -E "^\(d2\) evtchn-ping" "$T/hv.log"
grep -q "^(d2) evtchn-ping: OK" "$T/hv.log" || fail "ping-pong failed"
pass "interdomain event ping-pong"
