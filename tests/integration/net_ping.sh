#!/bin/bash
# Two guests on one virtual switch: netfront connects through kxen-backd, guest A pings guest B, a UDP datagram is echoed, counters are published.
. "$(dirname "$0")/net_lib.sh"

dom0_start

idb=$(net_guest nb "udp-echo ip=192.0.2.2/24 7 0" br0 2)
wait_log "\(d$idb\) net: up, ip 192.0.2.2 mac 00:16:3e:00:00:02" 30
ida=$(net_guest na "ping ip=192.0.2.1/24 192.0.2.2 5 100" br0 1)
wait_log "\(d$ida\) ping: 5/5 replies from 192.0.2.2" 60
grep -q "d$ida: vif 0: connected to bridge br0" "$T/backd.log" || fail "no connect line for d$ida in backd.log"
grep -q "^(d$ida) netfront: vif0 connected (mac 00:16:3e:00:00:01" "$T/hv.log" || fail "netfront did not report its MAC"
pass "guest A (d$ida) pinged guest B (d$idb) through switch br0: 5/5"

# The frontend/backend directories hold the standard keys (B still runs; A has powered off,
# and a dead domain's nodes go with it).
fe=/local/domain/$idb/device/vif/0
be=/local/domain/0/backend/vif/$idb/0
for k in tx-ring-ref rx-ring-ref event-channel request-rx-copy feature-rx-notify; do
	xenstore-read "$fe/$k" >/dev/null || fail "frontend key $k missing"
done
[ "$(xenstore-read "$be/feature-rx-copy")" = 1 ] || fail "backend feature-rx-copy is not 1"
[ "$(xenstore-read "$be/feature-sg")" = 1 ] || fail "backend feature-sg is not 1"
pass "standard netif keys present"

# A guest joining later is switched too (the switch learns and floods per port).
ic=$(net_guest nc "ping ip=192.0.2.3/24 192.0.2.2 2 100" br0 3)
wait_log "\(d$ic\) ping: 2/2 replies" 60
pass "third guest joins the switch and is answered"

# Counters in the stats file (kxtop's devstats source).
sleep 0.5
tx=$(net_stats "$idb" 0 tx_pkts)
rx=$(net_stats "$idb" 0 rx_pkts)
[ "${tx:-0}" -ge 7 ] && [ "${rx:-0}" -ge 7 ] || { cat "$VIFSTATS"/*; fail "stats for d$idb: tx_pkts=$tx rx_pkts=$rx, want >= 7 each"; }
[ ! -e "$VIFSTATS/$ida-0" ] || fail "the stats file of d$ida outlived its domain"
wait_until 60 eval '! xenstore-exists "/local/domain/0/backend/vif/$ida" 2>/dev/null' || fail "the backend directory of d$ida outlived its domain"
pass "kxen-backd publishes per-vif counters (tx $tx, rx $rx packets)"

# kxtop shows them: one network device, NETTX and NETRX from the same counters.
KXTOP=$B/dom0-tools/kxtop/kxtop
"$KXTOP" -b -i 1 > "$T/kxtop.out" 2>&1 || { cat "$T/kxtop.out"; fail "kxtop -b"; }
row=$(awk -v n=nb '$1 == n' "$T/kxtop.out")
[ "$(echo "$row" | awk '{ print $10 }')" = 1 ] || { cat "$T/kxtop.out"; fail "kxtop does not show nb's vif (NETS)"; }
pass "kxtop shows the vif: $(echo "$row" | awk '{ print "NETS " $10 ", NETTX(k) " $11 ", NETRX(k) " $12 }')"

"$KXL" network-list "$idb" | grep -q "00:16:3e:00:00:02 br0" || { "$KXL" network-list "$idb"; fail "network-list does not show the vif"; }
pass "kxl network-list"
