# 50 domains created and destroyed in a loop leave kxen-hv's fds and memory unchanged.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg loop idle
# Warm up once so lazily created state (log pages, allocator arenas) exists before the baseline.
id=$(create loop); wait_log "^\(XEN\) domain $id \(loop\) created"; "$KXL" destroy "$id"
# kxenstored closes a dead domain's store port on its own, a moment after the
# destroy; kxen-hv refills its pool of prebuilt VMs in the background. Sample
# the fd count once it has stayed put for 0.3 s.
settled_fds() {
	local a b
	a=$(hv_fds)
	for _ in $(seq 1 20); do
		sleep 0.3
		b=$(hv_fds)
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$a"
}
fd0=$(settled_fds); rss0=$(hv_rss_kib)
for i in $(seq 1 50); do
	"$KXL" create "$T/loop.xml" >/dev/null 2>&1 || fail "create $i"
	"$KXL" destroy loop >/dev/null 2>&1 || fail "destroy $i"
done
fd1=$(settled_fds)
rss1=$(hv_rss_kib)
echo "fds: $fd0 -> $fd1; RSS: $rss0 KiB -> $rss1 KiB"
[ "$fd0" = "$fd1" ] || fail "kxen-hv fd count changed: $fd0 -> $fd1"
# The log ring grows by ~100 bytes a domain; allow 256 KiB for that and allocator slack.
[ "$rss1" -le $((rss0 + 256)) ] || fail "kxen-hv RSS grew: $rss0 -> $rss1 KiB"
"$KXL" list | awk 'NR > 1' | grep -q . && fail "domains left behind"
pass "50 create/destroy cycles: fds $fd0 -> $fd1, RSS $rss0 -> $rss1 KiB"
