# linux_guest.sh: what bench/linux_boot.sh and linux_disk.sh share, sourced once S, B and C are set: the image cache's kernel, and a test initramfs carrying one of bench/guest's programs.

# linux_images NAME PROGRAM: sets abi and TREE from the image cache $C; exits 77 (SKIP) without the
# images, saying how to get them, and 1 when PROGRAM (bench/guest/X) is not built.
linux_images() {
	abi=$(cat "$C/linux-abi" 2>/dev/null)
	TREE=$C/linux-image-$abi-cloud-amd64
	if [ -z "$abi" ] || [ ! -f "$C/vmlinuz-cloud" ] || [ ! -d "$TREE" ] || [ ! -x "$C/busybox" ]; then
		echo "$1: SKIP: no Linux images in $C (run scripts/fetch-images.sh, or set KXEN_IMAGE_CACHE)"
		exit 77
	fi
	[ -x "$2" ] || { echo "$1: $2 is not built (make -C $B/bench guest/${2##*/})" >&2; exit 1; }
}

# linux_initramfs NAME PROGRAM OUT: the test initramfs with PROGRAM as /bin/<its name>
# (scripts/mkinitramfs.sh -x), its log in $R/mkinitramfs.log; exits 1 if it cannot be built.
linux_initramfs() {
	"$S/scripts/mkinitramfs.sh" -k "$TREE" -b "$C/busybox" -x "$2" -o "$3" > "$R/mkinitramfs.log" 2>&1 ||
		{ cat "$R/mkinitramfs.log"; echo "$1: mkinitramfs failed" >&2; exit 1; }
}
