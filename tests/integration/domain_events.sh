# kxen-hv signals a subscribed dom0 tool on domain creation, shutdown and destruction.
. "$(dirname "$0")/lib.sh"
dom0_start
W=$B/tests/integration/domain_events_watch
"$W" 100 120 > "$T/events.out" 2> "$T/events.err" &
WPID=$!
subscribed() { grep -q ready "$T/events.out"; }
wait_until 60 subscribed || fail "the watcher did not subscribe: $(cat "$T/events.err")"

# wait_events REGEX: waits until a signal's table matches.
wait_events() {
	wait_until 60 grep -Eq -- "$1" "$T/events.out" && return 0
	cat "$T/events.out" "$T/events.err"
	fail "no domain event matching /$1/"
}

mkcfg idle "idle"
id=$(create idle)
wait_events "^event:.* $id:"
"$KXL" shutdown -F "$id" || fail "kxl shutdown -F $id"
# Shut down (flag 0x8) or already reaped: either way a signal showed the change.
wait_events "^event:( [0-9]+:[0-9a-f]+)*$"
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null

# A second subscriber on its own connection, and crash notification.
"$W" 100 120 > "$T/events.out" 2> "$T/events.err" &
WPID=$!
wait_until 60 subscribed || fail "the second watcher did not subscribe: $(cat "$T/events.err")"
mkcfg crash "crash" 8 1 "<on_crash>preserve</on_crash>"
id=$(create crash)
wait_log "domain $id \(crash\) shut down: crash"
# has_flag ID BIT: whether some signalled table showed domain ID with that flag bit.
has_flag() {
	for f in $(grep -o " $1:[0-9a-f]*" "$T/events.out" | cut -d: -f2); do
		[ $(( 0x$f & $2 )) != 0 ] && return 0
	done
	return 1
}
wait_until 60 has_flag "$id" 0x10 || { cat "$T/events.out"; fail "the crash of d$id was not signalled with the crashed flag"; }
"$KXL" destroy "$id" || fail "destroy crash"
wait_events "^event:$"
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
kill -0 "$HVPID" || fail "kxen-hv died"
pass "domain events: creation, shutdown, crash and destruction signalled"
