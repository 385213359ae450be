# A domain burning CPU is destroyed while running; kxen-hv stays responsive.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg burner burn 8 2
id=$(create burner)
wait_log "^\(d$id\) burn:" 10
sleep 0.3
"$KXL" destroy burner || fail "kxl destroy"
wait_log "^\(XEN\) domain $id \(burner\) destroyed"
listed "$id" && fail "domain still listed"
mkcfg after hello
id2=$(create after)
wait_log "^\(d$id2\) Hello from kxen guest domain"
pass "running domain destroyed, next domain fine"
