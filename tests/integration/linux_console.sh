#!/bin/bash
# linux_console.sh: Debian's stock kernel's busybox shell on hvc0 with 2 vCPUs, driven through `kxl console` in tmux: commands and Ctrl-C of a foreground job; kxl reboot through Linux's control/shutdown watch; in the rebuilt domain a sysrq-c panic crashes only that domain; two boots (SKIP without the image cache, /dev/kvm or tmux).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
. "$(dirname "$0")/tmux_lib.sh"
TM_WAIT=120
tm_cleanup() { tm_kill; cleanup; }
trap tm_cleanup EXIT
linux_setup
sed -i -e 's|<vcpu>1<|<vcpu>2<|' "$T/linux.xml"   # what a user runs: both CPUs, through reboot and panic too
dom0_start

"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
wait_until 300 console_has "^kxen-init: up: Linux 6\.1" || { tail -20 "$CON"; fail "Linux did not reach /init"; }

tm_kxl c 60 console linux
# The shell's prompt may have been printed before kxl attached: ask for a fresh one.
keys Enter
wait_pane "^/ #"
keys 'echo kx-$((6*7)) $(uname -r) cpus=$(nproc)' Enter
wait_pane "^kx-42 6\.1\.0-.*-cloud-amd64 cpus=2"
pass "commands typed into kxl console run in Linux's shell on hvc0 (2 CPUs online) and answer there"
# Ctrl-C reaches the foreground job through hvc0's line discipline: the shell has hvc0 as its terminal.
keys 'echo sleeping; sleep 600' Enter
wait_pane "^sleeping"
sleep 1   # not an assert: only so that ^C finds sleep started rather than the shell between commands
keys C-c
keys 'echo after-$((1+1))' Enter
wait_pane "^after-2"
pass "Ctrl-C interrupts a foreground job; the shell goes on"
# kxl reboot: control/shutdown, Linux's watch runs busybox's reboot, which signals init (pid 1), whose
# reboot(RESTART) is SCHEDOP_shutdown(reboot); <on_reboot>restart rebuilds the domain from its saved config.
"$KXL" reboot linux > "$T/reboot.out" 2>&1 || { cat "$T/reboot.out"; fail "kxl reboot of the Linux guest"; }
wait_log "^\(XEN\) domain $id \(linux\) shut down: reboot" 120
wait_pane "KXL-EXIT=0"
ups() { [ "$(grep -c '^kxen-init: up: Linux 6\.1' "$CON")" -ge 2 ]; }
wait_until 300 ups || { tail -20 "$CON"; fail "the rebooted Linux did not reach /init"; }
id2=$(domid_of linux)
[ -n "$id2" ] && [ "$id2" != "$id" ] || fail "no new domain after the reboot (ids $id, $id2)"
pass "kxl reboot restarted Linux through its control/shutdown watch (domain $id -> $id2)"

# A panic (sysrq-c) in the rebuilt domain: SCHEDOP_shutdown(crash), <on_crash>preserve; kxen-hv lives on.
tmux -S "$TM" kill-session -t c
tm_kxl c2 60 console linux
keys Enter
wait_pane "^/ #"
keys 'echo c > /proc/sysrq-trigger' Enter
wait_log "^\(XEN\) domain $id2 \(linux\) shut down: crash" 120
wait_until 30 console_has "Kernel panic - not syncing: sysrq triggered crash" || fail "no panic line from Linux"
listed "$id2" || fail "the crashed domain was not preserved (<on_crash>preserve)"
"$KXL" list > /dev/null || fail "kxen-hv or kxl is gone after the guest's panic"
"$KXL" destroy linux || fail "kxl destroy of the crashed Linux guest"
pass "a sysrq-c panic shuts down only that domain as crashed; it stays for inspection and is destroyed"
