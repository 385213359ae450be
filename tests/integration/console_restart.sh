#!/bin/bash
# kill -9 kxen-backd while a guest prints numbered lines, restart it: every line is in the log exactly once and in order.
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT

dom0_start
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"

N=400
mkcfg crst "count $N 5"
id=$(create crst)
LOG=$T/console/guest-crst.log
wait_file "$LOG" "count: line 50 of" 30
backd_stop KILL
# Long enough for the guest to fill the 2 KiB ring and block on it.
sleep 1.5
grep -q "count: done" "$LOG" && fail "the guest finished while kxen-backd was down: nothing was tested"
backd_start
wait_file "$LOG" "count: done" 60
tr -d '\r' < "$LOG" | grep '^count: line ' > "$T/got"
seq 1 $N | sed "s/.*/count: line & of $N/" > "$T/want"
cmp -s "$T/got" "$T/want" || { diff "$T/want" "$T/got" | head; fail "lines lost or repeated across the restart"; }
[ "$(grep -c 'console attached' "$T/backd.log")" -ge 2 ] || fail "kxen-backd did not re-attach after the restart"
pass "$N lines exactly once and in order across kill -9 and restart"
