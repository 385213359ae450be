# A hello guest boots, reports what the hypervisor told it, powers off and is destroyed.
. "$(dirname "$0")/lib.sh"
dom0_start
mkcfg hello hello
id=$(create hello)
[ -n "$id" ] || fail "no domain id in the log"
wait_log "^\(d$id\) Hello from kxen guest domain"
wait_log "^\(d$id\) hello: xen_version 4\.17"
wait_log "^\(d$id\) hello: capabilities 'xen-3\.0-x86_64'"
wait_log "^\(d$id\) hello: features .*auto_translated_physmap yes"
wait_log "^\(d$id\) hello: cmdline 'hello'"
wait_log "^\(XEN\) domain $id \(hello\) shut down: poweroff"
wait_log "^\(XEN\) domain $id \(hello\) destroyed"
listed "$id" && fail "domain $id still listed after poweroff"
pass "hello guest booted and powered off"
