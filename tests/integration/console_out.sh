#!/bin/bash
# Guest output through the console ring lands in kxen-backd's per-domain log, complete and in order; a guest that corrupts its ring is cut off alone.
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT

dom0_start
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"

N=200
mkcfg cout "count $N"
id=$(create cout)
LOG=$T/console/guest-cout.log
wait_file "$LOG" "count: done" 30
tr -d '\r' < "$LOG" | grep '^count: line ' > "$T/got"
seq 1 $N | sed "s/.*/count: line & of $N/" > "$T/want"
cmp -s "$T/got" "$T/want" || { diff "$T/want" "$T/got" | head; fail "console log lines differ from 1..$N"; }
grep -q "^kxen-guest: booting" "$LOG" || fail "boot banner missing from the console log"
grep -q "^(d$id) count: line $N of $N" "$T/hv.log" || fail "default console=both: the kxen-hv log lacks the copy"
pass "$N lines in order in $LOG, and the kxen-hv copy"

# console=ring: the ring only, nothing more in the hypervisor log.
mkcfg cring "console=ring count 20"
id2=$(create cring)
wait_file "$T/console/guest-cring.log" "count: done" 30
grep -q "^(d$id2) count: line" "$T/hv.log" && fail "console=ring still copied output to the kxen-hv log"
pass "console=ring keeps output out of the kxen-hv log"

# A hostile guest: its console is detached with a log line; kxen-backd serves the next guest.
mkcfg cbad "cons-garbage"
id3=$(create cbad)
wait_file "$T/backd.log" "d$id3: console: frontend cut off: out ring indexes are corrupt" 20
kill -0 "$BACKDPID" || fail "kxen-backd died on a corrupt ring"
mkcfg cafter "count 5"
id4=$(create cafter)
wait_file "$T/console/guest-cafter.log" "count: done" 30
"$KXL" destroy "$id3" 2>/dev/null
pass "corrupt ring detached (d$id3), next guest served"
