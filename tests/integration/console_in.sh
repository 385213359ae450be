#!/bin/bash
# Keys typed into `kxl console` (driven in tmux) reach the guest's echo app through the in ring, and its answer comes back; Ctrl-] detaches.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tmux_lib.sh"
tm_cleanup() { tm_kill; backd_stop; cleanup; }
trap tm_cleanup EXIT

dom0_start
command -v xenstore-read >/dev/null || skip "xenstore-utils (xenstore-read) is not installed"

mkcfg cin "echo"
id=$(create cin)
wait_file "$T/console/guest-cin.log" "echo: ready" 30

tm_kxl c 30 console cin
# The pty buffered the banner while nobody was attached.
wait_pane "echo: ready"
keys "hello kxen" Enter
wait_pane "echo: HELLO KXEN \(10 chars\)"
wait_file "$T/console/guest-cin.log" "echo: HELLO KXEN \(10 chars\)" 10
pass "typed line echoed back upper-cased, on the terminal and in the log"

# Backspace is handled by the guest's line editor.
keys "abcx" BSpace "d" Enter
wait_pane "echo: ABCD \(4 chars\)"
pass "backspace"

# Ctrl-] detaches: kxl exits 0, the guest keeps running.
keys C-]
wait_pane "KXL-EXIT=0"
listed "$id" || fail "the guest died when the console detached"
pass "Ctrl-] detaches, guest still running"

# Attach again (a second session on the same tmux server) and quit the guest: kxl console sees the console close.
tm_kxl c2 30 -v console "$id"
wait_pane "connected to cin's console"
keys "quit" Enter
wait_pane "echo: bye"
wait_pane "KXL-EXIT=0"
pass "quit through a second attach; kxl console ends when the domain goes"

# kxl create -c: the new domain's console straight away, input included.
mkcfg cc "echo"
tm_kxl c3 30 create -c "$T/cc.xml"
wait_pane "echo: ready"
keys "from create" Enter
wait_pane "echo: FROM CREATE \(11 chars\)"
keys C-]
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
