# A guest grants pages to dom0; dom0 maps, checks and answers through libkxctrl; Xen's grant rules hold end to end.
. "$(dirname "$0")/lib.sh"
hv_start
mkcfg gnt "gnttab-test"
id=$(create gnt)
wait_log "^\(d$id\) gnttab-test: (port|FAIL)" 20
grep -q "^(d$id) gnttab-test: FAIL" "$T/hv.log" && fail "guest self test"
line=$(grep "^(d$id) gnttab-test: port" "$T/hv.log" | head -1)
set -- $(echo "$line" | sed 's/.*port \([0-9]*\) rw \([0-9]*\) ro \([0-9]*\) other \([0-9]*\).*/\1 \2 \3 \4/')
[ $# = 4 ] || fail "cannot parse '$line'"
"$B/tests/integration/dom0_gnttab_check" "$id" "$@" > "$T/check.out" 2>&1
rc=$?
cat "$T/check.out"
[ $rc = 0 ] || fail "dom0_gnttab_check"
grep -q "dom0_gnttab_check: OK" "$T/check.out" || fail "no OK from dom0_gnttab_check"
wait_log "^\(d$id\) gnttab-test: (OK|FAIL)" 20
grep "^(d$id) gnttab-test:" "$T/hv.log"
grep -q "^(d$id) gnttab-test: FAIL" "$T/hv.log" && fail "guest side"
# -16 is Xen's -EBUSY: the guest's end_access is refused while dom0 maps the page.
grep -q "^(d$id) gnttab-test: reply seen; end while mapped: rw -16 ro -16" "$T/hv.log" || fail "end while mapped not refused"
kill -0 "$HVPID" || fail "kxen-hv died"
pass "grants mapped, checked, answered and ended; readonly, foreign and ungranted refs refused"
