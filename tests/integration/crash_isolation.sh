# A faulting guest crashes alone, with a register dump; a neighbour keeps running.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg bystander idle
by=$(create bystander)
mkcfg crasher crash 8 1 "<on_crash>preserve</on_crash>"
id=$(create crasher)
wait_log "^\(d$id\) crash: about to fault"
wait_log "^\(XEN\) d$id v0: fatal exception 14 \(#PF page fault\)"
wait_log "^\(XEN\) d$id v0: page fault address \(cr2\) 0"
wait_log "^\(XEN\) d$id v0: rax [0-9a-f]{16} rbx"
wait_log "^\(XEN\) domain $id \(crasher\) shut down: crash, preserved"
state=$("$KXL" list | awk -v id="$id" '$2 == id { print $5 }')
case "$state" in *c*) ;; *) fail "crashed domain state is '$state', expected the c flag" ;; esac
listed "$by" || fail "bystander domain $by disappeared"
cpu1=$("$KXL" list | awk -v id="$by" '$2 == id { print $5 }')
"$KXL" destroy crasher || fail "kxl destroy of the crashed domain"
listed "$id" && fail "crashed domain still listed after destroy"
listed "$by" || fail "bystander gone after destroying the crashed domain"
"$KXL" destroy bystander || fail "destroy bystander"
pass "crash isolated (bystander state $cpu1)"
