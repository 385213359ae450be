# Interactive kxtop inside a private tmux server: keys s, v, filter, pause, destroy, resize, lost daemon, q.
. "$(dirname "$0")/lib.sh"
KXTOP=$B/dom0-tools/kxtop/kxtop
command -v tmux >/dev/null 2>&1 || skip "tmux is not installed (Debian package tmux)"

# A private tmux server on a socket in $T: other users' tmux sessions are never touched.
TM="tmux -S $T/tmux.sock -f /dev/null"
KPID=
tm_cleanup() {
	$TM kill-server 2>/dev/null
	[ -n "$KPID" ] && kill "$KPID" 2>/dev/null
	cleanup
}
trap tm_cleanup EXIT

screen() { $TM capture-pane -p -t kx; }
# wait_screen REGEX [SECONDS]: waits until the pane shows REGEX.
wait_screen() {
	wait_until "${2:-60}" screen_has "$1" && return 0
	echo "--- screen ---"; screen
	fail "screen never showed /$1/"
}
screen_has() { screen | grep -Eq -- "$1"; }
screen_lacks() { ! screen_has "$1"; }
# no_screen REGEX: waits until the pane stops showing REGEX.
no_screen() {
	wait_until 60 screen_lacks "$1" && return 0
	echo "--- screen ---"; screen
	fail "screen still shows /$1/"
}

dom0_start
mkcfg alpha idle
mkcfg beta idle
aid=$(create alpha)
bid=$(create beta)
wait_log "^\(d$bid\) idle:" 10

$TM new-session -d -s kx -x 200 -y 40 "$KXTOP -d 0.5 -H $KXEN_HV_SOCKET" || fail "tmux new-session"
KPID=$($TM display-message -p -t kx '#{pane_pid}')
wait_screen '^alpha +--b---'
wait_screen '^beta +--b---'
wait_screen '^2 domains: 0 running, 2 blocked'
wait_screen '^NAME +STATE +CPU\(sec\) CPU\(%\)'
wait_screen 'Sort: NAME asc'
# Alphabetical by default: alpha's row comes before beta's.
[ "$(screen | grep -nE '^(alpha|beta) ' | head -1 | cut -d: -f2 | cut -c1-5)" = "alpha" ] || fail "not sorted by name"

$TM send-keys -t kx s
wait_screen 'Sort: STATE asc'
# The sort column's header is drawn in reverse video (SGR 7), and only that header.
$TM capture-pane -e -p -t kx | grep '^.*NAME' > "$T/hdr"
grep -Eq '7m *STATE' "$T/hdr" || { cat -v "$T/hdr"; fail "STATE header not highlighted"; }
grep -Eq '7m *NAME' "$T/hdr" && fail "NAME header still highlighted after s"
$TM send-keys -t kx s
wait_screen 'Sort: CPU\(sec\) desc'
$TM send-keys -t kx R
wait_screen 'Sort: CPU\(sec\) asc'
$TM send-keys -t kx v
wait_screen '^    VCPU  0: blocked'
$TM send-keys -t kx v
no_screen '^    VCPU'

# Filter by name.
$TM send-keys -t kx / b e t Enter
wait_screen 'Filter: bet'
no_screen '^alpha '
wait_screen '^beta '

# Pause and unpause the selected domain (beta, the only row shown).
$TM send-keys -t kx p
wait_screen '^beta +----p-'
"$KXL" list | awk -v id="$bid" '$2 == id { print $5 }' | grep -q p || fail "kxl list does not show beta paused"
$TM send-keys -t kx u
wait_screen '^beta +--b---'

# Destroy asks first: n cancels, y destroys.
$TM send-keys -t kx X
wait_screen "Destroy beta \(id $bid\)\? \[y/N\]"
$TM send-keys -t kx n
wait_screen 'destroy cancelled'
listed "$bid" || fail "beta destroyed although the prompt was answered n"
$TM send-keys -t kx X
wait_screen 'Destroy beta'
$TM send-keys -t kx y
wait_screen "destroyed beta \(id $bid\)"
wait_screen '\(no domain matches the filter\)'
listed "$bid" && fail "beta still listed after destroy"

# Clearing the filter brings alpha back.
$TM send-keys -t kx / Enter
wait_screen '^alpha '
wait_screen '^1 domains: '

# More domains than the screen holds: End and Home scroll to the last and first rows.
for i in $(seq -w 1 60); do
	mkcfg "g$i" idle 4
	"$KXL" create "$T/g$i.xml" > /dev/null 2>&1 || fail "kxl create g$i"
done
wait_screen '^61 domains: '
screen | grep -q '^g60 ' && fail "g60 on screen before scrolling (the screen holds 33 rows)"
$TM send-keys -t kx End
wait_screen '^g60 '
no_screen '^alpha '
$TM send-keys -t kx PPage PPage Home
wait_screen '^alpha '
$TM send-keys -t kx NPage
wait_screen '^g3[0-9] '

# Shut down the selected domain: kxtop runs kxl shutdown (found in the build tree) and the domain goes.
g01=$(domid_of g01)
$TM send-keys -t kx / g 0 1 Enter
wait_screen '^g01 '
$TM send-keys -t kx S
wait_screen "asked domain $g01 to shut down \\(kxl shutdown\\)"
wait_screen '\(no domain matches the filter\)'
listed "$g01" && fail "g01 still listed after shutdown"
$TM send-keys -t kx / Enter
wait_screen '^60 domains: '

# A terminal too small gets a message, and the view comes back when it grows.
$TM resize-window -t kx -x 30 -y 5
wait_screen 'terminal too small'
$TM resize-window -t kx -x 200 -y 40
wait_screen '^g3[0-9] '
$TM send-keys -t kx C-l
wait_screen '^g3[0-9] '

# kxen-hv goes away: a clear message, kxtop keeps running and reconnects when it is back.
kill "$HVPID"; wait "$HVPID" 2>/dev/null; HVPID=
wait_screen "kxen-hv unreachable at $KXEN_HV_SOCKET"
kill -0 "$KPID" 2>/dev/null || fail "kxtop died when kxen-hv went away"
hv_start
wait_screen '^0 domains: '

$TM send-keys -t kx q
wait_until 60 eval '! kill -0 "$KPID" 2>/dev/null' || fail "kxtop did not quit on q"
KPID=
pass "sort, vCPU rows, filter, pause/unpause, confirmed destroy, scrolling 61 domains, shutdown, resize, lost daemon and quit all work"
