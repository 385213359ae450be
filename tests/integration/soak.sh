#!/bin/bash
# soak.sh: SOAK_CYCLES (50) create/destroy cycles mixing our guest apps, some with a vbd, a vif or both; then kxen-hv, kxenstored and kxen-backd are back to their starting fds, threads, memfds and xenstore nodes, RSS within a margin.
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT
command -v xenstore-ls >/dev/null || skip "xenstore-utils (xenstore-ls) is not installed"
CYCLES=${SOAK_CYCLES:-50}
# RSS margin per daemon: the log rings and allocator arenas settle, they do not grow per domain.
RSS_MARGIN_KIB=${SOAK_RSS_MARGIN_KIB:-1024}

dom0_start
truncate -s 8M "$T/soak.raw"
DISK="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/soak.raw'/><target dev='xvda' bus='xen'/></disk>"
NIC="<interface type='bridge'><source bridge='br0'/><mac address='00:16:3e:00:00:42'/></interface>"
mkcfg s0 "hello" 16
mkcfg s1 "count 30 0" 16
mkcfg s2 "blk-test 1 20" 16 1 "<devices>$DISK</devices>"
mkcfg s3 "udp-echo ip=192.0.2.2/24 7 0" 16 1 "<devices>$NIC</devices>"
mkcfg s4 "blk-test 1 10" 16 2 "<devices>$DISK$NIC</devices>"

gone() { wait_log "^\(XEN\) domain $1 \([a-z0-9]+\) destroyed" 60; }

cycle() {   # cycle I: one create, the app's work, the domain gone
	local k=$(( $1 % 5 )) id
	"$KXL" create "$T/s$k.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "cycle $1: kxl create s$k"; }
	id=$(domid_of "s$k")
	case $k in
	2|4) wait_log "\(d$id\) blk-test: (OK|FAIL)" 60
	     grep -q "(d$id) blk-test: FAIL" "$T/hv.log" && fail "cycle $1: blk-test failed in d$id" ;;
	3) wait_log "\(d$id\) net: up" 30
	   "$KXL" destroy "$id" >/dev/null 2>&1 || fail "cycle $1: destroy d$id" ;;
	esac
	gone "$id"
}

pid_of() { case $1 in hv) echo "$HVPID" ;; xs) echo "$XSPID" ;; backd) echo "$BACKDPID" ;; esac; }
fds() { ls "/proc/$1/fd" | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Counts that must come back exactly, once the daemons' deferred work is done.
state() {
	local s=""
	for d in hv xs backd; do
		p=$(pid_of $d)
		s="$s $d:fds=$(fds "$p"),threads=$(threads "$p")"
	done
	echo "$s memfds=$(ls -l "/proc/$HVPID/fd" | grep -c memfd:) nodes=$(xenstore-ls / | wc -l)"
}
settled() {
	# kxen-backd keeps a gone domain's console pty up to 2 s for a reader (cons_linger.c).
	sleep 2.2
	steady state
}

# Warm up: one cycle of each kind, so lazily made state (switch, pools, arenas) exists before the baseline.
for i in 0 1 2 3 4; do cycle $i; done
s0=$(settled)
for d in hv xs backd; do eval "rss0_$d=$(rss "$(pid_of $d)")"; done
t0=$(date +%s.%N)
for i in $(seq 5 $((CYCLES + 4))); do cycle "$i"; done
t1=$(date +%s.%N)
s1=$(settled)
echo "start: $s0"
echo "end:   $s1"
[ "$s0" = "$s1" ] || fail "after $CYCLES cycles the daemons did not come back: $s0 -> $s1"
"$KXL" list | awk 'NR > 1' | grep -q . && fail "domains left behind"
msg=""
for d in hv xs backd; do
	eval "r0=\$rss0_$d"
	r1=$(rss "$(pid_of $d)")
	echo "RESULT soak_${d}_rss_kib_start=$r0"
	echo "RESULT soak_${d}_rss_kib_end=$r1"
	[ "$r1" -le $((r0 + RSS_MARGIN_KIB)) ] || fail "$d RSS grew by more than $RSS_MARGIN_KIB KiB: $r0 -> $r1 KiB"
	msg="$msg $d $r0->$r1"
done
secs=$(echo "$t1 - $t0" | bc -l 2>/dev/null || python3 -c "print($t1 - $t0)")
echo "RESULT soak_cycles=$CYCLES"
printf 'RESULT soak_seconds=%.1f\n' "$secs"
pass "$CYCLES cycles in $(printf '%.1f' "$secs") s: fds, threads, memfds, xenstore nodes unchanged; RSS KiB$msg (margin $RSS_MARGIN_KIB)"
