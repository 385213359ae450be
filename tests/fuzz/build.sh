#!/bin/bash
# Builds the libFuzzer harnesses with clang (coverage + ASan + UBSan) from the libraries' own Makefile.am source lists.
# Usage: build.sh SRCDIR BUILDDIR OUTDIR   (BUILDDIR holds a configured config.h; OUTDIR gets fuzz_* binaries)
set -euo pipefail
S=$(cd "$1" && pwd) B=$(cd "$2" && pwd) O=$3
mkdir -p "$O"
O=$(cd "$O" && pwd)
CC=${FUZZ_CC:-$(command -v clang || command -v clang-14 || echo clang)}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (Debian packages clang-14 libclang-rt-14-dev)" >&2; exit 1; }
[ -f "$B/config.h" ] || { echo "fuzz: $B/config.h missing: run ./configure first" >&2; exit 1; }
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 $SAN -I$B -I$S/include -Wno-unused-command-line-argument"
XML_CFLAGS=$(pkg-config --cflags libxml-2.0) XML_LIBS=$(pkg-config --libs libxml-2.0)

# The value of VAR in a Makefile.am (continuations joined, += appended): the library's sources, whatever another change adds.
sources() { # MAKEFILE_AM VAR
	awk -v v="$2" '
		{ while (sub(/\\$/, "")) { line = $0; if ((getline nxt) <= 0) break; $0 = line " " nxt } }
		$1 == v && ($2 == "=" || $2 == "+=") { for (i = 3; i <= NF; i++) if ($i ~ /\.[cS]$/) print $i }' "$1"
}

# lib NAME DIR VAR EXTRA-CFLAGS...: compiles one library's sources with coverage into $O/obj/NAME.a.
lib() {
	local name=$1 dir=$2 var=$3
	shift 3
	local objs=() src obj
	mkdir -p "$O/obj/$name"
	for src in $(sources "$S/$dir/Makefile.am" "$var"); do
		obj=$O/obj/$name/${src%.[cS]}.o
		if [ ! -f "$obj" ] || [ "$S/$dir/$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
			# shellcheck disable=SC2086
			$CC $CFLAGS -fsanitize=fuzzer-no-link -I"$S/$dir" "$@" -c "$S/$dir/$src" -o "$obj"
		fi
		objs+=("$obj")
	done
	rm -f "$O/obj/$name.a"
	ar rcs "$O/obj/$name.a" "${objs[@]}"
}

lib kxconfig xml libkxconfig_a_SOURCES $XML_CFLAGS -DKXEN_SCHEMA_DIR="\"$S/xml\"" -DKXEN_SRC_SCHEMA_DIR="\"$S/xml\""
lib kxstore dom0-tools/kxenstored libkxstore_a_SOURCES
lib kxbuild dom0-tools/builder libkxbuild_a_SOURCES
lib kxdisk dom0-tools/libkxdisk libkxdisk_a_SOURCES -D_GNU_SOURCE -pthread
lib kxblk pv-drivers/back libkxblk_a_SOURCES
lib kxnet pv-drivers/back libkxnet_a_SOURCES
lib kxcons pv-drivers/back libkxcons_a_SOURCES
lib kxhv hypervisor libkxhv_a_SOURCES -pthread -Wno-gnu-variable-sized-type-not-at-end
lib kxd dom0-tools/libkxdaemon libkxdaemon_a_SOURCES

# harness NAME LIBS...: tests/fuzz/fuzz_NAME.c linked with libFuzzer.
harness() {
	local name=$1
	shift
	# include/kxen too: harnesses written before the libraries' headers moved there name them bare.
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer -I"$S/tests/fuzz" -I"$S/dom0-tools/kxenstored" -I"$S/pv-drivers/back" \
		-I"$S/include/kxen" -DKXEN_SRC_SCHEMA_DIR="\"$S/xml\"" $XML_CFLAGS "$S/tests/fuzz/fuzz_$name.c" "$@" -o "$O/fuzz_$name"
}

harness xml "$O/obj/kxconfig.a" $XML_LIBS
harness xenstore "$O/obj/kxstore.a" -llmdb   # persist.c: the store's LMDB state
harness elf "$O/obj/kxbuild.a"
harness qcow2 "$O/obj/kxdisk.a" -lz -lzstd -pthread
harness blkback "$O/obj/kxblk.a"
harness netback "$O/obj/kxnet.a"
harness console "$O/obj/kxcons.a"
# The unit suites' fake domains (tests/unit/hv_fixture.c), which bring CUnit with them.
harness hypercall -I"$S/hypervisor" -I"$S/tests/unit" "$S/tests/unit/hv_fixture.c" "$S/tests/unit/cunit_run.c" \
	"$O/obj/kxhv.a" "$O/obj/kxd.a" -lcunit -lseccomp -pthread
harness bzimage "$O/obj/kxbuild.a" -lz -llzma -llz4 -lzstd
# The Linux PV flavour on the same fake domains (pvl_*.c; the layer's blob comes with kxhv.a).
harness pvl -I"$S/hypervisor" -I"$S/tests/unit" "$S/tests/unit/hv_fixture.c" "$S/tests/unit/cunit_run.c" \
	"$O/obj/kxhv.a" "$O/obj/kxd.a" -lcunit -lseccomp -pthread
echo "fuzz: harnesses in $O"
