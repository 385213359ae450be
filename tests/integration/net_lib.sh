# net_lib.sh: lib.sh plus the network split driver's helpers: private dom0 stack with kxen-backd's stats dir, guests with vifs, log waits.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # (not $0: bench/linux_net.sh sources this file too)

command -v xenstore-write >/dev/null || skip "xenstore-utils is not installed"
VIFSTATS=$KXEN_RUN_DIR/vif   # kxen-backd's per-vif counters (lib.sh sets KXEN_RUN_DIR)

# net_mac N: a MAC in Xen's OUI for guest number N.
net_mac() { printf '00:16:3e:00:00:%02x' "$1"; }

# udp_stream MIB: guests nr (udp-recv, 192.0.2.2) and ns (udp-send of MIB MiB to it) on br0, returning once
# the stream flows; sets idr and ids (the restart tests kill a daemon under it).
udp_stream() {
	idr=$(net_guest nr "udp-recv ip=192.0.2.2/24 5001 280" br0 2)
	wait_log "\(d$idr\) udp-recv: listening on port 5001" 30
	ids=$(net_guest ns "udp-send ip=192.0.2.1/24 192.0.2.2 5001 $1" br0 1)
	# The stream is flowing once the receiver's counters move.
	wait_until 10 eval '[ "$(net_stats "$idr" 0 rx_pkts)" -gt 1000 ] 2>/dev/null' || fail "the stream did not start"
}

# net_guest NAME CMDLINE BRIDGE MACNO [XML_EXTRA]: kxl create -p, a vif through 'kxl network-attach', unpause; prints the domid.
net_guest() {
	mkcfg "$1" "$2" 16 1 "${5:-}"
	"$KXL" create -p "$T/$1.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create $1"; }
	local id
	id=$(domid_of "$1")
	[ -n "$id" ] || fail "no domid for $1"
	"$KXL" network-attach "$id" "bridge=$3" "mac=$(net_mac "$4")" > "$T/attach.out" 2>&1 ||
		{ cat "$T/attach.out"; fail "kxl network-attach $1"; }
	"$KXL" unpause "$id" || fail "kxl unpause $1"
	echo "$id"
}

# net_stats DOMID DEVID FIELD: a counter from kxen-backd's stats file ("name value" lines, include/kxen/kxd.h).
net_stats() {
	local f=$VIFSTATS/$1-$2
	[ -f "$f" ] || { echo 0; return; }
	awk -v k="$3" '$1 == k { print $2 }' "$f"
}

# net_tap_stack SWITCH=TAP[,...]: skips without TAP/namespace support, else starts kxen-hv, kxenstored and a
# kxen-backd with those host TAPs in its own network namespace (the host network is never touched); sets
# BACKDPID, PEER (the host-side test peer) and NS (a command prefix entering that namespace).
net_tap_stack() {
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing: no TAP devices here"
	command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "unshare/nsenter (util-linux) are not installed"
	command -v ip >/dev/null || skip "ip (Debian package iproute2) is not installed"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace here (needs CAP_SYS_ADMIN)"
	PEER=$B/tests/integration/net_host_peer
	hv_start
	xs_start
	KXEN_BACKD_TAPS=$1 unshare -n "$BACKD" -f -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/backd.log" 2>>"$T/backd.log" &
	BACKDPID=$!
	NS="nsenter --net=/proc/$BACKDPID/ns/net"
}
