#!/bin/bash
# linux_balloon.sh: kxl mem-set moves a running Linux guest's memory both ways: its xen-balloon gives 96 MiB back (XENMEM_decrease_reservation: holes punched in the domain's memfd) and takes it again (populate_physmap), with MemTotal, the memfd's allocated blocks and kxl list following; a guest with <currentMemory> below <memory> boots with the smaller size and grows; the guest keeps working (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init fills nearly all free memory (a file in the initramfs' rootfs, then removed) so that the host has really
# allocated the pages, then prints MemTotal every second. When MemTotal has settled 50 MB below where it started it
# forks and execs 20 times ("after-shrink 20"); when it has then settled 50 MB higher it fills again and does the
# same ("after-grow 20"). No '<' anywhere: the script travels in the XML's <cmdline>.
run=$(tr '\n' ' ' <<'RUN'
mt() { awk '/^MemTotal/ { print $2 }' /proc/meminfo; };
fill() { a=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo); dd if=/dev/zero of=/fill bs=1M count=$((a / 1024 - 24)) 2>/dev/null; rm /fill; echo filled $1; };
fe() { i=0; while [ $i -lt 20 ]; do sh -c 'exit 7'; [ $? = 7 ] || echo forkexec-bad; i=$((i+1)); done; echo $1 $i; };
fill 1; base=$(mt); prev=0; s=0; n=0;
while [ $n -lt 400 ]; do m=$(mt); echo memtotal $m;
if [ $m = $prev ]; then
if [ $s = 0 ] && [ $m -lt $((base - 50000)) ]; then fe after-shrink; s=1; base=$m; fi;
if [ $s = 1 ] && [ $m -gt $((base + 50000)) ]; then fill 2; fe after-grow; s=2; fi; fi;
prev=$m; sleep 1; n=$((n+1)); done;
exec sleep 600
RUN
)
linux_setup "$run"
dom0_start

"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
grep -q "currentMemory" "$T/create.out" && fail "kxl create warned about <currentMemory> without one: $(cat "$T/create.out")"
wait_until 300 console_has "^filled 1" || { tail -20 "$CON"; fail "/init did not fill its memory"; }
wait_until 30 console_has "^memtotal " || fail "no MemTotal line"
before=$(memtotal)
blocks_before=$(memfd_blocks linux)
[ -n "$blocks_before" ] || fail "no memfd named linux among kxen-hv's fds"
[ "$(list_mib linux)" = 256 ] || fail "kxl list shows $(list_mib linux) MiB before mem-set, not 256"
pass "Linux filled its memory: MemTotal $before kB, the host holds $((blocks_before / 2048)) MiB of the memfd"

# Bad sizes are refused by name and leave memory/target alone.
out=$("$KXL" mem-set linux 300 2>&1) && fail "mem-set above the maximum succeeded"
echo "$out" | grep -q "between 64 MiB and its maximum, 256 MiB" || fail "mem-set 300: $out"
"$KXL" mem-set linux 32 2>/dev/null && fail "mem-set below the floor succeeded"

# Down: 96 MiB given back.
"$KXL" mem-set linux 160 || fail "kxl mem-set linux 160"
wait_mib linux 160 || fail "kxl list shows $(list_mib linux) MiB, not 160, after mem-set 160"
wait_until 60 console_has "^after-shrink 20" || { tail -20 "$CON"; fail "the guest stopped working after giving memory back"; }
after=$(memtotal)
drop=$((before - after))
[ "$drop" -ge 96000 ] && [ "$drop" -le 99000 ] || fail "MemTotal went from $before to $after kB (drop $drop, expected ~98304)"
pass "kxl list shows 160 MiB and Linux's MemTotal dropped by $drop kB ($before -> $after)"
blocks_after=$(memfd_blocks linux)
freed=$(((blocks_before - blocks_after) / 2048))
# Not all 96 MiB: some pages the balloon took were never touched (/init leaves a margin), so had no host page.
[ $((blocks_before / 2048)) -gt 170 ] || fail "the guest's fill left only $((blocks_before / 2048)) MiB allocated on the host"
[ "$freed" -ge 64 ] && [ $((blocks_after / 2048)) -le 160 ] ||
	fail "the memfd's allocation only dropped by $freed MiB ($blocks_before -> $blocks_after blocks)"
pass "the host got $freed MiB of the domain's memfd back (holes punched: $((blocks_before / 2048)) -> $((blocks_after / 2048)) MiB)"
hv_dom=$(awk '/^domain_memory/ { print $3 }' < <("$KXL" info))

# Up again: the frames come back (populate_physmap), Linux uses them, the host allocates them again.
"$KXL" mem-set linux 256 || fail "kxl mem-set linux 256"
wait_mib linux 256 || fail "kxl list shows $(list_mib linux) MiB, not 256, after mem-set 256"
wait_until 120 console_has "^after-grow 20" || { tail -20 "$CON"; fail "the guest did not refill or stopped working after growing"; }
regrown=$(sed -n 's/^memtotal //p' "$CON" | tr -d '\r' | sort -n | tail -1)
[ "$regrown" -ge $((before - 1000)) ] && [ "$regrown" -le $((before + 1000)) ] ||
	fail "MemTotal came back to $regrown kB, not ~$before"
blocks_grown=$(memfd_blocks linux)
[ $(((blocks_grown - blocks_after) / 2048)) -ge 64 ] ||
	fail "the memfd's allocation only grew from $((blocks_after / 2048)) to $((blocks_grown / 2048)) MiB after the refill"
hv_dom2=$(awk '/^domain_memory/ { print $3 }' < <("$KXL" info))
[ $((hv_dom2 - hv_dom)) -ge 95 ] && [ $((hv_dom2 - hv_dom)) -le 97 ] ||
	fail "kxl info's domain_memory went from $hv_dom to $hv_dom2 MiB, not up by 96"
pass "grown back: kxl list 256 MiB, MemTotal $regrown kB, the memfd $((blocks_after / 2048)) -> $((blocks_grown / 2048)) MiB after the refill, kxl info domain_memory $hv_dom -> $hv_dom2 MiB"
console_has "^forkexec-bad" && fail "fork+exec failed after the balloon"
grep -q "decrease_reservation of frame .* refused" "$T/hv.log" && fail "kxen-hv refused a frame Linux gave back"
"$KXL" destroy linux || fail "kxl destroy"

# <currentMemory> at boot: 128 of 256 MiB, the rest ballooned out from the start; then it grows to 200.
linux_setup "$run" lowmem
CON=$T/console/guest-lowmem.log
sed -i "s|<memory unit='MiB'>256</memory>|&<currentMemory unit='MiB'>128</currentMemory>|" "$T/lowmem.xml"
grep -q "<currentMemory unit='MiB'>128" "$T/lowmem.xml" || fail "could not add <currentMemory> to the XML"
"$KXL" create "$T/lowmem.xml" > "$T/create2.out" 2>&1 || { cat "$T/create2.out"; fail "kxl create with <currentMemory>"; }
grep -q "currentMemory" "$T/create2.out" && fail "kxl create warned about a Linux guest's <currentMemory>: $(cat "$T/create2.out")"
id=$(domid_of lowmem)
[ "$(xenstore-read "/local/domain/$id/memory/target")" = 131072 ] &&
	[ "$(xenstore-read "/local/domain/$id/memory/static-max")" = 262144 ] ||
	fail "memory/target and static-max are not 131072 and 262144 KiB"
wait_until 300 console_has "^filled 1" || { tail -20 "$CON"; fail "/init did not fill its memory (<currentMemory>)"; }
wait_until 30 console_has "^memtotal " || fail "no MemTotal line (<currentMemory>)"
low=$(memtotal)
[ "$low" -ge $((before - 131072 - 2000)) ] && [ "$low" -le $((before - 131072 + 2000)) ] ||
	fail "MemTotal with <currentMemory> 128 MiB is $low kB, not ~$((before - 131072)) (the full guest's less 128 MiB)"
[ "$(list_mib lowmem)" = 128 ] || fail "kxl list shows $(list_mib lowmem) MiB for <currentMemory> 128, not 128"
blocks_low=$(memfd_blocks lowmem)
[ $((blocks_low / 2048)) -le 130 ] || fail "the host holds $((blocks_low / 2048)) MiB of a guest that boots with 128"
pass "<currentMemory> 128 of 256 MiB: MemTotal $low kB, kxl list 128 MiB, the filled guest holds $((blocks_low / 2048)) MiB on the host"
"$KXL" mem-set lowmem 200 || fail "kxl mem-set lowmem 200"
wait_mib lowmem 200 || fail "kxl list shows $(list_mib lowmem) MiB, not 200, after mem-set 200"
wait_until 60 sh -c "[ \"\$(sed -n 's/^memtotal //p' '$CON' | tr -d '\r' | tail -1)\" -ge $((low + 73728 - 1000)) ]" ||
	fail "MemTotal stayed at $(memtotal) kB after mem-set 200 (from $low)"
pass "grown from <currentMemory>: kxl list 200 MiB, MemTotal $low -> $(memtotal) kB"
grep -q "populate_physmap of .* refused" "$T/hv.log" && fail "kxen-hv refused Linux's growth: $(grep populate_physmap "$T/hv.log" | head -1)"
"$KXL" destroy lowmem || fail "kxl destroy lowmem"
