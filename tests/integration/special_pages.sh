# Least privilege: kxenstored and kxen-backd serve a guest through its store and console pages alone; its whole RAM only while paused.
. "$(dirname "$0")/lib.sh"
dom0_start
backd_start
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"
mkcfg sp "echo"
id=$(create sp)
wait_file "$T/console/guest-sp.log" "echo: ready" 30
"$B/tests/integration/hv_ctl_check" special-pages "$id" > "$T/check.out" 2>&1
rc=$?
cat "$T/check.out"
[ $rc = 0 ] || fail "hv_ctl_check special-pages $id"
grep -q "hv_ctl_check: OK" "$T/check.out" || fail "no OK from hv_ctl_check"
# The gfns the daemons were told in xenstore are the pages kxen-hv split out.
sref=$(xenstore-read "/local/domain/$id/store/ring-ref")
cref=$(xenstore-read "/local/domain/$id/console/ring-ref")
grep -q "store page of d$id: gfn $(printf '%#x' "$sref")," "$T/check.out" || fail "store gfn is not ring-ref $sref"
grep -q "console page of d$id: gfn $(printf '%#x' "$cref")," "$T/check.out" || fail "console gfn is not ring-ref $cref"
# The guest still works after the pause/unpause: a line typed on its console comes back.
tty=$(xenstore-read "/local/domain/$id/console/tty")
[ -n "$tty" ] || fail "no console tty in xenstore"
printf 'least privilege\r' > "$tty"
wait_file "$T/console/guest-sp.log" "echo: LEAST PRIVILEGE" 20
grep -q "introduced d$id" "$T/xs.log" || fail "kxenstored did not introduce d$id"
"$KXL" destroy "$id" || fail "destroy"
pass "store and console pages mapped alone; whole RAM refused while running; the guest still works"
