# Without a writable cgroup, sched-credit and <cputune> shares fail with the reason; listing and pinning still work; a v2 root without cpu is named as such.
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

# A cgroup v2 directory without the cpu controller (this sandbox's /sys/fs/cgroup/unified) is refused with that reason.
V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$V2" ] && ! grep -qw cpu "$V2/cgroup.controllers"; then
	KXEN_CGROUP_ROOT=$V2 "$HV" -f -s "$T/hv2.sock" -l "$T/hv2.log" 2>"$T/hv2.err" &
	pid2=$!
	for _ in $(seq 1 100); do [ -S "$T/hv2.sock" ] && break; sleep 0.05; done
	kill "$pid2"; wait "$pid2"
	grep -q "sched: no cgroup for weights and caps: cgroup v2 $V2: the cpu controller is not available there" "$T/hv2.log" ||
		fail "cgroup v2 without cpu: $(cat "$T/hv2.log")"
	pass "a cgroup v2 root without the cpu controller is refused with the reason"
else
	echo "note: no cgroup v2 mount without the cpu controller here: that message is not checked"
fi
