# blk_hostile.sh: a guest sending bad grants, out-of-range sectors, bad segments and a corrupt ring index gets errors and is cut off, while another guest's disk keeps working.
. "$(dirname "$0")/lib.sh"

dom0_start
truncate -s 32M "$T/good.img" "$T/bad.img"
disk() { echo "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$1'/><target dev='xvda' bus='xen'/></disk></devices>"; }
mkcfg good "blk-test 16 2000" 48 1 "$(disk "$T/good.img")"
mkcfg bad "blk-hostile" 32 1 "$(disk "$T/bad.img")"
good=$(create good)
bad=$(create bad)
wait_log "\(d$bad\) blk-hostile: (OK|FAILED)" 60
grep "(d$bad) blk-hostile" "$T/hv.log"
grep -q "(d$bad) blk-hostile: OK" "$T/hv.log" || fail "hostile requests not all refused"
wait_file "$T/backd.log" "d$bad: vbd 51712: frontend cut off: ring indexes are corrupt" 10
pass "bad grants, ranges, segments, ops get errors; the device still serves good requests; a corrupt req_prod cuts it off"
wait_log "\(d$good\) blk-test: (OK|FAIL)" 120
grep -q "(d$good) blk-test: OK" "$T/hv.log" || fail "the other guest's disk test"
kill -0 "$BACKDPID" || fail "kxen-backd died"
pass "the other domain's disk kept working and kxen-backd is alive"
grep -q "(d$bad) blkfront: device/vbd/51712: backend is closing; closing" "$T/hv.log" || fail "the guest did not see Closing"
pass "the cut-off device went to Closing and the guest closed its side"
