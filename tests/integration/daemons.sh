#!/bin/bash
# The three daemons in their default (daemon) mode, started as README's "Running it by hand" says: each starter returns once its daemon serves, nothing reaches the terminal, a guest's console is logged, and SIGTERM stops each one promptly.
. "$(dirname "$0")/lib.sh"
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"

RUN=$KXEN_RUN_DIR
TERM_OUT=$T/terminal.out        # the starters' stdout and stderr: the daemons' must never land here
STOP_BOUND=10                   # seconds each daemon may take to exit after SIGTERM

# alive PID: the process exists and is not a zombie waiting for init.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# pid_of NAME: the pid the daemon recorded in the run directory.
pid_of() { cat "$RUN/$1.pid" 2>/dev/null; }

# started NAME: the daemon recorded its pid, runs, and is no child of ours.
started() {
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] || { cat "$TERM_OUT"; fail "$1: no pid file in $RUN once its starter returned"; }
	alive "$pid" || fail "$1 (pid $pid) is not running"
	[ "$(awk '{ print $4 }' "/proc/$pid/stat")" != "$$" ] || fail "$1 is still our child: not detached"
	echo "$pid"
}

# sigterm NAME: SIGTERM, then the daemon must be gone within STOP_BOUND seconds and its pid file removed.
sigterm() {
	local pid t0
	pid=$(pid_of "$1")
	t0=$(date +%s%N)
	kill -TERM "$pid" || fail "$1: cannot signal pid $pid"
	for _ in $(seq 1 $(( STOP_BOUND * 20 ))); do
		alive "$pid" || break
		sleep 0.05
	done
	if alive "$pid"; then
		grep -E '^(State|SigBlk|SigCgt)' "/proc/$pid/status"; cat "/proc/$pid/wchan"; echo
		fail "$1 (pid $pid) still runs ${STOP_BOUND}s after SIGTERM"
	fi
	[ -e "$RUN/$1.pid" ] && fail "$1 left its pid file behind"
	pass "$1 stopped on SIGTERM in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# kxen-hv -d: KVM's absence is a skip, as for every other integration test.
"$HV" -d -s "$KXEN_HV_SOCKET" -l "$T/hv.log" >>"$TERM_OUT" 2>&1 || {
	grep -q "KVM is not usable" "$TERM_OUT" && skip "$(head -1 "$TERM_OUT")"
	cat "$TERM_OUT"; fail "kxen-hv -d failed"
}
# Ready means serving: the socket is there the moment the starter returns.
[ -S "$KXEN_HV_SOCKET" ] || fail "kxen-hv -d returned before its control socket existed"
HVPID=$(started kxen-hv)
# The VM pool's thread runs in the daemon (it did not survive a fork after kvm_init).
[ "$(ls "/proc/$HVPID/task" | wc -l)" -ge 2 ] || fail "kxen-hv runs without its VM-pool thread"

"$XSD" -s "$XENSTORED_PATH" -H "$KXEN_HV_SOCKET" -D "$T/xsdata" -l "$T/xs.log" >>"$TERM_OUT" 2>&1 || { cat "$TERM_OUT"; fail "kxenstored failed"; }
[ -S "$XENSTORED_PATH" ] || fail "kxenstored returned before its socket existed"
XSPID=$(started kxenstored)

"$BACKD" -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/backd.log" >>"$TERM_OUT" 2>&1 || { cat "$TERM_OUT"; fail "kxen-backd failed"; }
BACKDPID=$(started kxen-backd)
pass "all three detached and ready (pids $HVPID $XSPID $BACKDPID)"

# A daemon whose peer is missing fails in its starter, with the reason on the terminal (after its 10 s of retries).
KXEN_RUN_DIR=$T/run2 "$BACKD" -H "$T/no-such.sock" -o "$T/console2" -l "$T/backd2.log" >"$T/backd2.out" 2>&1 &
b2=$!

mkcfg dcount "count 100000 100"
id=$(create dcount)
wait_file "$T/console/guest-dcount.log" "count: line 3 of" 30
listed "$id" || fail "d$id is not listed"
# What `kxl console` attaches to (its "no console backend" came from this key missing).
tty=$(xenstore-read "/local/domain/$id/console/tty" 2>/dev/null) || fail "no console/tty for d$id: kxl console would find no backend"
[ -c "$tty" ] || fail "console/tty '$tty' is not a terminal device"
"$KXL" destroy dcount || fail "kxl destroy dcount"
for _ in $(seq 1 100); do listed "$id" || break; sleep 0.05; done
listed "$id" && fail "d$id still listed after destroy"
pass "guest d$id created, its console logged by the daemon kxen-backd, destroyed"

for _ in $(seq 1 400); do kill -0 "$b2" 2>/dev/null || break; sleep 0.05; done
wait "$b2" && fail "kxen-backd without kxen-hv: its starter exited 0"
grep -q "cannot connect to kxen-hv" "$T/backd2.out" || { cat "$T/backd2.out"; fail "kxen-backd without kxen-hv: no reason on the terminal"; }
pass "a daemon that cannot start fails in its starter, saying why"

sigterm kxen-backd
sigterm kxenstored
sigterm kxen-hv
BACKDPID= XSPID= HVPID=

# After ready, the daemons wrote only to their log files.
[ -s "$TERM_OUT" ] && { cat "$TERM_OUT"; fail "a daemon wrote to the terminal it was started from"; }
grep -q "kxen-backd: serving" "$T/backd.log" || fail "kxen-backd's log file lacks its start line"
grep -q "kxenstored: serving" "$T/xs.log" || fail "kxenstored's log file lacks its start line"
pass "nothing on the starters' terminal; logs in files"
