#!/bin/bash
# linux_balloon.sh: the host memory an idle Linux guest costs (its RAM memfd's allocated blocks, kxen-hv's RSS above its own idle RSS) at <memory> 256 MiB, after `kxl mem-set` to 96 MiB, booted with <currentMemory> 96 MiB, and once it has used all its memory (a file filling it, removed) before and after mem-set 96, beside the XML's <memory> (issue 14 item 6).
#
# usage: bench/linux_balloon.sh [-m MIB] [-b MIB] [-s SECONDS]
# Runs a private kxen-hv, kxenstored and kxen-backd as tests/integration does (their lib.sh), from a
# build tree (KXEN_BUILDDIR, default the source tree); needs the image cache (scripts/fetch-images.sh)
# and /dev/kvm (exit 77 without either). Prints only, asserts nothing.
set -u
KXEN_SRCDIR=${KXEN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
KXEN_BUILDDIR=${KXEN_BUILDDIR:-$KXEN_SRCDIR}
export KXEN_SRCDIR KXEN_BUILDDIR
MEM=256 LOW=96 SETTLE=10
while getopts m:b:s:h opt; do
	case $opt in
	m) MEM=$OPTARG ;; b) LOW=$OPTARG ;; s) SETTLE=$OPTARG ;;
	*) echo "usage: $0 [-m MIB (<memory>, default 256)] [-b MIB (ballooned, default 96)] [-s SECONDS idle before each reading (default 10)]" >&2; exit 2 ;;
	esac
done
for v in "$MEM" "$LOW" "$SETTLE"; do
	case $v in '' | *[!0-9]*) echo "linux_balloon: '$v' is not a whole number" >&2; exit 2 ;; esac
done
[ "$LOW" -ge 64 ] && [ "$LOW" -lt "$MEM" ] || { echo "linux_balloon: -b must be at least 64 and below -m" >&2; exit 2; }

. "$KXEN_SRCDIR/tests/integration/lib.sh"
. "$KXEN_SRCDIR/tests/integration/linux_lib.sh"
# An idle guest: /init says so and sleeps.
linux_setup 'echo idle-ready; exec sleep 100000'
sed -i "s|<memory unit='MiB'>256</memory>|<memory unit='MiB'>$MEM</memory>|" "$T/linux.xml"
dom0_start
sleep 2
hv_idle=$(hv_rss_kib)

memfd_mib() { # NAME: allocated MiB of the domain's RAM memfd (the largest memfd named after it)
	local f best=0 bytes blocks out=0
	for f in /proc/"$HVPID"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "/memfd:$1 (deleted)" ] || continue
		read -r bytes blocks < <(stat -L -c '%s %b' "$f")
		[ "$bytes" -gt "$best" ] && { best=$bytes; out=$((blocks / 2048)); }
	done
	echo "$out"
}
row() { # LABEL NAME
	printf '%-34s %9s %9s %11s %12s\n' "$1" "$MEM MiB" "$("$KXL" list | awk -v n="$2" '$1 == n { print $3 }') MiB" \
		"$(memfd_mib "$2") MiB" "$((($(hv_rss_kib) - hv_idle) / 1024)) MiB"
}
boot() { # NAME XML
	"$KXL" create "$2" > "$T/$1.create" 2>&1 || { cat "$T/$1.create"; fail "kxl create $1"; }
	CON=$T/console/guest-$1.log
	wait_until 300 console_has "^idle-ready" || fail "$1 did not reach /init"
	sleep "$SETTLE"
}
shrink() { # NAME: kxl mem-set to LOW, until kxl list shows it
	"$KXL" mem-set "$1" "$LOW" || fail "kxl mem-set $1 $LOW"
	wait_until 120 sh -c "[ \"\$(\"$KXL\" list | awk '\$1 == \"$1\" { print \$3 }')\" = $LOW ]" ||
		fail "the balloon of $1 did not reach $LOW MiB"
	sleep "$SETTLE"
}

echo "linux_balloon: an idle Debian cloud kernel with the busybox initramfs; kxen-hv's own RSS before any guest: $((hv_idle / 1024)) MiB"
printf '%-34s %9s %9s %11s %12s\n' "guest" "<memory>" "kxl list" "memfd held" "kxen-hv RSS+"
boot linux "$T/linux.xml"
row "idle, all of <memory>" linux
shrink linux
row "idle, kxl mem-set $LOW" linux
"$KXL" destroy linux || fail "kxl destroy"

linux_setup 'echo idle-ready; exec sleep 100000' low
sed -i "s|<memory unit='MiB'>256</memory>|<memory unit='MiB'>$MEM</memory><currentMemory unit='MiB'>$LOW</currentMemory>|" "$T/low.xml"
boot low "$T/low.xml"
row "idle, booted <currentMemory> $LOW" low
"$KXL" destroy low || fail "kxl destroy low"

# A guest that used all its memory once (page cache of a file, then removed) and went idle.
linux_setup "$(cat <<'RUN'
a=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo); dd if=/dev/zero of=/fill bs=1M count=$((a / 1024 - 24)) 2>/dev/null; rm /fill; echo idle-ready; exec sleep 100000
RUN
)" used
sed -i "s|<memory unit='MiB'>256</memory>|<memory unit='MiB'>$MEM</memory>|" "$T/used.xml"
boot used "$T/used.xml"
row "used once, all of <memory>" used
shrink used
row "used once, kxl mem-set $LOW" used
"$KXL" destroy used || fail "kxl destroy used"
