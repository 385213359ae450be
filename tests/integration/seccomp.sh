#!/bin/bash
# seccomp.sh: each daemon, kxen-hv's vCPU threads and kxen-backd's vbd ring and block I/O threads die with SIGSYS and a log line on a call their list forbids (KXEN_SECCOMP_PROBE).
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT
ulimit -c 0   # SIGSYS dumps core by default: not here

SIGSYS_STATUS=$((128 + $(kill -l SYS)))

# expect_sigsys WHAT PID LOG CALL: PID exits by SIGSYS and LOG names CALL.
expect_sigsys() {
	local st=0
	wait "$2" || st=$?
	[ "$st" = "$SIGSYS_STATUS" ] || { tail -5 "$3"; fail "$1: exit status $st, not $SIGSYS_STATUS (SIGSYS)"; }
	grep -Eq "seccomp: forbidden system call [0-9]+ \($4\) in thread [0-9]+; killing the process" "$3" ||
		{ tail -5 "$3"; fail "$1: no log line naming $4"; }
	pass "$1: killed by SIGSYS on $4, logged"
}

# Each daemon's own list, probed right after it is in.
KXEN_SECCOMP_PROBE=kxen-hv:ptrace "$HV" -f -s "$T/probe.sock" -l "$T/probe-hv.log" 2>/dev/null &
expect_sigsys "kxen-hv" $! "$T/probe-hv.log" ptrace

dom0_start
KXEN_SECCOMP_PROBE=kxenstored:ptrace "$XSD" -f -s "$T/probe-xs.sock" -H "$KXEN_HV_SOCKET" -l "$T/probe-xs.log" 2>/dev/null &
expect_sigsys "kxenstored" $! "$T/probe-xs.log" ptrace
KXEN_SECCOMP_PROBE=kxen-backd:execve "$BACKD" -f -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/probe-bd.log" 2>/dev/null &
expect_sigsys "kxen-backd" $! "$T/probe-bd.log" execve

# --no-seccomp: the same probe is never made, and the daemon serves.
KXEN_SECCOMP_PROBE=kxenstored:ptrace "$XSD" --no-seccomp -f -s "$T/off.sock" -H "$KXEN_HV_SOCKET" -l "$T/off-xs.log" 2>/dev/null &
OFFPID=$!
wait_file "$T/off-xs.log" "serving on" 10
kill -0 "$OFFPID" || fail "kxenstored --no-seccomp died"
grep -q "filter in" "$T/off-xs.log" && fail "kxenstored --no-seccomp installed a filter"
kill "$OFFPID"; wait "$OFFPID" 2>/dev/null
pass "--no-seccomp: no filter, serving"

# A vbd's ring worker and its block I/O threads may not open files, though the daemon may.
truncate -s 16M "$T/disk.img"
mkcfg dg "blk-test 1 1" 48 1 "<devices><disk type='file' device='disk'>
  <driver name='qemu' type='raw'/><source file='$T/disk.img'/><target dev='xvda' bus='xen'/></disk></devices>"
backd_stop
for f in blkring blkio; do
	KXEN_SECCOMP_PROBE=$f:openat "$BACKD" -f -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/$f-bd.log" 2>/dev/null &
	pid=$!
	wait_file "$T/$f-bd.log" "serving" 10
	"$KXL" create "$T/dg.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create dg"; }
	expect_sigsys "kxen-backd's $f thread" "$pid" "$T/$f-bd.log" openat
	"$KXL" destroy dg >/dev/null 2>&1
done

# A vCPU thread may not create memory files, though kxen-hv's control thread may.
kill "$BACKDPID" 2>/dev/null; wait "$BACKDPID" 2>/dev/null; BACKDPID=
kill "$XSPID"; wait "$XSPID" 2>/dev/null; XSPID=
kill "$HVPID"; wait "$HVPID" 2>/dev/null; HVPID=
KXEN_SECCOMP_PROBE=vcpu:memfd_create hv_start
xs_start
mkcfg hello "hello"
"$KXL" create "$T/hello.xml" > "$T/create.out" 2>&1
pid=$HVPID; HVPID=
expect_sigsys "kxen-hv's vCPU thread" "$pid" "$T/hv.log" memfd_create
