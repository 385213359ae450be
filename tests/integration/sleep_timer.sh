# The sleep app checks one-shot timers and pvclock against the wallclock.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg sleeper "sleep 500"
id=$(create sleeper)
wait_log "^\(d$id\) sleep: (OK|FAIL)" 15
grep -E "^\(d$id\) sleep:" "$T/hv.log"
grep -q "^(d$id) sleep: OK" "$T/hv.log" || fail "sleep reported failure"
pass "timer sleep within bounds"
