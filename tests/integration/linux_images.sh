#!/bin/bash
# linux_images.sh: the Linux image scripts: a warm cache fetches nothing, the initramfs is reproducible and holds what /init needs. No /dev/kvm needed; SKIP (77) without the image cache.
set -u
S=${KXEN_SRCDIR:?run through make check}
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
abi=$(cat "$C/linux-abi" 2>/dev/null)
tree=$C/linux-image-$abi-cloud-amd64
BB=$C/busybox
if [ -z "$abi" ] || [ ! -d "$tree" ] || [ ! -x "$BB" ]; then
	echo "SKIP: no Linux images in $C (run scripts/fetch-images.sh, or set KXEN_IMAGE_CACHE)"
	exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/kxen-images.XXXXXX")
trap 'rm -rf "$T"' EXIT

# A warm cache: every package present, nothing downloaded.
if [ -w "$C" ] && command -v apt-get >/dev/null; then
	out=$("$S/scripts/fetch-images.sh" 2>&1) || { echo "$out"; fail "fetch-images.sh on a warm cache"; }
	[ "$(echo "$out" | grep -c ': present in ')" = 3 ] || { echo "$out"; fail "not all three packages found present"; }
	echo "$out" | grep -q downloading && { echo "$out"; fail "a warm cache downloaded again"; }
	pass "warm cache: three packages present, nothing downloaded"
fi

# Reproducible: two builds, same bytes.
"$S/scripts/mkinitramfs.sh" -k "$tree" -b "$BB" -o "$T/a.gz" > "$T/log" || fail "mkinitramfs: $(cat "$T/log")"
"$S/scripts/mkinitramfs.sh" -k "$tree" -b "$BB" -o "$T/b.gz" >> "$T/log" || fail "mkinitramfs again"
cmp -s "$T/a.gz" "$T/b.gz" || fail "two builds of the initramfs differ"
pass "initramfs reproducible ($(wc -c < "$T/a.gz") bytes)"

# What /init needs: the console node, a shell, its module list and every module on it, deps first.
zcat "$T/a.gz" | "$BB" cpio -tv 2>/dev/null > "$T/list" || fail "the archive does not list"
grep -Eq '^crw------- .* dev/console$' "$T/list" || fail "no /dev/console character device: $(grep console "$T/list")"
# busybox does not list device numbers: read the entry's newc header (mode, rdevmajor, rdevminor).
zcat "$T/a.gz" > "$T/raw"
off=$(grep -boa 'dev/console' "$T/raw" | tail -n 1 | cut -d: -f1)
hdr=$(dd if="$T/raw" bs=1 skip=$((off - 110)) count=110 2>/dev/null)
[ "${hdr:0:6} ${hdr:14:8} ${hdr:78:8} ${hdr:86:8}" = "070701 00002180 00000005 00000001" ] ||
	fail "dev/console's header is not char 5:1 mode 0600: $hdr"
grep -Eq '^-rwxr-xr-x .* init$' "$T/list" || fail "no executable /init"
grep -Eq ' bin/sh -> busybox$' "$T/list" || fail "no bin/sh"
mkdir "$T/x" && (cd "$T/x" && zcat "$T/a.gz" | "$BB" cpio -id 'init' 'etc/*' 'lib/*' 2>/dev/null)
sh -n "$T/x/init" || fail "/init has a syntax error"
[ -s "$T/x/etc/kxen-modules" ] || fail "no module list (the cloud kernel has xen-blkfront as a module)"
grep -q 'xen-blkfront.ko$' "$T/x/etc/kxen-modules" || fail "xen-blkfront missing from the list"
grep -q 'xen-netfront.ko$' "$T/x/etc/kxen-modules" || fail "xen-netfront missing from the list"
while read -r m; do
	[ -f "$T/x/lib/modules/$m" ] || fail "listed module $m is not in the archive"
	rel=${m#*/}
	for d in $(sed -n "s|^$rel:||p" "$tree/lib/modules/$abi-cloud-amd64/modules.dep"); do
		grep -qx "$abi-cloud-amd64/$d" "$T/x/etc/kxen-modules" || fail "$m needs $d, which is not listed"
		[ "$(grep -nx "$abi-cloud-amd64/$d" "$T/x/etc/kxen-modules" | cut -d: -f1)" -lt \
		  "$(grep -nx "$m" "$T/x/etc/kxen-modules" | cut -d: -f1)" ] || fail "$d is loaded after $m"
	done
done < "$T/x/etc/kxen-modules"
pass "initramfs holds /dev/console, /init, busybox and $(wc -l < "$T/x/etc/kxen-modules") Xen frontend modules"

# Bad input is refused by name.
out=$("$S/scripts/mkinitramfs.sh" -k "$T" -b "$BB" -o "$T/c.gz" 2>&1) && fail "a tree without a kernel config was accepted"
echo "$out" | grep -q "no kernel config" || fail "wrong message: $out"
pass "a directory that is no kernel package is refused"

# -x adds a static program as /bin/NAME (bench/linux_boot.sh's ubench); a dynamic one is refused by name.
cp "$BB" "$T/kxprog"
"$S/scripts/mkinitramfs.sh" -k "$tree" -b "$BB" -x "$T/kxprog" -o "$T/x.gz" > "$T/log" 2>&1 || fail "mkinitramfs -x: $(cat "$T/log")"
zcat "$T/x.gz" | "$BB" cpio -tv 2>/dev/null | grep -Eq '^-rwxr-xr-x .* bin/kxprog$' || fail "-x did not add bin/kxprog"
dyn=$(command -v sh)
out=$("$S/scripts/mkinitramfs.sh" -k "$tree" -b "$BB" -x "$(readlink -f "$dyn")" -o "$T/y.gz" 2>&1) &&
	fail "a dynamically linked -x program was accepted"
echo "$out" | grep -q "is dynamically linked" || fail "wrong message for a dynamic -x program: $out"
[ -e "$T/y.gz" ] && fail "a refused -x left an archive behind"
pass "-x adds a static program to /bin and refuses a dynamic one"
