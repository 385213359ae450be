#!/bin/bash
# linux_net.sh: TCP throughput with Debian's iperf3 between two Linux guests on one kxen-backd switch, guest to host and host to guest through the switch's TAP, beside host loopback in the same run: Mbit/s, packets/s (netback's counters) and exits per MB (kxen-hv's counters) (issue 14 item 6).
#
# usage: bench/linux_net.sh [-t SECONDS] [-P STREAMS] [-o DIR]
# Needs the image cache with iperf3-root (scripts/fetch-images.sh), a build tree (KXEN_BUILDDIR,
# default the source tree) with the daemons and kxl, /dev/kvm, /dev/net/tun and network namespaces.
# Everything runs in a private network namespace (kxen-backd's, with the TAP kxtap0 at 192.0.2.254);
# guest A (192.0.2.2) runs `iperf3 -s`, guest B (192.0.2.3) the clients: B to A, B to the host, the
# host to B (-R), then the host to itself over loopback. Prints only, asserts nothing; a figure a run
# did not produce is printed as missing. Exits 0 after a run, 77 when something it needs is absent.
set -u
S=${KXEN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${KXEN_BUILDDIR:-$S}
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
DUR=10 STREAMS=1 KEEP=
usage() { echo "usage: $0 [-t SECONDS (default $DUR)] [-P STREAMS (default $STREAMS)] [-o DIR (keep the logs)]" >&"$1"; exit "$2"; }
while getopts t:P:o:h opt; do
	case $opt in t) DUR=$OPTARG ;; P) STREAMS=$OPTARG ;; o) KEEP=$OPTARG ;; h) usage 1 0 ;; *) usage 2 2 ;; esac
done
for v in "$DUR" "$STREAMS"; do
	case $v in '' | *[!0-9]* | 0) echo "linux_net: '$v' is not a positive whole number" >&2; exit 2 ;; esac
done
IROOT=$C/iperf3-root
[ -x "$IROOT/usr/bin/iperf3" ] || { echo "linux_net: SKIP: no $IROOT (run scripts/fetch-images.sh)"; exit 77; }
# The host runs the same iperf3 through the tree's own loader (nothing installed on the host).
IPERF="$IROOT/lib64/ld-linux-x86-64.so.2 --library-path $IROOT/lib/x86_64-linux-gnu $IROOT/usr/bin/iperf3"
export KXEN_BUILDDIR=$B KXEN_SRCDIR=$S

(
	. "$S/tests/integration/net_lib.sh"
	. "$S/tests/integration/linux_lib.sh"
	SRV= res=
	trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; [ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$T"/*.log "$T"/console/*.log "$KEEP" 2>/dev/null; cleanup' EXIT
	abi=$(cat "$C/linux-abi" 2>/dev/null)
	"$S/scripts/mkinitramfs.sh" -k "$C/linux-image-$abi-cloud-amd64" -b "$C/busybox" -a "$IROOT" -o "$T/initramfs.gz" \
		> "$T/mkinitramfs.out" 2>&1 || { cat "$T/mkinitramfs.out"; fail "mkinitramfs.sh -a $IROOT"; }
	up="i=0; while [ ! -e /sys/class/net/eth0 ] && [ \$i -lt 150 ]; do sleep 0.2; i=\$((i+1)); done; ip link set lo up;
ip link set eth0 up; i=0; until ping -c 1 -W 1 PEER > /dev/null 2>&1 || [ \$i -ge 90 ]; do i=\$((i+1)); done;"
	ip3="/usr/bin/iperf3 -f m -t $DUR -P $STREAMS -c"
	runa="ip addr add 192.0.2.2/24 dev eth0; ${up//PEER/192.0.2.254} /usr/bin/iperf3 -s & echo server-up; exec sleep 3600"
	runb="ip addr add 192.0.2.3/24 dev eth0; ${up//PEER/192.0.2.2} sleep 1; for r in g2g:192.0.2.2 g2h:192.0.2.254 h2g:192.0.2.254:-R;
do set -- \$(echo \$r | tr : ' '); echo \$1-start; $ip3 \$2 \${3:-} 2>&1 | grep -E 'receiver|error'; echo \$1-end; done; exec sleep 3600"
	linux_setup "$(tr '\n' ' ' <<< "$runa")" linuxa
	linux_setup "$(tr '\n' ' ' <<< "$runb")" linuxb
	net_tap_stack br0=kxtap0
	for g in a b; do
		n=$([ $g = a ] && echo 2 || echo 3)
		sed -i "s|</os>|</os><devices><interface type='bridge'><mac address='$(net_mac $n)'/><source bridge='br0'/></interface></devices>|" "$T/linux$g.xml"
		"$KXL" create "$T/linux$g.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create linux$g"; }
		[ $g = a ] && { wait_file "$T/backd.log" "tap kxtap0: up" 30; $NS ip addr add 192.0.2.254/24 dev kxtap0; $NS ip link set lo up; }
	done
	$NS $IPERF -s > "$T/iperf-host.log" 2>&1 &
	SRV=$!
	ida=$(domid_of linuxa) idb=$(domid_of linuxb)
	CA=$T/console/guest-linuxa.log CB=$T/console/guest-linuxb.log
	has() { grep -q -- "$2" "$1" 2>/dev/null; }
	# counters: exits+kicks of A and of B, then B's vif tx and rx packets.
	counters() {
		local d
		for d in linuxa linuxb; do
			"$KXL" list -l "$d" | sed -n 's/^ *exits \([0-9]*\), hypercalls [0-9]*, events [0-9]*, kicks \([0-9]*\)$/\1 \2/p' |
				awk '{ printf "%d ", $1 + $2 }'
		done
		echo "$(net_stats "$idb" 0 tx_pkts) $(net_stats "$idb" 0 rx_pkts)"
	}
	echo "linux_net: kernel $(readlink -f "$C/vmlinuz-cloud" | sed 's|.*/||'), iperf3 $($IPERF --version | sed -n '1s/iperf \([^ ]*\).*/\1/p'), $DUR s per run, $STREAMS stream(s); load $(cut -d' ' -f1-3 /proc/loadavg)"
	wait_until 400 has "$CB" "^g2g-start" || { tail -5 "$CA" "$CB"; fail "the guests did not come up"; }
	for r in g2g g2h h2g; do
		c0=$(counters)
		wait_until $((DUR * 3 + 60)) has "$CB" "^$r-end" || { tail -5 "$CB"; fail "$r did not end"; }
		c1=$(counters)
		line=$(sed -n "/^$r-start/,/^$r-end/p" "$CB" | grep -E 'SUM.*receiver|^\[ *[0-9]+\].*receiver' | tail -1 | tr -d '\r')
		mb=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "MBytes") print $i }' <<< "$line")
		mbit=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' <<< "$line")
		[ -n "$mbit" ] || { echo "$r: missing ($(sed -n "/^$r-start/,/^$r-end/p" "$CB" | grep -v -- '-start\|-end' | head -2 | tr -d '\r'))"; continue; }
		read -r a0 b0 tx0 rx0 <<< "$c0"
		read -r a1 b1 tx1 rx1 <<< "$c1"
		case $r in
		g2g) what="guest B -> guest A" ex=$((a1 - a0 + b1 - b0)) who="both guests" pk=$((tx1 - tx0)) ;;
		g2h) what="guest B -> host TAP" ex=$((b1 - b0)) who="guest B" pk=$((tx1 - tx0)) ;;
		h2g) what="host TAP -> guest B" ex=$((b1 - b0)) who="guest B" pk=$((rx1 - rx0)) ;;
		esac
		awk -v w="$what" -v mbit="$mbit" -v mb="$mb" -v ex="$ex" -v who="$who" -v pk="$pk" -v d="$DUR" -v pt="$((tx1 - tx0 + rx1 - rx0))" 'BEGIN {
			printf "%-20s %8.0f Mbit/s  %8.0f pkt/s (data direction)  %6.1f exits/MB (%s; %d exits, %.0f MB)  %.1f KiB/packet\n",
				w, mbit, pk / d, ex / mb, who, ex, mb, mb * 1024 / (pk > 0 ? pk : 1) }'
		res="$res $r=$mbit"
	done
	line=$($NS $IPERF -f m -t "$DUR" -P "$STREAMS" -c 127.0.0.1 2>&1 | grep -E 'receiver' | tail -1)
	lo=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' <<< "$line")
	echo "host loopback        ${lo:-missing} Mbit/s (iperf3 in the same namespace, same run)"
	echo "RESULT linux_net${res:-} loopback=${lo:-missing}"
)
