#!/bin/bash
# linux_balloon.sh: kxl mem-set shrinks a running Linux guest: its xen-balloon gives 96 MiB back with XENMEM_decrease_reservation, MemTotal drops, kxen-hv punches the pages out of the domain's memfd (the host's allocation drops) and kxl list follows; the guest keeps working (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# /init touches nearly all free memory (a file in the initramfs' rootfs, then removed) so that the host
# has really allocated the pages the balloon will take, then prints MemTotal every second, then forks.
run=$(tr '\n' ' ' <<'RUN'
avail=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo);
dd if=/dev/zero of=/fill bs=1M count=$((avail / 1024 - 24)) 2>/dev/null; rm /fill; echo filled;
i=0; while [ $i -lt 40 ]; do echo memtotal $(awk '/^MemTotal/ { print $2 }' /proc/meminfo); sleep 1;
[ -e /proc/self ] || break; i=$((i+1)); done;
i=0; while [ $i -lt 20 ]; do sh -c 'exit 7'; [ $? = 7 ] || echo forkexec-bad; i=$((i+1)); done; echo after-balloon $i;
exec sleep 600
RUN
)
linux_setup "$run"
dom0_start

# The domain's RAM memfd in kxen-hv (named after the domain; the largest, not a split page): "SIZE BLOCKS".
memfd_blocks() {
	local f best=0 bytes blocks out=
	for f in /proc/"$HVPID"/fd/*; do
		case $(readlink "$f" 2>/dev/null) in "/memfd:linux (deleted)") ;; *) continue ;; esac
		read -r bytes blocks < <(stat -L -c '%s %b' "$f")
		[ "$bytes" -gt "$best" ] && { best=$bytes; out=$blocks; }
	done
	echo "$out"
}
list_mib() { "$KXL" list | awk '$1 == "linux" { print $3 }'; }

"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
wait_until 300 console_has "^filled" || { tail -20 "$CON"; fail "/init did not fill its memory"; }
wait_until 30 console_has "^memtotal " || fail "no MemTotal line"
before=$(sed -n 's/^memtotal //p' "$CON" | tr -d '\r' | tail -1)
blocks_before=$(memfd_blocks)
[ -n "$blocks_before" ] || fail "no memfd named linux among kxen-hv's fds"
[ "$(list_mib)" = 256 ] || fail "kxl list shows $(list_mib) MiB before mem-set, not 256"
pass "Linux filled its memory: MemTotal $before kB, the host holds $((blocks_before / 2048)) MiB of the memfd"

# Bad sizes are refused by name and leave memory/target alone.
out=$("$KXL" mem-set linux 300 2>&1) && fail "mem-set above the maximum succeeded"
echo "$out" | grep -q "between 64 MiB and its maximum, 256 MiB" || fail "mem-set 300: $out"
"$KXL" mem-set linux 32 2>/dev/null && fail "mem-set below the floor succeeded"

"$KXL" mem-set linux 160 || fail "kxl mem-set linux 160"
wait_until 60 sh -c "[ \"\$(\"$KXL\" list | awk '\$1 == \"linux\" { print \$3 }')\" = 160 ]" ||
	fail "kxl list shows $(list_mib) MiB, not 160, after mem-set"
sleep 3   # a MemTotal line printed after the last decrease
after=$(sed -n 's/^memtotal //p' "$CON" | tr -d '\r' | tail -1)
drop=$((before - after))
[ "$drop" -ge 96000 ] && [ "$drop" -le 99000 ] || fail "MemTotal went from $before to $after kB (drop $drop, expected ~98304)"
pass "kxl list shows 160 MiB and Linux's MemTotal dropped by $drop kB ($before -> $after)"
blocks_after=$(memfd_blocks)
freed=$(((blocks_before - blocks_after) / 2048))
# Not all 96 MiB: some pages the balloon took were never touched (/init leaves a margin), so had no host page.
[ $((blocks_before / 2048)) -gt 170 ] || fail "the guest's fill left only $((blocks_before / 2048)) MiB allocated on the host"
[ "$freed" -ge 64 ] && [ $((blocks_after / 2048)) -le 160 ] ||
	fail "the memfd's allocation only dropped by $freed MiB ($blocks_before -> $blocks_after blocks)"
pass "the host got $freed MiB of the domain's memfd back (holes punched: $((blocks_before / 2048)) -> $((blocks_after / 2048)) MiB)"

wait_until 180 console_has "^after-balloon 20" || { tail -20 "$CON"; fail "the guest stopped working after the balloon"; }
console_has "^forkexec-bad" && fail "fork+exec failed after the balloon"
grep -q "decrease_reservation of frame .* refused" "$T/hv.log" && fail "kxen-hv refused a frame Linux gave back"
pass "the guest keeps running processes after giving memory back"
"$KXL" destroy linux || fail "kxl destroy"
