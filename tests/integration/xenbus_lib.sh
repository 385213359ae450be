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

# xb_create NAME: creates the domain paused, checks that kxl introduced it,
# gives it a data/ directory it owns (as libxl does), then unpauses it.
xb_create() {
	"$KXL" create -p "$T/$1.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create -p $1"; }
	local id
	id=$(domid_of "$1")
	[ -n "$id" ] || fail "no domid for $1"
	local name
	name=$(xenstore-read "/local/domain/$id/name" 2>/dev/null) ||
		skip "kxl create does not introduce domains to xenstore yet (no /local/domain/$id/name)"
	[ "$name" = "$1" ] || fail "/local/domain/$id/name is '$name', want '$1'"
	xenstore-write "/local/domain/$id/data" "" || fail "xenstore-write data"
	xenstore-chmod "/local/domain/$id/data" "n$id" || fail "xenstore-chmod data"
	"$KXL" unpause "$1" > /dev/null || fail "kxl unpause $1"
	echo "$id"
}
