#!/bin/bash
# backd_user.sh: kxen-backd -u nobody, after connecting as root, serves a guest's console and a disk with nothing but CAP_NET_ADMIN; an image nobody may not open is refused, naming it; after a kill -9 of kxenstored (--socket-group) it reconnects as nobody and serves a new guest's disk.
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
xs_start --socket-group "$GRP"
[ "$(stat -c %a:%G "$XENSTORED_PATH")" = "660:$GRP" ] || fail "kxenstored's socket is $(stat -c %a:%G "$XENSTORED_PATH"), not 660:$GRP"
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

# kxenstored killed and restarted: nobody reconnects through the group (as root only, it could not).
kill -9 "$XSPID"; wait "$XSPID" 2>/dev/null; XSPID=
wait_file "$T/backd.log" "xenstore: connection lost" 10
xs_start --socket-group "$GRP"
wait_file "$T/backd.log" "xenstore: reconnected after [0-9]+ tries" 20
grep -q "reconnect .* failed: Permission denied" "$T/backd.log" && fail "nobody was refused by the group's socket"
truncate -s 16M "$T/disk2.img"; chown nobody "$T/disk2.img"
disk ug2 "$T/disk2.img"
id2=$(create ug2)
wait_log "\(d$id2\) blk-test: (OK|FAIL)" 60
grep -q "(d$id2) blk-test: OK" "$T/hv.log" || { tail -20 "$T/backd.log"; fail "the disk test after kxenstored's restart, as nobody"; }
pass "kill -9 of kxenstored: kxen-backd as nobody reconnected through --socket-group and served a new guest's disk"
# Without the group, nobody is refused by the mode and by the peer check.
kill "$XSPID"; wait "$XSPID" 2>/dev/null; XSPID=
xs_start
[ "$(stat -c %a "$XENSTORED_PATH")" = 700 ] ||
	fail "kxenstored's socket without --socket-group is mode $(stat -c %a "$XENSTORED_PATH")"
wait_file "$T/backd.log" "xenstore: reconnect [0-9]+ failed: Permission denied" 20
# Even a socket whose mode lets nobody in (an admin's chmod) serves only root and kxenstored's user.
chmod 666 "$XENSTORED_PATH"
wait_file "$T/xs.log" "socket client refused: not root" 20
pass "without --socket-group the restarted kxenstored's socket stays root's: nobody's reconnects fail with Permission denied, and by SO_PEERCRED if the mode lets them in"
"$XSD" --socket-group no-such-group-here -f 2>"$T/nogroup.err" && fail "an unknown --socket-group was accepted"
grep -q "no group 'no-such-group-here'" "$T/nogroup.err" || fail "an unknown --socket-group: no clear error"

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
