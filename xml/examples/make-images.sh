#!/bin/sh
# Makes the disk images devices.xml names, in images/ next to this script (or in DIR/images).
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
