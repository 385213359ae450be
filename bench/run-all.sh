#!/bin/sh
# Runs every kxen benchmark in turn and repeats their RESULT lines at the end; exits 77 if all were skipped.
# Usage: KXEN_BUILDDIR=/path/to/build sh run-all.sh [extra args are not passed: run a benchmark alone for that]
set -u
B=${KXEN_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)}
out=$(mktemp "${TMPDIR:-/tmp}/kxen-bench-all.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
failed=0 skipped=0 ran=0
for b in bench_create bench_hypercall bench_phases bench_density bench_gnttab bench_xenstore bench_xenbus bench_kxl bench_kxtop bench_disk; do
	echo "=== $b"
	if [ ! -x "$B/bench/$b" ]; then
		echo "$b: not built in $B/bench"
		failed=$((failed + 1))
		continue
	fi
	# tee keeps the output live; the status comes back through a file since pipes lose it.
	{ "$B/bench/$b"; echo $? > "$out.rc"; } | tee -a "$out"
	rc=$(cat "$out.rc"); rm -f "$out.rc"
	case $rc in
	0) ran=$((ran + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) echo "$b: exited with status $rc"; failed=$((failed + 1)) ;;
	esac
done
echo "=== summary ($ran ran, $skipped skipped, $failed failed)"
grep '^RESULT ' "$out"
[ "$failed" -gt 0 ] && exit 1
[ "$ran" -eq 0 ] && [ "$skipped" -gt 0 ] && exit 77
exit 0
