#!/bin/bash
# Hot-plug: network-attach to a running guest, network-detach with the XenbusState close sequence, and <interface> devices from the XML at create.
. "$(dirname "$0")/net_lib.sh"

dom0_start

# A guest from XML with an <interface>: its vif comes up at create.
IFACE="<devices><interface type='bridge'><source bridge='br0'/><mac address='00:16:3e:00:00:02'/></interface></devices>"
mkcfg xb "udp-echo ip=192.0.2.2/24 7 0" 16 1 "$IFACE"
idb=$(create xb)
wait_log "\(d$idb\) net: up, ip 192.0.2.2 mac 00:16:3e:00:00:02" 30
[ "$(xenstore-read /local/domain/0/backend/vif/$idb/0/bridge)" = br0 ] || fail "XML vif: backend bridge is not br0"
pass "<interface> in the XML: vif0 connected at create"

# A running guest without a vif: its netfront waits; kxl network-attach plugs one in.
mkcfg xa "ping ip=192.0.2.1/24 192.0.2.2 3 100" 16
ida=$(create xa)
sleep 1
listed "$ida" || fail "guest without a vif died"
dev=$("$KXL" network-attach "$ida" bridge=br0 mac=00:16:3e:00:00:01) || fail "network-attach to running d$ida"
[ "$dev" = 0 ] || fail "network-attach printed devid '$dev', want 0"
wait_log "\(d$ida\) ping: 3/3 replies from 192.0.2.2" 60
pass "network-attach to running d$ida: it connects and pings"

# network-detach: backend Closing -> frontend Closing/Closed -> backend Closed -> directories removed.
"$KXL" network-detach "$idb" 00:16:3e:00:00:02 2> "$T/detach.err" || { cat "$T/detach.err"; fail "network-detach"; }
[ -s "$T/detach.err" ] && { cat "$T/detach.err"; fail "network-detach had to force the removal"; }
wait_log "\(d$idb\) netfront: vif0: backend is closing" 10
grep -q "d$idb: vif 0: disconnected (the toolstack closes it)" "$T/backd.log" || fail "backend did not disconnect on the toolstack's close"
grep -q "d$idb: vif 0: closed" "$T/backd.log" || fail "backend did not reach Closed"
xenstore-read "/local/domain/0/backend/vif/$idb/0/state" 2>/dev/null && fail "backend directory left behind"
xenstore-read "/local/domain/$idb/device/vif/0/state" 2>/dev/null && fail "frontend directory left behind"
[ -e "$VIFSTATS/$idb-0" ] && fail "stats file left behind"
[ "$("$KXL" network-list "$idb" | wc -l)" = 1 ] || fail "network-list still shows a vif"
listed "$idb" || fail "the guest died on detach"
pass "network-detach d$idb: full close sequence, directories gone, guest alive"

# Detached guest is unreachable now; errors name the problem.
"$KXL" network-detach "$idb" 0 2>&1 | grep -q "has no vif '0'" || fail "detach of a missing vif: no clear error"
"$KXL" network-attach "$idb" mac=01:00:00:00:00:01 2>&1 | grep -q "unicast MAC" || fail "multicast MAC accepted"
"$KXL" network-attach "$idb" bridge='a/b' 2>&1 | grep -q "bridge= wants" || fail "bad bridge accepted"
pass "clear errors for bad network-attach/-detach input"

# kxl destroy takes the vif directories with the domain.
IFACE3="<devices><interface type='bridge'><source bridge='br0'/><mac address='00:16:3e:00:00:03'/></interface></devices>"
mkcfg xc "udp-echo ip=192.0.2.3/24 7 0" 16 1 "$IFACE3"
idc=$(create xc)
wait_log "\(d$idc\) net: up" 30
xenstore-read "/local/domain/0/backend/vif/$idc/0/state" >/dev/null || fail "no backend directory for d$idc"
"$KXL" destroy "$idc" || fail "kxl destroy d$idc"
xenstore-read "/local/domain/0/backend/vif/$idc/0/state" 2>/dev/null && fail "destroy left backend/vif/$idc behind"
wait_file "$T/backd.log" "d$idc: vif 0: disconnected \((domain gone|removed while connected)\)" 10
pass "destroy removes the vif directories and kxen-backd lets go"

# Bad detach specs are named; a vif no backend takes is refused and leaves nothing behind.
"$KXL" network-detach "$idb" zz 2>&1 | grep -q "'zz' is neither a devid nor a MAC" || fail "bad detach spec: no clear error"
"$KXL" network-detach "$idb" 00:16:3e:00:00:99 2>&1 | grep -q "has no vif '00:16:3e:00:00:99'" || fail "unknown MAC: no clear error"
backd_stop
"$KXL" network-attach "$idb" bridge=br0 mac=00:16:3e:00:00:09 > "$T/attach2.out" 2>&1 && fail "attach without a backend succeeded"
grep -q "no network backend took vif 0 of domain $idb" "$T/attach2.out" || { cat "$T/attach2.out"; fail "attach without a backend: no clear error"; }
xenstore-read "/local/domain/$idb/device/vif/0/state" 2>/dev/null && fail "failed attach left the frontend directory"
xenstore-read "/local/domain/0/backend/vif/$idb/0/state" 2>/dev/null && fail "failed attach left the backend directory"
pass "clear errors for bad detach specs; an untaken vif is removed again"
