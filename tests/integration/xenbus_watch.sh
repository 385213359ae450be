# dom0 changes a guest's nodes with xenstore-write/-rm; the guest's watch fires with the right paths and token.
. "$(dirname "$0")/xenbus_lib.sh"
dom0_start
id=$(xb_create xsw "xs-watch data/watched 4 30")
wait_log "^\(d$id\) xs-watch: watching data/watched" 20
# The first event is Xen's initial firing of a new watch.
wait_log "^\(d$id\) xs-watch: event [0-9]+ path=data/watched token=xs-watch"
xenstore-write "/local/domain/$id/data/other" "not watched" || fail "xenstore-write other"
xenstore-write "/local/domain/$id/data/watched/a" "first" || fail "xenstore-write a"
wait_log "^\(d$id\) xs-watch: event [0-9]+ path=data/watched/a token=xs-watch value='first'"
xenstore-write "/local/domain/$id/data/watched/b" "second" || fail "xenstore-write b"
wait_log "^\(d$id\) xs-watch: event [0-9]+ path=data/watched/b token=xs-watch value='second'"
xenstore-rm "/local/domain/$id/data/watched/a" || fail "xenstore-rm a"
wait_log "^\(d$id\) xs-watch: event [0-9]+ path=data/watched/a token=xs-watch \(unreadable: -2\)"
wait_log "^\(d$id\) xs-watch: 4 events, done"
grep "^(d$id) xs-watch" "$T/hv.log"
grep -q "^(d$id) xs-watch: event.*path=data/other" "$T/hv.log" && fail "a write outside the watch fired it"
wait_log "^\(XEN\) domain $id \(xsw\) shut down: poweroff"
pass "guest watch fired for dom0's writes and removal"
