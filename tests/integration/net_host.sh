#!/bin/bash
# The host reaches guests through a TAP port on their switch: host ping to a guest, a guest's ping to the host, a guest-to-host UDP stream. All inside a private network namespace.
. "$(dirname "$0")/net_lib.sh"

net_tap_stack br0=kxtap0

idg=$(net_guest hg "udp-echo ip=192.0.2.2/24 7 0" br0 2)
wait_log "\(d$idg\) net: up" 30
wait_file "$T/backd.log" "tap kxtap0: up on bridge br0" 10
$NS ip link set lo up
$NS ip addr add 192.0.2.254/24 dev kxtap0 || fail "cannot configure kxtap0"
$NS "$PEER" ping 192.0.2.2 5 > "$T/hostping.out" || { cat "$T/hostping.out"; fail "host ping to the guest"; }
cat "$T/hostping.out" | tail -1
pass "host pings the guest through TAP kxtap0"

idp=$(net_guest hp "ping ip=192.0.2.3/24 192.0.2.254 3 100" br0 3)
wait_log "\(d$idp\) ping: 3/3 replies from 192.0.2.254" 60
pass "a guest pings the host"

$NS "$PEER" udp-recv 5002 60 > "$T/hostudp.out" &
PEERPID=$!
sleep 0.3
ids=$(net_guest hs "udp-send ip=192.0.2.4/24 192.0.2.254 5002 ${NET_UDP_MB:-16}" br0 4)
wait "$PEERPID" || { cat "$T/hostudp.out"; fail "the host did not see the end of the guest's UDP stream"; }
cat "$T/hostudp.out" | tail -1
grep "^(d$ids) udp-send:" "$T/hv.log"
pass "guest-to-host UDP stream"
