# Shutdown through xenstore: the guest advertises its features, acknowledges control/shutdown and powers off or reboots.
. "$(dirname "$0")/xenbus_lib.sh"
hv_start
xb_xs_start

# domain DOMID: waits until its control thread watches control/shutdown.
ready() {
	wait_log "^\(d$1\) control: watching control/shutdown" 20
	for f in feature-poweroff feature-reboot; do
		v=$(xenstore-read "/local/domain/$1/control/$f" 2>/dev/null)
		[ "$v" = 1 ] || fail "control/$f of d$1 is '$v', want 1"
	done
}

id=$(xb_create off idle)
ready "$id"
# An empty value is what the guest writes itself: nothing happens.
xenstore-write "/local/domain/$id/control/shutdown" "" || fail "write empty"
# An unknown request is logged and acknowledged, and the guest keeps running.
xenstore-write "/local/domain/$id/control/shutdown" "bogus" || fail "write bogus"
wait_log "^\(d$id\) control: ignoring unknown shutdown request 'bogus'"
for _ in $(seq 1 100); do
	v=$(xenstore-read "/local/domain/$id/control/shutdown") || fail "read control/shutdown"
	[ -z "$v" ] && break
	sleep 0.05
done
[ -z "$v" ] || fail "the unknown request was not acknowledged (still '$v')"
listed "$id" || fail "d$id gone after an unknown request"
xenstore-write "/local/domain/$id/control/shutdown" "poweroff" || fail "write poweroff"
wait_log "^\(d$id\) control: shutdown request 'poweroff': powering off"
wait_log "^\(XEN\) domain $id \(off\) shut down: poweroff"

id=$(xb_create reb idle)
ready "$id"
xenstore-write "/local/domain/$id/control/shutdown" "reboot" || fail "write reboot"
wait_log "^\(d$id\) control: shutdown request 'reboot': rebooting"
wait_log "^\(XEN\) domain $id \(reb\) shut down: reboot"

grep -c "shutdown request" "$T/hv.log" | grep -qx 3 || fail "expected exactly 3 shutdown request lines"
kill -0 "$XSPID" || fail "kxenstored died"
pass "poweroff, reboot and an unknown request through control/shutdown"
