# linux_lib.sh: shared setup for the Linux guest tests (sourced after lib.sh): the image cache, this tree's initramfs, the XML.

# linux_setup [KXEN_RUN [NAME]]: SKIPs without the images; builds this tree's initramfs once (scripts/mkinitramfs.sh,
# so /init's own behaviour is under test, not the cache's) and writes $T/NAME.xml (default linux) for Debian's cloud
# kernel with 1 vCPU, whose /init runs KXEN_RUN (kxen.run=) or else a shell on hvc0. Sets C (the cache) and CON
# (the console log of the guest named linux).
linux_setup() {
	C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
	local abi tree xml
	abi=$(cat "$C/linux-abi" 2>/dev/null)
	tree=$C/linux-image-$abi-cloud-amd64
	[ -f "$C/vmlinuz-cloud" ] && [ -n "$abi" ] && [ -d "$tree" ] && [ -x "$C/busybox" ] ||
		skip "no Linux images in $C (run scripts/fetch-images.sh, or set KXEN_IMAGE_CACHE)"
	[ -f "$T/initramfs.gz" ] ||
		"$S/scripts/mkinitramfs.sh" -k "$tree" -b "$C/busybox" -o "$T/initramfs.gz" > "$T/mkinitramfs.out" 2>&1 ||
		{ cat "$T/mkinitramfs.out"; fail "scripts/mkinitramfs.sh"; }
	xml=
	[ -n "${1:-}" ] && { xml=${1//&/&amp;}; xml=" kxen.run=\"${xml//&/\\&}\""; }
	sed -e "s|/var/cache/kxen/images/initramfs-cloud.gz|$T/initramfs.gz|" -e "s|/var/cache/kxen/images|$C|" \
		-e 's|<vcpu>2<|<vcpu>1<|' -e 's|<on_crash>destroy<|<on_crash>preserve<|' \
		-e "s#earlyprintk=xen</cmdline>#earlyprintk=xen$xml</cmdline>#" -e "s|<name>linux</name>|<name>${2:-linux}</name>|" \
		"$S/xml/examples/linux.xml" > "$T/${2:-linux}.xml"
	CON=$T/console/guest-linux.log
}

console_has() { grep -q -- "$1" "$CON" 2>/dev/null; }

# The balloon seen from the host (linux_balloon.sh, linux_pool.sh).
# memfd_blocks NAME: 512-byte blocks the host really holds for the domain's RAM: st_blocks of its memfd in kxen-hv
# (shmem pages allocated to the file; holes kxen-hv punched for ballooned-out frames hold none). The memfd is named
# after the domain; the largest one, not a split page.
memfd_blocks() {
	local f best=0 bytes blocks out=
	for f in /proc/"$HVPID"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "/memfd:$1 (deleted)" ] || continue
		read -r bytes blocks < <(stat -L -c '%s %b' "$f")
		[ "$bytes" -gt "$best" ] && { best=$bytes; out=$blocks; }
	done
	echo "$out"
}
# list_mib NAME: the domain's memory as kxl list shows it (MiB).
list_mib() { "$KXL" list | awk -v n="$1" '$1 == n { print $3 }'; }
# memtotal: the last 'memtotal KB' line on $CON (the guest's /proc/meminfo MemTotal).
memtotal() { sed -n 's/^memtotal //p' "$CON" | tr -d '\r' | tail -1; }
# wait_mib NAME MIB: kxl list reaches MIB within 120 s.
wait_mib() { wait_until 120 sh -c "[ \"\$(\"$KXL\" list | awk '\$1 == \"$1\" { print \$3 }')\" = $2 ]"; }
