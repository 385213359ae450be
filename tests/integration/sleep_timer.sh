# The sleep app checks one-shot timers and pvclock against the wallclock.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg sleeper "sleep 500"
id=$(create sleeper)
wait_log "^\(d$id\) sleep: (OK|FAIL)" 15
grep -E "^\(d$id\) sleep:" "$T/hv.log"
grep -q "^(d$id) sleep: OK" "$T/hv.log" || fail "sleep reported failure"
pass "timer sleep within bounds"

# libvirt's <clock>: kxl computes the offset, kxen-hv adds it to the wallclock in shared_info.
# wallclock ID EXPECTED-OFFSET: the guest's wallclock at its start against the host's $now.
wallclock() {
	wait_log "^\(d$1\) sleep: (OK|FAIL)" 15
	local w d
	w=$(sed -n "s/^(d$1) sleep: wallclock at start \([0-9]*\) s/\1/p" "$T/hv.log")
	[ -n "$w" ] || fail "d$1 printed no wallclock"
	d=$((w - now - $2))
	[ ${d#-} -le 30 ] || fail "d$1: wallclock $w, host $now: offset $((w - now)) s, expected $2"
}
now=$(date +%s)
wallclock "$id" 0
mkcfg ahead "sleep 100" 8 1 "<clock offset='variable' adjustment='86400' basis='utc'/>"
now=$(date +%s)
id=$(create ahead)
wallclock "$id" 86400
# localtime: the host's UTC offset as kxl sees it at create (here a zone 3 hours east).
mkcfg local "sleep 100" 8 1 "<clock offset='localtime'/>"
now=$(date +%s)
id=$(TZ=XYZ-3 create local)
wallclock "$id" 10800
grep -q "<clock>: the host's UTC offset at each start is added" "$T/create.out" || fail "no note for localtime"
pass "<clock offset='variable' adjustment='86400'> and offset='localtime' reach the guest's wallclock"
