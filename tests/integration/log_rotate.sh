#!/bin/bash
# log_rotate.sh: the daemons' logs rotate as debian/kxen.logrotate rotates them: kxenstored, kxen-backd and the console logs renamed and reopened on SIGHUP, kxen-hv's log copied and truncated in place (it stops on SIGHUP), and no line is lost or written past a hole.
. "$(dirname "$0")/lib.sh"
dom0_start

# Guests that live a while: a guest that prints and powers off at once may be gone before
# kxen-backd attaches to its console.
mkcfg rot1 "sleep 300"
a=$(create rot1)
wait_log "^\(XEN\) domain $a \(rot1\) destroyed" 30
wait_file "$T/console/guest-rot1.log" "sleep: asked 300 ms" 10

# What logrotate does with the package's configuration.
for f in xs.log backd.log console/guest-rot1.log; do mv "$T/$f" "$T/$f.1"; done
cp "$T/hv.log" "$T/hv.log.1" && : > "$T/hv.log"     # copytruncate
kill -HUP "$XSPID" "$BACKDPID"
wait_file "$T/xs.log" "SIGHUP: log files reopened" 10
wait_file "$T/backd.log" "SIGHUP: log files reopened" 10
kill -0 "$HVPID" || fail "kxen-hv died when its log was truncated"

mkcfg rot1 "sleep 301"
b=$(create rot1)
wait_log "^\(XEN\) domain $b \(rot1\) destroyed" 30
wait_file "$T/console/guest-rot1.log" "sleep: asked 301 ms" 10
grep -q "asked 301 ms" "$T/console/guest-rot1.log.1" && fail "the new guest's console went to the rotated file"
grep -q "asked 300 ms" "$T/console/guest-rot1.log.1" || fail "the first guest's console lines are not in the rotated file"
grep -q "domain $a (rot1) created" "$T/hv.log.1" || fail "the copied kxen-hv log lacks the first domain"

# O_APPEND: kxen-hv's next line lands at the start of the truncated file, not past a hole of NULs.
size=$(stat -c %s "$T/hv.log")
nonul=$(tr -d '\0' < "$T/hv.log" | wc -c)
[ "$nonul" = "$size" ] || fail "kxen-hv's log has $((size - nonul)) NUL bytes after truncation: it wrote at its old offset"
grep -q "domain $a (rot1) created" "$T/hv.log" && fail "kxen-hv's log was not truncated"
grep -q "domain $b (rot1) created" "$T/hv.log" || fail "kxen-hv's lines after truncation are missing"
pass "xs.log, backd.log and the console log renamed and reopened on SIGHUP; kxen-hv's log copied and truncated ($size bytes after, no hole)"
