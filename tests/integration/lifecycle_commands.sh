# lifecycle_commands.sh: kxl's informational and naming commands against real guests.
. "$(dirname "$0")/lib.sh"
dom0_start

mkcfg a "idle" 8 2
mkcfg b "idle" 8 1
ida=$(create a); idb=$(create b)
[ "$("$KXL" domid a)" = "$ida" ] || fail "domid a"
[ "$("$KXL" domname "$idb")" = b ] || fail "domname $idb"
"$KXL" info | grep -q "^nr_domains *: 2$" || fail "info nr_domains"
[ "$("$KXL" vcpu-list a | sed 1d | wc -l)" = 2 ] || fail "vcpu-list a"
"$KXL" uptime | grep -q "^b  *$idb " || fail "uptime"
# Named domains: the ones found are shown, one not found fails the command.
[ "$("$KXL" uptime b a | sed 1d | cut -c1)" = "$(printf 'b\na')" ] || fail "uptime b a"
out=$("$KXL" vcpu-list nosuch b 2>/dev/null) && fail "vcpu-list of a missing domain succeeded"
[ "$(echo "$out" | sed 1d | wc -l)" = 1 ] || fail "vcpu-list nosuch b: b's vCPU not listed"
"$KXL" domid nosuch 2>/dev/null && fail "domid of a missing domain"
"$KXL" dumpxml 2>/dev/null; [ $? = 2 ] || fail "dumpxml without DOM is not a usage error"
"$KXL" rename a b 2>/dev/null && fail "rename to a taken name"
"$KXL" rename a 123 2>/dev/null && fail "rename to an all-digit name"
"$KXL" rename a c || fail "rename a c"
"$KXL" dumpxml c | grep -q "<name>c</name>" || fail "dumpxml after rename"
"$KXL" dumpxml c > "$T/c.xml" && "$KXL" validate "$T/c.xml" >/dev/null || fail "dumpxml output does not validate"
"$KXL" mem-max c 8m || fail "mem-max to the current size"
"$KXL" mem-max c 16m 2>/dev/null && fail "mem-max grew a domain"
# kxen's own kernel has a balloon (tests/integration/guest_balloon.sh): 6 MiB is below kxl's floor.
wait_until 30 sh -c "[ \"\$(xenstore-read /local/domain/$ida/control/feature-balloon 2>/dev/null)\" = 1 ]" ||
	fail "kxen's own guest did not advertise control/feature-balloon"
out=$("$KXL" mem-set c 6 2>&1) && fail "mem-set below the floor succeeded"
echo "$out" | grep -q "between 64 MiB and its maximum, 8 MiB" || fail "mem-set refusal: $out"
"$KXL" mem-set c 6x 2>/dev/null; [ $? = 2 ] || fail "mem-set with a bad SIZE is not a usage error"
"$KXL" -N shutdown -a | grep -c "Would shut down" | grep -q 2 || fail "shutdown -a dry run"
"$KXL" shutdown -F -a -w >/dev/null || fail "shutdown -a -w"
[ -z "$("$KXL" list | sed 1d)" ] || fail "domains left after shutdown -a"
"$KXL" create --help | grep -q "^Usage: kxl create" || fail "create --help"
"$KXL" cr 2>/dev/null; [ $? = 2 ] || fail "ambiguous prefix 'cr' (create, ...) is not a usage error"
pass "domid, domname, info, vcpu-list, uptime, rename, dumpxml, mem-max, mem-set, shutdown -a"
