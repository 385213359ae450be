# Shutdown through xenstore: the guest advertises its features, acknowledges control/shutdown and powers off or reboots.
. "$(dirname "$0")/xenbus_lib.sh"
dom0_start

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
acked() { v=$(xenstore-read "/local/domain/$id/control/shutdown") || fail "read control/shutdown"; [ -z "$v" ]; }
wait_until 60 acked || fail "the unknown request was not acknowledged (still '$v')"
listed "$id" || fail "d$id gone after an unknown request"
xenstore-write "/local/domain/$id/control/shutdown" "poweroff" || fail "write poweroff"
wait_log "^\(d$id\) control: shutdown request 'poweroff': powering off"
wait_log "^\(XEN\) domain $id \(off\) shut down: poweroff"

id=$(xb_create reb idle)
ready "$id"
xenstore-write "/local/domain/$id/control/shutdown" "reboot" || fail "write reboot"
wait_log "^\(d$id\) control: shutdown request 'reboot': rebooting"
wait_log "^\(XEN\) domain $id \(reb\) shut down: reboot"

# The toolstack's way: kxl shutdown and kxl reboot write control/shutdown, without -F.
id=$(xb_create kxloff idle)
ready "$id"
"$KXL" shutdown -w kxloff > "$T/kxl.out" 2>&1 || { cat "$T/kxl.out"; fail "kxl shutdown -w kxloff"; }
grep -q "through the hypervisor" "$T/kxl.out" && fail "kxl shutdown fell back to the hypervisor"
wait_log "^\(d$id\) control: shutdown request 'poweroff': powering off"
wait_log "^\(XEN\) domain $id \(kxloff\) shut down: poweroff"
id=$(xb_create kxlreb idle)
ready "$id"
"$KXL" reboot kxlreb > "$T/kxl.out" 2>&1 || { cat "$T/kxl.out"; fail "kxl reboot kxlreb"; }
wait_log "^\(d$id\) control: shutdown request 'reboot': rebooting"
wait_log "^\(XEN\) domain $id \(kxlreb\) shut down: reboot"

# A guest that never acknowledges (paused): refused without -F, the hypervisor does it with -F.
id=$(xb_create deaf idle)
ready "$id"
"$KXL" pause deaf
"$KXL" shutdown -F -T 1 -w deaf > "$T/kxl.out" 2>&1 || { cat "$T/kxl.out"; fail "kxl shutdown -F deaf"; }
grep -q "no acknowledgement within 1 s; shutting it down through the hypervisor" "$T/kxl.out" ||
	{ cat "$T/kxl.out"; fail "kxl shutdown -F did not say it fell back"; }
wait_log "^\(XEN\) domain $id \(deaf\) shut down: poweroff"

grep -c "shutdown request" "$T/hv.log" | grep -qx 5 || fail "expected exactly 5 shutdown request lines"
kill -0 "$XSPID" || fail "kxenstored died"
pass "poweroff, reboot and an unknown request through control/shutdown; kxl shutdown/reboot, and -F falling back"
