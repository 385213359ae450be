# kxl shutdown powers off an idle guest through the hypervisor and waits for it.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg idler idle
id=$(create idler)
sleep 0.3
"$KXL" shutdown -F -w idler > "$T/shut.out" 2>&1 || { cat "$T/shut.out"; fail "kxl shutdown -F -w"; }
wait_log "^\(XEN\) domain $id \(idler\) shut down: poweroff"
listed "$id" && fail "domain still listed after shutdown -w"
pass "shutdown -w"
