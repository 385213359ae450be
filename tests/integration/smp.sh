# Four vCPUs on this 2-core host all come up and report.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg smp4 smp 8 4
id=$(create smp4)
wait_log "^\(d$id\) smp: all 4 vcpus reported" 20
for v in 0 1 2 3; do
	grep -q "^(d$id) smp: vcpu $v of 4 reporting" "$T/hv.log" || fail "vcpu $v did not report"
done
wait_log "^\(XEN\) domain $id \(smp4\) shut down: poweroff"
pass "4 vCPUs reported"
