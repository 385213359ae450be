# A real guest's xenbus client against kxenstored through its store ring; release when it dies.
. "$(dirname "$0")/lib.sh"
hv_start
# xs-test writes a 3999-byte value; Xen's default node-size quota (2048) would refuse it.
xs_start -q node-size=4096
timeout 20 xenstore-watch -n 2 @releaseDomain > "$T/rel.out" 2>&1 &
wpid=$!
id=$("$B/tests/integration/xs_guest" xst "$GUEST" "xs-test") || fail "xs_guest"
[ -n "$id" ] || fail "no domain id"
[ "$(xenstore-read /local/domain/$id/name)" = xst ] || fail "name not written"
wait_log "^\(d$id\) xs-test: (OK|FAILED)" 60
grep "^(d$id) xs-test" "$T/hv.log"
grep -q "^(d$id) xs-test: OK" "$T/hv.log" || { cat "$T/xs.log"; fail "guest xs-test failed"; }
grep -q "introduced d$id" "$T/xs.log" || fail "no introduce in the log"
# xs-test powers the guest off when done; kxen-hv destroys it and tells kxenstored.
for _ in $(seq 1 200); do grep -q "released d$id" "$T/xs.log" && break; sleep 0.05; done
grep -q "released d$id" "$T/xs.log" || { cat "$T/xs.log"; fail "d$id not released after it died"; }
wait $wpid || { cat "$T/rel.out"; fail "no @releaseDomain event after d$id died"; }
kill -0 "$XSPID" || fail "kxenstored died"
pass "guest xenbus over the store ring"
