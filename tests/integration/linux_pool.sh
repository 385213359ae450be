#!/bin/bash
# linux_pool.sh: issue 14's bar in one run: Linux A (2 vCPUs, root on a qcow2 ext4, eth0 on br0) and Linux B on the same bridge; TCP both ways with sha256 at both ends, A's memory down and up (MemTotal, kxl list and the host's memfd follow), weights 512:256 and a cap of 25 on one pinned host CPU measured from the host, vcpu-set 1 and 2, then A writes, syncs and powers off: e2fsck and qemu-img check clean (SKIP without the image cache, /dev/kvm, schedstat or a writable cgroup).
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/linux_lib.sh"
. "$(dirname "$0")/linux_root_lib.sh"
[ -r /proc/self/schedstat ] || skip "no /proc/PID/schedstat (kernel without CONFIG_SCHEDSTATS): cannot measure the vCPU threads' CPU time"

# A's /t.sh, on its root disk, walks the phases as the host moves its resources: each step waits for something
# the host changes (the peer, MemTotal, the online CPUs), so no step depends on how fast the other side is.
# Network: TCP both ways at once (1 MiB each: busybox nc moves about 1 KiB a system call; each side retries until the other listens). The listener runs in the
# foreground: a background job's stdin is /dev/null, and busybox nc ends a connection at EOF on its stdin.
# Memory: fills nearly all free memory (tmpfs, then removed) so the host has allocated the pages, then prints
# MemTotal every second; once it settled 50 MB lower it says after-shrink, once it settled 50 MB higher again
# it fills again (the host allocates the frames populate_physmap gave back) and goes on.
# CPU: a busy loop on each vCPU, B told to start its own (port 5002); they run until CPU 1 goes offline
# (kxl vcpu-set A 1); when CPU 1 comes back (vcpu-set 2) /init onlines it and writes /late from it.
A_RUN=$(cat <<'A'
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
ip link set lo up; ip addr add 192.0.2.2/24 dev eth0; ip link set eth0 up; echo eth0-up $?
i=0; until ping -c 1 -W 1 192.0.2.3 > /dev/null 2>&1 || [ $i -ge 90 ]; do i=$((i+1)); done
ping -c 3 -i 0.2 192.0.2.3 | grep 'packets transmitted'
dd if=/dev/urandom of=/tcp-out bs=64k count=16 2>/dev/null; echo tcp-out-sum $(sha256sum < /tcp-out)
(until cat /tcp-out | nc 192.0.2.3 5001; do sleep 0.5; done; echo tcp-out-done) &
echo tcp-in $(nc -l -p 5000 | sha256sum)
wait
mt() { awk '/^MemTotal/ { print $2 }' /proc/meminfo; }
fill() { a=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo); dd if=/dev/zero of=/fill/f bs=1M count=$((a / 1024 - 24)) 2>/dev/null; rm /fill/f; echo filled $1 $(mt); }
mkdir -p /fill; mount -t tmpfs -o size=100% fill /fill
fill 1; base=$(mt); prev=0; s=0; n=0
while [ $s -lt 2 ] && [ $n -lt 600 ]; do
	m=$(mt); echo memtotal $m
	if [ $m = $prev ]; then
		if [ $s = 0 ] && [ $m -lt $((base - 50000)) ]; then echo after-shrink; s=1; low=$m; fi
		if [ $s = 1 ] && [ $m -gt $((low + 50000)) ]; then fill 2; s=2; fi
	fi
	prev=$m; sleep 1; n=$((n+1))
done
umount /fill
taskset -c 0 sh -c 'while :; do :; done' & p0=$!
taskset -c 1 sh -c 'while :; do :; done' & p1=$!
until echo go | nc 192.0.2.3 5002; do sleep 0.5; done
echo burning
while [ $(cat /sys/devices/system/cpu/online) != 0 ]; do sleep 0.2; done
kill $p0 $p1; echo online=$(cat /sys/devices/system/cpu/online)
while [ ! -e /sys/devices/system/cpu/cpu1/online ]; do sleep 0.2; done
echo 1 > /sys/devices/system/cpu/cpu1/online; echo replugged online=$(cat /sys/devices/system/cpu/online)
taskset -c 1 sh -c 'seq 1 30000 | sed s/^/late-/ > /late; sync'; echo guest-late $(md5sum < /late)
sync; echo late-sync $?
A
)
# B (kxen.run=: 1023 bytes at most, no double quotes, no '<'): its half of the TCP, then it burns when A says.
B_RUN=$(tr '\n' ' ' <<'B'
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done;
ip link set lo up; ip addr add 192.0.2.3/24 dev eth0; ip link set eth0 up; echo eth0-up $?;
dd if=/dev/urandom of=/tmp/t bs=65536 count=16 2>/dev/null; echo tcp-out-sum $(sha256sum /tmp/t);
(until cat /tmp/t | nc 192.0.2.2 5000; do sleep 0.5; done; echo tcp-out-done) &
echo tcp-in $(nc -l -p 5001 | sha256sum); wait;
nc -l -p 5002 > /dev/null; echo burning; while :; do :; done
B
)
T0=${EPOCHREALTIME/./} TP=${EPOCHREALTIME/./}
# phase NAME: the wall time of the phase that just ended, and since the start.
phase() {
	local now=${EPOCHREALTIME/./}
	printf 'phase %-9s %6.1f s (total %6.1f s)\n' "$1" "$(((now - TP) / 100000))e-1" "$(((now - T0) / 100000))e-1"
	TP=$now
}

root_setup "$ROOT_REPORT
$A_RUN"
sed -i 's|<vcpu>1<|<vcpu>2<|' "$T/linux.xml"
linux_setup "$B_RUN" linuxb
CA=$CON CB=$T/console/guest-linuxb.log
dom0_start
grep -q "sched: vCPU threads in cgroup" "$T/hv.log" ||
	skip "kxen-hv has no writable cgroup here: $(sed -n 's/.*sched: no cgroup for weights and caps: //p' "$T/hv.log")"
GROUP=$(sed -n 's/.*sched: vCPU threads in cgroup v[12] //p' "$T/hv.log")
qemu-img convert -O qcow2 "$T/root.img" "$T/root.qcow2" || fail "qemu-img convert of the root disk"
vif() { echo "<interface type='bridge'><mac address='$(net_mac "$1")'/><source bridge='br0'/></interface>"; }
root_boot "$(xml_disk "$T/root.qcow2" xvda qcow2)$(vif 2)"
sed -i "s|</os>|</os><devices>$(vif 3)</devices>|" "$T/linuxb.xml"
"$KXL" create "$T/linuxb.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create linuxb"; }
ida=$id idb=$(domid_of linuxb)
[ -n "$idb" ] || fail "no domain id for linuxb in the log"
has() { grep -q -- "$2" "$1" 2>/dev/null; }
root_checks_report
phase boot

# ---- Network: A <-> B on br0.
wait_until 400 has "$CA" "^tcp-out-done" || { tail -n 10 "$CA" "$CB"; fail "A's TCP send to B did not finish"; }
wait_until 120 has "$CB" "^tcp-in" || { tail -n 10 "$CA" "$CB"; fail "B did not receive A's TCP stream"; }
wait_until 120 has "$CA" "^tcp-in" || { tail -n 10 "$CA" "$CB"; fail "A did not receive B's TCP stream"; }
has "$CA" "^eth0-up 0" && has "$CB" "^eth0-up 0" || fail "eth0 did not come up in both guests"
has "$CA" "3 packets transmitted, 3 packets received" || { grep "packets" "$CA"; fail "A's pings to B were lost"; }
sum() { sed -n "s/^$2 \([0-9a-f]\{64\}\).*/\1/p" "$1" | tr -d '\r'; }
for dir in "$CA:$CB" "$CB:$CA"; do
	from=${dir%%:*} to=${dir#*:}
	[ -n "$(sum "$from" tcp-out-sum)" ] && [ "$(sum "$from" tcp-out-sum)" = "$(sum "$to" tcp-in)" ] ||
		{ grep "^tcp-" "$CA" "$CB"; fail "1 MiB of TCP from $(basename "$from") arrived different"; }
done
pass "A (root on qcow2, 2 vCPUs) and B on one bridge: ping, and 1 MiB of TCP each way at once, sha256 equal at both ends"
phase network

# ---- Memory: A down by 96 MiB and back. The host's memory is the memfd's allocated blocks (memfd_blocks).
wait_until 300 has "$CA" "^filled 1" || { tail -20 "$CA"; fail "A did not fill its memory"; }
wait_until 30 has "$CA" "^memtotal " || fail "no MemTotal line from A"
before=$(memtotal) blocks_before=$(memfd_blocks linux)
[ -n "$blocks_before" ] || fail "no memfd named linux among kxen-hv's fds"
[ "$(list_mib linux)" = 256 ] || fail "kxl list shows $(list_mib linux) MiB for A before mem-set, not 256"
[ $((blocks_before / 2048)) -gt 170 ] || fail "A's fill left only $((blocks_before / 2048)) MiB allocated on the host"
hv_full=$(awk '/^domain_memory/ { print $3 }' < <("$KXL" info))
"$KXL" mem-set linux 160 || fail "kxl mem-set linux 160"
wait_mib linux 160 || fail "kxl list shows $(list_mib linux) MiB, not 160, after mem-set 160"
wait_until 120 has "$CA" "^after-shrink" || { tail -20 "$CA"; fail "A's MemTotal did not settle 50 MB lower after mem-set 160"; }
after=$(memtotal) blocks_after=$(memfd_blocks linux)
hv_low=$(awk '/^domain_memory/ { print $3 }' < <("$KXL" info))
drop=$((before - after)) freed=$(((blocks_before - blocks_after) / 2048))
[ "$drop" -ge 96000 ] && [ "$drop" -le 99000 ] || fail "A's MemTotal went from $before to $after kB (drop $drop, expected ~98304)"
# Not all 96 MiB need come back from the memfd: pages the balloon took that /init's fill never touched had no host page.
[ "$freed" -ge 64 ] && [ $((blocks_after / 2048)) -le 160 ] ||
	fail "the memfd's allocation only dropped by $freed MiB ($((blocks_before / 2048)) -> $((blocks_after / 2048)) MiB)"
[ $((hv_full - hv_low)) -ge 95 ] && [ $((hv_full - hv_low)) -le 97 ] ||
	fail "kxl info's domain_memory went from $hv_full to $hv_low MiB, not down by 96"
pass "mem-set 160: kxl list 160 MiB, A's MemTotal $before -> $after kB, the host's memfd $((blocks_before / 2048)) -> $((blocks_after / 2048)) MiB, kxl info domain_memory $hv_full -> $hv_low MiB"
"$KXL" mem-set linux 256 || fail "kxl mem-set linux 256"
wait_mib linux 256 || fail "kxl list shows $(list_mib linux) MiB, not 256, after mem-set 256"
wait_until 120 has "$CA" "^filled 2" || { tail -20 "$CA"; fail "A's MemTotal did not come back, or A did not refill"; }
regrown=$(sed -n 's/^filled 2 //p' "$CA" | tr -d '\r') blocks_grown=$(memfd_blocks linux)
hv_back=$(awk '/^domain_memory/ { print $3 }' < <("$KXL" info))
[ "$regrown" -ge $((before - 1000)) ] && [ "$regrown" -le $((before + 1000)) ] || fail "A's MemTotal came back to $regrown kB, not ~$before"
[ $(((blocks_grown - blocks_after) / 2048)) -ge 64 ] ||
	fail "the memfd's allocation only grew from $((blocks_after / 2048)) to $((blocks_grown / 2048)) MiB after A refilled"
[ "$hv_back" = "$hv_full" ] || fail "kxl info's domain_memory is $hv_back MiB after mem-set 256, not $hv_full"
pass "mem-set 256: A's MemTotal back to $regrown kB, the memfd $((blocks_after / 2048)) -> $((blocks_grown / 2048)) MiB once A used it, domain_memory $hv_back MiB"
grep -q "decrease_reservation of frame .* refused\|populate_physmap of .* refused" "$T/hv.log" &&
	fail "kxen-hv refused A's balloon: $(grep "refused" "$T/hv.log" | head -1)"
phase memory

# ---- CPU: every vCPU thread of both on one host CPU, weights 512 and 256, then a cap of 25 on A.
wait_until 120 has "$CA" "^burning" || { tail -5 "$CA"; fail "A did not start its busy loops"; }
wait_until 60 has "$CB" "^burning" || { tail -5 "$CB"; fail "B did not start its busy loop"; }
# dom_tids DOMID: the domain's vCPU threads in kxen-hv (cpupool.c names them kxdIDvN).
dom_tids() {
	local t
	for t in /proc/"$HVPID"/task/*; do
		case $(cat "$t/comm" 2>/dev/null) in "kxd$1v"*) echo "${t##*/}" ;; esac
	done
}
# dom_ns DOMID: the CPU time its vCPU threads have had (schedstat: ns on the CPU, guest and host kernel alike).
dom_ns() {
	local t n=0
	for t in $(dom_tids "$1"); do n=$((n + $(cut -d' ' -f1 "/proc/$HVPID/task/$t/schedstat"))); done
	echo "$n"
}
# measure SECONDS: "A_ns B_ns wall_ns" over that window.
measure() {
	local a0 b0 w0=${EPOCHREALTIME/./}
	a0=$(dom_ns "$ida") b0=$(dom_ns "$idb")
	sleep "$1"
	echo "$(($(dom_ns "$ida") - a0)) $(($(dom_ns "$idb") - b0)) $(((${EPOCHREALTIME/./} - w0) * 1000))"
}
pct() { awk -v n="$1" -v w="$2" 'BEGIN { printf "%.1f", 100 * n / w }'; }
[ "$(dom_tids "$ida" | wc -l)" = 2 ] && [ "$(dom_tids "$idb" | wc -l)" = 1 ] || fail "A has $(dom_tids "$ida" | wc -l) vCPU threads and B $(dom_tids "$idb" | wc -l), not 2 and 1"
"$KXL" vcpu-pin linux all 0 && "$KXL" vcpu-pin linuxb all 0 || fail "kxl vcpu-pin to host CPU 0"
for t in $(dom_tids "$ida") $(dom_tids "$idb"); do
	wait_until 5 eval "[ \"\$(awk '/^Cpus_allowed_list:/ { print \$2 }' /proc/$HVPID/task/$t/status)\" = 0 ]" ||
		fail "vCPU thread $t ($(cat "/proc/$HVPID/task/$t/comm")) is not pinned to CPU 0: $(grep Cpus_allowed_list "/proc/$HVPID/task/$t/status")"
done
"$KXL" sched-credit -d linux -w 512 && "$KXL" sched-credit -d linuxb -w 256 || fail "kxl sched-credit -w"
for t in $(dom_tids "$ida"); do
	grep -qx "$t" "$GROUP/dom-$ida/cgroup.threads" 2>/dev/null || grep -qx "$t" "$GROUP/dom-$ida/tasks" 2>/dev/null ||
		fail "A's vCPU thread $t is not in $GROUP/dom-$ida"
done
# kxtop shows them (batch mode): WEIGHT and CAP are its last two columns.
kxtop_wc() { "$B/dom0-tools/kxtop/kxtop" -b -i 1 | awk -v n="$1" '$1 == n { print $(NF - 1), $NF }'; }
[ "$(kxtop_wc linux)" = "512 0" ] && [ "$(kxtop_wc linuxb)" = "256 0" ] ||
	fail "kxtop shows weight and cap '$(kxtop_wc linux)' for A and '$(kxtop_wc linuxb)' for B, not '512 0' and '256 0'"
sleep 1
read -r na nb w <<< "$(measure 5)"
ratio=$(awk -v a="$na" -v b="$nb" 'BEGIN { printf "%.2f", b ? a / b : 99 }')
figures="A $((na / 1000000)) ms ($(pct "$na" "$w")%), B $((nb / 1000000)) ms ($(pct "$nb" "$w")%) of host CPU 0 in $((w / 1000000)) ms"
echo "weights 512:256: $figures: ratio $ratio"
awk -v r="$ratio" 'BEGIN { exit !(r >= 1.5 && r <= 2.7) }' || fail "weights 512:256 gave A:B $ratio, outside 1.5-2.7: $figures"
pass "two burning Linux guests on one pinned host CPU with weights 512 and 256 share it $ratio:1 ($figures)"

# The cap: other load on this shared machine could hold A below 25% by itself, so kxen-hv's own group is given a
# large share for the window (as cpu_credit.sh does): then the cap, not the machine, limits A.
"$KXL" sched-credit -d linux -c 25 || fail "kxl sched-credit -d linux -c 25"
[ "$(kxtop_wc linux)" = "512 25" ] || fail "kxtop shows weight and cap '$(kxtop_wc linux)' for A, not '512 25'"
if [ -e "$GROUP/cpu.weight" ]; then share=cpu.weight big=10000; else share=cpu.shares big=262144; fi
old_share=$(cat "$GROUP/$share")
echo "$big" > "$GROUP/$share" || fail "cannot raise $GROUP/$share"
sleep 1
read -r na nb w <<< "$(measure 5)"
echo "$old_share" > "$GROUP/$share"
figures="A $((na / 1000000)) ms, B $((nb / 1000000)) ms ($(pct "$nb" "$w")%) in $((w / 1000000)) ms"
echo "cap 25: A used $(pct "$na" "$w")% of host CPU 0 ($figures)"
awk -v p="$(pct "$na" "$w")" 'BEGIN { exit !(p >= 15 && p <= 35) }' ||
	fail "A capped at 25 used $(pct "$na" "$w")% of a CPU, not 15-35% ($figures)"
pass "a cap of 25 holds A's two burning vCPUs at $(pct "$na" "$w")% of one CPU while B takes $(pct "$nb" "$w")%"
"$KXL" sched-credit -d linux -c 0 && "$KXL" vcpu-pin linux all all || fail "removing A's cap and pinning"
"$KXL" destroy linuxb || fail "kxl destroy linuxb"
phase cpu

# ---- vCPUs: CPU 1 away (A's loops stop) and back (A writes /late from it).
"$KXL" vcpu-set linux 1 > "$T/vcpuset.out" 2>&1 || { cat "$T/vcpuset.out"; fail "kxl vcpu-set linux 1"; }
wait_until 60 has "$CA" "^online=0[[:space:]]*$" || { tail -10 "$CA"; fail "A did not take CPU 1 offline"; }
wait_until 30 sh -c "'$KXL' vcpu-list linux | awk '\$3 == 1 && \$5 == \"---\" { f = 1 } END { exit !f }'" ||
	{ "$KXL" vcpu-list linux; fail "kxl vcpu-list still shows A's vCPU 1 online"; }
"$KXL" vcpu-set linux 2 > "$T/vcpuset.out" 2>&1 || { cat "$T/vcpuset.out"; fail "kxl vcpu-set linux 2"; }
wait_until 60 has "$CA" "^replugged online=0-1" || { tail -10 "$CA"; fail "A's CPU 1 did not come back online"; }
pass "kxl vcpu-set 1 then 2: A's /sys/devices/system/cpu/online went 0-1 -> 0 -> 0-1 while it ran"
phase vcpus

# ---- A writes and syncs /late, /t.sh ends, busybox init syncs and remounts / read-only, power-off.
wait_log "^\(XEN\) domain $ida \(linux\) shut down: poweroff" 120
wait_file "$T/backd.log" "d$ida: vbd 51712: image closed" 60
has "$CA" "^late-sync 0" || { tail -5 "$CA"; fail "A's sync of /late failed"; }
has "$CA" "BUG:\|Oops\|cut here" && { grep -n "BUG:\|Oops\|cut here" "$CA" | head; fail "A's Linux reported a BUG, oops or warning"; }
qemu-img check "$T/root.qcow2" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "qemu-img check of A's root image"; }
qemu-img convert -O raw "$T/root.qcow2" "$T/root.raw" || fail "qemu-img convert of A's root image"
root_checks_files "$T/root.raw" late:late
pass "A powered off cleanly after all of it: root.qcow2 passes qemu-img check (above: its ext4 is e2fsck-clean, /late as written)"
phase poweroff
