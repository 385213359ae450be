#!/bin/bash
# hv_log_flood.sh: two guests flood kxen-hv's log (refused balloon frames, console lines) at once: each domain's lines stay within its own budget, every refused line is counted in a "messages suppressed" line, and a quiet neighbour's first refusal still shows.
. "$(dirname "$0")/lib.sh"
dom0_start

R=20000
mkcfg fa "log-flood $R" 8 1
mkcfg fb "log-flood $R" 8 1
size0=$(stat -c %s "$T/hv.log")
t0=${EPOCHREALTIME/./}
a=$(create fa)
b=$(create fb)
wait_log "^\(d$a\) log-flood: (done|FAIL)" 300
wait_log "^\(d$b\) log-flood: (done|FAIL)" 300
wait_log "^\(XEN\) domain $a \(fa\) destroyed" 30
wait_log "^\(XEN\) domain $b \(fb\) destroyed" 30
secs=$(( (${EPOCHREALTIME/./} - t0 + 999999) / 1000000 ))
grown=$(( $(stat -c %s "$T/hv.log") - size0 ))

for id in $a $b; do
	grep -q "^(d$id) log-flood: done, $R of $R frames refused" "$T/hv.log" || fail "d$id: the guest's frames were not all refused"
	logged=$(grep -c "^(XEN) d$id: decrease_reservation of frame 0 refused" "$T/hv.log")
	suppressed=$(sed -n "s/^(XEN) d$id: \([0-9]*\) messages suppressed$/\1/p" "$T/hv.log" | awk '{ s += $1 } END { print s + 0 }')
	# Xen's printk_ratelimit per domain: 10 at once, then one per 5 s.
	[ "$logged" -le $(( 10 + secs / 5 + 1 )) ] || fail "d$id: $logged refusal lines in $secs s: the budget is 10 + 1 per 5 s"
	[ "$logged" -ge 10 ] || fail "d$id: only $logged refusal lines: another domain's flood took its budget"
	[ $((logged + suppressed)) = "$R" ] || fail "d$id: $logged lines logged + $suppressed suppressed != $R refusals"
	con=$(grep -c "^(d$id) abcdefghij" "$T/hv.log")
	dropped=$(sed -n "s/^(XEN) d$id: \([0-9]*\) console lines dropped (rate limit)$/\1/p" "$T/hv.log" | awk '{ s += $1 } END { print s + 0 }')
	[ "$con" -le $(( 2000 + 200 * secs )) ] || fail "d$id: $con console lines in $secs s: the budget is 2000 + 200/s"
	# The balloon driver's first "balloon: target" line comes whenever its watch fires, and may be
	# one of the dropped lines: R flood lines, plus at most that one.
	[ $((con + dropped)) -ge "$R" ] && [ $((con + dropped)) -le $((R + 1)) ] ||
		fail "d$id: $con console lines + $dropped dropped: not the $R written (+1 balloon line)"
	echo "d$id: refusals $logged logged, $suppressed suppressed; console lines $con logged, $dropped dropped"
done
# The budgets in bytes (a refusal line < 100 bytes, a console line 245 and the "N console lines
# dropped" line that may follow it, ~50), for both domains, plus the lifecycle lines.
bound=$(( 2 * ((12 + secs / 5) * 100 + (2000 + 200 * secs) * 300 + 4096) ))
[ "$grown" -le "$bound" ] || fail "hv.log grew by $grown bytes in $secs s, past the bound $bound"
pass "two guests made $R refusals and $R console lines each in $secs s: hv.log grew by $grown bytes (bound $bound; unlimited: over $((2 * R * 340)))"

# A guest with nothing refused yet gets its first line whatever the others did.
mkcfg fc "log-flood 1" 8 1
c=$(create fc)
wait_log "^\(d$c\) log-flood: (done|FAIL)" 60
grep -q "^(XEN) d$c: decrease_reservation of frame 0 refused" "$T/hv.log" || fail "d$c's one refusal was not logged"
grep -q "^(XEN) d$c: [0-9]* messages suppressed" "$T/hv.log" && fail "d$c: a suppressed line for a guest within its budget"
pass "a third guest's single refusal is logged, nothing suppressed"
