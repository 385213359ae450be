#!/bin/bash
# linux_smp.sh: Debian's cloud kernel with <vcpu current='1'>2</vcpu> on kxen: CPU 1 offline at boot, kxl vcpu-set 2 gives it to the running guest, then both CPUs at work (pinned loops, smpstress's threads with atomics and a mutex, cross-CPU pipe ping-pong, mmap churn another CPU must see, fork/exec, a segfaulting child), /proc/cpuinfo and /proc/meminfo against the XML, and kxl vcpu-set 1 and 2 again; one boot (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init's commands (they fit the 1023-byte command line): the CPUs at boot; it waits for kxl vcpu-set 2, which
# makes cpu1 present for user space to online (as Xen's udev rule does); then the CPUs and memory Linux sees, a
# loop pinned to each CPU with CPU 1's /proc/stat ticks before and after, smpstress (tests/integration/smpstress.c);
# then it waits for kxl vcpu-set 1 (CPU 1 offline) and vcpu-set 2 again, and uses CPU 1.
run=$(tr '\n' ' ' <<'RUN'
echo boot cpus=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online);
while [ ! -e /sys/devices/system/cpu/cpu1/online ]; do sleep 0.2; done; echo 1 > /sys/devices/system/cpu/cpu1/online;
echo cpus=$(grep -c ^processor /proc/cpuinfo) nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online); grep MemTotal /proc/meminfo;
echo 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo loop$1-done' > /l;
grep ^cpu1 /proc/stat; taskset -c 0 sh /l 0 & taskset -c 1 sh /l 1; wait; grep ^cpu1 /proc/stat;
smpstress -d 10 threads pipe mmap fork segv;
echo ready-for-unplug; while [ $(cat /sys/devices/system/cpu/online) != 0 ]; do sleep 0.2; done; echo online=$(cat /sys/devices/system/cpu/online);
while [ ! -e /sys/devices/system/cpu/cpu1/online ]; do sleep 0.2; done; echo 1 > /sys/devices/system/cpu/cpu1/online; echo replugged online=$(cat /sys/devices/system/cpu/online);
taskset -c 1 echo on-cpu1-again; exec sleep 600
RUN
)
# This test's initramfs carries smpstress; linux_setup then uses it.
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
abi=$(cat "$C/linux-abi" 2>/dev/null)
[ -f "$C/vmlinuz-cloud" ] && [ -n "$abi" ] && [ -x "$C/busybox" ] && [ -d "$C/linux-image-$abi-cloud-amd64" ] &&
	{ "$S/scripts/mkinitramfs.sh" -k "$C/linux-image-$abi-cloud-amd64" -b "$C/busybox" -x "$B/tests/integration/smpstress" \
		-o "$T/initramfs.gz" > "$T/mkinitramfs.out" 2>&1 || { cat "$T/mkinitramfs.out"; fail "scripts/mkinitramfs.sh -x smpstress"; }; }
linux_setup "$run"
sed -i -e "s|<vcpu>1<|<vcpu current='1'>2<|" "$T/linux.xml"
dom0_start

"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
# <vcpu current='1'>: cpu/1/availability is "offline" from the start; Linux brings CPU 1 up with the boot CPU
# (VCPUOP_initialise, VCPUOP_up) and its xenbus watch takes it down again before /init runs.
wait_until 300 console_has "^boot cpus=" || { tail -30 "$CON"; fail "Linux did not reach /init"; }
console_has "^boot cpus=1 online=0[[:space:]]*$" || { grep "^boot cpus=" "$CON"; fail "CPU 1 is online at boot despite <vcpu current='1'>"; }
wait_until 30 sh -c "'$KXL' vcpu-list linux | awk '\$3 == 1 && \$5 == \"---\" { f = 1 } END { exit !f }'" ||
	{ "$KXL" vcpu-list linux; fail "kxl vcpu-list shows vCPU 1 online at boot"; }
pass "<vcpu current='1'>2</vcpu>: one CPU online at /init, vCPU 1 offline in kxl vcpu-list"
"$KXL" vcpu-set linux 2 > "$T/vcpuset.out" 2>&1 || { cat "$T/vcpuset.out"; fail "kxl vcpu-set linux 2"; }
wait_until 300 console_has "^smpstress: done" || { tail -30 "$CON"; fail "/init's SMP commands did not all run"; }
console_has "smp: Brought up 1 node, 2 CPUs" || fail "Linux did not bring up its second CPU"
console_has "^cpus=2 nproc=2 online=0-1" || fail "/proc/cpuinfo, nproc or the online mask do not show 2 CPUs"
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$CON")
[ -n "$mem" ] && [ "$mem" -gt 200000 ] && [ "$mem" -le 262144 ] || fail "MemTotal '$mem' kB does not match the XML's 256 MiB"
pass "kxl vcpu-set 2 hot-plugged CPU 1; /proc/cpuinfo, nproc and online show the XML's 2 vCPUs, /proc/meminfo its 256 MiB ($mem kB)"
console_has "^loop0-done" && console_has "^loop1-done" || fail "a loop pinned to each CPU did not finish"
# CPU 1's user ticks (field 2 of /proc/stat's cpu1 line) went up while a loop was pinned to it.
read -r before after < <(grep '^cpu1 ' "$CON" | awk '{ printf "%s ", $2 } END { print "" }')
[ -n "$after" ] && [ "$after" -gt "$before" ] || fail "CPU 1's user time did not advance ($before -> $after)"
pass "loops pinned with taskset ran on CPU 0 and CPU 1 (CPU 1's user ticks $before -> $after)"
# smpstress's own verdicts: each line says what it computed against what it had to be.
ok() { console_has "^smpstress: $1 ok $2" || { grep "^smpstress:" "$CON"; fail "smpstress $1: $3"; }; }
ok threads "threads=4 atomic=40000 mutex=40000 want=40000 cpus_seen=0x3" "wrong counts or not on both CPUs"
pass "4 pthreads pinned to both CPUs: shared counters by atomics and under a mutex add up (40000 each)"
ok pipe "round_trips=300 bad=0" "the cross-CPU pipe ping-pong lost or corrupted a token"
ok mmap "replacements=100 stale_reads=0" "a CPU read a page replaced by the other CPU (a missed remote TLB flush)"
pass "a token passed 300 times through pipes between CPU 0 and CPU 1; a page replaced 100 times by CPU 0 was seen fresh by CPU 1"
ok fork "execs=20 failed_loops=0" "fork+exec from both CPUs failed"
ok segv "signaled=1 signal=11" "the child that wrote through a null pointer was not killed by SIGSEGV"
console_has "smpstress\[[0-9]*\]: segfault at 0 " || fail "Linux did not report the child's segfault at address 0"
console_has "^smpstress: done cpus=2 failed=0" || fail "smpstress reported failures"
pass "fork+exec from both CPUs; a child's null-pointer write is killed by SIGSEGV and the guest lives on"
"$KXL" vcpu-list linux | awk '$3 ~ /^[01]$/ && $5 != "---" { n++ } END { exit n != 2 }' ||
	{ "$KXL" vcpu-list linux; fail "kxl vcpu-list does not show 2 online vCPUs"; }

# Hot-unplug: cpu/1/availability offline, Linux's xenbus watch offlines CPU 1, which calls VCPUOP_down on itself.
wait_until 30 console_has "^ready-for-unplug" || fail "/init is not waiting for the unplug"
"$KXL" vcpu-set linux 1 > "$T/vcpuset.out" 2>&1 || { cat "$T/vcpuset.out"; fail "kxl vcpu-set linux 1"; }
grep -q "Linux takes CPUs away at once" "$T/vcpuset.out" || { cat "$T/vcpuset.out"; fail "kxl vcpu-set did not say how a Linux guest follows"; }
wait_until 60 console_has "^online=0[[:space:]]*$" || { tail -20 "$CON"; fail "Linux did not take CPU 1 offline"; }
wait_until 30 sh -c "'$KXL' vcpu-list linux | awk '\$3 == 1 && \$5 == \"---\" { f = 1 } END { exit !f }'" ||
	{ "$KXL" vcpu-list linux; fail "kxl vcpu-list still shows vCPU 1 online"; }
pass "kxl vcpu-set 1: Linux offlined CPU 1 (VCPUOP_down) and kxl vcpu-list follows"
"$KXL" vcpu-set linux 2 > "$T/vcpuset.out" 2>&1 || { cat "$T/vcpuset.out"; fail "kxl vcpu-set linux 2"; }
wait_until 60 console_has "^replugged online=0-1" || { tail -20 "$CON"; fail "CPU 1 did not come back online"; }
wait_until 30 console_has "^on-cpu1-again" || fail "nothing ran on CPU 1 after it came back"
"$KXL" vcpu-list linux | awk '$3 ~ /^[01]$/ && $5 != "---" { n++ } END { exit n != 2 }' ||
	{ "$KXL" vcpu-list linux; fail "kxl vcpu-list does not show vCPU 1 online again"; }
pass "kxl vcpu-set 2: CPU 1 came back (VCPUOP_up resumes it), ran a process, and kxl vcpu-list follows"

"$KXL" shutdown linux > "$T/shutdown.out" 2>&1 || { cat "$T/shutdown.out"; fail "kxl shutdown"; }
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
wait_log "^\(XEN\) d$id Linux PV layer: [0-9]+ remote TLB flushes asked of kxen-hv" 30
grep -Eq "^\(XEN\) d$id Linux PV layer: [1-9][0-9]* remote TLB flushes" "$T/hv.log" ||
	fail "the layer asked for no remote TLB flush"
console_has "BUG:\|Oops\|cut here" && { grep -n "BUG:\|Oops\|cut here" "$CON" | head; fail "Linux reported a BUG, oops or warning"; }
pass "kxl shutdown powered the 2-vCPU guest off; remote flushes were made; no BUG, oops or warning"
