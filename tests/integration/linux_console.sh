#!/bin/bash
# linux_console.sh: Debian's stock kernel's busybox shell on hvc0, driven through `kxl console` in tmux: commands, Ctrl-C of a foreground job, then poweroff typed into it; one boot (development flag; SKIP without the image cache, /dev/kvm or tmux).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
command -v tmux >/dev/null || skip "tmux missing: install the Debian package tmux"
TM=
tm_cleanup() { [ -n "$TM" ] && tmux -S "$TM" kill-server 2>/dev/null; cleanup; }
trap tm_cleanup EXIT
linux_setup
dom0_start

KXL_DEV_DIRECT_PAGING=1 "$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
wait_until 300 console_has "^kxen-init: up: Linux 6\.1" || { tail -20 "$CON"; fail "Linux did not reach /init"; }

TM=$T/tmux.sock
tmux -S "$TM" -f /dev/null new-session -d -s c -x 120 -y 30 \
	"env XENSTORED_PATH='$XENSTORED_PATH' KXEN_HV_SOCKET='$KXEN_HV_SOCKET' '$KXL' console linux; echo KXL-EXIT=\$?; sleep 60"
pane() { tmux -S "$TM" capture-pane -p -t c > "$T/pane"; }
pane_has() { pane && grep -Eq -- "$1" "$T/pane"; }
wait_pane() {
	wait_until 120 pane_has "$1" && return 0
	cat "$T/pane"; fail "timed out waiting for /$1/ on the kxl console terminal"
}
keys() { tmux -S "$TM" send-keys -t c "$@"; }
# The shell's prompt may have been printed before kxl attached: ask for a fresh one.
keys Enter
wait_pane "^/ #"
keys 'echo kx-$((6*7)) $(uname -r)' Enter
wait_pane "^kx-42 6\.1\.0-.*-cloud-amd64"
pass "commands typed into kxl console run in Linux's shell on hvc0 and answer there"
# Ctrl-C reaches the foreground job through hvc0's line discipline: the shell has hvc0 as its terminal.
keys 'echo sleeping; sleep 600' Enter
wait_pane "^sleeping"
sleep 1   # not an assert: only so that ^C finds sleep started rather than the shell between commands
keys C-c
keys 'echo after-$((1+1))' Enter
wait_pane "^after-2"
pass "Ctrl-C interrupts a foreground job; the shell goes on"
# poweroff typed into the shell: busybox signals init (pid 1), whose reboot(POWER_OFF) is SCHEDOP_shutdown(poweroff).
keys 'poweroff' Enter
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
wait_pane "KXL-EXIT=0"
pass "poweroff in the shell powers the domain off and kxl console ends"
