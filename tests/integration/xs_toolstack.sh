# kxl create writes a domain's standard xenstore paths with libxl's permissions and introduces it; destroy removes them.
. "$(dirname "$0")/lib.sh"
dom0_start
command -v xenstore-read > /dev/null || skip "xenstore-utils (xenstore-read) is not installed"

xsr() { xenstore-read "$@" 2>&1; }
expect() {   # expect PATH VALUE
	local got
	got=$(xsr "$1") || fail "xenstore-read $1: $got"
	[ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'"
}

mkcfg named idle 8 2 "<uuid>6c0a6b0e-4d2b-4c8e-9a3b-0f6e2d1c9b7a</uuid>"
id=$(create named)
D=/local/domain/$id
expect "$D/name" named
expect "$D/domid" "$id"
expect "$D/vm" /vm/6c0a6b0e-4d2b-4c8e-9a3b-0f6e2d1c9b7a
expect /vm/6c0a6b0e-4d2b-4c8e-9a3b-0f6e2d1c9b7a/name named
expect "$D/memory/target" 8192
expect "$D/memory/static-max" 8192
expect "$D/cpu/1/availability" online
expect "$D/console/type" xenconsoled
for k in store/ring-ref store/port console/ring-ref console/port; do
	v=$(xsr "$D/$k") || fail "missing $D/$k"
	case $v in '' | *[!0-9]*) fail "$D/$k is '$v', not a number" ;; esac
done
[ "$(xsr "$D/control/shutdown")" = "" ] || fail "control/shutdown is not empty at creation"

# Permissions: dom0 owns the domain directory and the guest may read it;
# the guest owns control/shutdown, where it acknowledges requests.
p=$(xenstore-ls -p /local/domain 2>&1 | sed -n "s/^$id = \"\".*(\(.*\))$/\1/p")
[ "$p" = "n0,r$id" ] || fail "/local/domain/$id permissions are '$p', expected 'n0,r$id': $(xenstore-ls -p /local/domain | head -5)"
p=$(xenstore-ls -p "$D/control" 2>&1 | sed -n 's/^shutdown = "".*(\(.*\))$/\1/p')
[ "$p" = "n$id" ] || fail "control/shutdown permissions are '$p', expected 'n$id'"

xenstore-read "$D/store/ring-ref" > /dev/null
"$KXL" destroy named || fail "kxl destroy"
xenstore-read "$D/name" > /dev/null 2>&1 && fail "$D survived kxl destroy"
xenstore-read /vm/6c0a6b0e-4d2b-4c8e-9a3b-0f6e2d1c9b7a/name > /dev/null 2>&1 && fail "/vm/UUID survived kxl destroy"

# Without kxenstored, create fails before building anything and says what to do.
kill "$XSPID"; wait "$XSPID" 2>/dev/null; XSPID=
mkcfg orphan idle
"$KXL" create "$T/orphan.xml" > "$T/orphan.out" 2>&1 && fail "kxl create worked without kxenstored"
grep -q "is kxenstored running" "$T/orphan.out" || fail "unhelpful error: $(cat "$T/orphan.out")"
"$KXL" list | grep -q orphan && fail "a domain was left behind by the failed create"
pass "standard paths written with their permissions, removed on destroy; no xenstore, no domain"
