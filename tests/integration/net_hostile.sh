#!/bin/bash
# Hostile frontends: spoofed source MACs, bad grant refs, slots crossing pages, bogus ring indexes, too many slots. Each gets errors or is cut off; everyone else keeps working.
. "$(dirname "$0")/net_lib.sh"

dom0_start

idb=$(net_guest hb "udp-echo ip=192.0.2.2/24 7 0" br0 2)
wait_log "\(d$idb\) net: up" 30

n=10
hostile() {   # hostile MODE EXPECTED_GUEST_LINE EXPECTED_BACKD_LINE
	n=$((n + 1))
	local id
	id=$(net_guest "h$1" "net-hostile ip=192.0.2.$n/24 $1 192.0.2.2" br0 "$n")
	wait_log "\(d$id\) net-hostile: $1: $2" 30
	wait_file "$T/backd.log" "d$id: vif 0: $3" 10
	kill -0 "$BACKDPID" || fail "kxen-backd died on '$1'"
	pass "$1: guest says '$2', backend says '$3'"
}

hostile spoof "sent 20 forged frames; ping still answered" "dropped a frame with a foreign source MAC"
hostile badgref "[1-9][0-9]* tx error responses; ping still answered" "tx grant copy failed"
hostile oversize "backend cut us off" "frontend cut off: a slot crosses its page boundary"
hostile ringidx "backend cut us off" "frontend cut off: tx ring req_prod is more than a ring ahead"
hostile slots "backend cut us off" "frontend cut off: a packet uses more than 18 slots"

# Everyone else still works: the victim answers a new guest, and a stream between two fresh guests gets through.
idc=$(net_guest hc "ping ip=192.0.2.30/24 192.0.2.2 3 100" br0 30)
wait_log "\(d$idc\) ping: 3/3 replies from 192.0.2.2" 60
pass "after all hostile guests, d$idb still answers and kxen-backd still serves"
