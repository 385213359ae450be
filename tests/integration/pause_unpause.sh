# Pause stops a burning guest's CPU time; unpause resumes it.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg burner burn
id=$(create burner)
wait_log "^\(d$id\) burn:" 10
cputime() { "$KXL" list | awk -v id="$id" '$2 == id { print $6 }'; }
state() { "$KXL" list | awk -v id="$id" '$2 == id { print $5 }'; }
# kxl pause returns once the vCPUs are kicked; they stop when next scheduled, which on a loaded host
# can be a while: wait until the state shows it (p set, r gone: no vCPU in guest mode).
stopped() { case "$(state)" in *r*) return 1 ;; *p*) return 0 ;; *) return 1 ;; esac; }
"$KXL" pause "$id" || fail "kxl pause"
wait_until 60 stopped || fail "paused domain state '$(state)': not p, or a vCPU still running"
a=$(cputime); sleep 1; b=$(cputime)
[ "$a" = "$b" ] || fail "CPU time advanced while paused: $a -> $b"
"$KXL" unpause "$id" || fail "kxl unpause"
# Half a second of CPU: immediate on an idle host, later when other load shares the CPUs.
advanced() { c=$(cputime); awk -v b="$b" -v c="$c" 'BEGIN { exit !(c > b + 0.5) }'; }
wait_until 60 advanced || fail "CPU time did not advance after unpause: $b -> $c in 60 s"
"$KXL" destroy "$id"
pass "pause froze CPU time at $b s; unpaused to $c s"
