# grant_window.sh: kxen-backd holds a domain's granted pages only (its grant window), never the domain's RAM memfd; guest I/O through moved pages stays correct.
. "$(dirname "$0")/lib.sh"

dom0_start
truncate -s 16M "$T/a.img"
truncate -s 16M "$T/b.img"
disk() {   # disk NAME APP IMG
	mkcfg "$1" "$2" 16 1 "<devices><disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$3'/><target dev='xvda' bus='xen'/>
    </disk></devices>"
}

# blk-flush idles after its acknowledged write, so the vbd stays connected with its ring and persistent grants mapped.
disk winidle "blk-flush 7" "$T/a.img"
id=$(create winidle)
wait_log "\(d$id\) blk-flush: (acked|FAIL)" 60
grep -q "(d$id) blk-flush: acked 7" "$T/hv.log" || { tail -20 "$T/backd.log"; fail "blk-flush"; }
# The RAM memfd is named after the domain; the window is kxen-hv's "kxen-grant-window".
fds=$(for f in /proc/$BACKDPID/fd/*; do readlink "$f"; done 2>/dev/null)
maps=$(cat /proc/$BACKDPID/maps)
echo "$fds" | grep -q "^/memfd:winidle " && fail "kxen-backd holds the domain's RAM memfd: $(echo "$fds" | grep memfd)"
echo "$maps" | grep -q "/memfd:winidle " && fail "kxen-backd maps the domain's RAM memfd"
echo "$maps" | grep -q "/memfd:kxen-grant-window" || { echo "$maps" | grep memfd; fail "no grant-window page mapped by kxen-backd"; }
n=$(echo "$maps" | grep -c "/memfd:kxen-grant-window")
pass "kxen-backd maps $n grant-window ranges of a connected vbd and no fd or mapping of the domain's RAM"

# Whatever kxen-backd could reach through the window fd: only pages it maps now. Its data pages in
# the window are exactly those it has mapped (SEEK_DATA over the fd it holds, from /proc).
wfd=$(for f in /proc/$BACKDPID/fd/*; do [ "$(readlink "$f")" = "/memfd:kxen-grant-window (deleted)" ] && echo "$f"; done | head -1)
if [ -n "$wfd" ]; then
	python3 - "$wfd" "$BACKDPID" <<'PY' || fail "the window holds pages kxen-backd does not map"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
data, off = set(), 0
while True:
    try:
        off = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, off, os.SEEK_HOLE)
    data.update(range(off // 4096, (end + 4095) // 4096))
    off = end
mapped = set()
for line in open('/proc/%s/maps' % sys.argv[2]):
    f = line.split()
    if len(f) >= 6 and f[5].startswith('/memfd:kxen-grant-window'):
        lo, hi = (int(x, 16) for x in f[0].split('-'))
        first = int(f[2], 16) // 4096
        mapped.update(range(first, first + (hi - lo) // 4096))
extra = data - mapped
print("window: %d MiB sparse, %d pages present, %d mapped by kxen-backd, %d present but unmapped" %
      (size >> 20, len(data), len(mapped), len(extra)))
sys.exit(1 if extra or not data else 0)
PY
	pass "every page present in kxen-backd's window fd is one it maps"
else
	echo "note: kxen-backd keeps no window fd open (it mmaps and closes)"
fi
"$KXL" destroy winidle
wait_file "$T/backd.log" "d$id: vbd 51712: image closed" 60

# Writes and reads through pages that move into the window and back while the guest runs: every block verified.
disk winloop "blk-loop 300 3 32 1" "$T/b.img"
id=$(create winloop)
wait_log "\(d$id\) blk-loop: (done|FAIL)" 120
grep -q "(d$id) blk-loop: done 300 blocks written and verified" "$T/hv.log" ||
	{ grep "(d$id)" "$T/hv.log" | tail; fail "blk-loop through the grant window"; }
grep -q "grant window\|grant-window move" "$T/hv.log" && { grep "grant.window" "$T/hv.log"; fail "kxen-hv logged a window failure"; }
kill -0 "$HVPID" || fail "kxen-hv died"
pass "300 blocks of 32 KiB written and verified by a running guest through its grant window"
