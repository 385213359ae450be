#!/bin/sh
# The long soak (issue 10 item 6): SOAK_CYCLES (1000) create/destroy cycles of our guests with vbds and vifs, then every daemon's fds, threads, memfds, xenstore nodes and RSS compared with the start (tests/integration/soak.sh; make check runs 50).
set -u
B=${KXEN_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)}
S=${KXEN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export KXEN_BUILDDIR=$B KXEN_SRCDIR=$S SOAK_CYCLES=${SOAK_CYCLES:-1000}
exec bash "$S/tests/integration/soak.sh"
