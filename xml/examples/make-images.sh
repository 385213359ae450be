#!/bin/sh
# Makes the disk images devices.xml and linux-disk.xml name, in images/ next to this script (or in DIR/images).
set -e
dir=${1:-$(dirname "$0")}/images
mkdir -p "$dir"
# A sparse 64 MiB raw root disk, and a 16 MiB qcow2 data disk as qemu-img makes it.
[ -e "$dir/root.img" ] || truncate -s 64M "$dir/root.img"
if [ ! -e "$dir/data.qcow2" ]; then
	if ! command -v qemu-img >/dev/null; then
		echo "make-images.sh: qemu-img is missing (Debian package qemu-utils)" >&2
		exit 1
	fi
	qemu-img create -q -f qcow2 "$dir/data.qcow2" 16M
fi
echo "images in $dir: root.img (raw, 64 MiB), data.qcow2 (qcow2, 16 MiB)"
# linux-disk.xml's: Debian's cloud kernel from scripts/fetch-images.sh's cache boots this tree's initramfs, which
# switch_roots to images/linux-root.qcow2, an ext4 of the same busybox tree (mkinitramfs.sh -d, mkfs.ext4 -d).
cache=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
abi=$(cat "$cache/linux-abi" 2>/dev/null || true)
# The source tree's script (KXEN_SRCDIR when this directory is a copy, as in the golden tests).
mk=${KXEN_SRCDIR:-$(dirname "$0")/../..}/scripts/mkinitramfs.sh
if [ -n "$abi" ] && [ ! -f "$mk" ]; then
	echo "make-images.sh: $mk not found (set KXEN_SRCDIR to kxen's source tree): no Linux root disk" >&2
elif [ -n "$abi" ] && [ -x "$cache/busybox" ] && [ -d "$cache/linux-image-$abi-cloud-amd64" ] && [ ! -e "$dir/linux-root.qcow2" ]; then
	for t in mkfs.ext4 qemu-img; do
		command -v $t >/dev/null || { echo "make-images.sh: $t is missing (Debian packages e2fsprogs, qemu-utils)" >&2; exit 1; }
	done
	tree=$(mktemp -d)
	sh "$mk" -k "$cache/linux-image-$abi-cloud-amd64" -b "$cache/busybox" -o "$dir/linux-initramfs.gz" >/dev/null
	sh "$mk" -k "$cache/linux-image-$abi-cloud-amd64" -b "$cache/busybox" -d "$tree/root" >/dev/null
	mkfs.ext4 -q -F -d "$tree/root" "$tree/root.img" 64M >/dev/null
	qemu-img convert -O qcow2 "$tree/root.img" "$dir/linux-root.qcow2"
	rm -rf "$tree"
	echo "images in $dir: linux-initramfs.gz, linux-root.qcow2 (qcow2, 64 MiB: ext4 with busybox)"
fi
