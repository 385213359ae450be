# Pause stops a burning guest's CPU time; unpause resumes it.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg burner burn
id=$(create burner)
wait_log "^\(d$id\) burn:" 10
cputime() { "$KXL" list | awk -v id="$id" '$2 == id { print $6 }'; }
"$KXL" pause "$id" || fail "kxl pause"
sleep 0.2
a=$(cputime); sleep 1; b=$(cputime)
state=$("$KXL" list | awk -v id="$id" '$2 == id { print $5 }')
case "$state" in *p*) ;; *) fail "paused domain state '$state' lacks p" ;; esac
[ "$a" = "$b" ] || fail "CPU time advanced while paused: $a -> $b"
"$KXL" unpause "$id" || fail "kxl unpause"
sleep 1
c=$(cputime)
awk -v b="$b" -v c="$c" 'BEGIN { exit !(c > b + 0.5) }' || fail "CPU time did not advance after unpause: $b -> $c"
"$KXL" destroy "$id"
pass "pause froze CPU time at $b s; unpaused to $c s"
