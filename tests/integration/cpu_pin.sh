# vCPU pinning (kxl vcpu-pin, <vcpu cpuset>, <cputune><vcpupin>) seen in the vCPU threads' Cpus_allowed_list; <vcpu current> and vcpu-set.
. "$(dirname "$0")/lib.sh"
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"
[ "$(nproc)" -ge 2 ] || skip "pinning needs two host CPUs to tell pinned from unpinned"
dom0_start

# allowed DOMID VCPU: the kernel's view of that vCPU thread's hard affinity.
allowed() {
	for t in /proc/$HVPID/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "kxd$1v$2" ] || continue
		awk '/^Cpus_allowed_list:/ { print $2 }' "$t/status"
		return
	done
	echo none
}
# wait_allowed DOMID VCPU LIST
wait_allowed() {
	for _ in $(seq 1 100); do
		[ "$(allowed "$1" "$2")" = "$3" ] && return 0
		sleep 0.05
	done
	fail "vCPU $2 of d$1: Cpus_allowed_list $(allowed "$1" "$2"), expected $3"
}
affinity() { "$KXL" vcpu-list "$1" | awk -v v="$2" 'NR > 1 && $3 == v { print $7 }'; }

# <vcpu cpuset> pins every vCPU; <vcpupin> overrides it for one.
mkcfg pin burn 8 2 "<cputune><vcpupin vcpu='1' cpuset='0'/></cputune>"
sed -i "s|<vcpu>2</vcpu>|<vcpu cpuset='1'>2</vcpu>|" "$T/pin.xml"
id=$(create pin)
wait_log "^\(d$id\) burn:" 10
wait_allowed "$id" 0 1
[ "$(affinity pin 0)" = 1 ] || fail "vcpu-list shows $(affinity pin 0) for vCPU 0, expected 1"
[ "$(affinity pin 1)" = 0 ] || fail "vcpu-list shows $(affinity pin 1) for the <vcpupin> vCPU 1, expected 0"
pass "<vcpu cpuset> and <vcpupin> applied at create"

"$KXL" vcpu-pin pin 0 0 || fail "kxl vcpu-pin pin 0 0"
wait_allowed "$id" 0 0
"$KXL" vcpu-pin pin all 'all,^0' || fail "kxl vcpu-pin pin all all,^0"
wait_allowed "$id" 0 1
[ "$(affinity pin 1)" = 1 ] || fail "vcpu-pin all did not reach vCPU 1"
"$KXL" vcpu-pin pin 0 all - || fail "kxl vcpu-pin pin 0 all -"
wait_allowed "$id" 0 "0-$(( $(nproc) - 1 ))"
[ "$(affinity pin 0)" = all ] || fail "vcpu-list shows $(affinity pin 0) after pinning to all"
pass "kxl vcpu-pin moves the running vCPU thread"

out=$("$KXL" vcpu-pin pin 0 3-1 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "runs backwards" || fail "a backwards range: rc $rc: $out"
out=$("$KXL" vcpu-pin pin 5 0 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "no such vCPU" || fail "vCPU 5 of 2: rc $rc: $out"
out=$("$KXL" vcpu-pin pin 0 0 1 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "soft affinity" || fail "soft affinity: rc $rc: $out"
pass "bad vcpu-pin arguments are refused with the reason"

# vcpu-set writes cpu/N/availability; our guest kernel cannot hot-plug, and kxl says so.
out=$("$KXL" vcpu-set pin 1 2>&1) || fail "kxl vcpu-set pin 1: $out"
[ "$(xenstore-read /local/domain/$id/cpu/1/availability)" = offline ] || fail "cpu/1/availability not offline"
[ "$(xenstore-read /local/domain/$id/cpu/0/availability)" = online ] || fail "cpu/0/availability not online"
# burn runs on vCPU 0 only: asking for 2 online needs the guest to hot-plug one, which it cannot.
out=$("$KXL" vcpu-set pin 2 2>&1) || fail "kxl vcpu-set pin 2: $out"
echo "$out" | grep -q "kxen's own guest kernel does not hot-plug vCPUs" || fail "vcpu-set 2 does not say the guest cannot hot-plug: $out"
[ "$(xenstore-read /local/domain/$id/cpu/1/availability)" = online ] || fail "cpu/1/availability not online again"
out=$("$KXL" vcpu-set pin 3 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "2 vCPUs at most" || fail "vcpu-set above <vcpu>: rc $rc: $out"
"$KXL" destroy pin
pass "vcpu-set writes cpu/N/availability"

# vCPU 1's thread is started by vCPU 0's (VCPUOP_up) and must not inherit vCPU 0's pinning.
mkcfg inh smp 8 2 "<cputune><vcpupin vcpu='0' cpuset='1'/></cputune><on_poweroff>preserve</on_poweroff>"
id=$(create inh)
wait_log "^\(d$id\) smp: all 2 vcpus reported" 20
wait_allowed "$id" 0 1
wait_allowed "$id" 1 "$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$HVPID/status")"
"$KXL" destroy inh
pass "an unpinned secondary vCPU does not inherit vCPU 0's pinning"

# <vcpu current='2'> of 4: the guest's VCPUOP_up of vCPUs 2 and 3 is refused.
mkcfg cur smp 8 4
sed -i "s|<vcpu>4</vcpu>|<vcpu current='2'>4</vcpu>|" "$T/cur.xml"
"$KXL" create -p "$T/cur.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "create cur"; }
id=$(domid_of cur)
[ "$(xenstore-read /local/domain/$id/cpu/2/availability)" = offline ] || fail "cpu/2/availability"
[ "$(xenstore-read /local/domain/$id/cpu/1/availability)" = online ] || fail "cpu/1/availability"
"$KXL" unpause cur
wait_log "^\(d$id\) smp: all 2 available vcpus reported \(2 of 4 online\)" 20
grep -q "^(d$id) smp: vcpu 3 is offline" "$T/hv.log" || fail "vCPU 3 came up"
pass "<vcpu current> holds the guest to 2 of 4 vCPUs"
