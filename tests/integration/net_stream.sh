#!/bin/bash
# Guest-to-guest UDP streams whose every datagram is checked (content, sum, order, stream id): two concurrent streams on one switch, then fresh guests reusing the first stream's addresses and port.
. "$(dirname "$0")/net_lib.sh"

dom0_start
MB=${NET_STREAM_MB:-16}

# stream_check RX_DOMID TX_DOMID WHAT: the receiver's verdict and the sender's success, from the log.
stream_check() {
	local rx=$1 tx=$2 what=$3 line
	# A sender failing mid-stream leaves the receiver waiting for its end marker: stop at either.
	wait_log "\(d$rx\) udp-recv: .*, foreign |\(d$tx\) udp-send: .*failed" 120
	line=$(grep "^(d$rx) udp-recv: .*, foreign " "$T/hv.log")
	echo "$line"
	grep "^(d$tx) udp-send: .*\(datagrams of\|failed\|cannot\)" "$T/hv.log"
	grep -q "^(d$tx) udp-send: .*failed" "$T/hv.log" && fail "$what: the sender failed mid-stream"
	echo "$line" | grep -q "udp-recv: got" || fail "$what: the stream never ended"
	echo "$line" | grep -q "bad 0, out of order 0," || fail "$what: damaged, duplicated or reordered datagrams"
	set -- $(echo "$line" | sed 's/.*got \([0-9]*\) of \([0-9]*\).*/\1 \2/')
	[ "$2" -gt 0 ] || fail "$what: an end marker counting 0 datagrams"
	# Senders pause for a full receiver: two streams between guests lose (almost) nothing.
	[ "$1" -ge $(( $2 * 95 / 100 )) ] || fail "$what: received $1 of $2 datagrams (more than 5% lost)"
	pass "$what: $1 of $2 datagrams, every one intact and in order"
}

# sender_paused NAME CMDLINE MACNO: a guest with a vif on br0, left paused; prints its domid.
sender_paused() {
	local id
	mkcfg "$1" "$2" 16 1
	"$KXL" create -p "$T/$1.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create $1"; }
	id=$(domid_of "$1")
	"$KXL" network-attach "$id" bridge=br0 "mac=$(net_mac "$3")" > "$T/attach.out" 2>&1 ||
		{ cat "$T/attach.out"; fail "kxl network-attach $1"; }
	echo "$id"
}

# Round 1: two streams at once through br0 (full-size and small datagrams).
r1=$(net_guest r1 "udp-recv ip=192.0.2.2/24 5001 90" br0 2)
r2=$(net_guest r2 "udp-recv ip=192.0.2.12/24 5002 90" br0 12)
wait_log "\(d$r1\) udp-recv: listening" 30
wait_log "\(d$r2\) udp-recv: listening" 30
# Both senders are created paused and started together, so the streams overlap in the switch.
s1=$(sender_paused s1 "udp-send ip=192.0.2.1/24 192.0.2.2 5001 $MB" 1)
s2=$(sender_paused s2 "udp-send ip=192.0.2.11/24 192.0.2.12 5002 $(( MB / 4 )) 64" 11)
"$KXL" unpause "$s1" && "$KXL" unpause "$s2" || fail "kxl unpause"
stream_check "$r1" "$s1" "stream 1 (1472-byte datagrams)"
# netback delivered each frame once, to its own vif only: the receiver's vif saw the stream plus a few ARP frames.
sleep 0.3
rx1=$(net_stats "$r1" 0 rx_pkts)
exp1=$(grep "^(d$r1) udp-recv: got" "$T/hv.log" | sed 's/.* of \([0-9]*\) datagrams.*/\1/')
[ "$rx1" -le $(( exp1 + 32 )) ] || fail "vif of d$r1 received $rx1 frames for a stream of $exp1 datagrams"
stream_check "$r2" "$s2" "stream 2 (64-byte datagrams, concurrent)"
pass "vif rx counter $rx1 for a stream of $exp1: nothing duplicated or misdelivered"
for n in r1 r2 s1 s2; do "$KXL" destroy "$n" >/dev/null 2>&1; done

# Round 2: new guests, same addresses and port; the rounds' streams must not mix.
r3=$(net_guest r3 "udp-recv ip=192.0.2.2/24 5001 90" br0 3)
wait_log "\(d$r3\) udp-recv: listening" 30
s3=$(net_guest s3 "udp-send ip=192.0.2.1/24 192.0.2.2 5001 $MB 999" br0 4)
stream_check "$r3" "$s3" "stream 3 (fresh guests reusing stream 1's addresses)"
grep -q "^(d$r3) udp-recv: .*foreign 0$" "$T/hv.log" || fail "stream 3 saw datagrams of an earlier stream"
pass "UDP streams verified"
