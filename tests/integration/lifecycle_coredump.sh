# lifecycle_coredump.sh: on_crash coredump-destroy/-restart write ELF cores that gdb opens at the crash.
. "$(dirname "$0")/lib.sh"
command -v gdb >/dev/null || skip "gdb is not installed (apt-get install gdb)"
dom0_start

gone() { ! "$KXL" domid "$1" >/dev/null 2>&1; }

mkcfg cd "crash" 8 1 "<on_crash>coredump-destroy</on_crash>"
create cd >/dev/null
wait_until 60 gone cd || fail "coredump-destroy left the domain"
core=$(ls "$KXEN_DUMP_DIR"/cd-*.core 2>/dev/null | head -1)
[ -n "$core" ] || fail "no core in $KXEN_DUMP_DIR"
rip=$(sed -n 's/.*(cd) crashed: vcpu 0: .* at rip \(0x[0-9a-f]*\).*/\1/p' "$T/hv.log")
[ -n "$rip" ] || fail "no crash rip in the log"
out=$(gdb -batch -ex 'info registers rip' "$GUEST" "$core" 2>&1)
echo "$out" | grep -q "^rip *$rip .*<app_crash" || { echo "$out"; fail "gdb does not show rip $rip in app_crash"; }
pass "coredump-destroy: $core opens in gdb at rip $rip"

# coredump-restart: a core per crash, and the guest comes back (limit 1, so two crashes in all).
export KXL_RESTART_LIMIT=1/3600   # a window no loaded host outlasts
mkcfg cr "crash" 8 2 "<on_crash>coredump-restart</on_crash>"
create cr >/dev/null
wait_until 180 sh -c "[ \$(ls \"$KXEN_DUMP_DIR\"/cr-*.core 2>/dev/null | wc -l) -ge 2 ]" || fail "expected two cores of cr"
wait_until 60 gone cr || fail "cr still there after the restart limit"
core=$(ls "$KXEN_DUMP_DIR"/cr-*.core | head -1)
gdb -batch -ex 'info threads' "$GUEST" "$core" 2>&1 | grep -q "LWP 2" || fail "core of a 2-vCPU guest lacks vCPU 1"
pass "coredump-restart: two cores, both vCPUs in them"

# kxl dump-core on a running guest pauses it, dumps, and lets it run on.
mkcfg live "idle" 8 1
create live >/dev/null
"$KXL" dump-core live "$T/live.core" || fail "dump-core live"
gdb -batch -ex 'info registers rip' "$GUEST" "$T/live.core" 2>&1 | grep -q "^rip" || fail "gdb cannot read live.core"
"$KXL" list live | grep -q -- "-p-" && fail "live stayed paused"
"$KXL" destroy live
pass "dump-core of a running guest"
