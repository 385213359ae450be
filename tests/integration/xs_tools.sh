# Xen's own xenstore-* tools (libxenstore) against a private kxenstored.
. "$(dirname "$0")/lib.sh"
command -v xenstore-write >/dev/null || skip "xenstore-utils is not installed"
xs_start
xenstore-write /t/a 1 /t/b "two words" || fail "xenstore-write"
[ "$(xenstore-read /t/a)" = 1 ] || fail "xenstore-read /t/a"
[ "$(xenstore-read /t/b)" = "two words" ] || fail "xenstore-read /t/b"
[ "$(xenstore-ls /t | tr '\n' ';')" = 'a = "1";b = "two words";' ] || { xenstore-ls /t; fail "xenstore-ls /t"; }
[ "$(xenstore-list /t | sort | tr '\n' ' ')" = "a b " ] || fail "xenstore-list"
xenstore-exists /t/a || fail "xenstore-exists"
xenstore-exists /t/none && fail "xenstore-exists on a missing node"
# As Xen: an owner that does not exist (no kxen-hv here: only dom0) is ENOENT.
xenstore-chmod /t/a r5 w6 2>/dev/null && fail "xenstore-chmod gave a node to a domain that does not exist"
xenstore-chmod /t/a r0 w6 || fail "xenstore-chmod"
xenstore-ls -p /t | grep -q 'a = "1" .*(r0,w6)' || { xenstore-ls -p /t; fail "perms not shown"; }
xenstore-read /t/none 2>/dev/null && fail "read of a missing node succeeded"
xenstore-rm /t/a || fail "xenstore-rm"
xenstore-read /t/a 2>/dev/null && fail "removed node still readable"
# Implicit parents and relative paths (dom0's home is /local/domain/0).
xenstore-write /deep/er/node v || fail "write with implicit parents"
[ "$(xenstore-read /deep/er)" = "" ] || fail "implicit parent not empty"
xenstore-write rel/x 9 || fail "relative write"
[ "$(xenstore-read /local/domain/0/rel/x)" = 9 ] || fail "relative path not under /local/domain/0"
# A watch fires once at registration and then for changes below it.
timeout 60 xenstore-watch -n 3 /t > "$T/watch.out" 2>&1 &
wpid=$!
wait_until 60 test -s "$T/watch.out"
xenstore-write /t/c 3
xenstore-rm /t
wait $wpid || { cat "$T/watch.out"; fail "xenstore-watch did not see 3 events"; }
[ "$(tr '\n' ' ' < "$T/watch.out")" = "/t /t/c /t " ] || { cat "$T/watch.out"; fail "watch events"; }
# @introduceDomain and @releaseDomain register like any watch.
timeout 5 xenstore-watch -n 1 @releaseDomain > "$T/rel.out" || fail "watch @releaseDomain"
grep -q '^@releaseDomain' "$T/rel.out" || fail "no first @releaseDomain event"
kill -0 "$XSPID" || fail "kxenstored died"
pass "xenstore-* tools"
