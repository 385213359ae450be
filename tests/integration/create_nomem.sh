#!/bin/bash
# create_nomem.sh: creates the host cannot give are refused cleanly: MemAvailable minus --mem-reserve, and a forced mmap or vCPU failure half-way (KXEN_HV_FAULT) leave no domain, memfd, fd or xenstore node behind.
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT
command -v xenstore-ls >/dev/null || skip "xenstore-utils (xenstore-ls) is not installed"

counts() {   # fds, memfds, domains, xenstore nodes
	echo "fds=$(hv_fds) memfds=$(ls -l "/proc/$HVPID/fd" | grep -c memfd:) doms=$("$KXL" list | wc -l) nodes=$(xenstore-ls / | wc -l)"
}
# The counts once steady: the other daemons' connections to kxen-hv come up a moment after it starts.
snapshot() { steady counts; }

stop_all() {
	backd_stop
	for p in $XSPID $HVPID; do kill "$p"; wait "$p" 2>/dev/null; done
	XSPID= HVPID=
	mv "$T/hv.log" "$T/hv-$1.log"
}

try() {   # try LABEL WANT_LOG_REGEX: a 2-vCPU create that must fail and leave nothing
	mkcfg big$1 "hello" 64 2
	local before after
	before=$(snapshot)
	"$KXL" create "$T/big$1.xml" > "$T/create.out" 2>&1 && fail "$1: the create succeeded"
	cat "$T/create.out"
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "$1: left something behind: before $before, after $after"
	grep -Eq -- "$2" "$T/hv.log" || fail "$1: no /$2/ in kxen-hv's log"
	pass "$1: refused, nothing left ($after)"
}

dom0_start --mem-reserve 1073741824
try reserve "create of bigreserve failed: 64 MiB asked, the host has [0-9]+ MiB available and keeps 1073741824 MiB in reserve"
stop_all reserve

KXEN_HV_FAULT=mmap dom0_start
try mmap "create of bigmmap failed: Cannot allocate memory"
stop_all mmap

KXEN_HV_FAULT=vcpu dom0_start
try vcpu "create of bigvcpu failed: Cannot allocate memory"
# The same stack creates fine once nothing is forced (1 vCPU: the fault point is the last vCPU of 2).
stop_all vcpu
dom0_start
mkcfg ok "hello" 16 1
id=$(create ok)
wait_log "\(d$id\)" 30
pass "a normal create afterwards works (d$id)"
