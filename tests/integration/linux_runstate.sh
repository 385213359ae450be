#!/bin/bash
# linux_runstate.sh: a Linux guest's runstate area (VCPUOP_register_runstate_memory_area) is kept current by kxen-hv: the seconds its vCPU spends paused by kxl pause show as steal time in its /proc/stat, as on Xen (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init prints the cpu line's steal column (USER_HZ ticks) every second.
run=$(tr '\n' ' ' <<'RUN'
i=0; while [ $i -lt 300 ]; do echo steal $(awk '/^cpu / { print $9 }' /proc/stat) tick $i; sleep 1; i=$((i+1)); done;
exec sleep 600
RUN
)
linux_setup "$run"
dom0_start
"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
steal() { sed -n 's/^steal \([0-9]*\) tick.*/\1/p' "$CON" | tail -1; }
ticks() { grep -c '^steal [0-9]* tick' "$CON"; }
wait_until 300 sh -c "[ \$(grep -c '^steal [0-9]* tick' '$CON') -ge 3 ]" || { tail -20 "$CON"; fail "no steal lines from /init"; }
before=$(steal)
"$KXL" pause linux || fail "kxl pause"
sleep 4
"$KXL" unpause linux || fail "kxl unpause"
n=$(ticks)
wait_until 60 sh -c "[ \$(grep -c '^steal [0-9]* tick' '$CON') -ge $((n + 3)) ]" || fail "the guest stopped printing after unpause"
after=$(steal)
# 4 s paused is 400 ticks of runnable time; Linux accounts at most a tick's worth per tick, so allow it a margin.
[ $((after - before)) -ge 200 ] || fail "steal went from $before to $after ticks across a 4 s pause (expected ~400)"
pass "4 s paused shows as $((after - before)) ticks of steal in Linux's /proc/stat ($before -> $after)"
"$KXL" destroy linux || fail "kxl destroy"
