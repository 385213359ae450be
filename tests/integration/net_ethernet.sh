#!/bin/bash
# <interface type='ethernet'> from the domain XML: the vif gets a switch of its own, named by <target dev>; the host reaches it through a TAP on that switch, a guest on a bridge does not.
. "$(dirname "$0")/net_lib.sh"

# A host TAP on the switch named after the guest's vif.
net_tap_stack web0=kxtapw

mkcfg eth "udp-echo ip=192.0.2.2/24 7 0" 16 1 "<devices><interface type='ethernet'>
      <mac address='$(net_mac 2)'/><script path='/etc/xen/scripts/vif-route'/><target dev='web0'/>
    </interface></devices>"
sed -i "s/type='kxen'/type='xen'/" "$T/eth.xml"
"$KXL" create "$T/eth.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create eth"; }
grep -q "<script path='/etc/xen/scripts/vif-route'>: kxen-backd runs no hotplug scripts: the vif is a port of its own switch" "$T/create.out" ||
	{ cat "$T/create.out"; fail "script note"; }
id=$(domid_of eth)
[ "$(xenstore-read "/local/domain/0/backend/vif/$id/0/bridge")" = web0 ] || fail "bridge key"
[ "$(xenstore-read "/local/domain/0/backend/vif/$id/0/vifname")" = web0 ] || fail "vifname key"
wait_log "\(d$id\) net: up" 30
wait_file "$T/backd.log" "tap kxtapw: up on bridge web0" 10
$NS ip link set lo up
$NS ip addr add 192.0.2.254/24 dev kxtapw || fail "cannot configure kxtapw"
$NS "$PEER" ping 192.0.2.2 3 > "$T/hostping.out" || { cat "$T/hostping.out"; fail "host ping to the ethernet vif"; }
pass "the host pings a guest's ethernet vif through a TAP on the vif's own switch"

# A guest on a bridge, same subnet, is on another switch: it must not reach the ethernet vif.
idb=$(net_guest onbr "ping ip=192.0.2.3/24 192.0.2.2 2 100" xenbr0 3)
wait_log "\(d$idb\) ping: [0-9]*/2 replies from 192.0.2.2" 60
grep -q "(d$idb) ping: 0/2 replies from 192.0.2.2" "$T/hv.log" || fail "a bridged guest reached the ethernet vif"
pass "a guest on a bridge does not reach it"
