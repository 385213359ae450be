#!/bin/bash
# Opt-in rig: runs kxen under a KVM that uses AMD SVM (kvm_amd), inside a QEMU TCG VM, to test what this kvm_pvm host cannot.
#
# usage: scripts/svm-rig.sh [-m MiB] [-s CPUS] [-t SECONDS] [-o LOG] [-k 'kvm_amd params'] COMMAND...
#   Boots Debian 12's generic kernel from the image cache (scripts/fetch-images.sh) in
#   `qemu-system-x86_64 -accel tcg -cpu max` (TCG emulates SVM, so kvm_amd loads inside), with a
#   small initramfs of busybox and the modules the rig needs (kvm, kvm_amd, virtio, 9p, overlay).
#   The host's / is shared read-only over virtio-9p and an overlay with a tmpfs upper layer makes
#   it writable inside (nothing is written back); the VM chroots into it and runs COMMAND with
#   bash from the current directory, with /dev/kvm being kvm_amd's. Example, from a built tree:
#     scripts/svm-rig.sh env KXEN_BUILDDIR=$PWD KXEN_SRCDIR=$PWD bash tests/integration/boot_hello.sh
#   COMMAND's output goes to the console (and to -o LOG); the rig exits with COMMAND's status, or
#   124 if the VM did not finish within -t SECONDS (default 1800). Not part of make check: TCG
#   running a nested KVM is slow (minutes per guest boot).
#   -k passes parameters to kvm_amd (default "nested=0"; "npt=0" makes KVM shadow the guest's
#   page tables instead of using TCG's nested paging).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
C=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
mem=2048 cpus=1 timeout=1800 log= kparams="nested=0"
usage() { sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts m:s:t:o:k:h opt; do
	case $opt in
	m) mem=$OPTARG ;; s) cpus=$OPTARG ;; t) timeout=$OPTARG ;; o) log=$OPTARG ;; k) kparams=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
die() { echo "svm-rig: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is needed (Debian package qemu-system-x86)"
abi=$(cat "$C/linux-abi" 2>/dev/null) || die "no $C/linux-abi: run scripts/fetch-images.sh (or set KXEN_IMAGE_CACHE)"
tree=$C/linux-image-$abi-amd64
kernel=$C/vmlinuz-generic
[ -f "$kernel" ] && [ -d "$tree" ] || die "no generic kernel in $C (scripts/fetch-images.sh fetches linux-image-$abi-amd64)"
[ -x "$C/busybox" ] || die "no $C/busybox: run scripts/fetch-images.sh"
kver=$(ls "$tree/lib/modules")
moddir=$tree/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || die "$moddir/modules.dep is missing (scripts/mkinitramfs.sh generates it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/svm-rig.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
mkdir -p "$stage"/{bin,dev,proc,sys,mods,lower,rw,new}
cp "$C/busybox" "$stage/bin/busybox"
for a in sh mount mkdir insmod chroot poweroff cat echo sleep; do ln -s busybox "$stage/bin/$a"; done

# The modules in load order (dependencies first).
. "$here/kmod-order.sh"
mods="kernel/arch/x86/kvm/kvm-amd.ko kernel/drivers/virtio/virtio_pci.ko kernel/net/9p/9pnet_virtio.ko
	kernel/fs/9p/9p.ko kernel/fs/overlayfs/overlay.ko"
for m in $mods; do grep -q "^$m:" "$moddir/modules.dep" || die "$m is not in $moddir/modules.dep"; done
for m in $(kmod_order "$moddir" $mods); do
	cp "$moddir/$m" "$stage/mods/"
	echo "${m##*/}" >> "$stage/mods/order"
done

# The command runs from the same directory inside, with the caller's environment's PATH.
{
	printf 'cd %q\n' "$PWD"
	printf 'export PATH=%q TMPDIR=/tmp\n' "$PATH"
	printf '%q ' "$@"
	echo
} > "$stage/cmd.sh"

cat > "$stage/init" <<EOF
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in \$(cat /mods/order); do
	p=
	[ "\$m" = kvm-amd.ko ] && p="$kparams"
	insmod /mods/\$m \$p || echo "svm-rig: insmod \$m failed"
done
echo "svm-rig: cpu: \$(grep -m1 -o -w -E 'svm|vmx' /proc/cpuinfo) kvm: \$(ls /dev/kvm 2>&1)"
echo "svm-rig: kvm_amd npt=\$(cat /sys/module/kvm_amd/parameters/npt 2>&1) nested=\$(cat /sys/module/kvm_amd/parameters/nested 2>&1)"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower || echo "svm-rig: 9p mount failed"
mount -t tmpfs -o size=75% rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work,xino=off,redirect_dir=off,index=off ovl /new ||
	echo "svm-rig: overlay mount failed"
mount -t proc proc /new/proc; mount -t sysfs sys /new/sys; mount -t devtmpfs dev /new/dev
mount -t tmpfs tmp /new/tmp; mount -t tmpfs run /new/run
mkdir -p /new/dev/pts /new/dev/shm; mount -t devpts pts /new/dev/pts; mount -t tmpfs shm /new/dev/shm
mount -t cgroup2 cg /new/sys/fs/cgroup 2>/dev/null
echo "svm-rig: running the command"
cp /cmd.sh /new/run/svm-rig-cmd.sh
chroot /new /bin/bash /run/svm-rig-cmd.sh
echo "svm-rig: exit status \$?"
poweroff -f
EOF
chmod 755 "$stage/init"
(cd "$stage" && find . | "$C/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initramfs.gz"

out=${log:-$work/console.log}
echo "svm-rig: booting $kernel under QEMU TCG (-cpu max, $cpus CPU(s), $mem MiB); console in $out"
set +e
timeout "$timeout" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem" \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	< /dev/null 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 124 ] && { echo "svm-rig: the VM did not finish in $timeout s"; exit 124; }
st=$(sed -n 's/^svm-rig: exit status \([0-9]*\).*/\1/p' "$out" | tail -n 1)
[ -n "$st" ] || die "the VM stopped before the command finished (QEMU status $rc)"
exit "$st"
