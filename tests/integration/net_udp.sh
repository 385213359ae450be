#!/bin/bash
# UDP between guests: a stream from udp-send counted by udp-recv (order of magnitude only, figures in bench/bench_net), and the echo server answering.
. "$(dirname "$0")/net_lib.sh"

dom0_start

idr=$(net_guest nr "udp-recv ip=192.0.2.2/24 5001 60" br0 2)
wait_log "\(d$idr\) udp-recv: listening on port 5001" 30
ids=$(net_guest ns "udp-send ip=192.0.2.1/24 192.0.2.2 5001 ${NET_UDP_MB:-32}" br0 1)
wait_log "\(d$idr\) udp-recv: got" 120
line=$(grep "^(d$idr) udp-recv: got" "$T/hv.log")
echo "$line"
grep "^(d$ids) udp-send:" "$T/hv.log"
got=$(echo "$line" | sed 's/.*got \([0-9]*\) of \([0-9]*\).*/\1 \2/')
set -- $got
[ "$2" -gt 0 ] || fail "the receiver saw no end marker"
# Senders pause for a full receiver, so a stream between two idle guests loses (almost) nothing.
[ "$1" -ge $(( $2 * 95 / 100 )) ] || fail "received $1 of $2 datagrams (more than 5% lost)"
pass "UDP stream: $1 of $2 datagrams arrived"
