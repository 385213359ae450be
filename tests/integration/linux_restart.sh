#!/bin/bash
# linux_restart.sh: Debian's Linux guest writing ext4 (sync after each file) and pinging one of our guests while kxen-backd is killed (-9) and restarted, then while kxenstored is: Linux's disk and network go on, the host stack answers throughout, our guests beside keep working, the image is fsck-clean with every file Linux synced, a disk hot-plugged after each restart appears in Linux, and a guest is destroyable with kxen-backd down (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/linux_lib.sh"
trap 'backd_stop; cleanup' EXIT
# /init's commands (no '<' or '"'): ext4 on xvda, eth0 up, a ping to our guest every 0.3 s in the background, and
# files of 64 KiB ('yes N', 16 names in turn) each followed by sync and a line, until the host hot-plugs xvdb.
run=$(tr '\n' ' ' <<'RUN'
for i in $(seq 150); do [ -b /dev/xvda ] && [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done;
mkdir /m; mount /dev/xvda /m; echo mount $?;
ip addr add 192.0.2.2/24 dev eth0; ip link set eth0 up;
(i=0; while :; do i=$((i+1)); ping -c1 -W1 192.0.2.3 >/dev/null && echo ping-ok $i; sleep 0.3; done) &
i=0; until [ -b /dev/xvdb ]; do i=$((i+1)); yes $i | head -c 65536 > /m/f$((i%16)); sync; echo wrote $i $(cut -d. -f1 /proc/uptime); done;
echo writes-done $i xvdb $(cat /sys/block/xvdb/size); umount /m; echo umount $?; exec sleep 900
RUN
)
linux_setup "$run" lx
command -v mkfs.ext4 > /dev/null && command -v e2fsck > /dev/null && command -v debugfs > /dev/null ||
	skip "no e2fsprogs (mkfs.ext4, e2fsck, debugfs) on this host"
dom0_start
CON=$T/console/guest-lx.log
count() { grep -c "^$1" "$CON" 2>/dev/null; }
last_wrote() { sed -n 's/^wrote \([0-9]*\).*/\1/p' "$CON" | tail -1; }

# Ours beside: one answers Linux's pings on the same switch, one writes its disk in a loop.
nid=$(net_guest nb "udp-echo ip=192.0.2.3/24 7 0" br0 3)
mkcfg bl "blk-loop 2000 5 32 1" 16 1 "<devices><disk type='file' device='disk'>
  <driver name='qemu' type='raw'/><source file='$T/bl.raw'/><target dev='xvda' bus='xen'/></disk></devices>"
truncate -s 128M "$T/bl.raw"

# linux_start IMG: a new ext4 image and the Linux guest on it with a vif on br0; sets lid.
linux_start() {
	rm -f "$T/$1"
	mkfs.ext4 -q -F "$T/$1" 64M > "$T/mkfs.out" 2>&1 || { cat "$T/mkfs.out"; fail "mkfs.ext4"; }
	sed -e "s|</os>.*|</os>|" "$T/lx.xml" > "$T/lx-run.xml"
	sed -i "s|</os>|</os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/$1'/><target dev='xvda' bus='xen'/></disk><interface type='bridge'><mac address='$(net_mac 2)'/><source bridge='br0'/></interface></devices>|" "$T/lx-run.xml"
	: > "$CON.prev"; [ -f "$CON" ] && mv "$CON" "$CON.prev"
	"$KXL" create "$T/lx-run.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create (Linux)"; }
	lid=$(domid_of lx)
	wait_until 300 eval '[ "$(count ping-ok)" -ge 3 ] && [ "$(count wrote)" -ge 20 ]' ||
		{ tail -20 "$CON"; tail -20 "$T/backd.log"; fail "Linux did not start writing and pinging"; }
}

# check_files IMG LAST: the 16 files hold 'yes K' for the last 16 K up to LAST (debugfs, read-only).
check_files() {
	local k f
	for k in $(seq $(($2 - 15)) "$2"); do
		f=f$((k % 16))
		debugfs -R "dump /$f $T/$f.out" "$T/$1" > /dev/null 2>&1
		cmp -s "$T/$f.out" <(yes "$k" | head -c 65536) || fail "/$f on $1 is not 'yes $k' (the last file Linux synced under that name)"
	done
}

# ---- 1. kill -9 of kxen-backd under Linux's writes and pings ----
linux_start lx1.img
bid=$(create bl)
wait_log "\(d$bid\) blk-loop: (acked 200|FAIL)" 60
before=$(last_wrote); pings=$(count ping-ok)
backd_stop KILL
grep -q "(d$bid) blk-loop: done" "$T/hv.log" && fail "our disk loop finished before the kill: nothing was tested"
t0=${EPOCHREALTIME/./}
timeout 10 "$KXL" list > "$T/list.out" 2>&1 || fail "kxl list did not answer with kxen-backd down"
grep -q " $lid " "$T/list.out" || fail "kxl list lost the Linux guest with kxen-backd down"
sleep 5   # Linux's next sync and ping meet a dead backend
backd_start
wait_file "$T/backd.log" "d$lid: vbd 51712: found Connected \(kxen-backd restarted\): resuming" 20
wait_until 120 eval '[ "$(count ping-ok)" -ge $((pings + 5)) ] && [ "$(last_wrote)" -ge $((before + 20)) ]' ||
	{ tail -20 "$CON"; tail -30 "$T/backd.log"; fail "Linux's disk and network did not resume after kxen-backd's restart (wrote $before, then $(last_wrote))"; }
grep -E "I/O error|EXT4-fs (error|warning)|blkfront.*(wrong|error|invalid|bad)|netfront.*(error|invalid|bad|Too many)|xennet.*(error|invalid|bad)" "$CON" | head -5 > "$T/kernel.err"
[ -s "$T/kernel.err" ] && { cat "$T/kernel.err"; fail "Linux logged block, network or ext4 errors across the restart"; }
# Linux's file writes waited for the backend: two consecutive 'wrote' lines (uptime in s) that far apart.
gap=$(awk '/^wrote / { if (prev != "" && $3 - prev > gap) gap = $3 - prev; prev = $3 } END { print gap + 0 }' "$CON")
[ "$gap" -ge 5 ] || fail "no write of Linux's waited for the restart (longest gap $gap s): the kill missed its I/O"
pass "kill -9 of kxen-backd: kxl list answered; one write+sync of Linux's waited $gap s for the new backend; Linux resumed its ext4 writes (wrote $before before, $(last_wrote) now) and its pings ($pings, then $(count ping-ok))"
truncate -s 8M "$T/hp1.img"
"$KXL" block-attach "$lid" "format=raw, vdev=xvdb, access=rw, target=$T/hp1.img" > "$T/attach.out" 2>&1 || { cat "$T/attach.out"; fail "block-attach after kxen-backd's restart"; }
wait_until 120 eval 'grep -q "^umount 0" "$CON"' || { tail -10 "$CON"; fail "Linux did not see xvdb or could not unmount"; }
grep -q "^writes-done [0-9]* xvdb 16384" "$CON" || fail "Linux saw xvdb with the wrong size"
last=$(sed -n 's/^writes-done \([0-9]*\).*/\1/p' "$CON")
"$KXL" shutdown "$lid" > /dev/null 2>&1 || fail "kxl shutdown of the Linux guest"
wait_log "^\(XEN\) domain $lid \(lx\) shut down: poweroff" 120
wait_file "$T/backd.log" "d$lid: vbd 51712: image closed" 30
e2fsck -fn "$T/lx1.img" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn after kxen-backd's restart"; }
check_files lx1.img "$last"
pass "after the restart: a hot-plugged xvdb appeared in Linux, it unmounted and powered off, e2fsck -fn is clean and its last 16 synced files ($((last - 15))-$last) are on the image"
wait_log "\(d$bid\) blk-loop: (done|FAIL)" 300
grep -q "(d$bid) blk-loop: FAIL" "$T/hv.log" && fail "our guest's disk loop failed across the restart"
pass "our guest's disk loop beside went on across the restart"

# ---- 2. kill -9 of kxenstored under the same load ----
linux_start lx2.img
old=$XSPID
kill -9 "$XSPID"; wait "$XSPID" 2>/dev/null; XSPID=
before=$(last_wrote); pings=$(count ping-ok)
# Rings need no xenstore: Linux's disk and network go on while it is down.
wait_until 60 eval '[ "$(count ping-ok)" -ge $((pings + 3)) ] && [ "$(last_wrote)" -ge $((before + 5)) ]' ||
	{ tail -10 "$CON"; fail "Linux's disk or network stopped with kxenstored down"; }
timeout 10 "$KXL" list > "$T/list.out" 2>&1; grep -q " $lid " "$T/list.out" || fail "kxl list with kxenstored down"
mv "$T/xs.log" "$T/xs-1.log"
xs_start
grep -q "restored d$lid" "$T/xs.log" || { cat "$T/xs.log"; fail "kxenstored did not restore the Linux domain"; }
wait_file "$T/backd.log" "xenstore: reconnected after [0-9]+ tries" 20
truncate -s 8M "$T/hp2.img"
"$KXL" block-attach "$lid" "format=raw, vdev=xvdb, access=rw, target=$T/hp2.img" > "$T/attach.out" 2>&1 || { cat "$T/attach.out"; fail "block-attach after kxenstored's restart"; }
wait_until 120 eval 'grep -q "^umount 0" "$CON"' || { tail -10 "$CON"; fail "Linux's xenbus did not see xvdb after kxenstored's restart"; }
last=$(sed -n 's/^writes-done \([0-9]*\).*/\1/p' "$CON")
pass "kill -9 of kxenstored: Linux wrote and pinged on while it was down ($before to $(last_wrote)); restarted, it restored the domain and Linux's xenbus saw a hot-plugged disk"

# ---- 3. destroyed while kxen-backd is down ----
backd_stop KILL
timeout 20 "$KXL" destroy "$lid" > "$T/destroy.out" 2>&1 || { cat "$T/destroy.out"; fail "kxl destroy with kxen-backd down"; }
wait_log "^\(XEN\) domain $lid \(lx\) destroyed" 30
listed "$lid" && fail "the destroyed Linux guest is still listed"
backd_start
e2fsck -fn "$T/lx2.img" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn of the guest destroyed with kxen-backd down"; }
check_files lx2.img "$last"
ping_before=$(grep -c "udp-echo" "$T/hv.log")
listed "$nid" || fail "our network guest is gone"
mkcfg nc "ping ip=192.0.2.4/24 192.0.2.3 3 100"
"$KXL" create -p "$T/nc.xml" > /dev/null 2>&1 && ncid=$(domid_of nc) && "$KXL" network-attach "$ncid" bridge=br0 "mac=$(net_mac 4)" > /dev/null 2>&1 && "$KXL" unpause "$ncid" || fail "a new pinging guest"
wait_log "\(d$ncid\) ping: 3/3 replies from 192.0.2.3" 60
pass "Linux destroyed with kxen-backd down: gone from kxl list, its image fsck-clean with its files; our guest beside answers pings after all three faults"
