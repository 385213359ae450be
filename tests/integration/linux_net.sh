#!/bin/bash
# linux_net.sh: Debian's cloud kernel's xen-netfront against kxen-backd's netback in one boot: the vif from the XML comes up as eth0, the guest pings the host's TAP and the host pings the guest, 4 MiB of TCP each way with the sums compared, inside a private network namespace (SKIP without the image cache, /dev/kvm or TAP/namespace support).
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init's commands: eth0 from netfront, addressed and up, ping the host's TAP, then 4 MiB of TCP each way
# (busybox nc: the guest listens on 5000, then sends to the host's 5001); it stays up for the host's ping.
run=$(tr '\n' ' ' <<'RUN'
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done;
echo eth0-mac $(cat /sys/class/net/eth0/address);
ip link set lo up; ip addr add 192.0.2.2/24 dev eth0; ip link set eth0 up; echo eth0-up $?;
i=0; until ping -c 1 -W 1 192.0.2.254 > /dev/null 2>&1 || [ $i -ge 30 ]; do i=$((i+1)); done;
ping -c 5 -i 0.2 192.0.2.254 | tail -2; echo guest-ping-done;
echo tcp-in $(nc -l -p 5000 | md5sum);
dd if=/dev/urandom of=/tmp/t bs=65536 count=64 2>/dev/null; echo tcp-out-sum $(md5sum /tmp/t);
cat /tmp/t | nc 192.0.2.254 5001; echo tcp-out-status $?; exec sleep 600
RUN
)
linux_setup "$run"
net_tap_stack br0=kxtap0
mac=$(net_mac 2)
sed -i "s|</os>|</os><devices><interface type='bridge'><mac address='$mac'/><source bridge='br0'/></interface></devices>|" "$T/linux.xml"
"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
# The switch and its TAP port come up with the first vif on br0 (kxen-backd, before Linux's netfront probes).
wait_file "$T/backd.log" "tap kxtap0: up on bridge br0" 30
$NS ip link set lo up
$NS ip addr add 192.0.2.254/24 dev kxtap0 || fail "cannot configure kxtap0"
$NS ip link set kxtap0 up 2>/dev/null
wait_until 400 console_has "^guest-ping-done" || { tail -30 "$CON"; tail -20 "$T/backd.log"; fail "the guest's network commands did not all run"; }
console_has "^eth0-mac $mac" || fail "Linux's eth0 does not carry the XML's MAC $mac"
console_has "^eth0-up 0" || fail "Linux could not bring eth0 up"
console_has "5 packets transmitted, 5 packets received" || { grep -A2 "packets transmitted" "$CON"; fail "the guest's pings to the host's TAP were lost"; }
pass "Linux's xen-netfront is eth0 with the XML's MAC and pings the host through netback and the TAP"
$NS "$PEER" ping 192.0.2.2 5 > "$T/hostping.out" || { cat "$T/hostping.out"; fail "host ping to the Linux guest"; }
tail -1 "$T/hostping.out"
pass "the host pings the Linux guest through the TAP"
# TCP both ways with the sums compared at both ends: the host's side is the image cache's static busybox nc.
head -c 4194304 /dev/urandom > "$T/tcp-in"
# Its stdin stays open until the end (busybox nc stops reading the socket at its own stdin's end).
mkfifo "$T/hold"
sleep 300 > "$T/hold" &
HOLDPID=$!
timeout 120 $NS "$C/busybox" nc -l -p 5001 < "$T/hold" > "$T/tcp-out" &
NCPID=$!
out_complete() { [ "$(wc -c < "$T/tcp-out")" -ge 4194304 ]; }
for _ in $(seq 1 50); do
	timeout 60 $NS bash -c "exec 3>/dev/tcp/192.0.2.2/5000 && cat '$T/tcp-in' >&3" 2>/dev/null && break
	sleep 0.2
done
wait_until 100 console_has "^tcp-out-status" || { kill "$NCPID" "$HOLDPID" 2>/dev/null; tail -5 "$CON"; fail "the TCP transfers did not finish"; }
wait_until 30 out_complete
kill "$NCPID" "$HOLDPID" 2>/dev/null
console_has "^tcp-in $(md5sum < "$T/tcp-in" | cut -d' ' -f1)" || { grep "^tcp-in" "$CON"; fail "4 MiB host-to-guest over TCP arrived different"; }
o=$(sed -n 's/^tcp-out-sum \([0-9a-f]*\) .*/\1/p' "$CON")
[ -n "$o" ] && console_has "^tcp-out-status 0" && [ "$(md5sum < "$T/tcp-out" | cut -d' ' -f1)" = "$o" ] ||
	fail "4 MiB guest-to-host over TCP arrived different ($(wc -c < "$T/tcp-out") bytes)"
pass "4 MiB over TCP each way between the Linux guest and the host, the sums equal at both ends"
"$KXL" shutdown linux > "$T/shutdown.out" 2>&1 || { cat "$T/shutdown.out"; fail "kxl shutdown of the Linux guest"; }
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
pass "the Linux guest with a vif powered off"
