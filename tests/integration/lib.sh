# lib.sh: shared setup for integration tests: private kxen-hv and kxenstored, config files, log polling; SKIP (77) without KVM.
set -u

B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
HV=$B/hypervisor/kxen-hv
XSD=$B/dom0-tools/kxenstored/kxenstored
KXL=$B/dom0-tools/kxl/kxl
GUEST=$B/pv-drivers/guest/kxen-guest
export KXEN_SCHEMA=$S/xml/domain.rng

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; echo "--- hypervisor log ---"; cat "$T/hv.log" 2>/dev/null | tail -40; exit 1; }
pass() { echo "PASS: $*"; }

if [ ! -e /dev/kvm ]; then skip "/dev/kvm does not exist on this machine"; fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then skip "/dev/kvm is not readable and writable by $(id -un)"; fi

T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-test.XXXXXX")
export KXEN_HV_SOCKET=$T/hv.sock
export XENSTORED_PATH=$T/xs.sock
HVPID=
XSPID=

cleanup() {
	for pid in $XSPID $HVPID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

# Starts the private kxen-hv; skips if KVM refuses to work here.
hv_start() {
	"$HV" -f -s "$KXEN_HV_SOCKET" -l "$T/hv.log" "$@" 2>"$T/hv.err" &
	HVPID=$!
	for _ in $(seq 1 200); do
		[ -S "$KXEN_HV_SOCKET" ] && return 0
		if ! kill -0 "$HVPID" 2>/dev/null; then
			HVPID=
			if grep -q "KVM is not usable" "$T/hv.err"; then skip "$(head -1 "$T/hv.err")"; fi
			cat "$T/hv.err"
			fail "kxen-hv did not start"
		fi
		sleep 0.05
	done
	fail "kxen-hv did not create its socket"
}

# Starts the private kxenstored against the private kxen-hv (kxl create needs it).
xs_start() {
	"$XSD" -f -s "$XENSTORED_PATH" -H "$KXEN_HV_SOCKET" -l "$T/xs.log" "$@" 2>"$T/xs.err" &
	XSPID=$!
	for _ in $(seq 1 200); do
		[ -S "$XENSTORED_PATH" ] && return 0
		if ! kill -0 "$XSPID" 2>/dev/null; then
			XSPID=
			cat "$T/xs.err"
			fail "kxenstored did not start"
		fi
		sleep 0.05
	done
	fail "kxenstored did not create its socket"
}

# The dom0 daemons every guest needs: kxen-hv, then kxenstored.
dom0_start() {
	hv_start "$@"
	xs_start
}

# mkcfg NAME CMDLINE [MEM_MIB] [VCPUS] [EXTRA_XML]: writes $T/NAME.xml.
mkcfg() {
	cat > "$T/$1.xml" <<XML
<domain type='kxen'>
  <name>$1</name>
  <memory unit='MiB'>${3:-8}</memory>
  <vcpu>${4:-1}</vcpu>
  <os>
    <type>xenpv</type>
    <kernel>$GUEST</kernel>
    <cmdline>$2</cmdline>
  </os>
  ${5:-}
</domain>
XML
}

# create NAME: kxl create; prints the new domain's id.
create() {
	"$KXL" create "$T/$1.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create $1"; }
	domid_of "$1"
}

domid_of() {
	sed -n "s/^(XEN) domain \([0-9]*\) ($1) created.*/\1/p" "$T/hv.log" | tail -1
}

# wait_log REGEX [SECONDS]: waits until the hypervisor log matches.
wait_log() {
	local tries=$(( ${2:-10} * 20 ))
	for _ in $(seq 1 "$tries"); do
		grep -Eq -- "$1" "$T/hv.log" && return 0
		sleep 0.05
	done
	fail "timed out waiting for log line /$1/"
}

# exists DOMID: whether kxl list shows the domain.
listed() {
	"$KXL" list | awk -v id="$1" 'NR > 1 && $2 == id { found = 1 } END { exit !found }'
}

hv_fds() { ls "/proc/$HVPID/fd" | wc -l; }
hv_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$HVPID/status"; }

xs_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$XSPID/status"; }
