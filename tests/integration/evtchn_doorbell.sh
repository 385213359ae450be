# Event sends take the in-kernel doorbell (counters prove it) and still arrive: guest to guest across close/rebind, and guest to dom0.
. "$(dirname "$0")/lib.sh"
dom0_start

# "evtchn sends: X by exit (M doorbell misses), K by doorbell to guests; doorbells: D to dom0, G to guests" of kxl list -l.
sends() {
	"$KXL" list -l "$1" | sed -n "s/^ *evtchn sends: \([0-9]*\) by exit (\([0-9]*\) doorbell misses), \([0-9]*\) by doorbell to guests; doorbells: \([0-9]*\) to dom0, \([0-9]*\) to guests$/\1 \2 \3 \4 \5/p"
}

# Guest to guest: 300 rounds, then close and rebind twice (900 round trips, 900 sends each way).
mkcfg pong "evtchn-pong 2"
pong=$(create pong)
[ "$pong" = 1 ] || fail "pong got domid $pong, expected 1"
port=$(pong_port 1) || fail "the pong offered no port"
mkcfg ping "evtchn-ping 1 $port 300 poll 2"
ping=$(create ping)
wait_log "^\(d2\) evtchn-ping: (OK|FAIL)" 60
grep -q "^(d2) evtchn-ping: OK" "$T/hv.log" || fail "ping-pong across rebinds failed"
[ "$(grep -c '^(d2) evtchn-ping: bound' "$T/hv.log")" = 3 ] || fail "the ping did not bind three times"
# The ping has powered off by now; its counters are in the log line of its destruction.
wait_log "^\(XEN\) d2 evtchn sends: " 10
line=$(grep "^(XEN) d2 evtchn sends: " "$T/hv.log")
echo "$line"
set -- $(echo "$line" | sed -n 's/.*sends: \([0-9]*\) by exit (\([0-9]*\) doorbell misses), \([0-9]*\) by doorbell.*/\1 \2 \3/p')
[ $# = 3 ] || fail "cannot read the ping's counters"
# A port is armed by its first send through the full hypercall (doorbell.h): after each of the
# three binds, the sends until the doorbell thread has armed it exit: a few each when the host is
# quiet, a few tens under load (arming waits for an SRCU grace period). Without doorbells all 900 exit.
[ "$3" -ge 800 ] || fail "only $3 of the ping's 900 sends took the doorbell"
[ "$1" -le 100 ] || fail "$1 of the ping's sends exited to kxen-hv"
# The pong echoed through its doorbell too, rebound from kxen-hv's side twice.
set -- $(sends "$pong")
[ $# = 5 ] || fail "kxl list -l shows no send counters for the pong"
echo "pong: $* (by exit, misses, by doorbell, dom0 doorbells, guest doorbells)"
[ "$3" -ge 800 ] || fail "only $3 of the pong's echoes took the doorbell"
[ "$5" = 0 ] || fail "the pong still has $5 guest doorbells after the ping went"
"$KXL" destroy "$pong" || fail "destroy pong"

# Guest to dom0: the echo rings the doorbell whose eventfd is dom0's own, kxen-hv not involved.
mkcfg pong0 "evtchn-pong 0"
id=$(create pong0)
port=$(pong_port "$id") || fail "d$id offered no port"
"$B/tests/integration/dom0_evtchn_ping" "$id" "$port" 300 > "$T/ping.out" 2>&1 || { cat "$T/ping.out"; fail "dom0 ping-pong"; }
grep -q "dom0_evtchn_ping: OK" "$T/ping.out" || fail "no OK from dom0_evtchn_ping"
set -- $(sends "$id")
echo "pong0: $* (by exit, misses, by doorbell, dom0 doorbells, guest doorbells)"
[ $# = 5 ] || fail "kxl list -l shows no send counters for d$id"
# Arming is asynchronous here too (above): under load the first few tens may exit, never most.
[ "$1" -le 60 ] || fail "$1 of the 300 echoes to dom0 exited to kxen-hv"
"$KXL" destroy "$id" || fail "destroy pong0"
kill -0 "$HVPID" || fail "kxen-hv died"
pass "event sends by doorbell, guest to guest across rebinds and guest to dom0"
