# lifecycle_create_fail.sh: a create failing at any step leaves no domain, state file, xenstore node, memory or fd behind.
. "$(dirname "$0")/lib.sh"
dom0_start

free_mib() { "$KXL" info | awk '/^free_memory/ { print $3 }'; }
mkcfg ff "idle" 16 1 "<on_crash>restart</on_crash>"
create ff >/dev/null && "$KXL" destroy ff     # warm up: the first create allocates pools
sleep 0.3
fds0=$(hv_fds)
free0=$(free_mib)

for step in memory build state xenstore unpause monitor; do
	out=$(KXL_FAULT=$step "$KXL" create "$T/ff.xml" 2>&1) && fail "create with a fault at $step succeeded"
	echo "$out" | grep -q "injected fault at step '$step'" || { echo "$out"; fail "no message for $step"; }
	[ -z "$("$KXL" list | sed 1d)" ] || fail "a domain is left after a fault at $step: $("$KXL" list)"
	[ -z "$(ls "$KXEN_STATE_DIR"/*.xml 2>/dev/null)" ] || fail "a state file is left after a fault at $step"
	left=$(xenstore-list /local/domain 2>/dev/null | grep -vx 0)
	[ -z "$left" ] || fail "xenstore keeps /local/domain/$left after a fault at $step"
	[ -z "$(xenstore-list /vm 2>/dev/null)" ] || fail "xenstore keeps /vm/$(xenstore-list /vm) after a fault at $step"
	sleep 0.2
	[ "$(hv_fds)" = "$fds0" ] || fail "kxen-hv has $(hv_fds) fds after a fault at $step, $fds0 before"
	pass "fault at $step: clean"
done
f=$(free_mib)
[ $((free0 - f)) -lt 16 ] || fail "host free memory fell from $free0 to $f MiB"
pass "host memory back ($free0 -> $f MiB)"

# The real memory check, without injection: more than the host has.
mkcfg huge "idle" 16384 1
out=$("$KXL" create "$T/huge.xml" 2>&1)
free=$(free_mib)
if [ "$free" -lt 16384 ]; then
	echo "$out" | grep -q "not enough host memory for domain 'huge': it needs 16384 MiB" || { echo "$out"; fail "no memory error"; }
	pass "not enough host memory is refused before building"
fi

# Refusals that name the cause.
out=$("$KXL" create "$S/tests/golden/good/pvh.xml" 2>&1) && fail "pvh create succeeded"
echo "$out" | grep -q "guest type xenpvh is not supported by kxen-hv yet" || { echo "$out"; fail "pvh message"; }
# <initrd>: named by file and line when unreadable; refused for kxen's own kernel, which takes none.
printf "<domain type='kxen'><name>rd</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>\n<os><type>xenpv</type><kernel>%s</kernel><initrd>%s</initrd></os></domain>\n" \
	"$GUEST" "$T/missing.img" > "$T/rd.xml"
out=$("$KXL" create "$T/rd.xml" 2>&1) && fail "create with a missing initrd succeeded"
echo "$out" | grep -q "rd.xml:2: <initrd>: cannot read $T/missing.img" || { echo "$out"; fail "missing initrd message"; }
echo ramdisk > "$T/rd.img"
sed -i "s|$T/missing.img|$T/rd.img|" "$T/rd.xml"
out=$("$KXL" create "$T/rd.xml" 2>&1) && fail "create of kxen's kernel with an initrd succeeded"
echo "$out" | grep -q "kernel '.*kxen-guest' is kxen's own (auto-translated) kind, which takes no initrd" || { echo "$out"; fail "initrd with kxen's kernel message"; }
# A Linux kernel is checked and laid out, then refused before any domain exists.
img=${KXEN_IMAGE_CACHE:-/var/cache/kxen/images}
if [ -r "$img/vmlinuz-cloud" ] && [ -r "$img/initramfs-cloud.gz" ]; then
	sed -e "s|/var/cache/kxen/images|$img|g" "$S/xml/examples/linux.xml" > "$T/linux.xml"
	out=$("$KXL" create "$T/linux.xml" 2>&1) && fail "linux create succeeded"
	echo "$out" | grep -q "kxen-hv does not run direct-paging PV kernels yet (Linux); see docs/linux-images.md" ||
		{ echo "$out"; fail "linux message"; }
	"$KXL" list | awk '$1 == "linux" { exit 1 }' || fail "domain linux is left after its refusal"
else
	echo "lifecycle_create_fail: linux refusal not checked: no images in $img (run scripts/fetch-images.sh)"
fi
out=$("$KXL" create "$S/tests/golden/bad/libvirt-hvm.xml" 2>&1) && fail "hvm create succeeded"
echo "$out" | grep -q "libvirt-hvm.xml:6: <type>: HVM guests are not supported" || { echo "$out"; fail "hvm message"; }
out=$(KXEN_HV_SOCKET=$T/none.sock "$KXL" list 2>&1) && fail "list without a daemon succeeded"
echo "$out" | grep -q "is kxen-hv running? start it with: kxen-hv -d" || { echo "$out"; fail "no-daemon message"; }
out=$("$KXL" destroy nosuch 2>&1); [ $? = 1 ] || fail "destroy nosuch: wrong exit code"
echo "$out" | grep -q "no domain named or numbered 'nosuch'" || fail "no-such-domain message"
pass "refusals name their cause"
