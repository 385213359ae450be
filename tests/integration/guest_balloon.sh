#!/bin/bash
# guest_balloon.sh: kxen's own guest kernel follows memory/target (its drivers/balloon.c): kxl mem-set down and up moves kxl list and kxen-hv's committed total both ways, <currentMemory> is given back right after boot, and a domain without a balloon driver is refused by name.
. "$(dirname "$0")/lib.sh"
dom0_start

dom_mem() { "$KXL" list | awk -v n="$1" '$1 == n { print $3 }'; }
committed() { "$KXL" info | awk '/^domain_memory/ { print $3 }'; }
# wait_mem NAME MIB: kxl list reaches MIB within 30 s.
wait_mem() { wait_until 30 sh -c "[ \"\$(\"$KXL\" list | awk '\$1 == \"$1\" { print \$3 }')\" = $2 ]"; }

mkcfg g "idle" 128
id=$(create g)
wait_until 30 sh -c "[ \"\$(xenstore-read /local/domain/$id/control/feature-balloon 2>/dev/null)\" = 1 ]" ||
	fail "the guest did not advertise control/feature-balloon"
[ "$(dom_mem g)" = 128 ] && [ "$(committed)" = 128 ] || fail "before mem-set: kxl list $(dom_mem g), domain_memory $(committed) MiB"
"$KXL" mem-set g 64 || fail "kxl mem-set g 64"
wait_mem g 64 || fail "kxl list shows $(dom_mem g) MiB after mem-set 64"
[ "$(committed)" = 64 ] || fail "kxl info's domain_memory is $(committed) MiB, not 64"
wait_log "\(d$id\) balloon: target 65536 KiB, 16384 pages given back" 30
"$KXL" mem-set g 100 || fail "kxl mem-set g 100"
wait_mem g 100 || fail "kxl list shows $(dom_mem g) MiB after mem-set 100"
[ "$(committed)" = 100 ] || fail "kxl info's domain_memory is $(committed) MiB, not 100"
out=$("$KXL" mem-set g 129 2>&1) && fail "mem-set above the maximum succeeded"
echo "$out" | grep -q "between 64 MiB and its maximum, 128 MiB" || fail "mem-set 129: $out"
grep -q "(d$id) balloon: the hypervisor" "$T/hv.log" && fail "kxen-hv refused the guest's balloon: $(grep "(d$id) balloon" "$T/hv.log")"
pass "kxen's own kernel: mem-set 64 then 100 of 128 MiB, kxl list and domain_memory follow"

# <currentMemory>: the guest starts with all of <memory> and its balloon gives the rest back at once.
mkcfg h "idle" 128
sed -i "s|<memory unit='MiB'>128</memory>|&<currentMemory unit='MiB'>80</currentMemory>|" "$T/h.xml"
idh=$(create h)
grep -q "currentMemory" "$T/create.out" && fail "kxl create warned about <currentMemory>: $(cat "$T/create.out")"
wait_mem h 80 || fail "kxl list shows $(dom_mem h) MiB for <currentMemory> 80"
[ "$(xenstore-read /local/domain/$idh/memory/target)" = 81920 ] || fail "memory/target is not 81920 KiB"
pass "kxen's own kernel with <currentMemory> 80 of 128 MiB: at 80 MiB after boot"

# A domain whose kernel follows no target is refused by name: take the key away.
xenstore-rm "/local/domain/$id/control/feature-balloon"
out=$("$KXL" mem-set g 64 2>&1) && fail "mem-set without a balloon driver succeeded"
echo "$out" | grep -q "has no balloon driver (not a Linux guest, and no control/feature-balloon)" || fail "mem-set refusal: $out"
pass "mem-set without control/feature-balloon is refused by name"
"$KXL" destroy g && "$KXL" destroy h || fail "kxl destroy"
