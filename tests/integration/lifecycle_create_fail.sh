# lifecycle_create_fail.sh: a create failing at any step leaves no domain, state file, xenstore node, memory or fd behind.
. "$(dirname "$0")/lib.sh"
dom0_start

free_mib() { "$KXL" info | awk '/^free_memory/ { print $3 }'; }
# What kxen-hv itself holds, which no other job on the host moves: its domains' memory as it
# accounts it, and its address space (a guest's RAM is one mapping there, so a leaked one shows).
dom_mib() { "$KXL" info | awk '/^domain_memory/ { print $3 }'; }
hv_vm_mib() { awk '/^VmSize:/ { print int($2 / 1024) }' "/proc/$HVPID/status"; }
mkcfg ff "idle" 16 1 "<on_crash>restart</on_crash>"
create ff >/dev/null && "$KXL" destroy ff     # warm up: the first create allocates pools
# kxen-hv closes a client's fds when it next serves the hangup: wait for the count to settle.
settled() { local a; a=$(hv_fds); sleep 0.3; fds0=$(hv_fds); [ "$a" = "$fds0" ]; }
wait_until 30 settled || fail "kxen-hv's fd count does not settle"
fds_back() { [ "$(hv_fds)" = "$fds0" ]; }
dom0=$(dom_mib) vm0=$(hv_vm_mib)

for step in memory build state xenstore unpause monitor; do
	out=$(KXL_FAULT=$step "$KXL" create "$T/ff.xml" 2>&1) && fail "create with a fault at $step succeeded"
	echo "$out" | grep -q "injected fault at step '$step'" || { echo "$out"; fail "no message for $step"; }
	[ -z "$("$KXL" list | sed 1d)" ] || fail "a domain is left after a fault at $step: $("$KXL" list)"
	[ -z "$(ls "$KXEN_STATE_DIR"/*.xml 2>/dev/null)" ] || fail "a state file is left after a fault at $step"
	left=$(xenstore-list /local/domain 2>/dev/null | grep -vx 0)
	[ -z "$left" ] || fail "xenstore keeps /local/domain/$left after a fault at $step"
	[ -z "$(xenstore-list /vm 2>/dev/null)" ] || fail "xenstore keeps /vm/$(xenstore-list /vm) after a fault at $step"
	wait_until 30 fds_back || fail "kxen-hv has $(hv_fds) fds after a fault at $step, $fds0 before"
	pass "fault at $step: clean"
done
[ "$(dom_mib)" = "$dom0" ] || fail "kxen-hv accounts $(dom_mib) MiB to domains, $dom0 before the faults"
vm=$(hv_vm_mib)
[ $((vm - vm0)) -lt 16 ] || fail "kxen-hv's address space grew from $vm0 to $vm MiB: a guest's RAM is left mapped"
pass "memory back: $dom0 MiB held for domains, kxen-hv's address space $vm0 -> $vm MiB"

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
	# Linux on more vCPUs than it is tested with (2): refused by the builder before any domain exists.
	sed -e "s|/var/cache/kxen/images|$img|g" -e 's|<vcpu>1<|<vcpu>3<|' "$S/xml/examples/linux.xml" > "$T/linux.xml"
	out=$("$KXL" create "$T/linux.xml" 2>&1) && fail "linux create succeeded"
	echo "$out" | grep -q "with 3 vCPUs: Linux PV guests are tested on kxen with up to 2 vCPUs" ||
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
