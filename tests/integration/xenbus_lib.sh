# xenbus_lib.sh: lib.sh plus a private kxenstored and domains introduced to it, for the guest xenbus tests.
. "$(dirname "$0")/lib.sh"

KXSD=$B/dom0-tools/kxenstored/kxenstored
[ -x "$KXSD" ] || skip "kxenstored is not built in this tree (branch xenstored not merged yet)"
command -v xenstore-write >/dev/null || skip "xenstore-utils is not installed"
# Xen's libxenstore and the xenstore-* tools find the daemon here.
export XENSTORED_PATH=$T/xs.sock
XSPID=

xb_cleanup() {
	if [ -n "$XSPID" ]; then
		kill "$XSPID" 2>/dev/null
		wait "$XSPID" 2>/dev/null
	fi
	cleanup
}
trap xb_cleanup EXIT

# Starts the private kxenstored against the private kxen-hv (hv_start first).
xb_xs_start() {
	"$KXSD" -f -s "$XENSTORED_PATH" -H "$KXEN_HV_SOCKET" -l "$T/xs.log" 2>"$T/xs.err" &
	XSPID=$!
	for _ in $(seq 1 200); do
		[ -S "$XENSTORED_PATH" ] && return 0
		kill -0 "$XSPID" 2>/dev/null || { cat "$T/xs.err"; XSPID=; fail "kxenstored exited"; }
		sleep 0.05
	done
	fail "kxenstored did not create its socket"
}

# xb_create NAME CMDLINE: builds the guest paused, introduces it to the
# private kxenstored with libxl's standard nodes (the guest owns data/,
# control/shutdown and control/feature-*), unpauses it; prints its domid.
# xs_guest_create stands in for the toolstack until `kxl create` introduces.
xb_create() {
	"$B/tests/integration/xs_guest_create" "$GUEST" "$1" "$2" > "$T/create.out" 2> "$T/create.err" ||
		{ cat "$T/create.err"; fail "xs_guest_create $1"; }
	local id
	id=$(cat "$T/create.out")
	[ -n "$id" ] || fail "no domid for $1"
	local name
	name=$(xenstore-read "/local/domain/$id/name") || fail "/local/domain/$id/name missing"
	[ "$name" = "$1" ] || fail "/local/domain/$id/name is '$name', want '$1'"
	echo "$id"
}
