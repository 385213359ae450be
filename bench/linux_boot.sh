#!/bin/bash
# linux_boot.sh: Debian's cloud kernel with the busybox initramfs and ubench booted by QEMU TCG, QEMU+KVM and kxen: boot to user space and power-off, in-guest ubench, kxen's exits and traps per boot, beside floors measured in the same run (issue 13 item 6).
#
# usage: bench/linux_boot.sh [-p tcg,kvm,kxen] [-t BUDGET_MS] [-T SECONDS] [-K SECONDS] [-c VCPUS] [-m MIB] [-C CPU] [-o DIR]
# Needs the image cache (scripts/fetch-images.sh) and a build tree (KXEN_BUILDDIR, default the
# source tree) with bench/guest/ubench, bench/bench_hypercall and, for kxen, the daemons and kxl.
# A peer that cannot run here (no qemu-system-x86_64, no usable /dev/kvm) is reported as skipped;
# a boot that does not get somewhere is reported with the last line Linux printed, and the
# figures it did not produce are printed as "missing", never estimated. Prints only, asserts
# nothing; exits 0 once every peer was tried, 77 if none could run, 1 on a setup error.
set -u
S=${KXEN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${KXEN_BUILDDIR:-$S}
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
PEERS=tcg,kvm,kxen BUDGET=200 TIMEOUT=300 KVM_TIMEOUT=900 VCPUS=1 MEM=256 KEEP= KVM_CPU=host
FIGS="null_syscall page_fault fork_exit_wait ctxsw_pipe"

usage() {
	cat >&"$1" <<EOF
usage: $0 [-p PEERS] [-t BUDGET_MS] [-T SECONDS] [-K SECONDS] [-c VCPUS] [-m MIB] [-C CPU] [-o DIR]
  -p PEERS    comma-separated, from tcg, kvm, kxen (default $PEERS)
  -t MS       ubench's time budget per figure (default $BUDGET)
  -T SECONDS  how long a TCG or kxen boot may take, ubench included (default $TIMEOUT)
  -K SECONDS  the same for QEMU+KVM, whose guest ring 0 is emulated here (default $KVM_TIMEOUT)
  -c VCPUS    vCPUs of every peer (default $VCPUS; kxen runs Linux on up to 2)
  -m MIB      memory of every peer (default $MEM)
  -C CPU      QEMU+KVM's -cpu (default $KVM_CPU)
  -o DIR      keep the stamped console logs and kxen-hv's log there (PEER.log, kxen.hv)
EOF
	exit "$2"
}
while getopts p:t:T:K:c:m:o:C:h opt; do
	case $opt in
	p) PEERS=$OPTARG ;; t) BUDGET=$OPTARG ;; T) TIMEOUT=$OPTARG ;; K) KVM_TIMEOUT=$OPTARG ;;
	c) VCPUS=$OPTARG ;; m) MEM=$OPTARG ;; o) KEEP=$OPTARG ;; C) KVM_CPU=$OPTARG ;; h) usage 1 0 ;; *) usage 2 2 ;;
	esac
done
[ $OPTIND -gt $# ] || usage 2 2
for v in "$BUDGET" "$TIMEOUT" "$KVM_TIMEOUT" "$VCPUS" "$MEM"; do
	case $v in '' | *[!0-9]* | 0) echo "linux_boot: '$v' is not a positive whole number" >&2; exit 2 ;; esac
done
for p in ${PEERS//,/ }; do
	case $p in tcg | kvm | kxen) ;; *) echo "linux_boot: unknown peer '$p' (tcg, kvm, kxen)" >&2; exit 2 ;; esac
done

. "$S/bench/linux_guest.sh"
KERNEL=$C/vmlinuz-cloud UBENCH=$B/bench/guest/ubench
linux_images linux_boot "$UBENCH"

R=$(mktemp -d "${TMPDIR:-/tmp}/kxen-linux-bench.XXXXXX") || exit 1
trap '[ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$R"/*.log "$R"/*.hv "$R"/*.ev "$KEEP" 2>/dev/null; rm -rf "$R"' EXIT
trap 'exit 1' INT TERM HUP

IR=$R/initramfs-ubench.gz
linux_initramfs linux_boot "$UBENCH" "$IR"
RUN="kxen.run=\"ubench -t $BUDGET\""

now_us() { echo "${EPOCHREALTIME/./}"; }
# stamp START_US: each line of stdin prefixed with the µs since START_US at which it arrived (\r dropped).
stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' $(( ${EPOCHREALTIME/./} - $1 )) "${l//$'\r'/}"
	done
}
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Each peer leaves in $R: PEER.log (the guest's console, stamped), PEER.ev ("EVENT US [TEXT]" lines:
# end = poweroff|crash|timeout|exit, plus kxen's counters) and PEER.why when it could not run.

# run_qemu PEER TIMEOUT ACCEL-ARGS...: one boot; its end is QEMU's exit (-no-reboot turns the
# guest's power-off into one). After a KVM internal error QEMU stops the guest and waits: ended there.
run_qemu() {
	local peer=$1 to=$2 start pid rc why=
	shift 2
	start=$(now_us)
	timeout "$to" qemu-system-x86_64 "$@" -m "$MEM" -smp "$VCPUS" -nographic -no-reboot \
		-kernel "$KERNEL" -initrd "$IR" -append "console=ttyS0 $RUN" \
		< /dev/null > >(stamp "$start" > "$R/$peer.log") 2>&1 &
	pid=$!
	while kill -0 "$pid" 2> /dev/null; do
		if grep -q "KVM internal error" "$R/$peer.log" 2> /dev/null; then
			sleep 1   # the register dump that follows
			why="exit: KVM internal error (QEMU stopped the guest)"
			kill "$pid"
			break
		fi
		sleep 0.2
	done
	wait "$pid"
	rc=$?
	sleep 0.3   # the stamper's last lines
	if [ -n "$why" ]; then
		echo "end $(( $(now_us) - start )) $why" >> "$R/$peer.ev"
	elif [ "$rc" = 124 ]; then
		echo "end $(( $(now_us) - start )) timeout after $to s" >> "$R/$peer.ev"
	elif grep -q "reboot: Power down" "$R/$peer.log"; then
		echo "end $(( $(now_us) - start )) poweroff" >> "$R/$peer.ev"
	else
		echo "end $(( $(now_us) - start )) exit: QEMU exited with status $rc" >> "$R/$peer.ev"
	fi
}

kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

peer_tcg() {
	command -v qemu-system-x86_64 > /dev/null || { echo "qemu-system-x86_64 is not installed" > "$R/tcg.why"; return; }
	run_qemu tcg "$TIMEOUT" -accel tcg
}

# On kvm_pvm guest ring 0 is emulated, and the emulator stops this kernel (KVM_EXIT_INTERNAL_ERROR,
# "emulation failure") at `lock cmpxchg16b`, then (-C host,-cx16) at `xrstor`, then (with noxsave)
# at `int3`: the peer is reported as stopped there (docs/linux-pv.md, "Benchmarks").
peer_kvm() {
	command -v qemu-system-x86_64 > /dev/null || { echo "qemu-system-x86_64 is not installed" > "$R/kvm.why"; return; }
	kvm_usable || { echo "/dev/kvm is not usable by $(id -un)" > "$R/kvm.why"; return; }
	run_qemu kvm "$KVM_TIMEOUT" -enable-kvm -cpu "$KVM_CPU"
}

# kxen: a private dom0 stack as the integration tests start it (their lib.sh, in a subshell:
# its skip/fail exit the subshell only, and its EXIT trap stops the daemons).
peer_kxen() (
	export KXEN_BUILDDIR=$B KXEN_SRCDIR=$S
	kvm_usable || { echo "/dev/kvm is not usable by $(id -un)" > "$R/kxen.why"; exit 0; }
	. "$S/tests/integration/lib.sh" > /dev/null
	for f in "$HV" "$XSD" "$BACKD" "$KXL"; do
		[ -x "$f" ] || { echo "$f is not built" > "$R/kxen.why"; exit 0; }
	done
	dom0_start > "$R/kxen.start" 2>&1 || { cat "$R/kxen.start" > "$R/kxen.why"; exit 0; }
	# Preserved on power-off, so that its exit counter can still be read.
	sed -e "s|/var/cache/kxen/images/vmlinuz-cloud|$KERNEL|" -e "s|<initrd>.*</initrd>|<initrd>$IR</initrd>|" \
		-e "s|<vcpu>[0-9]*<|<vcpu>$VCPUS<|" -e "s|<memory unit='MiB'>[0-9]*<|<memory unit='MiB'>$MEM<|" \
		-e "s|<cmdline>.*</cmdline>|<cmdline>console=hvc0 earlyprintk=xen $RUN</cmdline>|" \
		-e 's|<on_poweroff>destroy<|<on_poweroff>preserve<|' -e 's|<on_crash>destroy<|<on_crash>preserve<|' \
		"$S/xml/examples/linux.xml" > "$T/bench-linux.xml"
	local start tails=
	start=$(now_us)
	# Linux's early output reaches kxen-hv's log as (dN) lines, hvc0's the console log. tail polls a
	# file that does not exist yet (the console log) once a second unless told otherwise.
	tail -s 0.05 -n +1 -F "$T/hv.log" 2> /dev/null > >(stamp "$start" > "$R/kxen.hv") &
	tails="$tails $!"
	tail -s 0.05 -n +1 -F "$T/console/guest-linux.log" 2> /dev/null > >(stamp "$start" > "$R/kxen.log") &
	tails="$tails $!"
	trap 'kill $tails 2>/dev/null; cleanup' EXIT
	if ! "$KXL" create "$T/bench-linux.xml" > "$T/create.out" 2>&1; then
		echo "end $(( $(now_us) - start )) exit: kxl create failed: $(head -c 300 "$T/create.out")" >> "$R/kxen.ev"
		exit 0
	fi
	echo "created $(( $(now_us) - start ))" >> "$R/kxen.ev"
	local id end= line
	id=$(domid_of linux)
	until line=$(grep -m 1 "^(XEN) domain $id (linux) shut down: " "$T/hv.log"); do
		[ $(( $(now_us) - start )) -lt $(( TIMEOUT * 1000000 )) ] || break
		sleep 0.05
	done
	end=$(( $(now_us) - start ))
	case $line in
	*"shut down: poweroff"*) echo "end $end poweroff" ;;
	*"shut down: "*) echo "end $end crash: ${line#*shut down: }" ;;
	*) echo "end $end timeout after $TIMEOUT s" ;;
	esac >> "$R/kxen.ev"
	# exits, hypercalls, events: kxen-hv's counters of the domain (at its end, or at the timeout).
	# kicks: KVM_RUN entries a signal interrupted, exits as well (kxl list -l counts them apart).
	"$KXL" list -l linux | sed -n 's/^ *exits \([0-9]*\), hypercalls \([0-9]*\), events \([0-9]*\), kicks \([0-9]*\)$/counters \1 \2 \3 \4/p' >> "$R/kxen.ev"
	"$KXL" destroy linux > /dev/null 2>&1
	# The in-guest layer's counters, logged when a Linux domain goes.
	wait_until 30 grep -q "^(XEN) d$id Linux PV layer: [0-9]* hypercalls in the guest" "$T/hv.log" &&
		grep -m 1 "^(XEN) d$id Linux PV layer: [0-9]* hypercalls in the guest" "$T/hv.log" |
		sed 's/^/layer 0 /' >> "$R/kxen.ev"
	sleep 0.3   # the stampers catch up with the files' last lines
)

# ---------------------------------------------------------------- run
echo "linux_boot: kernel $(readlink -f "$KERNEL" | sed 's|.*/||'), $VCPUS vCPU(s), $MEM MiB, ubench budget $BUDGET ms; load $(load)"
FLOORS=
if kvm_usable && [ -x "$B/bench/bench_hypercall" ]; then
	"$B/bench/bench_hypercall" -f -n 5000 -p 10 > "$R/floors.out" 2>&1
	FLOORS=$(sed -n 's/^RESULT bench_hypercall_floors //p' "$R/floors.out")
fi
fl() { echo "$FLOORS" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
EXIT_US=$(fl bare_exit_us) TRAP_US=$(fl trap_us) KVMMIN_MS=$(fl kvm_min_ms)
if [ -n "$FLOORS" ]; then
	echo "floors (bench_hypercall -f, this run): one exit to user space $EXIT_US us; one trap into KVM (ring-3 cpuid) $TRAP_US us; a whole VM as a process (bench/kvm_min) $KVMMIN_MS ms"
else
	echo "floors: missing (no usable /dev/kvm or bench/bench_hypercall not built): figures are printed without ratios"
	cat "$R/floors.out" 2>/dev/null
fi
for p in ${PEERS//,/ }; do
	echo "linux_boot: booting under $p (load $(load))"
	"peer_$p"
	# A peer that recorded neither an end nor a reason stopped while starting (lib.sh's skip or fail).
	[ -s "$R/$p.ev" ] || [ -f "$R/$p.why" ] || { echo "did not start:"; tail -n 5 "$R/$p.start" 2>/dev/null; } > "$R/$p.why"
done

# ---------------------------------------------------------------- report
ratio() {   # ratio VALUE FLOOR: "= 1.23x" or nothing without a floor
	[ -n "$2" ] && awk -v v="$1" -v f="$2" 'BEGIN { if (f > 0) printf " = %.3gx", v / f }'
}
ev() { sed -n "s/^$2 //p" "$R/$1.ev" 2>/dev/null | head -n 1; }
# linux_lines PEER: what Linux and /init printed, stamped, by time (kxen: its early lines in kxen-hv's
# log and hvc0's; QEMU: without the firmware's, QEMU's own and its register dumps).
linux_lines() {
	# (QEMU: the banner follows the firmware's last text on its line.)
	{ sed -n 's/^\([0-9]*\) .*\(\[ *[0-9]*\.[0-9]*\] \)/\1 \2/p; t; /^[0-9]* \(kxen-init\|ubench\): /p' "$R/$1.log" 2>/dev/null
	  sed -n 's/^\([0-9]*\) (d[0-9]*) /\1 /p' "$R/$1.hv" 2>/dev/null; } | sort -n -s -k1,1
}
# at PEER REGEX: the µs at which Linux first printed a line matching REGEX.
at() { linux_lines "$1" | grep -m 1 -- "$2" | cut -d' ' -f1; }
ok=0
for p in ${PEERS//,/ }; do
	case $p in tcg) name="QEMU TCG" ;; kvm) name="QEMU with KVM (-cpu $KVM_CPU)" ;; kxen) name="kxen (kxl create)" ;; esac
	echo "=== $name"
	if [ -f "$R/$p.why" ]; then
		echo "skipped: $(head -n 3 "$R/$p.why")"
		echo "RESULT linux_boot peer=$p skipped"
		continue
	fi
	ok=1
	end=$(ev "$p" end) endus=${end%% *} how=${end#* }
	first=$(awk '/ kxen-init: start$/ { print $1; exit }' "$R/$p.log" 2>/dev/null)
	res="RESULT linux_boot peer=$p"
	if [ -n "$first" ]; then
		echo "first user-space line: $(secs "$first") s$(ratio "$((first / 1000))" "$KVMMIN_MS") kvm_min"
		res="$res first_user_s=$(secs "$first")"
	else
		l=$(linux_lines "$p" | grep -v ' kxen-init: powering\|reboot: Power down' | tail -n 1)
		if [ -n "$l" ]; then
			l="the last line Linux printed, at +$(secs "${l%% *}") s: ${l#* }"
		else
			l="Linux printed nothing on its console"
		fi
		echo "first user-space line: missing: no user space (${how:-no end recorded}); $l"
		res="$res first_user_s=missing"
	fi
	if [ "$how" = poweroff ]; then
		echo "power-off: $(secs "$endus") s$(ratio "$((endus / 1000))" "$KVMMIN_MS") kvm_min"
		res="$res poweroff_s=$(secs "$endus")"
	else
		echo "power-off: missing: $how (at +$(secs "${endus:-0}") s)"
		res="$res poweroff_s=missing"
	fi
	grep -o -m 1 "KVM internal error.*" "$R/$p.log" 2>/dev/null | sed 's/^/QEMU: /'
	grep -m 2 "^[0-9]* \(RIP=\|Code=\)" "$R/$p.log" 2>/dev/null | sed 's/^[0-9]* /QEMU: /'
	# Where the time went, as the host saw the lines arrive (QEMU: lines before the console's
	# registration arrive together with it; kxen's earlyprintk=xen shows them at once).
	m=
	for pair in "banner:Linux version" "console:printk: console \[" "Run /init:Run /init as init process" \
		"user space: kxen-init: start$" "ubench done:ubench: done"; do
		t=$(at "$p" "${pair#*:}")
		[ -n "$t" ] && m="$m, ${pair%%:*} +$(secs "$t") s"
	done
	echo "milestones: ${m:-, none}" | sed 's/: , /: /'
	for f in $FIGS; do
		l=$(grep -m 1 " ubench: $f " "$R/$p.log" 2>/dev/null)
		if [ -z "$l" ]; then
			printf '%-15s missing (ubench did not report it)\n' "$f"
			res="$res ${f}_ns=missing"
			continue
		fi
		ns=$(echo "$l" | sed -n 's/.*ns_per_op=\([0-9.]*\).*/\1/p')
		it=$(echo "$l" | sed -n 's/.*iters=\([0-9]*\).*/\1/p')
		printf '%-15s %12s ns/op (%s iterations)%s exit%s trap\n' "$f" "$ns" "$it" \
			"$(ratio "$ns" "${EXIT_US:+$(awk -v u="$EXIT_US" 'BEGIN { print u * 1000 }')}")" \
			"$(ratio "$ns" "${TRAP_US:+$(awk -v u="$TRAP_US" 'BEGIN { print u * 1000 }')}")"
		res="$res ${f}_ns=$ns"
	done
	# The guest's clock against the host's: ubench's own total against the time between the line
	# before it ran and its last line, as the host saw them arrive.
	done_l=$(grep -m 1 " ubench: done " "$R/$p.log" 2>/dev/null)
	up_l=$(grep -m 1 " kxen-init: up: " "$R/$p.log" 2>/dev/null)
	if [ -n "$done_l" ] && [ -n "$up_l" ]; then
		gms=$(echo "$done_l" | sed -n 's/.*guest_ms=\([0-9.]*\).*/\1/p')
		hms=$(( (${done_l%% *} - ${up_l%% *}) / 1000 ))
		echo "guest clock: ubench took $gms ms by the guest's clock, $hms ms as the host saw its output (host/guest$(ratio "$hms" "$gms"))"
	fi
	if [ "$p" = kxen ]; then
		set -- $(ev kxen counters)
		if [ $# = 4 ]; then
			n=$(( $1 + $4 ))
			t=$(awk -v n="$n" -v u="$EXIT_US" 'BEGIN { if (u != "") printf " = %.2f s at one exit'"'"'s floor", n * u / 1e6 }')
			echo "exits per boot: $n$t ($1 exits and $4 kicks); hypercalls $2; events $3 (kxen-hv's counters at the end above)"
			res="$res exits=$n"
		else
			echo "exits per boot: missing (the domain's counters could not be read)"
			res="$res exits=missing"
		fi
		lay=$(ev kxen "layer 0")
		if [ -n "$lay" ]; then
			read -r hc fwd exc < <(echo "$lay" | sed -n 's/.*: \([0-9]*\) hypercalls in the guest, \([0-9]*\) forwarded, \([0-9]*\) exceptions.*/\1 \2 \3/p')
			traps=$((${hc:-0} + ${fwd:-0} + ${exc:-0}))
			t=$(awk -v n="$traps" -v u="$TRAP_US" 'BEGIN { if (u != "") printf " = %.2f s at one trap'"'"'s floor", n * u / 1e6 }')
			echo "traps per boot: $traps$t = $hc hypercalls handled in the guest + $fwd forwarded + $exc exceptions (the layer's counters; its ring-0 int3s for CR3 loads and flushes are not counted)"
			echo "  ${lay#*Linux PV layer: }"
			res="$res traps=$traps"
		else
			echo "traps per boot: missing (kxen-hv did not log the layer's counters)"
			res="$res traps=missing"
		fi
	fi
	echo "$res"
done
echo "linux_boot: done (load $(load))"
[ $ok = 1 ] || exit 77
exit 0
