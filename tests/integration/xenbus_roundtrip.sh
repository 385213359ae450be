# A guest's xenbus client against a private kxenstored: round trips, watches, transactions (xs-test).
. "$(dirname "$0")/xenbus_lib.sh"
dom0_start
id=$(xb_create xst "xs-test")
wait_log "^\(d$id\) xs-test: (OK|FAILED)" 60
grep "^(d$id) xs-test:" "$T/hv.log"
grep -q "^(d$id) xs-test: FAIL" "$T/hv.log" && fail "xs-test reported failures"
npass=$(grep -c "^(d$id) xs-test: PASS" "$T/hv.log")
# Every check of app_xs_test.c must have run, not just not failed.
[ "$npass" -ge 22 ] || fail "only $npass PASS lines from xs-test"
wait_log "^\(XEN\) domain $id \(xst\) shut down: poweroff"
xenstore-read "/local/domain/$id/data/xs-test" >/dev/null 2>&1 && fail "xs-test left data/xs-test behind"
kill -0 "$XSPID" || fail "kxenstored died"
pass "xenbus round trips, $npass checks"
