#!/bin/bash
# linux_net_pair.sh: two Linux guests (xen-netfront) on one kxen-backd switch: ping both ways, 16 MiB of TCP from one to the other with sha256 compared at both ends, the offloads Linux negotiated, then one guest spoofs its MAC and is dropped by netback (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# up ADDR: eth0 from netfront, addressed and up (the guests' commands travel in kxen.run=, 1023 bytes at most:
# no double quotes and no '<', which the XML would take).
up() { echo "i=0; while [ ! -e /sys/class/net/eth0 ] && [ \$i -lt 150 ]; do sleep 0.2; i=\$((i+1)); done;
ip link set lo up; ip addr add $1/24 dev eth0; ip link set eth0 up; echo eth0-up \$?;
i=0; until ping -c 1 -W 1 $2 > /dev/null 2>&1 || [ \$i -ge 90 ]; do i=\$((i+1)); done;
ping -c 5 -i 0.2 $2 | tail -2; echo ping-done;"; }
# 16 MiB from B to A's port 5000 (B retries until A listens). One direction only: busybox nc moves about 1 KiB
# per system call, so on a loaded 2-core host a transfer takes minutes; iperf3 in bench/linux_net.sh measures.
send() { echo "dd if=/dev/urandom of=/tmp/t bs=65536 count=256 2>/dev/null; echo tcp-out-sum \$(sha256sum /tmp/t);
until cat /tmp/t | nc $1 $2; do sleep 0.5; done; echo tcp-out-done;"; }
recv() { echo "echo tcp-in \$(nc -l -p $1 | sha256sum);"; }
# A, once both transfers are done, takes a MAC that is not its vif's and pings B (netback must drop every
# frame: without the drop the switch would learn the new MAC and the ping would work), then takes its own back.
spoof="ip link set eth0 down; ip link set eth0 address 00:16:3e:00:00:99; ip link set eth0 up;
ping -c 3 -W 1 192.0.2.3 > /dev/null 2>&1; echo spoof-ping \$?;
ip link set eth0 down; ip link set eth0 address $(net_mac 2); ip link set eth0 up;
ping -c 3 -W 2 192.0.2.3 > /dev/null 2>&1; echo own-ping \$?;"
runa=$(tr '\n' ' ' <<< "$(up 192.0.2.2 192.0.2.3) $(recv 5000) $spoof exec sleep 600")
runb=$(tr '\n' ' ' <<< "$(up 192.0.2.3 192.0.2.2) $(send 192.0.2.2 5000) exec sleep 600")
linux_setup "$runa" linuxa
linux_setup "$runb" linuxb
dom0_start
for g in a b; do
	n=$([ $g = a ] && echo 2 || echo 3)
	sed -i "s|</os>|</os><devices><interface type='bridge'><mac address='$(net_mac $n)'/><source bridge='br0'/></interface></devices>|" "$T/linux$g.xml"
	"$KXL" create "$T/linux$g.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create linux$g"; }
done
ida=$(domid_of linuxa) idb=$(domid_of linuxb)
[ -n "$ida" ] && [ -n "$idb" ] || fail "no domain ids in the log"
CA=$T/console/guest-linuxa.log CB=$T/console/guest-linuxb.log
has() { grep -q -- "$2" "$1" 2>/dev/null; }
both_pinged() { has "$CA" "^ping-done" && has "$CB" "^ping-done"; }
wait_until 400 both_pinged || { tail -n 20 "$CA" "$CB"; tail -20 "$T/backd.log"; fail "the guests did not both reach their pings"; }
for c in "$CA" "$CB"; do
	has "$c" "^eth0-up 0" || fail "Linux could not bring eth0 up ($c)"
	has "$c" "5 packets transmitted, 5 packets received" || { grep -A1 "packets transmitted" "$c"; fail "pings lost ($c)"; }
done
pass "two Linux guests on one kxen-backd switch ping each other (5/5 both ways)"
wait_until 900 has "$CA" "^own-ping" || { tail -n 8 "$CA" "$CB"; fail "the TCP transfer did not finish"; }
sum() { sed -n "s/^$2 \([0-9a-f]\{64\}\).*/\1/p" "$1" | tr -d '\r'; }
[ -n "$(sum "$CB" tcp-out-sum)" ] && [ "$(sum "$CB" tcp-out-sum)" = "$(sum "$CA" tcp-in)" ] ||
	{ grep "^tcp-" "$CA" "$CB"; fail "16 MiB from B to A arrived different"; }
pass "16 MiB of TCP from one Linux guest to the other, sha256 equal at both ends"
# What each netfront negotiated (its keys against ours, as netback logged them at connect), and used.
for id in "$ida" "$idb"; do
	grep -q "d$id: vif 0: connected to bridge br0 (.*sg on; the guest receives blank checksums: ipv4 on, ipv6 on; GSO: tcpv4 on, tcpv6 on)" "$T/backd.log" ||
		{ grep "d$id: vif 0: connected" "$T/backd.log"; fail "d$id's netfront did not negotiate sg, checksum offload and GSO"; }
	for k in feature-sg feature-gso-tcpv4 feature-gso-tcpv6 feature-ipv6-csum-offload feature-rx-notify request-rx-copy; do
		[ "$(xenstore-read "/local/domain/$id/device/vif/0/$k" 2>/dev/null)" = 1 ] || fail "d$id's netfront did not write $k=1"
	done
done
grep -q "d$idb: vif 0: first GSO frame from the guest: tcpv4, mss [0-9]*, [0-9]* bytes" "$T/backd.log" ||
	fail "the sending Linux guest sent no GSO frame (TSO not on in the guest?)"
pass "both netfronts negotiated sg, IPv4/IPv6 checksum offload and GSO tcpv4/v6; the sender's TSO frames went through ($(grep -o 'first GSO frame.*' "$T/backd.log" | head -1))"
has "$CA" "^spoof-ping 1" || { grep "ping" "$CA"; fail "A reached B from a spoofed MAC: netback did not drop its frames"; }
has "$CA" "^own-ping 0" || { grep "ping" "$CA"; fail "A could not reach B again with its own MAC"; }
grep -q "d$ida: vif 0: dropped a frame with a foreign source MAC" "$T/backd.log" || fail "no drop logged for A's spoofed frames"
wait_until 5 eval '[ "$(net_stats "$ida" 0 tx_drop)" -gt 0 ] 2>/dev/null' || fail "A's vif counted no tx_drop"
pass "a Linux guest that changed its MAC is cut off by netback ($(net_stats "$ida" 0 tx_drop) frames dropped), and back with its own"
