#!/bin/sh
# Installs kxen's build and test dependencies on Debian 12 (run as root).
set -e
PACKAGES="build-essential autoconf automake pkg-config libxen-dev libxml2-dev libxml2-utils \
libncurses-dev zlib1g-dev libcunit1-dev linux-libc-dev procps xenstore-utils"
# The daemons tell systemd when they are ready (sd_notify); the man page test renders with groff.
PACKAGES="$PACKAGES libsystemd-dev groff-base"
# Each daemon installs a seccomp filter of the system calls it uses.
PACKAGES="$PACKAGES libseccomp-dev"
# The console and kxtop tests drive `kxl console` and kxtop in tmux.
PACKAGES="$PACKAGES tmux"
# The disk-format tests check our qcow2 images with qemu-img and qemu-io.
PACKAGES="$PACKAGES qemu-utils"
# The host-to-guest network test configures a TAP in a private namespace.
PACKAGES="$PACKAGES iproute2 util-linux"
# The domain builder decompresses Linux bzImage payloads (LZ4, XZ, gzip, zstd).
PACKAGES="$PACKAGES liblz4-dev liblzma-dev libzstd-dev"
# virt-xml-validate and libvirt's schemas: kxl's XML output must pass them (about 8 MB with libvirt0).
PACKAGES="$PACKAGES libvirt-clients"
# kxenstored keeps its tree, watches and domains in LMDB across a crash.
PACKAGES="$PACKAGES liblmdb-dev"
# make fuzz: clang with libFuzzer and the sanitizer runtimes (tests/fuzz); python3 generates the seed corpora.
PACKAGES="$PACKAGES clang-14 libclang-rt-14-dev python3"
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run as root (apt-get needs it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PACKAGES
# Debian 12's kernels and busybox for the Linux PV guest images, fetched once into a
# cache outside the tree (docs/linux-images.md). Without them only their tests skip,
# so a failed fetch is reported, not fatal.
"$(dirname "$0")/fetch-images.sh" ||
	echo "install-deps.sh: WARNING: the Linux guest images could not be fetched; their tests will be skipped" >&2
# Xen's own xenstore-control and test-xenstore for the xenstore tests: unpacked into a cache
# (/var/cache/kxen/xen-utils-4.17, about 40 KB), not installed; xs_control.sh skips without them.
sh "$(dirname "$0")/fetch-xen-utils.sh" >/dev/null ||
	echo "install-deps.sh: xen-utils-4.17 not fetched; tests/integration/xs_control.sh will skip" >&2
