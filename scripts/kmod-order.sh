# Sourced by scripts/mkinitramfs.sh and scripts/svm-rig.sh: kernel modules in load order from a modules.dep.
#
# kmod_order MODDIR PATH...: prints each PATH (relative to MODDIR, as modules.dep names it) after its
# dependencies, transitively, one per line; a module printed by an earlier call of the same shell is
# not printed again, so successive calls build one load order.
kmod_seen=" "
kmod_order() {
	kmod_dir=$1
	shift
	for kmod_m in "$@"; do kmod__add "$kmod_m"; done
}
kmod__add() {
	case "$kmod_seen" in *" $1 "*) return 0 ;; esac
	kmod_seen="$kmod_seen$1 "
	for kmod_d in $(sed -n "s|^$1:||p" "$kmod_dir/modules.dep"); do kmod__add "$kmod_d"; done
	echo "$1"
}
