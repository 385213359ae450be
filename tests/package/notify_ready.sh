#!/bin/bash
# The daemons as their systemd units run them (-f, Type=notify): each sends READY=1 only once clients can connect, in the units' order.
. "${KXEN_SRCDIR:?run through make check}/tests/integration/lib.sh"
NW=$B/tests/package/notify_wait

# notified NAME SOCKET|- CMD...: runs CMD as a Type=notify unit would; sets PID; fails without READY=1.
notified() {
	local name=$1 sock=$2
	shift 2
	"$NW" "$T/notify.sock" 20 "$sock" "$@" > "$T/$name.notify" 2>&1 || { cat "$T/$name.notify"; fail "$name: no correct READY=1"; }
	PID=$(sed -n 's/^pid //p' "$T/$name.notify")
	grep -qx "STATUS=serving" "$T/$name.notify" || { cat "$T/$name.notify"; fail "$name: no STATUS line"; }
	echo "ok: $name ready: $(tr '\n' ' ' < "$T/$name.notify")"
}
notified kxen-hv "$KXEN_HV_SOCKET" "$HV" -f -s "$KXEN_HV_SOCKET" -l "$T/hv.log"
HVPID=$PID
notified kxenstored "$XENSTORED_PATH" "$XSD" -f -s "$XENSTORED_PATH" -D "$T/xsdata" -l "$T/xs.log"
XSPID=$PID
notified kxen-backd - "$BACKD" -f -o "$T/console" -l "$T/backd.log"
BACKDPID=$PID
pass "kxen-hv, kxenstored and kxen-backd each announced READY=1 (sockets listening at that moment)"

# Ready means ready: with no polling of logs or sockets, a guest created now gets its console served.
mkcfg nr "count 3"
create nr > /dev/null
wait_file "$T/console/guest-nr.log" "count: line 3 of 3" 30
pass "a guest created right after READY=1 has its console log"
