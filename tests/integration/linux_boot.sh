#!/bin/bash
# linux_boot.sh: Debian 12's stock cloud kernel boots as a Xen PV guest on kxen's in-guest layer: banner and memory map through earlyprintk=xen, then its hvc0 console ring past the LSM setup (development flag; SKIP without the image cache or /dev/kvm).
. "$(dirname "$0")/lib.sh"
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
[ -f "$C/vmlinuz-cloud" ] && [ -f "$C/initramfs-cloud.gz" ] ||
	skip "no Linux images in $C (run scripts/fetch-images.sh, or set KXEN_IMAGE_CACHE)"
dom0_start
sed -e "s|/var/cache/kxen/images|$C|" -e 's|<vcpu>2<|<vcpu>1<|' -e 's|<on_crash>destroy<|<on_crash>preserve<|' \
	"$S/xml/examples/linux.xml" > "$T/linux.xml"

# Without the development flag the builder still refuses Linux, by name.
out=$("$KXL" create "$T/linux.xml" 2>&1) && fail "kxl create ran a Linux kernel without the development flag"
echo "$out" | grep -q "does not run direct-paging PV kernels yet" || fail "unexpected refusal: $out"
pass "kxl create still refuses Linux without KXL_DEV_DIRECT_PAGING"

KXL_DEV_DIRECT_PAGING=1 "$KXL" create "$T/linux.xml" > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "kxl create with the development flag"; }
id=$(domid_of linux)
[ -n "$id" ] || fail "no domain id in the log"
# xen_start_kernel's first line: after the feature check, the M2P query, the GDT load and the forced cpuid.
wait_log "^\(d$id\) mapping kernel into physical memory" 60
"$KXL" dmesg | grep -q "(d$id) mapping kernel into physical memory" || fail "kxl dmesg lacks Linux's first line"
pass "the Debian kernel's first early line reached kxl dmesg"
# Past the initial page tables (mmu_update, mmuext_op pins and NEW_BASEPTR in the guest) to start_kernel.
wait_log "^\(d$id\) about to get started" 60
wait_log "^\(d$id\) \[ *[0-9.]+\] Linux version 6\.1\..*Debian" 60
wait_log "^\(d$id\) \[ *[0-9.]+\] Command line: console=hvc0 earlyprintk=xen" 30
# The memory map Linux built from kxen's in-guest XENMEM_memory_map: 256 MiB less the shared_info frame.
wait_log "^\(d$id\) \[ *[0-9.]+\] Xen: \[mem 0x0000000000100000-0x000000000fffefff\] usable" 30
wait_log "^\(d$id\) \[ *[0-9.]+\] Hypervisor detected: Xen PV" 60
pass "the Debian kernel printed its banner, command line, memory map and 'Xen PV'"
# Past trap_init (set_gdt, update_descriptor), the 2-level event channels and register_vcpu_info to hvc0:
# the console ring, served by kxen-backd, carries Linux's output from here on.
wait_log "^\(d$id\) \[ *[0-9.]+\] xen:events: Using 2-level ABI" 60
wait_log "^\(d$id\) \[ *[0-9.]+\] printk: console \[hvc0\] enabled" 60
for _ in $(seq 1 200); do grep -q "bootconsole \[xenboot0\] disabled" "$T/console/guest-linux.log" 2>/dev/null && break; sleep 0.1; done
grep -q "bootconsole \[xenboot0\] disabled" "$T/console/guest-linux.log" 2>/dev/null ||
	fail "Linux's hvc0 output did not reach kxen-backd's console log"
pass "Linux switched to hvc0 and its output arrived through the console ring"
# Past the alternatives patching (~17,500 mmuext_op, ~24,000 mmu_update in the guest) and the LSM setup, where
# a MISC_ENABLE read as 0 once broke memmove (docs/linux-pv.md section 6): the furthest line Linux reaches in
# every run (the initcalls after it sometimes stall at the balloon driver; the initramfs is unpacked otherwise).
for _ in $(seq 1 600); do grep -q "landlock: Up and running" "$T/console/guest-linux.log" 2>/dev/null && break; sleep 0.1; done
for line in "Freeing SMP alternatives memory" "LSM: Security Framework initializing" "landlock: Up and running"; do
	grep -q "$line" "$T/console/guest-linux.log" 2>/dev/null || fail "Linux's hvc0 output lacks '$line'"
done
grep -q "Disabled fast string operations" "$T/console/guest-linux.log" &&
	fail "Linux saw fast strings disabled (MISC_ENABLE) while cpuid offers ERMS/FSRM"
pass "Linux got past the alternatives and the LSM setup with fast strings on"
"$KXL" destroy linux || fail "kxl destroy of the Linux guest"
wait_log "^\(XEN\) domain $id \(linux\) destroyed"
# The layer's report: counters, then the first exception other than Linux's text-patching #BP it bounced.
wait_log "^\(XEN\) d$id Linux PV layer: [0-9]+ hypercalls in the guest, [0-9]+ forwarded" 10
wait_log "^\(XEN\) d$id Linux PV layer: first exception bounced to Linux \(not #BP\): vector" 10
wait_log "^\(XEN\) d$id Linux PV layer: resume [0-9]+: vector (6|13|14) rip 0xffffffff8" 10
pass "the Linux guest was destroyed"
