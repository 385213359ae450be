#!/bin/sh
# Fetches Debian 12's kernel images and busybox-static (downloaded and unpacked, never installed) into kxen's image cache.
#
# Cache: $KXEN_IMAGE_CACHE, default /var/cache/kxen/images (outside the source tree,
# so nothing binary is ever committed). Each package is fetched once: a package whose
# unpacked tree is present is skipped, so CI pays the ~100 MB download only on a cold cache.
# Leaves stable names for tests and examples:
#   vmlinuz-cloud    the cloud kernel (LZ4 bzImage)     vmlinuz-generic  the amd64 kernel (XZ bzImage)
#   busybox          busybox-static                      linux-abi        the ABI actually fetched
#   initramfs-cloud.gz, initramfs-generic.gz             built by scripts/mkinitramfs.sh
#   iperf3-root      Debian's iperf3 with the shared libraries and ld.so it needs, as a
#                    tree for `mkinitramfs.sh -a` (bench/linux_net.sh; its tests skip without it)
# Needs apt-get and dpkg-deb (and a prior `apt-get update`); root is not needed if the cache is writable.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
ABI=$(sed -n '/^[^#]/{p;q;}' "$here/linux-version")

die() { echo "fetch-images: $*" >&2; exit 1; }
have_pkg() { apt-cache show "$1" >/dev/null 2>&1; }

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
	die "apt-get and dpkg-deb are needed (Debian 12)"
mkdir -p "$CACHE" || die "cannot create the image cache $CACHE (set KXEN_IMAGE_CACHE)"

# Debian drops superseded kernel ABIs from its archive: say so loudly, and take the current one.
if [ ! -d "$CACHE/linux-image-$ABI-cloud-amd64" ] && ! have_pkg "linux-image-$ABI-cloud-amd64"; then
	new=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -n 1)
	[ -n "$new" ] || die "linux-image-$ABI-cloud-amd64 (scripts/linux-version) is not in the apt sources, and neither is linux-image-cloud-amd64: run apt-get update on Debian 12"
	echo "fetch-images: WARNING: kernel ABI $ABI of scripts/linux-version is no longer in the archive;" >&2
	echo "fetch-images: WARNING: using $new, the one linux-image-cloud-amd64 depends on now. Update scripts/linux-version." >&2
	ABI=$new
fi

# fetch PACKAGE: apt-get download + dpkg-deb -x into $CACHE/PACKAGE, atomically (a half-done fetch is never "present").
fetch() {
	pkg=$1
	if [ -d "$CACHE/$pkg" ]; then
		echo "fetch-images: $pkg: present in $CACHE"
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
	echo "fetch-images: $pkg: downloading"
	# apt's _apt sandbox cannot write to a root-only directory; that warning is harmless.
	(cd "$tmp" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed' >&2) || true
	deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { rm -rf "$tmp"; die "$pkg: apt-get download fetched nothing"; }
	dpkg-deb -x "$deb" "$tmp/root" || { rm -rf "$tmp"; die "$pkg: cannot unpack $deb"; }
	rm -f "$deb"
	mv "$tmp/root" "$CACHE/$pkg"
	rmdir "$tmp"
}

fetch "linux-image-$ABI-cloud-amd64"
fetch "linux-image-$ABI-amd64"
fetch busybox-static

ln -sfn "linux-image-$ABI-cloud-amd64/boot/vmlinuz-$ABI-cloud-amd64" "$CACHE/vmlinuz-cloud"
ln -sfn "linux-image-$ABI-amd64/boot/vmlinuz-$ABI-amd64" "$CACHE/vmlinuz-generic"
ln -sfn busybox-static/bin/busybox "$CACHE/busybox"
echo "$ABI" > "$CACHE/linux-abi"
for f in cloud generic; do
	[ -f "$CACHE/vmlinuz-$f" ] || die "$CACHE/vmlinuz-$f: the package holds no kernel where expected"
done

# iperf3-root: the files (not the packages' docs and locales) that iperf3 needs to run in the
# initramfs, which has no libc: found with ld.so --list run from the unpacked packages themselves.
iperf_root() {
	root=$CACHE/iperf3-root
	[ -x "$root/usr/bin/iperf3" ] && { echo "fetch-images: $root: present"; return 0; }
	for p in iperf3 libiperf0 libsctp1 libssl3 libc6; do fetch "$p" || return 1; done
	tmp=$(mktemp -d "$CACHE/.iperf3.XXXXXX")
	libs=
	for p in libiperf0 libsctp1 libssl3 libc6; do libs="$libs:$CACHE/$p/usr/lib/x86_64-linux-gnu:$CACHE/$p/lib/x86_64-linux-gnu"; done
	ldso=$CACHE/libc6/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
	mkdir -p "$tmp/usr/bin" "$tmp/lib/x86_64-linux-gnu" "$tmp/lib64"
	cp "$CACHE/iperf3/usr/bin/iperf3" "$tmp/usr/bin/"
	cp "$ldso" "$tmp/lib/x86_64-linux-gnu/"
	ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$tmp/lib64/ld-linux-x86-64.so.2"
	# Each needed library as the loader resolves it from the unpacked packages (symlinks followed).
	"$ldso" --library-path "${libs#:}" --list "$tmp/usr/bin/iperf3" |
		sed -n 's|.* => \(/[^ ]*\) .*|\1|p' | while read -r lib; do
		cp -L "$lib" "$tmp/lib/x86_64-linux-gnu/${lib##*/}"
	done
	[ -f "$tmp/lib/x86_64-linux-gnu/libiperf.so.0" ] || { rm -rf "$tmp"; echo "fetch-images: iperf3: its libraries were not found" >&2; return 1; }
	rm -rf "$root"
	mv "$tmp" "$root"
	echo "fetch-images: $root: $("$root/lib64/ld-linux-x86-64.so.2" --library-path "$root/lib/x86_64-linux-gnu" "$root/usr/bin/iperf3" --version | head -n 1)"
}
# iperf3 is for the network bench only: a failed fetch is a warning (the bench says what is missing).
iperf_root || echo "fetch-images: WARNING: iperf3 for bench/linux_net.sh could not be fetched" >&2

for flavour in cloud generic; do
	suffix=-$flavour-amd64
	[ $flavour = generic ] && suffix=-amd64
	out="$CACHE/initramfs-$flavour.gz"
	[ -f "$out" ] && { echo "fetch-images: $out: present"; continue; }
	"$here/mkinitramfs.sh" -k "$CACHE/linux-image-$ABI$suffix" -b "$CACHE/busybox" -o "$out"
done
echo "fetch-images: images in $CACHE (kernel ABI $ABI)"
