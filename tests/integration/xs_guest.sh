# A real guest's xenbus client against kxenstored through its store ring; release when it dies, and its nodes go.
. "$(dirname "$0")/lib.sh"
dom0_start
command -v xenstore-watch >/dev/null || skip "xenstore-utils (xenstore-watch) is not installed"
timeout 20 xenstore-watch -n 2 @releaseDomain > "$T/rel.out" 2>&1 &
wpid=$!
mkcfg xst "xs-test"
id=$(create xst)
[ -n "$id" ] || fail "no domain id"
wait_log "^\(d$id\) xs-test: (OK|FAILED)" 60
grep "^(d$id) xs-test" "$T/hv.log"
grep -q "^(d$id) xs-test: OK" "$T/hv.log" || { cat "$T/xs.log"; fail "guest xs-test failed"; }
grep -q "introduced d$id" "$T/xs.log" || fail "no introduce in the log"
# xs-test powers the guest off when done; kxen-hv destroys it (on_poweroff
# destroy, no toolstack involved) and tells kxenstored, which releases the
# domain and removes its nodes.
wait_until 60 grep -q "released d$id" "$T/xs.log" || { cat "$T/xs.log"; fail "d$id not released after it died"; }
wait $wpid || { cat "$T/rel.out"; fail "no @releaseDomain event after d$id died"; }
wait_until 60 eval '! xenstore-exists "/local/domain/$id" 2>/dev/null' || fail "/local/domain/$id outlived its domain"
[ -z "$(xenstore-list /vm 2>/dev/null)" ] || fail "/vm/$(xenstore-list /vm) outlived its domain"
kill -0 "$XSPID" || fail "kxenstored died"
pass "guest xenbus over the store ring; a dead domain is released and its nodes removed"
