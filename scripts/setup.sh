#!/bin/sh
# One command on a fresh Debian 12: install dependencies, build kxen, boot the demo guests.
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./autogen.sh
./configure
make -j"$(nproc)"
make demo
