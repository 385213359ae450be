# 50 domains created and destroyed in a loop leave kxen-hv's fds and memory unchanged.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg loop idle
# Warm up once so lazily created state (log pages, allocator arenas) exists before the baseline.
id=$(create loop); wait_log "^\(XEN\) domain $id \(loop\) created"; "$KXL" destroy "$id"
fd0=$(hv_fds); rss0=$(hv_rss_kib)
for i in $(seq 1 50); do
	"$KXL" create "$T/loop.xml" >/dev/null 2>&1 || fail "create $i"
	"$KXL" destroy loop >/dev/null 2>&1 || fail "destroy $i"
done
# kxen-hv refills its pool of prebuilt VMs in the background: let it settle.
for _ in $(seq 1 40); do
	fd1=$(hv_fds)
	[ "$fd1" = "$fd0" ] && break
	sleep 0.05
done
rss1=$(hv_rss_kib)
echo "fds: $fd0 -> $fd1; RSS: $rss0 KiB -> $rss1 KiB"
[ "$fd0" = "$fd1" ] || fail "kxen-hv fd count changed: $fd0 -> $fd1"
# The log ring grows by ~100 bytes a domain; allow 256 KiB for that and allocator slack.
[ "$rss1" -le $((rss0 + 256)) ] || fail "kxen-hv RSS grew: $rss0 -> $rss1 KiB"
"$KXL" list | awk 'NR > 1' | grep -q . && fail "domains left behind"
pass "50 create/destroy cycles: fds $fd0 -> $fd1, RSS $rss0 -> $rss1 KiB"
