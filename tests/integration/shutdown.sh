# kxl shutdown powers off an idle guest through the hypervisor and waits for it.
. "$(dirname "$0")/lib.sh"
hv_start
mkcfg idler idle
id=$(create idler)
sleep 0.3
"$KXL" shutdown -w idler || fail "kxl shutdown -w"
wait_log "^\(XEN\) domain $id \(idler\) shut down: poweroff"
listed "$id" && fail "domain still listed after shutdown -w"
pass "shutdown -w"
