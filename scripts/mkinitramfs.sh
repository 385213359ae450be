#!/bin/sh
# Builds kxen's small Linux test initramfs (cpio newc, gzip) from busybox-static and a Debian kernel tree.
#
# usage: mkinitramfs.sh -k KERNEL_TREE -b BUSYBOX [-x PROGRAM]... [-a TREE]... -o OUT.gz | -d DIR
#   KERNEL_TREE  an unpacked linux-image-* package (boot/config-*, lib/modules/<version>/)
#   BUSYBOX      a static busybox; it also runs depmod on the host, so the host needs only
#                sh, gzip and coreutils
#   PROGRAM      a static executable added as /bin/<its name> (bench/linux_boot.sh adds
#                bench/guest/ubench and runs it with kxen.run=ubench); without -x the
#                archive is the same as before the option existed
#   TREE         a directory copied over the archive's root as it is (files and symlinks, e.g.
#                fetch-images.sh's iperf3-root: a dynamic program with its libraries and ld.so)
#   DIR          with -d, the same tree is written to the new directory DIR instead of an archive,
#                to be a root file system (mkfs.ext4 -d DIR): its busybox init runs kxen.run= as the
#                initramfs does and remounts / read-only at power-off, so the file system is clean
# /init mounts proc, sysfs and devtmpfs, loads the Xen frontends the kernel has as modules
# (with their dependencies from modules.dep), then runs the command of `kxen.run=CMD` or
# `kxen.run="CMD WITH SPACES"` on the kernel command line, or else a shell on hvc0, and
# powers off when it ends; with root=DEV (and rw or ro) on the command line it mounts DEV and
# switch_roots to its /sbin/init first (a tree made with -d runs kxen.run= the same way);
# module parameters given as MODULE.PARAM=VALUE on the command line are passed to insmod, as
# modprobe would. Then busybox init is pid 1, so busybox's poweroff and reboot (which
# Linux runs for xenstore's control/shutdown) work. The output is reproducible: the same inputs
# give the same bytes.
set -eu
usage() { echo "usage: $0 -k KERNEL_TREE -b BUSYBOX [-x PROGRAM]... [-a TREE]... -o OUT.gz | -d DIR" >&2; exit 2; }
die() { echo "mkinitramfs: $*" >&2; exit 1; }
tree= bb= out= extra= dir= trees=
nl='
'
while getopts k:b:o:x:d:a: opt; do
	case $opt in
	k) tree=$OPTARG ;; b) bb=$OPTARG ;; o) out=$OPTARG ;; d) dir=$OPTARG ;;
	x) extra="$extra$OPTARG$nl" ;;
	a) [ -d "$OPTARG" ] || die "-a '$OPTARG' is not a directory"; trees="$trees$OPTARG$nl" ;;
	*) usage ;;
	esac
done
[ -n "$tree" ] && [ -n "$bb" ] && { [ -n "$out" ] || [ -n "$dir" ]; } && { [ -z "$out" ] || [ -z "$dir" ]; } || usage
[ -z "$dir" ] || [ ! -e "$dir" ] || die "-d '$dir' exists: give a new directory"
[ -x "$bb" ] || die "busybox '$bb' is not an executable"
# is_dynamic FILE: whether the ELF64 FILE has a PT_INTERP program header (needs a loader and libc,
# which the initramfs does not have). Reads e_phoff, e_phentsize, e_phnum, then each p_type.
le() { od -An -t u$2 -j "$3" -N "$2" "$1" | tr -d ' '; }
is_dynamic() {
	phoff=$(le "$1" 8 32) phent=$(le "$1" 2 54) phnum=$(le "$1" 2 56) i=0
	while [ "$i" -lt "$phnum" ]; do
		[ "$(le "$1" 4 $((phoff + i * phent)))" = 3 ] && return 0
		i=$((i + 1))
	done
	return 1
}
printf '%s' "$extra" | while IFS= read -r x; do
	[ -f "$x" ] && [ -x "$x" ] || die "-x '$x' is not an executable file"
	[ "$(head -c 5 "$x" | od -An -c | tr -d ' ')" = '177ELF002' ] || die "-x '$x' is not an ELF64 executable"
	is_dynamic "$x" && die "-x '$x' is dynamically linked (it has PT_INTERP); the initramfs has no libc: link it with -static"
	case ${x##*/} in busybox|init|*' '*) die "-x '$x': the name '${x##*/}' is taken or unusable in /bin" ;; esac
done || exit 1
config=$(ls "$tree"/boot/config-* 2>/dev/null | head -n 1)
[ -n "$config" ] || die "$tree/boot/config-*: no kernel config (is $tree an unpacked linux-image package?)"
kver=${config##*/config-}
moddir="$tree/lib/modules/$kver"
[ -d "$moddir" ] || die "$moddir: no modules directory"
# Debian generates modules.dep at install time; we never install, so busybox generates it.
[ -f "$moddir/modules.dep" ] || "$bb" depmod -b "$tree" "$kver" || die "depmod failed in $tree"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/etc" "$stage/tmp" "$stage/root"
cp "$bb" "$stage/bin/busybox"
for applet in $("$bb" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
ln -s bin "$stage/sbin"
# Extra programs (-x) replace any busybox applet of the same name: the caller asked for them.
printf '%s' "$extra" | while IFS= read -r x; do
	rm -f "$stage/bin/${x##*/}"
	cp "$x" "$stage/bin/${x##*/}"
	chmod 755 "$stage/bin/${x##*/}"
	echo "mkinitramfs: added /bin/${x##*/}"
done
# Trees (-a) last among the files, so they may also replace an applet.
printf '%s' "$trees" | while IFS= read -r d; do
	cp -R "$d/." "$stage/"
	echo "mkinitramfs: added the tree $d"
done

# The Xen frontends: built in (=y) needs nothing; a module (=m) is copied with its dependencies.
: > "$stage/etc/kxen-modules"
. "$(dirname "$0")/kmod-order.sh"
add_module() {   # add_module PATH-relative-to-moddir: dependencies first, each once
	for m in $(kmod_order "$moddir" "$1"); do
		mkdir -p "$stage/lib/modules/$kver/$(dirname "$m")"
		cp "$moddir/$m" "$stage/lib/modules/$kver/$m"
		echo "$kver/$m" >> "$stage/etc/kxen-modules"
	done
}
for pair in XEN_BLKDEV_FRONTEND:xen-blkfront XEN_NETDEV_FRONTEND:xen-netfront \
            HVC_XEN:hvc_xen XEN_BALLOON:xen-balloon; do
	opt=${pair%%:*} mod=${pair#*:}
	val=$(sed -n "s/^CONFIG_$opt=//p" "$config")
	case $val in
	y) echo "mkinitramfs: CONFIG_$opt=y: $mod is built in" ;;
	m)
		path=$(sed -n "s|^\(\([^:]*/\)\{0,1\}$mod\.ko\):.*|\1|p" "$moddir/modules.dep" | head -n 1)
		[ -n "$path" ] || die "CONFIG_$opt=m but $mod.ko is not in $moddir/modules.dep"
		add_module "$path"
		echo "mkinitramfs: CONFIG_$opt=m: $path" ;;
	*) echo "mkinitramfs: CONFIG_$opt is not set: no $mod in this kernel" >&2 ;;
	esac
done

cat > "$stage/init" <<'INIT'
#!/bin/sh
# kxen's Linux PV test init: kernel file systems, Xen frontends, kxen.run= or a shell on hvc0, power-off.
export PATH=/bin
# The first user-space line: bench/linux_boot.sh times the boot to it.
echo "kxen-init: start"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The same image boots on other hypervisors (QEMU as a peer): Xen frontends only under Xen.
if [ "$(cat /sys/hypervisor/type 2>/dev/null)" = xen ]; then
	while read -r m; do
		# MODULE.PARAM=VALUE words of the command line are that module's parameters (modprobe's rule).
		n=${m##*/}; n=$(echo "${n%.ko}" | tr - _)
		insmod "/lib/modules/$m" $(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$n\.//p") ||
			echo "kxen-init: insmod $m failed"
	done < /etc/kxen-modules
else
	echo "kxen-init: not on Xen: the Xen frontend modules are not loaded"
fi
echo "kxen-init: up: Linux $(uname -r), $(nproc) CPU(s)"
# root=DEV: the disk becomes / (/etc/kxen-root switch_roots and does not come back unless it fails).
root=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^root=//p' | tail -n 1)
[ -z "$root" ] || . /etc/kxen-root
# busybox init as pid 1 from here: it powers off, halts or reboots when busybox's poweroff, halt or reboot
# signal it, which Linux runs for xenstore's control/shutdown (kxl shutdown, kxl reboot), and starts
# kxen-main with default signal dispositions (a shell script as pid 1 must run its work in the background
# to take signals, and ash makes background jobs ignore SIGINT: no ^C in the shell).
exec /bin/init
INIT
cat > "$stage/etc/inittab" <<'TAB'
::once:/etc/kxen-main
::shutdown:/bin/sync
TAB
cat > "$stage/etc/kxen-main" <<'MAIN'
#!/bin/sh
# kxen's Linux PV test init, after busybox init took over: kxen.run= or a shell on hvc0, then power-off.
export PATH=/bin
# kxen.run has a dot, so the kernel keeps it from init's arguments: read it from /proc/cmdline.
run=$(sed -n 's/.*kxen\.run="\([^"]*\)".*/\1/p; t; s/.*kxen\.run=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$run" ]; then
	sh -c "$run"
	echo "kxen-init: '$run' exited with status $?"
else
	# /dev/console cannot be a controlling terminal: use the device behind it (hvc0 under Xen).
	tty=/dev/hvc0
	[ -c $tty ] || tty=/dev/$(sed 's/.* //' /sys/class/tty/console/active 2>/dev/null)
	[ -c "$tty" ] || tty=/dev/console
	# A new session that opens the tty gets it as controlling terminal: job control and ^C work.
	setsid sh -c "exec sh -l <$tty >$tty 2>&1"
fi
echo "kxen-init: powering off"
poweroff
MAIN
chmod 755 "$stage/etc/kxen-main"
cat > "$stage/etc/kxen-root" <<'ROOT'
# Sourced by /init for root=DEV: waits for DEV (blkfront probes it after insmod returns), mounts it
# (ro unless rw is on the command line, as Linux's own root=), moves /dev, /proc and /sys into it and
# switch_roots to its /sbin/init (init= names another). On failure it says why and returns: / stays the initramfs.
mode=ro rootinit=/sbin/init
for w in $(cat /proc/cmdline); do
	case $w in rw) mode=rw ;; ro) mode=ro ;; init=*) rootinit=${w#init=} ;; esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -b "$root" ]; then
	echo "kxen-init: root=$root: no such block device after 30 s; staying in the initramfs"
elif ! mount -o "$mode" "$root" /root; then
	echo "kxen-init: root=$root: mount -o $mode failed; staying in the initramfs"
elif [ ! -x "/root$rootinit" ] && [ ! -L "/root$rootinit" ]; then
	echo "kxen-init: root=$root has no $rootinit; staying in the initramfs"
	umount /root
else
	echo "kxen-init: root=$root ($mode): switching to its $rootinit"
	for d in dev proc sys; do mount --move /$d /root/$d || echo "kxen-init: /$d not moved into $root's /$d"; done
	exec switch_root /root "$rootinit"
fi
ROOT
chmod 755 "$stage/init"

if [ -n "$dir" ]; then
	# A root file system: at power-off, after the sync, / goes read-only so that it is left clean.
	echo '::shutdown:/bin/mount -o remount,ro /' >> "$stage/etc/inittab"
	mkdir "$dir" || die "cannot create $dir"
	cp -a "$stage/." "$dir/" || die "cannot copy the tree into $dir"
	echo "mkinitramfs: $dir: a root tree, modules: $(wc -l < "$stage/etc/kxen-modules")"
	exit 0
fi

# We write the newc archive ourselves: fixed inode numbers, owners and times make it a function
# of its inputs (reproducible), and /dev/console, which must exist before /init runs, needs no
# root to create (char 5:1).
ino=0
newc() {   # newc NAME MODE SIZE RDEVMAJOR RDEVMINOR: one header and name, padded to 4 bytes
	ino=$((ino + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		$ino "$2" 0 0 1 0 "$3" 0 0 "$4" "$5" $((${#1} + 1)) 0 "$1"
	pad $((110 + ${#1} + 1))
}
pad() { n=$(( (4 - $1 % 4) % 4 )); [ $n -eq 0 ] || head -c $n /dev/zero; }
archive() {
	cd "$stage"
	find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then
			t=$(readlink "$f")
			newc "$f" $((0120777)) ${#t} 0 0
			printf '%s' "$t"
			pad ${#t}
		elif [ -d "$f" ]; then
			newc "$f" $((0040755)) 0 0 0
		else
			size=$(wc -c < "$f")
			mode=$((0100644)); [ -x "$f" ] && mode=$((0100755))
			newc "$f" $mode "$size" 0 0
			cat "$f"
			pad "$size"
		fi
	done
	newc dev/console $((0020600)) 0 5 1
	newc TRAILER!!! 0 0 0 0
}
tmp_out="$out.tmp.$$"
archive | gzip -9n > "$tmp_out"
mv "$tmp_out" "$out"
echo "mkinitramfs: $out: $(wc -c < "$out") bytes, modules: $(wc -l < "$stage/etc/kxen-modules")"
