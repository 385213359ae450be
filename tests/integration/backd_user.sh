#!/bin/bash
# backd_user.sh: kxen-backd -u nobody, after connecting as root, serves a guest's console and a disk with nothing but CAP_NET_ADMIN; an image nobody may not open is refused, naming it.
. "$(dirname "$0")/lib.sh"
trap 'backd_stop; cleanup' EXIT

[ "$(id -u)" = 0 ] || skip "kxen-backd -u needs root to drop from (and the test chowns files)"
id nobody >/dev/null 2>&1 || skip "no user 'nobody' here"
GRP=$(id -gn nobody)
# What an admin sets up (docs/architecture.md "Least privilege"): the user may reach and own
# its console logs, statistics and images; kxen-hv's socket is shared with its group.
chmod 755 "$T"
mkdir -p "$T/console" "$KXEN_RUN_DIR"
chown nobody "$T/console" "$KXEN_RUN_DIR"
truncate -s 16M "$T/disk.img"; chown nobody "$T/disk.img"
truncate -s 16M "$T/root.img"; chmod 600 "$T/root.img"

hv_start --socket-group "$GRP"
xs_start
"$BACKD" -f -u nobody -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/backd.log" 2>>"$T/backd.log" &
BACKDPID=$!
wait_file "$T/backd.log" "serving" 10
uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$BACKDPID/status")
[ "$uid" = "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ] || fail "kxen-backd's uids are $uid, not nobody's"
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$BACKDPID/status")
[ "$capeff" = "0000000000001000" ] || fail "kxen-backd's effective capabilities are $capeff, not CAP_NET_ADMIN alone"
pass "kxen-backd runs as nobody with CAP_NET_ADMIN alone"

disk() {   # disk NAME FILE: a guest running blk-test on FILE
	mkcfg "$1" "blk-test 4 10" 48 1 "<devices><disk type='file' device='disk'>
  <driver name='qemu' type='raw'/><source file='$2'/><target dev='xvda' bus='xen'/></disk></devices>"
}
disk ug "$T/disk.img"
id=$(create ug)
wait_log "\(d$id\) blk-test: (OK|FAIL)" 60
grep -q "(d$id) blk-test: OK" "$T/hv.log" || { tail -20 "$T/backd.log"; fail "the disk test as nobody"; }
wait_file "$T/console/guest-ug.log" "blk-test: OK" 10
[ "$(stat -c %U "$T/console/guest-ug.log")" = nobody ] || fail "the console log is not nobody's"
pass "as nobody: the guest's disk verified, its console logged"

disk rg "$T/root.img"
"$KXL" create "$T/rg.xml" > "$T/create.out" 2>&1
wait_file "$T/backd.log" "root.img.*(Permission denied|EACCES)" 20
kill -0 "$BACKDPID" || fail "kxen-backd died on an image it may not open"
pass "an image nobody may not open is refused, naming it; kxen-backd serves on"

# As a daemon: the starter returns once it is ready, the pid file written (as root: its directory is root's), and the daemon runs as nobody.
backd_stop
mkdir -m 755 "$T/rootrun"
KXEN_RUN_DIR=$T/rootrun "$BACKD" -u nobody -H "$KXEN_HV_SOCKET" -o "$T/console" -l "$T/backd-d.log" ||
	{ cat "$T/backd-d.log"; fail "kxen-backd -u nobody did not start as a daemon"; }
dpid=$(cat "$T/rootrun/kxen-backd.pid")
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$dpid/status")" = "$(id -u nobody)" ] || { kill "$dpid"; fail "the daemon is not nobody"; }
kill "$dpid"
"$BACKD" -f -u no-such-user-here 2>"$T/nouser.err" && fail "an unknown -u user was accepted"
grep -q "no user 'no-such-user-here'" "$T/nouser.err" || fail "an unknown -u user: no clear error"
pass "kxen-backd -u nobody as a daemon: ready, pid file written, nobody; an unknown user is refused at once"
