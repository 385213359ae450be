#!/bin/bash
# linux_smp.sh: Debian's cloud kernel with 2 vCPUs on kxen (VCPUOP_initialise/up, per-vCPU layer copies, remote TLB flushes): both CPUs online and working, a fork/exec storm, then kxl vcpu-set takes CPU 1 away and gives it back in the running guest; one boot (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init's commands (they fit the 1023-byte command line): the CPUs Linux sees; a loop pinned to each CPU with
# CPU 1's /proc/stat ticks before and after; parallel fork+exec pairs (page tables copied and torn down on
# both CPUs: remote flushes); then it waits for kxl vcpu-set 1 (CPU 1 offline), and for vcpu-set 2, which
# makes cpu1 present again for user space to online (as Xen's udev rule does), and uses it.
run=$(tr '\n' ' ' <<'RUN'
echo cpus=$(grep -c ^processor /proc/cpuinfo) nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online);
echo 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo loop$1-done' > /l;
grep ^cpu1 /proc/stat; taskset -c 0 sh /l 0 & taskset -c 1 sh /l 1; wait; grep ^cpu1 /proc/stat;
n=0; while [ $n -lt 60 ]; do sh -c 'exit 3' & sh -c 'exit 4'; wait; n=$((n+1)); done; echo storm-done $n;
echo ready-for-unplug; while [ $(cat /sys/devices/system/cpu/online) != 0 ]; do sleep 0.2; done; echo online=$(cat /sys/devices/system/cpu/online);
while [ ! -e /sys/devices/system/cpu/cpu1/online ]; do sleep 0.2; done; echo 1 > /sys/devices/system/cpu/cpu1/online; echo replugged online=$(cat /sys/devices/system/cpu/online);
taskset -c 1 echo on-cpu1-again; exec sleep 600
RUN
)
linux_setup "$run"
sed -i -e 's|<vcpu>1<|<vcpu>2<|' "$T/linux.xml"
dom0_start

"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
wait_until 300 console_has "^storm-done" || { tail -30 "$CON"; fail "/init's SMP commands did not all run"; }
console_has "smp: Brought up 1 node, 2 CPUs" || fail "Linux did not bring up its second CPU"
console_has "^cpus=2 nproc=2 online=0-1" || fail "/proc/cpuinfo, nproc or the online mask do not show 2 CPUs"
pass "Linux brought up both vCPUs (VCPUOP_initialise, VCPUOP_up): /proc/cpuinfo, nproc and online agree"
console_has "^loop0-done" && console_has "^loop1-done" || fail "a loop pinned to each CPU did not finish"
# CPU 1's user ticks (field 2 of /proc/stat's cpu1 line) went up while a loop was pinned to it.
read -r before after < <(grep '^cpu1 ' "$CON" | awk '{ printf "%s ", $2 } END { print "" }')
[ -n "$after" ] && [ "$after" -gt "$before" ] || fail "CPU 1's user time did not advance ($before -> $after)"
pass "loops pinned with taskset ran on CPU 0 and CPU 1 (CPU 1's user ticks $before -> $after)"
console_has "^storm-done 60" || fail "the fork+exec storm did not complete"
pass "120 fork+exec+exit in pairs across both CPUs"
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
