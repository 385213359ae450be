# Without a writable cgroup, sched-credit and <cputune> shares fail with the reason; listing and pinning still work.
. "$(dirname "$0")/lib.sh"
mkdir "$T/nocg"
KXEN_CGROUP_ROOT=$T/nocg dom0_start
grep -q "sched: no cgroup for weights and caps: KXEN_CGROUP_ROOT $T/nocg is not a cgroup directory" "$T/hv.log" ||
	fail "kxen-hv did not log why it has no cgroup"
mkcfg idle1 idle 8 1
id=$(create idle1)
"$KXL" sched-credit > "$T/sc.out" || fail "listing without a cgroup"
grep -q "^Cpupool Pool-0: host scheduler, no cgroup (weights and caps not applied: KXEN_CGROUP_ROOT" "$T/sc.out" ||
	fail "the listing does not say why: $(cat "$T/sc.out")"
awk '$1 == "idle1" { w = $3; c = $4 } END { exit w != 256 || c != 0 }' "$T/sc.out" || fail "defaults not listed"
out=$("$KXL" sched-credit -d idle1 -w 512 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "kxen-hv has no writable cgroup for the host scheduler: KXEN_CGROUP_ROOT $T/nocg is not a cgroup directory" ||
	fail "setting a weight: rc $rc: $out"
pass "sched-credit says why it cannot set weights"

mkcfg tuned idle 8 1 "<cputune><shares>2048</shares></cputune>"
out=$("$KXL" create "$T/tuned.xml" 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "tuned.xml:[0-9]*: <cputune>: kxen-hv cannot apply CPU shares or quotas here: KXEN_CGROUP_ROOT" ||
	fail "<cputune> without a cgroup: rc $rc: $out"
"$KXL" list | awk '$1 == "tuned" { exit 1 }' || fail "the refused domain is still there"
"$KXL" vcpu-pin idle1 0 0 || fail "pinning needs no cgroup"
pass "<cputune><shares> refused at create with the reason; pinning still works"
