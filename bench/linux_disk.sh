#!/bin/bash
# linux_disk.sh: disk I/O inside a Linux guest on kxen-backd's blkback beside the host on the same file: the same dd with direct I/O (1 MiB and 4 MiB blocks) on both sides, 4 KiB random I/O (bench/guest/randio), ratios, and kxen-hv's exits per MiB and per request (issue 14 item 6).
#
# usage: bench/linux_disk.sh [-s MIB] [-n OPS] [-r ROUNDS] [-q ORDER] [-g SEGS] [-p 0|1] [-o DIR]
# Needs the image cache (scripts/fetch-images.sh) and a build tree (KXEN_BUILDDIR, default the source
# tree) with bench/guest/randio and the daemons and kxl. Prints only, asserts nothing; exits 0 when
# the figures were taken, 77 without the images or /dev/kvm, 1 on a setup error or a guest that did
# not finish.
set -u
S=${KXEN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${KXEN_BUILDDIR:-$S}
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
MIB=512 OPS=2000 ROUNDS=3 ORDER=2 SEGS=32 PERSIST=1 KEEP=

usage() {
	cat >&"$1" <<EOF
usage: $0 [-s MIB] [-n OPS] [-r ROUNDS] [-q ORDER] [-g SEGS] [-p 0|1] [-o DIR]
  -s MIB     the file's size and each sequential pass, a multiple of 4 (default $MIB)
  -n OPS     4 KiB random reads and writes per round (default $OPS)
  -r ROUNDS  rounds of every figure, host and guest (default $ROUNDS; medians reported)
  -q ORDER   Linux blkfront's max_ring_page_order (default $ORDER: a 4-page ring)
  -g SEGS    Linux blkfront's max_indirect_segments (default $SEGS, Linux's own default)
  -p 0|1     Linux blkfront's feature_persistent (default $PERSIST)
  -o DIR     keep the guest's console, the daemons' logs (kxen-hv's has the layer's hypercall
             counts at the domain's end) and the per-phase counters (phases) there
EOF
	exit "$2"
}
while getopts s:n:r:q:g:p:o:h opt; do
	case $opt in
	s) MIB=$OPTARG ;; n) OPS=$OPTARG ;; r) ROUNDS=$OPTARG ;; q) ORDER=$OPTARG ;; g) SEGS=$OPTARG ;;
	p) PERSIST=$OPTARG ;; o) KEEP=$OPTARG ;; h) usage 1 0 ;; *) usage 2 2 ;;
	esac
done
[ $OPTIND -gt $# ] || usage 2 2
for v in "$MIB" "$OPS" "$ROUNDS" "$SEGS"; do
	case $v in '' | *[!0-9]* | 0) echo "linux_disk: '$v' is not a positive whole number" >&2; exit 2 ;; esac
done
[ $((MIB % 4)) = 0 ] || { echo "linux_disk: -s $MIB: the size must be a multiple of 4 MiB (the 4 MiB dd rows)" >&2; exit 2; }
case $ORDER in [0-4]) ;; *) echo "linux_disk: -q $ORDER: the ring order is 0 to 4 (blkback's max-ring-page-order)" >&2; exit 2 ;; esac
case $PERSIST in [01]) ;; *) echo "linux_disk: -p $PERSIST: 0 or 1" >&2; exit 2 ;; esac

. "$S/bench/linux_guest.sh"
RANDIO=$B/bench/guest/randio
linux_images linux_disk "$RANDIO"

R=$(mktemp -d "${TMPDIR:-/tmp}/kxen-linux-disk.XXXXXX") || exit 1
trap '[ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$R"/*.log "$R/phases" "$KEEP" 2>/dev/null; rm -rf "$R"' EXIT
trap 'exit 1' INT TERM HUP
linux_initramfs linux_disk "$RANDIO" "$R/initramfs.gz"
# Every block allocated, so that neither side measures block allocation.
FILE=$R/disk.img
dd if=/dev/zero of="$FILE" bs=1M count="$MIB" conv=fsync 2> /dev/null || { echo "linux_disk: cannot write $FILE" >&2; exit 1; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6 }'; }
# host_dd ARGS...: one GNU dd; its MB/s from its own byte count and seconds.
host_dd() {
	dd "$@" 2>&1 | sed -n 's/^\([0-9]*\) bytes .* copied, \([0-9.e-]*\) s.*/\1 \2/p' | { read -r b s && mbs "$b" "$s"; }
}
randio_iops() { "$RANDIO" "$@" | sed -n 's/.*iops=\([0-9]*\).*/\1/p'; }

echo "linux_disk: $MIB MiB file in ${TMPDIR:-/tmp} ($(df -T "$R" | awk 'NR == 2 { print $2 " on " $1 }')), $ROUNDS rounds, $OPS random ops; load $(cut -d' ' -f1-3 /proc/loadavg)"
# ---------------------------------------------------------------- host
declare -A H
for r in $(seq "$ROUNDS"); do
	# The guest's dd commands (below), on the image file instead of /dev/xvda.
	H[dwrite]+="$(host_dd if=/dev/zero of="$FILE" bs=1M count="$MIB" oflag=direct conv=notrunc) "
	H[dread]+="$(host_dd if="$FILE" of=/dev/null bs=1M count="$MIB" iflag=direct) "
	H[dwrite4]+="$(host_dd if=/dev/zero of="$FILE" bs=4M count=$((MIB / 4)) oflag=direct conv=notrunc) "
	H[dread4]+="$(host_dd if="$FILE" of=/dev/null bs=4M count=$((MIB / 4)) iflag=direct) "
	# What blkback does with the guest's writes: buffered pwrites, flushed at the guest's flush.
	H[bwrite]+="$(host_dd if=/dev/zero of="$FILE" bs=1M count="$MIB" conv=notrunc,fdatasync) "
	H[bread]+="$(host_dd if="$FILE" of=/dev/null bs=1M) "
	H[rwrite]+="$(randio_iops write "$FILE" "$MIB" "$OPS") "
	H[rread]+="$(randio_iops read "$FILE" "$MIB" "$OPS") "
done

# ---------------------------------------------------------------- guest
# /init's commands (the command line carries them: no '<' or '"'); 'phase X' lines let the host
# read kxen-hv's and blkback's counters between phases, during the guest's 1 s sleeps.
w="time -f T=%e dd if=/dev/zero of=/dev/xvda bs=1M count=$MIB oflag=direct"
rd="time -f T=%e dd if=/dev/xvda of=/dev/null bs=1M count=$MIB iflag=direct"
w4="time -f T=%e dd if=/dev/zero of=/dev/xvda bs=4M count=$((MIB / 4)) oflag=direct"
rd4="time -f T=%e dd if=/dev/xvda of=/dev/null bs=4M count=$((MIB / 4)) iflag=direct"
RUN="for i in \$(seq 99); do if [ -b /dev/xvda ]; then break; fi; sleep 0.2; done; echo phase idle; sleep 2; echo phase idle-end;"
RUN="$RUN for r in \$(seq $ROUNDS); do echo phase dwrite; $w; sleep 1; echo phase dread; $rd; sleep 1;"
RUN="$RUN echo phase dwrite4; $w4; sleep 1; echo phase dread4; $rd4; sleep 1;"
RUN="$RUN echo phase rwrite; randio write /dev/xvda $MIB $OPS; sleep 1; echo phase rread; randio read /dev/xvda $MIB $OPS; sleep 1; done; echo phase end"
PARAMS="xen_blkfront.max_ring_page_order=$ORDER xen_blkfront.max_indirect_segments=$SEGS xen_blkfront.feature_persistent=$PERSIST"

guest() (
	export KXEN_BUILDDIR=$B KXEN_SRCDIR=$S
	. "$S/tests/integration/lib.sh" > /dev/null
	trap 'cp "$T/console/guest-linux.log" "$R/console.log" 2>/dev/null; cp "$T/backd.log" "$R/backd.log" 2>/dev/null; cp "$T/hv.log" "$R/hv.log" 2>/dev/null; cleanup' EXIT
	dom0_start > "$R/start.log" 2>&1 || { cat "$R/start.log"; exit 1; }
	sed -e "s|/var/cache/kxen/images/initramfs-cloud.gz|$R/initramfs.gz|" -e "s|/var/cache/kxen/images|$C|" \
		-e "s|<vcpu>[0-9]*<|<vcpu>1<|" -e 's|<on_poweroff>destroy<|<on_poweroff>preserve<|' \
		-e "s|<cmdline>.*</cmdline>|<cmdline>console=hvc0 $PARAMS kxen.run=\"$RUN\"</cmdline>|" \
		-e "s|</os>|</os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$FILE'/><target dev='xvda' bus='xen'/></disk></devices>|" \
		"$S/xml/examples/linux.xml" > "$T/disk.xml"
	"$KXL" create "$T/disk.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; exit 1; }
	local id con=$T/console/guest-linux.log seen=0 ph n
	id=$(domid_of linux)
	# At each new phase line: the phase, kxen-hv's exits + kicks of the domain, blkback's requests, and for
	# kxen-hv (the guest's vCPU thread: Linux's own work) and kxen-backd the ns their threads ran and the ns
	# they waited, runnable, for a CPU (schedstat: what a loaded host adds to every wake-up).
	cpu() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ r += $1; w += $2 } END { printf "%.0f %.0f", r, w }'; }
	local end=$(( ${EPOCHREALTIME/./} + 1800 * 1000000 ))
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		n=$(grep -c "^phase " "$con" 2>/dev/null)
		if [ "${n:-0}" -gt "$seen" ]; then
			set -- $("$KXL" list -l linux | sed -n 's/^ *exits \([0-9]*\), hypercalls [0-9]*, events [0-9]*, kicks \([0-9]*\)$/\1 \2/p')
			local c="$(( ${1:-0} + ${2:-0} )) $(awk '/^(rd|wr)_req / { n += $2 } END { print n + 0 }' "$T/run/vbd/$id-51712" 2>/dev/null) $(cpu "$HVPID") $(cpu "$BACKDPID") $(cut -d' ' -f1 /proc/uptime)"
			# Every phase line, also those a slow round of this loop saw together (same counters: a
			# zero-length phase, which the report leaves out).
			for ph in $(grep "^phase " "$con" | sed -n "$((seen + 1)),${n}p" | tr -d '\r' | cut -d' ' -f2); do
				echo "$ph $c" >> "$R/phases"
			done
			seen=$n
			[ "$ph" = end ] && break
		fi
		grep -q "^(XEN) domain $id (linux) shut down" "$T/hv.log" && break
		sleep 0.05
	done
	"$KXL" destroy linux > /dev/null 2>&1
	grep -q "connected: .*-page ring" "$T/backd.log" && grep "connected: .*-page ring" "$T/backd.log" | sed 's/.*: vbd /blkback: vbd /' > "$R/ring"
	exit 0
)
guest || { echo "linux_disk: the guest could not be started" >&2; exit 1; }
grep -q "^end " "$R/phases" 2>/dev/null || {
	echo "linux_disk: the guest did not finish its phases; its last lines:" >&2
	tr -d '\r' < "$R/console.log" | tail -n 15 >&2
	exit 1
}
G_dwrite= G_dread= G_dwrite4= G_dread4= G_rwrite= G_rread=
con() { tr -d '\r' < "$R/console.log"; }
# Guest dd times in phase order: write, read, write 4 MiB, read 4 MiB, write...
mapfile -t T_ < <(con | sed -n 's/^T=\([0-9.]*\)$/\1/p')
for i in "${!T_[@]}"; do
	v=$(awk -v m="$MIB" -v s="${T_[$i]}" 'BEGIN { if (s > 0) printf "%.0f", m * 1048576 / s / 1e6 }')
	case $((i % 4)) in 0) G_dwrite+="$v " ;; 1) G_dread+="$v " ;; 2) G_dwrite4+="$v " ;; 3) G_dread4+="$v " ;; esac
done
G_rwrite=$(con | sed -n 's/^randio: write .*iops=\([0-9]*\).*/\1/p' | tr '\n' ' ')
G_rread=$(con | sed -n 's/^randio: read .*iops=\([0-9]*\).*/\1/p' | tr '\n' ' ')

# ---------------------------------------------------------------- report
# Exits and requests per phase: the counters at a phase's line minus those at the next line, less the idle
# rate times the phase's length (its work and the 1 s sleep it ends with). The idle rate is over the
# time the host saw between the idle lines (missing if one loop round saw both).
idle=$(awk '$1 == "idle" { e = $2; t = $8 } $1 == "idle-end" && $8 > t { printf "%.1f", ($2 - e) / ($8 - t) }' "$R/phases")
perreq() {   # perreq PHASE MIB: exits per MiB and per blkback request; ms per MiB that kxen-hv (the guest) and kxen-backd ran and waited for a CPU
	awk -v p="$1" -v idle="${idle:-0}" -v mib="$2" '{ ph[NR] = $1; ex[NR] = $2; rq[NR] = $3; hr[NR] = $4; hw[NR] = $5; br[NR] = $6; bw[NR] = $7; t[NR] = $8 }
		END { for (i = 1; i < NR; i++) if (ph[i] == p && t[i + 1] > t[i]) {
		          n++; e += ex[i + 1] - ex[i] - idle * (t[i + 1] - t[i]); q += rq[i + 1] - rq[i]
		          a += hr[i + 1] - hr[i]; b += hw[i + 1] - hw[i]; c += br[i + 1] - br[i]; d += bw[i + 1] - bw[i] }
		      m = n * mib * 1e6
		      if (q > 0) printf "%.1f exits/MiB, %.2f/req (%d reqs); ms/MiB ran+waited: guest %.1f+%.1f, backd %.1f+%.1f",
		                        e * 1e6 / m, e / q, q, a / m, b / m, c / m, d / m }' "$R/phases"
}
line() {   # line NAME UNIT HOSTKEY GUESTVALUES PHASE MIB_PER_ROUND
	local h g
	h=$(echo ${H[$3]} | tr ' ' '\n' | median) g=$(echo $4 | tr ' ' '\n' | median)
	printf '%-34s host %7s  guest %7s %-6s ratio %s   [%s]\n' "$1" "${h:-missing}" "${g:-missing}" "$2" \
		"$(awk -v g="$g" -v h="$h" 'BEGIN { if (h > 0 && g != "") printf "%.2f", g / h; else printf "missing" }')" "$(perreq "$5" "$6")"
	RES="$RES $3_host=${h:-missing} $3_guest=${g:-missing}"
}
echo "Linux blkfront: max_ring_page_order=$ORDER max_indirect_segments=$SEGS feature_persistent=$PERSIST; $(cat "$R/ring" 2>/dev/null)"
echo "$(con | grep -m 1 'blkfront: xvda:' | sed 's/^\[[ 0-9.]*\] //')"
echo "guest idle: ${idle:-missing} exits/s (subtracted below); medians of $ROUNDS rounds, host and guest on $FILE"
echo "dd rows: the same command on both sides (host: on the file, guest: on /dev/xvda), O_DIRECT, $MIB MiB"
RES="RESULT linux_disk mib=$MIB"
line "dd 1 MiB direct write" MB/s dwrite "$G_dwrite" dwrite "$MIB"
line "dd 1 MiB direct read" MB/s dread "$G_dread" dread "$MIB"
line "dd 4 MiB direct write" MB/s dwrite4 "$G_dwrite4" dwrite4 "$MIB"
line "dd 4 MiB direct read" MB/s dread4 "$G_dread4" dread4 "$MIB"
printf '%-34s host %7s  host %7s  (blkback writes and reads through the host page cache)\n' "host buffered write+fdatasync / read" \
	"$(echo ${H[bwrite]} | tr ' ' '\n' | median)" "$(echo ${H[bread]} | tr ' ' '\n' | median)"
line "4 KiB random write (QD1, direct)" IOPS rwrite "$G_rwrite" rwrite "$(awk -v n="$OPS" 'BEGIN { print n / 256 }')"
line "4 KiB random read (QD1, direct)" IOPS rread "$G_rread" rread "$(awk -v n="$OPS" 'BEGIN { print n / 256 }')"
echo "$RES"
