#!/bin/bash
# linux_boot.sh: Debian 12's stock cloud kernel boots as a Xen PV guest with 2 vCPUs on kxen's in-guest layer to its busybox /init, runs user space (fork/exec, a segfaulting child, a busy loop preempted by pushed event upcalls) and powers off at kxl shutdown, while a second Linux guest and one of ours run beside it; one boot each (SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/linux_lib.sh"
# What /init runs (scripts/mkinitramfs.sh's kxen.run=): a fork+exec loop, a child that overflows its stack
# (a real page fault Linux turns into SIGSEGV), a busy loop with no system call that only a timer event
# kxen-hv pushes into user mode can preempt; then it waits for kxl shutdown.
run=$(tr '\n' ' ' <<'RUN'
uname -a; grep MemTotal /proc/meminfo; echo cpus=$(grep -c ^processor /proc/cpuinfo);
i=0; while [ $i -lt 40 ]; do sh -c 'exit 7'; [ $? = 7 ] || echo forkexec-bad; i=$((i+1)); done; echo forkexec-done $i;
sh -c 'ulimit -s 256; f() { f; }; f'; echo segv-status $?;
sh -c 'while :; do :; done' & sleep 1; kill $!; echo busy-preempted; exec sleep 600
RUN
)
linux_setup "$run"
sed -i -e 's|<vcpu>1<|<vcpu>2<|' "$T/linux.xml"   # the first guest as a user runs it: 2 vCPUs
linux_setup 'echo second-guest $(uname -r); poweroff' linux2
dom0_start

# More vCPUs than Linux is tested with (2: linux_smp.sh) are refused by name before any domain exists.
sed -e 's|<vcpu>2<|<vcpu>3<|' -e 's|<name>linux<|<name>linux-smp<|' "$T/linux.xml" > "$T/linux-smp.xml"
out=$("$KXL" create "$T/linux-smp.xml" 2>&1) && fail "kxl create ran a 3-vCPU Linux guest"
echo "$out" | grep -q "with 3 vCPUs: Linux PV guests are tested on kxen with up to 2 vCPUs" || fail "unexpected refusal: $out"
"$KXL" list | awk '$1 == "linux-smp" { exit 1 }' || fail "domain linux-smp is left after its refusal"
pass "kxl create refuses a 3-vCPU Linux guest by name, nothing left behind"

"$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
# Beside it: a second Linux guest (its own layer region and slots) and one of kxen's own guests.
"$KXL" create "$T/linux2.xml" > "$T/create2.out" 2>&1 || { cat "$T/create2.out"; fail "kxl create of a second Linux guest"; }
id2=$(domid_of linux2)
mkcfg hello hello
idh=$(create hello)
# xen_start_kernel's first line: after the feature check, the M2P query, the GDT load and the forced cpuid.
wait_log "^\(d$id\) mapping kernel into physical memory" 60
"$KXL" dmesg | grep -q "(d$id) mapping kernel into physical memory" || fail "kxl dmesg lacks Linux's first line"
pass "the Debian kernel's first early line reached kxl dmesg"
# Past the initial page tables (mmu_update, mmuext_op pins and NEW_BASEPTR in the guest) to start_kernel.
wait_log "^\(d$id\) \[ *[0-9.]+\] Linux version 6\.1\..*Debian" 60
wait_log "^\(d$id\) \[ *[0-9.]+\] Command line: console=hvc0 earlyprintk=xen kxen.run=" 30
# The memory map Linux built from kxen's in-guest XENMEM_memory_map: 256 MiB less the shared_info frame.
wait_log "^\(d$id\) \[ *[0-9.]+\] Xen: \[mem 0x0000000000100000-0x000000000fffefff\] usable" 30
wait_log "^\(d$id\) \[ *[0-9.]+\] Hypervisor detected: Xen PV" 60
# The layer's MSR policy (Xen's for a PV domU): Xen's PAT, loaded into the vCPU and read back by Linux.
# Linux prints it after "Hypervisor detected": wait for it rather than race it.
wait_log "^\(d$id\) \[ *[0-9.]+\] x86/PAT: Configuration \[0-7\]: WB  WT  UC- UC  WC  WP  UC  UC" 60
pass "the Debian kernel printed its banner, command line, memory map, Xen's PAT and 'Xen PV'"
# Past trap_init (set_gdt, update_descriptor), the 2-level event channels and register_vcpu_info to hvc0:
# the console ring, served by kxen-backd, carries Linux's output from here on.
wait_log "^\(d$id\) \[ *[0-9.]+\] xen:events: Using 2-level ABI" 60
wait_until 60 console_has "bootconsole \[xenboot0\] disabled" ||
	fail "Linux's hvc0 output did not reach kxen-backd's console log"
pass "Linux switched to hvc0 and its output arrived through the console ring"
# The balloon driver's xenstore watch (a request Linux writes in two parts: kxenstored once missed the
# second), the initcalls, the initramfs, Xen's writable page tables for its first execs, then /init.
wait_until 300 console_has "Run /init as init process" || fail "Linux did not reach /init"
for line in "xen:balloon: Initialising balloon driver" "Freeing initrd memory" \
	"x86/mm: Checked W+X mappings: passed"; do
	console_has "$line" || fail "Linux's hvc0 output lacks '$line'"
done
console_has "Disabled fast string operations" &&
	fail "Linux saw fast strings disabled (MISC_ENABLE) while cpuid offers ERMS/FSRM"
pass "Linux ran its initcalls (balloon's xenstore watch included) and started /init"

wait_log "^\(XEN\) domain $idh \(hello\) shut down: poweroff" 120
pass "kxen's own guest booted and powered off beside the Linux guests"
wait_until 300 grep -q "^second-guest 6\.1\." "$T/console/guest-linux2.log" || fail "the second Linux guest did not run its /init"
wait_log "^\(XEN\) domain $id2 \(linux2\) shut down: poweroff" 120
pass "a second Linux guest booted to user space and powered off beside the first"

# User space, in the busybox initramfs: the XML's memory and vCPU count, processes, signals, preemption.
wait_until 240 console_has "^busy-preempted" || { tail -20 "$CON"; fail "/init's commands did not all run"; }
console_has "^Linux (none) 6\.1\..* x86_64" || fail "no uname -a output"
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$CON")
[ -n "$mem" ] && [ "$mem" -gt 200000 ] && [ "$mem" -le 262144 ] || fail "MemTotal '$mem' kB does not match the XML's 256 MiB"
console_has "^cpus=2" || fail "/proc/cpuinfo does not show the XML's 2 vCPUs"
pass "uname, /proc/meminfo ($mem kB) and /proc/cpuinfo in the guest match the XML"
console_has "^forkexec-done 40" && ! console_has "^forkexec-bad" || fail "the fork+exec loop did not complete"
pass "40 fork+exec+exit+wait cycles in the guest (init's fork: byte-wide lock-less and/or into page tables)"
console_has "sh\[[0-9]*\]: segfault at" && console_has "^segv-status 139" ||
	fail "the stack-overflowing child was not killed by SIGSEGV"
pass "a child that faults past its stack is killed by SIGSEGV and the guest lives on"
pass "a user-space busy loop with no system call was preempted (timer events pushed by kxen-hv)"
# kxl shutdown: control/shutdown, Linux's watch (it advertised feature-poweroff), its orderly_poweroff runs
# busybox's poweroff, which signals busybox init (pid 1), whose reboot(POWER_OFF) is SCHEDOP_shutdown(poweroff);
# then <on_poweroff>destroy.
"$KXL" shutdown linux > "$T/shutdown.out" 2>&1 || { cat "$T/shutdown.out"; fail "kxl shutdown of the Linux guest"; }
wait_log "^\(XEN\) domain $id \(linux\) shut down: poweroff" 120
wait_log "^\(XEN\) domain $id \(linux\) destroyed" 30
wait_until 30 console_has "The system is going down NOW" || fail "the power-off did not come through Linux and init"
pass "kxl shutdown powered Linux off through its control/shutdown watch (SCHEDOP_shutdown poweroff)"
# The layer's report: counters, the ptwr stores, and the upcalls kxen-hv pushed (the busy loop needed them).
wait_log "^\(XEN\) d$id Linux PV layer: [0-9]+ hypercalls in the guest, [0-9]+ forwarded" 10
grep -Eq "^\(XEN\) d$id Linux PV layer: .* [1-9][0-9]* page-table stores" "$T/hv.log" ||
	fail "the layer reports no emulated page-table stores"
grep -Eq "^\(XEN\) d$id Linux PV layer: event upcalls: [0-9]+ by the layer's return paths, [1-9][0-9]* pushed by kxen-hv" \
	"$T/hv.log" || fail "kxen-hv pushed no event upcall"
# Every MSR outside the policy is a #GP Linux's accessors absorb: none may surface as an unchecked access.
console_has "unchecked MSR access" && fail "Linux met an MSR #GP it did not expect"
grep -Eq "^\(XEN\) d$id Linux PV layer: MSRs accessed: .*r0x277" "$T/hv.log" || fail "no MSR report (or no PAT read)"
pass "the layer reports its page-table stores, the upcalls kxen-hv pushed and the MSRs Linux touched"
