# Raw xs_wire through kxenstored's socket: ids, errors, transactions, watches, DIRECTORY_PART, garbage, flooding.
. "$(dirname "$0")/lib.sh"
xs_start
rss0=$(xs_rss_kib)
"$B/tests/integration/xs_wire_check" "$XENSTORED_PATH" > "$T/wire.out" 2>&1
rc=$?
cat "$T/wire.out"
[ $rc = 0 ] || { cat "$T/xs.log"; fail "xs_wire_check"; }
kill -0 "$XSPID" || fail "kxenstored died"
rss1=$(xs_rss_kib)
echo "kxenstored RSS ${rss0} KiB -> ${rss1} KiB"
# 20000 unread requests must not have been buffered: a few MiB at most.
[ $((rss1 - rss0)) -lt 8192 ] || fail "kxenstored grew by $((rss1 - rss0)) KiB under a flood"
pass "xs_wire"
