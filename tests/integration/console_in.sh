#!/bin/bash
# Keys typed into `kxl console` (driven in tmux) reach the guest's echo app through the in ring, and its answer comes back; Ctrl-] detaches.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || skip "tmux missing: install the Debian package tmux"
TM=
tm_cleanup() { [ -n "$TM" ] && tmux -S "$TM" kill-server 2>/dev/null; backd_stop; cleanup; }
trap tm_cleanup EXIT

dom0_start
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"

mkcfg cin "echo"
id=$(create cin)
wait_file "$T/console/guest-cin.log" "echo: ready" 30

TM=$T/tmux.sock
tmux -S "$TM" -f /dev/null new-session -d -s c -x 100 -y 20 \
	"env XENSTORED_PATH='$XENSTORED_PATH' KXEN_HV_SOCKET='$KXEN_HV_SOCKET' '$KXL' console cin; echo KXL-EXIT=\$?; sleep 30"
S=c
pane() { tmux -S "$TM" capture-pane -p -t "$S" > "$T/pane"; }
pane_has() { pane && grep -Eq -- "$1" "$T/pane"; }
wait_pane() {
	wait_until 60 pane_has "$1" && return 0
	cat "$T/pane"; fail "timed out waiting for /$1/ on the kxl console terminal"
}
# The pty buffered the banner while nobody was attached.
wait_pane "echo: ready"
tmux -S "$TM" send-keys -t c "hello kxen" Enter
wait_pane "echo: HELLO KXEN \(10 chars\)"
wait_file "$T/console/guest-cin.log" "echo: HELLO KXEN \(10 chars\)" 10
pass "typed line echoed back upper-cased, on the terminal and in the log"

# Backspace is handled by the guest's line editor.
tmux -S "$TM" send-keys -t c "abcx" BSpace "d" Enter
wait_pane "echo: ABCD \(4 chars\)"
pass "backspace"

# Ctrl-] detaches: kxl exits 0, the guest keeps running.
tmux -S "$TM" send-keys -t c C-]
wait_pane "KXL-EXIT=0"
listed "$id" || fail "the guest died when the console detached"
pass "Ctrl-] detaches, guest still running"

# Attach again (a second session on the same tmux server) and quit the guest: kxl console sees the console close.
S=c2
tmux -S "$TM" new-session -d -s c2 -x 100 -y 20 \
	"env XENSTORED_PATH='$XENSTORED_PATH' KXEN_HV_SOCKET='$KXEN_HV_SOCKET' '$KXL' -v console $id; echo KXL-EXIT=\$?; sleep 30"
wait_pane "connected to cin's console"
tmux -S "$TM" send-keys -t c2 "quit" Enter
wait_pane "echo: bye"
wait_pane "KXL-EXIT=0"
pass "quit through a second attach; kxl console ends when the domain goes"

# kxl create -c: the new domain's console straight away, input included.
S=c3
mkcfg cc "echo"
tmux -S "$TM" new-session -d -s c3 -x 100 -y 20 \
	"env XENSTORED_PATH='$XENSTORED_PATH' KXEN_HV_SOCKET='$KXEN_HV_SOCKET' KXEN_SCHEMA='$KXEN_SCHEMA' KXEN_STATE_DIR='$KXEN_STATE_DIR' '$KXL' create -c '$T/cc.xml'; echo KXL-EXIT=\$?; sleep 30"
wait_pane "echo: ready"
tmux -S "$TM" send-keys -t c3 "from create" Enter
wait_pane "echo: FROM CREATE \(11 chars\)"
tmux -S "$TM" send-keys -t c3 C-]
wait_pane "KXL-EXIT=0"
"$KXL" destroy cc || fail "destroy cc"
pass "kxl create -c attaches to the new console"

# Clear errors.
"$KXL" console nosuchdomain > "$T/err" 2>&1 && fail "kxl console on a missing domain succeeded"
grep -q "no domain named or numbered 'nosuchdomain'" "$T/err" || { cat "$T/err"; fail "unclear error for a missing domain"; }
backd_stop
mkcfg cnone "idle"
idn=$(create cnone)
"$KXL" console cnone > "$T/err" 2>&1 && fail "kxl console without a backend succeeded"
grep -q "has no console backend" "$T/err" || { cat "$T/err"; fail "unclear error without a console backend"; }
"$KXL" destroy "$idn"
pass "clear errors for a missing domain and for no console backend"
