# xenbus_lib.sh: lib.sh plus domains created by kxl (and so introduced to the private kxenstored), for the guest xenbus tests.
. "$(dirname "$0")/lib.sh"

command -v xenstore-write >/dev/null || skip "xenstore-utils is not installed"

# xb_create NAME CMDLINE: kxl create, then checks the domain's home exists; prints its domid.
xb_create() {
	mkcfg "$1" "$2"
	local id name
	id=$(create "$1")
	[ -n "$id" ] || fail "no domid for $1"
	name=$(xenstore-read "/local/domain/$id/name") || fail "/local/domain/$id/name missing"
	[ "$name" = "$1" ] || fail "/local/domain/$id/name is '$name', want '$1'"
	echo "$id"
}
