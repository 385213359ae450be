# lifecycle_actions.sh: on_poweroff/on_reboot/on_crash destroy, preserve and restart with real guests.
. "$(dirname "$0")/lib.sh"
dom0_start

state_of() { "$KXL" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
id_of() { "$KXL" domid "$1" 2>/dev/null; }
gone() { ! "$KXL" domid "$1" >/dev/null 2>&1; }

# destroy on poweroff: kxen-hv removes it; the state file goes at the next prune or destroy.
mkcfg pd "idle" 8 1 "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
create pd >/dev/null
"$KXL" shutdown -F -w pd >/dev/null || fail "shutdown -w pd"
gone pd || fail "on_poweroff destroy left the domain"
pass "on_poweroff destroy"

# preserve on poweroff and on crash: kept, flagged s / c, until kxl destroy.
mkcfg pp "idle" 8 1 "<on_poweroff>preserve</on_poweroff>"
create pp >/dev/null
"$KXL" shutdown -F -w pp >/dev/null || fail "shutdown -w pp"
case "$(state_of pp)" in *s*) ;; *) fail "on_poweroff preserve: state '$(state_of pp)'" ;; esac
"$KXL" destroy pp && gone pp || fail "destroy of preserved pp"
mkcfg cp "crash" 8 1 "<on_crash>preserve</on_crash>"
create cp >/dev/null
wait_until 60 sh -c "\"$KXL\" list cp | grep -q ' -*c-* '" || fail "on_crash preserve: state '$(state_of cp)'"
"$KXL" destroy cp
pass "on_poweroff preserve and on_crash preserve"

# restart on reboot: a new domain with the same name and UUID replaces the old one.
mkcfg rr "idle" 8 1 "<on_reboot>restart</on_reboot>"
create rr >/dev/null
old=$(id_of rr)
uuid=$("$KXL" dumpxml rr | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p')
[ -n "$uuid" ] || fail "dumpxml rr has no uuid"
"$KXL" reboot -F rr || fail "kxl reboot rr"
wait_until 60 sh -c "id=\$(\"$KXL\" domid rr 2>/dev/null) && [ \"\$id\" != $old ]" || fail "rr was not restarted"
new=$(id_of rr)
"$KXL" dumpxml rr | grep -q "<uuid>$uuid</uuid>" || fail "restarted rr has another uuid"
listed "$old" && fail "old rr (id $old) still exists"
wait_log "domain $new \\(rr\\) created"
"$KXL" destroy rr
pass "on_reboot restart: id $old -> $new, same uuid"

# restart on crash with a limit: a crash-looping guest is stopped, not left spinning. The window is
# an hour: on a loaded host 4 boots can take over a minute, and a 60 s window would then slide
# past the first crashes and let the loop go on.
export KXL_RESTART_LIMIT=3/3600
mkcfg loop "crash" 8 1 "<on_crash>restart</on_crash>"
create loop >/dev/null
# "gone" alone would also be true between a restart's destroy and its create.
# The glob is expanded at each poll: the monitor may open its log only after kxl create returned.
too_fast_logged() { grep -q "restarting too fast" "$KXEN_STATE_DIR"/*.log 2>/dev/null; }
wait_until 300 too_fast_logged ||
	fail "the crash loop was not stopped within 300 s"
wait_until 60 gone loop || fail "crash-looping guest still there 60 s after its monitor stopped it"
unset KXL_RESTART_LIMIT
n=$(grep -c "domain [0-9]* (loop) crashed" "$T/hv.log")
[ "$n" = 4 ] || fail "expected 4 crashes (1 + 3 restarts), saw $n"
grep -q "restarting too fast (3 restarts within 3600 s)" "$KXEN_STATE_DIR"/*.log || fail "no 'restarting too fast' message"
pass "on_crash restart stops after the limit ($n crashes)"

# rename-restart: the crashed domain is kept under a new name, a fresh one starts.
mkcfg rn "crash" 8 1 "<on_crash>rename-restart</on_crash>"
export KXL_RESTART_LIMIT=1/3600
create rn >/dev/null
first=$(sed -n "s/^(XEN) domain \([0-9]*\) (rn) created.*/\1/p" "$T/hv.log" | head -1)
wait_until 60 "$KXL" domid "rn-crashed-$first" >/dev/null 2>&1 || fail "no rn-crashed-$first"
wait_until 60 gone rn || fail "second rn still there"
unset KXL_RESTART_LIMIT
"$KXL" list "rn-crashed-$first" | grep -q -- "--c-" || fail "renamed domain is not shown crashed"
"$KXL" dumpxml "rn-crashed-$first" | grep -q "<name>rn-crashed-$first</name>" || fail "dumpxml of renamed"
"$KXL" destroy "rn-crashed-$first"
pass "on_crash rename-restart"

for p in $(monitor_pids); do
	wait_until 60 sh -c "! kill -0 $p 2>/dev/null" || fail "monitor $p still running"
done
[ -z "$("$KXL" list | sed 1d)" ] || fail "domains left: $("$KXL" list)"
pass "monitors exited, no domains left"
