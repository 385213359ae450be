#!/bin/bash
# linux_net_hotplug.sh: kxl network-attach gives a running Linux guest eth1 (xen-netfront probes it), which pings the host's TAP both ways; kxl network-detach takes it away with the XenbusState close sequence (eth1 gone in Linux, both directories gone, neither side hanging), twice (SKIP without the image cache, /dev/kvm or TAP/namespace support).
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# eth0 comes from the XML (br0, unused here); eth1 is hot-plugged on br1, whose TAP is the host's end.
# Each round: wait for eth1, address it, ping the host, wait for it to go.
run=$(tr '\n' ' ' <<'RUN'
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done; echo eth0-here; ip link set lo up; ip link set eth0 up;
for r in 1 2; do i=0; while [ ! -e /sys/class/net/eth1 ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done;
echo eth1-mac-$r $(cat /sys/class/net/eth1/address); ip addr add 198.51.100.2/24 dev eth1; ip link set eth1 up;
i=0; until ping -c 1 -W 1 198.51.100.254 > /dev/null 2>&1 || [ $i -ge 60 ]; do i=$((i+1)); done;
ping -c 3 -i 0.2 198.51.100.254 | grep transmitted; echo eth1-pinged-$r;
i=0; while [ -e /sys/class/net/eth1 ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done; echo eth1-gone-$r $i; done;
echo eth0-still $(cat /sys/class/net/eth0/operstate); exec sleep 600
RUN
)
linux_setup "$run"
net_tap_stack br1=kxtap1
sed -i "s|</os>|</os><devices><interface type='bridge'><mac address='$(net_mac 2)'/><source bridge='br0'/></interface></devices>|" "$T/linux.xml"
"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
wait_until 400 console_has "^eth0-here" || { tail -20 "$CON"; fail "Linux did not get its eth0"; }
for r in 1 2; do
	mac=$(net_mac $((10 + r)))
	dev=$("$KXL" network-attach "$id" bridge=br1 "mac=$mac" 2> "$T/attach.err") || { cat "$T/attach.err"; fail "network-attach $r"; }
	[ "$dev" = 1 ] || fail "network-attach printed devid '$dev', want 1"
	if [ $r = 1 ]; then
		wait_file "$T/backd.log" "tap kxtap1: up on bridge br1" 30
		$NS ip link set lo up
		$NS ip addr add 198.51.100.254/24 dev kxtap1 || fail "cannot configure kxtap1"
	fi
	wait_until 120 console_has "^eth1-pinged-$r" || { tail -10 "$CON"; tail -10 "$T/backd.log"; fail "eth1 did not come up and ping (round $r)"; }
	console_has "^eth1-mac-$r $mac" || { grep "^eth1-mac" "$CON"; fail "eth1 does not carry the attached MAC $mac"; }
	console_has "3 packets transmitted, 3 packets received" || { grep transmitted "$CON"; fail "eth1's pings to the host were lost"; }
	$NS "$PEER" ping 198.51.100.2 3 > "$T/hostping.out" || { cat "$T/hostping.out"; fail "the host cannot ping eth1"; }
	pass "round $r: network-attach gave the running Linux guest eth1 ($mac), which pings the host and is pinged"
	# Linux's netfront answers the backend's Closing with Closing, Closed; detach must not need -f.
	timeout 60 "$KXL" network-detach -t 30 "$id" 1 2> "$T/detach.err" || { cat "$T/detach.err"; tail -10 "$T/backd.log"; fail "network-detach $r"; }
	[ -s "$T/detach.err" ] && { cat "$T/detach.err"; fail "network-detach had to force the removal"; }
	grep -q "d$id: vif 1: closed" "$T/backd.log" || fail "the backend did not reach Closed"
	xenstore-read "/local/domain/0/backend/vif/$id/1/state" 2>/dev/null && fail "backend directory left behind"
	xenstore-read "/local/domain/$id/device/vif/1/state" 2>/dev/null && fail "frontend directory left behind"
	wait_until 60 console_has "^eth1-gone-$r" || { tail -5 "$CON"; fail "eth1 is still there in Linux after network-detach"; }
	pass "round $r: network-detach closed vif 1 (backend and frontend Closed, directories gone) and eth1 left Linux"
done
wait_until 30 console_has "^eth0-still up" || { tail -5 "$CON"; fail "eth0 did not survive eth1's hot-plugs"; }
"$KXL" shutdown linux > "$T/shutdown.out" 2>&1 || { cat "$T/shutdown.out"; fail "kxl shutdown"; }
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
pass "the guest's eth0 stayed up and it powered off cleanly"
