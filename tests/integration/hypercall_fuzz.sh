# A guest fires random hypercalls with hostile arguments; kxen-hv answers them all and a neighbour is unaffected.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg neighbour idle
nb=$(create neighbour)
mkcfg fuzz1 "hcfuzz 30000 1" 8 1 "<on_crash>preserve</on_crash>"
id=$(create fuzz1)
wait_log "^\(d$id\) hcfuzz: (OK|FAIL)" 120
grep -E "^\(d$id\) hcfuzz" "$T/hv.log"
grep -q "^(d$id) hcfuzz: OK" "$T/hv.log" || fail "fuzzing guest reported failure"
grep -q "^(XEN) domain $id (fuzz1) crashed" "$T/hv.log" && fail "fuzzing guest crashed"
kill -0 "$HVPID" || fail "kxen-hv died"
listed "$nb" || fail "neighbour domain gone"
mkcfg after hello
id2=$(create after)
wait_log "^\(d$id2\) Hello from kxen guest domain"
pass "30000 random hypercalls answered; kxen-hv and the neighbour are fine"
