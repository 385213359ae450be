# tmux_lib.sh: kxl commands (kxl console, kxl create -c) driven in detached tmux sessions, for the console tests (sourced after lib.sh).
command -v tmux >/dev/null || skip "tmux missing: install the Debian package tmux"
TM=$T/tmux.sock
TM_SESS=             # the session pane, wait_pane and keys talk to: the last tm_kxl's
TM_WAIT=${TM_WAIT:-60}

tm_kill() { tmux -S "$TM" kill-server 2>/dev/null; }
# A session that outlives every kxl session: a tmux server exits with its last session, and a
# session created while it exits vanishes with it (a rebooted Linux can take longer to come back
# than a kxl session lingers). tm_kill ends it.
tmux -S "$TM" -f /dev/null new-session -d -s keep "sleep 86400" || fail "tmux could not start a server on $TM"

# tm_kxl SESSION LINGER KXL-ARGS...: a new session running kxl with this test's dom0 environment, then
# "KXL-EXIT=<status>", kept LINGER seconds so its pane can still be read; it becomes the current session.
tm_kxl() {
	local s=$1 linger=$2 e= v
	shift 2
	for v in XENSTORED_PATH KXEN_HV_SOCKET KXEN_SCHEMA KXEN_STATE_DIR; do
		[ -n "${!v:-}" ] && e="$e $v=$(printf %q "${!v}")"
	done
	tmux -S "$TM" -f /dev/null new-session -d -s "$s" -x 120 -y 30 \
		"env$e $(printf %q "$KXL")$(printf ' %q' "$@"); echo KXL-EXIT=\$?; sleep $linger"
	TM_SESS=$s
}
pane() { tmux -S "$TM" capture-pane -p -t "$TM_SESS" > "$T/pane"; }
pane_has() { pane && grep -Eq -- "$1" "$T/pane"; }
# wait_pane ERE: fails the test, showing the pane, unless ERE appears within TM_WAIT seconds.
wait_pane() {
	wait_until "$TM_WAIT" pane_has "$1" && return 0
	cat "$T/pane"; fail "timed out waiting for /$1/ on the kxl console terminal"
}
keys() { tmux -S "$TM" send-keys -t "$TM_SESS" "$@"; }
