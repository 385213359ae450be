# dom0 binds an event channel to a guest through the control socket and ping-pongs over eventfds.
. "$(dirname "$0")/lib.sh"
dom0_start
# The pong offers its port to domain 0.
mkcfg pong "evtchn-pong 0"
id=$(create pong)
wait_log "^\(d$id\) evtchn-pong: port [0-9]+"
port=$(sed -n "s/^(d$id) evtchn-pong: port \([0-9]*\).*/\1/p" "$T/hv.log" | head -1)
"$B/tests/integration/dom0_evtchn_ping" "$id" "$port" 500 > "$T/ping.out" 2>&1
rc=$?
cat "$T/ping.out"
[ $rc = 0 ] || fail "dom0 ping-pong with d$id port $port"
grep -q "dom0_evtchn_ping: OK" "$T/ping.out" || fail "no OK from dom0_evtchn_ping"
kill -0 "$HVPID" || fail "kxen-hv died"
"$KXL" destroy "$id" || fail "destroy pong"
pass "dom0 event channel over eventfds"
