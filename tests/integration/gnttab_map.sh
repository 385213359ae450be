# A guest grants pages to dom0; dom0 maps, checks and answers through libkxctrl; Xen's grant rules hold end to end.
. "$(dirname "$0")/lib.sh"
dom0_start
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
grep -q "^(d$id) gnttab-test: query_size: 4 of 64 frames" "$T/hv.log" || fail "default grant table limit"

# libvirt's <controller maxGrantFrames>: the domain's own limit, as GNTTABOP_query_size reports it.
mkcfg gnt2 "gnttab-test" 8 1 "<devices><controller type='xenbus' maxGrantFrames='2'/></devices>"
id=$(create gnt2)
wait_log "^\(d$id\) gnttab-test: (port|FAIL)" 20
grep -q "^(d$id) gnttab-test: query_size: 2 of 2 frames" "$T/hv.log" ||
	{ grep "(d$id)" "$T/hv.log"; fail "maxGrantFrames='2' not applied"; }
"$KXL" destroy gnt2
mkcfg gnt65 "gnttab-test" 8 1 "<devices><controller type='xenbus' maxGrantFrames='65'/></devices>"
"$KXL" create "$T/gnt65.xml" > "$T/create.out" 2>&1 && fail "maxGrantFrames above kxen-hv's limit accepted"
grep -q "gnt65.xml:[0-9]*: <controller maxGrantFrames='65'>: more than kxen-hv's limit of 64 frames" "$T/create.out" ||
	{ cat "$T/create.out"; fail "the refusal does not say why"; }
pass "maxGrantFrames='2' is the guest's grant table size; 65 is refused above kxen-hv's 64"
