#!/bin/bash
# pv_hostile.sh: a hostile direct-paging (Linux-kind) kernel, booted by kxl through the real builder and kxen's layer, throws bad mmu_update/mmuext/update_va_mapping/set_gdt/update_descriptor/trap-table/multicall/vcpu_op arguments and gets the expected -errno for each; then a junk iret stops only that domain. A neighbour guest and kxen-hv are unaffected.
. "$(dirname "$0")/lib.sh"
HOSTILE=$B/pv-drivers/guest/kxen-pvhostile
[ -x "$HOSTILE" ] || fail "no $HOSTILE (make builds it)"
dom0_start
mkcfg neighbour idle
nb=$(create neighbour)
wait_log "^\(d$nb\) " 60
# mkhostile NAME CMDLINE: a Linux-kind domain (<type>linux</type>) with the hostile kernel, 16 MiB.
mkhostile() {
	cat > "$T/$1.xml" <<XML
<domain type='xen'>
  <name>$1</name>
  <memory unit='MiB'>16</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>$HOSTILE</kernel>
    <cmdline>$2</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>preserve</on_crash>
</domain>
XML
}
mkhostile hostile checks
id=$(create hostile)
wait_log "^\(d$id\) pvhostile: [0-9]+ checks" 120
grep -E "^\(d$id\) pvhostile" "$T/hv.log"
grep -q "^(d$id) pvhostile: [0-9]* checks, 0 failed: OK" "$T/hv.log" || fail "the hostile kernel saw a wrong answer"
n=$(sed -n "s/^(d$id) pvhostile: \([0-9]*\) checks.*/\1/p" "$T/hv.log")
[ "$n" -ge 90 ] || fail "only $n checks ran"
grep -q "^(XEN) domain $id (hostile) crashed" "$T/hv.log" && fail "the hostile kernel crashed"
wait_until 30 sh -c "! \"$KXL\" list | awk '\$1 == \"hostile\"' | grep -q ." || fail "the hostile domain did not power off"
pass "$n hostile arguments each answered with the expected result; the domain powered off"

mkhostile junk iret
id2=$(create junk)
wait_log "^\(XEN\) domain $id2 \(junk\) crashed" 60
grep -E "^\(XEN\) domain $id2 \(junk\) crashed" "$T/hv.log" | head -2
pass "an iret with a junk frame crashed only its own domain"

kill -0 "$HVPID" || fail "kxen-hv died"
listed "$nb" || fail "the neighbour domain is gone"
mkcfg after hello
id3=$(create after)
wait_log "^\(d$id3\) Hello from kxen guest domain" 60
pass "kxen-hv and the neighbour are fine; a new guest boots"
