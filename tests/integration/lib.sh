# lib.sh: shared setup for integration tests: private kxen-hv and kxenstored, config files, log polling; SKIP (77) without KVM.
set -u

B=${KXEN_BUILDDIR:?run through make check}
S=${KXEN_SRCDIR:?run through make check}
HV=$B/hypervisor/kxen-hv
XSD=$B/dom0-tools/kxenstored/kxenstored
BACKD=$B/pv-drivers/back/kxen-backd
KXL=$B/dom0-tools/kxl/kxl
GUEST=$B/pv-drivers/guest/kxen-guest
# The build tree's schema, guest kernel and kxl (kxtop runs it) whatever is installed: configs that
# name the installed kernel (the examples) get the build tree's, never /usr/local's.
export KXEN_SCHEMA=$S/xml/domain.rng KXEN_GUEST_DIR=$B/pv-drivers/guest KXEN_KXL=$KXL

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; echo "--- hypervisor log ---"; cat "$T/hv.log" 2>/dev/null | tail -40; exit 1; }
pass() { echo "PASS: $*"; }

if [ ! -e /dev/kvm ]; then skip "/dev/kvm does not exist on this machine"; fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then skip "/dev/kvm is not readable and writable by $(id -un)"; fi

T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-test.XXXXXX")
export KXEN_HV_SOCKET=$T/hv.sock
export XENSTORED_PATH=$T/xs.sock
# kxl's saved configs, monitor logs and core dumps: private, never /var/lib/kxen.
export KXEN_STATE_DIR=$T/state KXEN_DUMP_DIR=$T/dump
# kxen-backd's per-device statistics (kxtop reads them): private too, never /run/kxen.
export KXEN_RUN_DIR=$T/run
HVPID=
XSPID=
BACKDPID=

# PIDs of the kxl monitors this test's creates left behind (they exit when their domain goes).
monitor_pids() { cat "$KXEN_STATE_DIR"/*.pid 2>/dev/null; }

# KXEN_KEEP=PREFIX keeps a copy of each test's directory (logs, sockets) as PREFIX.PID, for debugging.
cleanup() {
	for p in $(monitor_pids); do kill "$p" 2>/dev/null; done
	for pid in $BACKDPID $XSPID $HVPID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -n "${KXEN_KEEP:-}" ] && cp -r "$T" "$KXEN_KEEP.$$" 2>/dev/null; rm -rf "$T"
}
trap cleanup EXIT

# Starts the private kxen-hv; skips if KVM refuses to work here.
hv_start() {
	# A killed kxen-hv leaves its socket: waiting for it to exist would not wait for the new one.
	rm -f "$KXEN_HV_SOCKET"
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

# Starts the private kxenstored against the private kxen-hv (kxl create needs it); its store in $T/xsdata.
xs_start() {
	rm -f "$XENSTORED_PATH"     # a killed kxenstored leaves its socket (as hv_start's)
	"$XSD" -f -s "$XENSTORED_PATH" -H "$KXEN_HV_SOCKET" -l "$T/xs.log" -D "$T/xsdata" "$@" 2>"$T/xs.err" &
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

# The dom0 stack: kxen-hv, kxenstored (kxl create needs it) and kxen-backd (consoles, in $T/console).
dom0_start() {
	hv_start "$@"
	xs_start
	backd_start
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

# wait_until SECONDS CMD...: runs CMD every 0.05 s until it succeeds; fails (returns 1) once SECONDS of
# wall-clock time have passed. Wait for the event itself (a log line, a state, a file, a pid); the
# bound only decides when a broken feature is declared broken, so make it generous: on a loaded
# 2-core machine a guest's boot or a kxl command can take seconds.
wait_until() {
	local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
	shift
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# exists DOMID: whether kxl list shows the domain.
listed() {
	"$KXL" list | awk -v id="$1" 'NR > 1 && $2 == id { found = 1 } END { exit !found }'
}

hv_fds() { ls "/proc/$HVPID/fd" | wc -l; }

# steady CMD...: CMD's output once two runs 0.3 s apart agree (daemons finish deferred work after a destroy); at most 6 s.
steady() {
	local a b
	a=$("$@")
	for _ in $(seq 1 20); do
		sleep 0.3
		b=$("$@")
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$a"
}
hv_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$HVPID/status"; }

xs_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$XSPID/status"; }

# --- console split driver (kxen-backd) ---

# backd_start: a private kxen-backd on this test's kxen-hv and xenstore ($XENSTORED_PATH); console logs in $T/console.
backd_start() {
	"$BACKD" -f -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/backd.log" 2>>"$T/backd.log" &
	BACKDPID=$!
	for _ in $(seq 1 200); do
		grep -q "serving" "$T/backd.log" 2>/dev/null && return 0
		kill -0 "$BACKDPID" 2>/dev/null || { cat "$T/backd.log"; BACKDPID=; fail "kxen-backd did not start"; }
		sleep 0.05
	done
	fail "kxen-backd did not start serving"
}

# backd_stop [SIGNAL]: stops the kxen-backd this test started (TERM by default).
backd_stop() {
	[ -n "$BACKDPID" ] || return 0
	kill "-${1:-TERM}" "$BACKDPID" 2>/dev/null
	wait "$BACKDPID" 2>/dev/null
	BACKDPID=
}

# wait_file FILE REGEX [SECONDS]: waits until FILE matches.
wait_file() {
	local tries=$(( ${3:-10} * 20 ))
	for _ in $(seq 1 "$tries"); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "--- $1"; tail -20 "$1" 2>/dev/null; echo "--- backd.log"; tail -20 "$T/backd.log"
	fail "timed out waiting for /$2/ in $1"
}

# pong_port ID: waits for domain ID's "evtchn-pong: port N" log line and prints N.
pong_port() {
	wait_log "^\(d$1\) evtchn-pong: port [0-9]+"
	sed -n "s/^(d$1) evtchn-pong: port \([0-9]*\).*/\1/p" "$T/hv.log" | head -1
}
