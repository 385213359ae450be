# kxen-hv's control loop gets one epoll batch with a hang-up that frees a connection and its port, then that port's kick.
. "$(dirname "$0")/lib.sh"
hv_start
"$B/tests/integration/hv_ctl_check" batch-free "$HVPID" > "$T/check.out" 2>&1
rc=$?
cat "$T/check.out"
[ $rc = 0 ] || fail "hv_ctl_check batch-free"
kill -0 "$HVPID" || fail "kxen-hv died"
grep -q "hv_ctl_check: OK" "$T/check.out" || fail "no OK from hv_ctl_check"
pass "a batch that frees a connection and then delivers its port's kick"
