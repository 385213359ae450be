#!/bin/sh
# Installs kxen's build and test dependencies on Debian 12 (run as root).
set -e
PACKAGES="build-essential autoconf automake pkg-config libxen-dev libxml2-dev libxml2-utils \
libncurses-dev zlib1g-dev libcunit1-dev linux-libc-dev procps xenstore-utils"
# The console and kxtop tests drive `kxl console` and kxtop in tmux.
PACKAGES="$PACKAGES tmux"
# The disk-format tests check our qcow2 images with qemu-img and qemu-io.
PACKAGES="$PACKAGES qemu-utils"
# The host-to-guest network test configures a TAP in a private namespace.
PACKAGES="$PACKAGES iproute2 util-linux"
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
