#!/bin/bash
# linux_boot.sh: Debian 12's stock cloud kernel starts as a Xen PV guest on kxen's in-guest layer and prints its first early line through console_io (development flag; SKIP without the image cache or /dev/kvm).
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
"$KXL" destroy linux || fail "kxl destroy of the Linux guest"
wait_log "^\(XEN\) domain $id \(linux\) destroyed"
pass "the Linux guest was destroyed"
