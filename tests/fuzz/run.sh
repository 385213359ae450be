#!/bin/bash
# make fuzz: builds the libFuzzer harnesses (clang), generates the seed corpora, replays the regression inputs,
# then runs each harness for FUZZ_SECONDS (default 60) on its corpus. Exits non-zero if any harness found something.
# Usage: run.sh SRCDIR BUILDDIR [HARNESS...]   Env: FUZZ_SECONDS, FUZZ_JOBS (parallel harnesses, default 1).
set -uo pipefail
S=$(cd "$1" && pwd) B=$(cd "$2" && pwd)
shift 2
O=$B/build-fuzz
SECS=${FUZZ_SECONDS:-60}
ALL="xml xenstore elf qcow2 blkback netback console hypercall bzimage pvl"
HARNESSES=${*:-$ALL}
"$S/tests/fuzz/build.sh" "$S" "$B" "$O" || exit 1
rm -rf "$O/seeds"
python3 "$S/tests/fuzz/seeds.py" "$S" "$B" "$O/seeds" || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
fails=0
run_one() { # NAME: regression inputs once each, then FUZZ_SECONDS of fuzzing
	local h=$1 log=$O/fuzz_$1.log
	mkdir -p "$O/corpus/$h" "$O/artifacts/$h"
	rm -f "$log"
	if ls "$O/seeds/$h"/regress-* >/dev/null 2>&1 &&
		! "$O/fuzz_$h" "$O/seeds/$h"/regress-* >>"$log" 2>&1; then
		echo "fuzz $h: a regression input fails again (see $log)"
		return 1
	fi
	# -timeout: one input that runs this long is a finding (a hang); -rss_limit_mb bounds a leak.
	"$O/fuzz_$h" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$O/artifacts/$h/" "$O/corpus/$h" "$O/seeds/$h" >>"$log" 2>&1
	local rc=$? execs speed cov
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ $rc != 0 ]; then
		echo "fuzz $h: FOUND something after ${execs:-?} runs; input in $O/artifacts/$h/, log $log:"
		grep -E 'ERROR|oracle|SUMMARY|Test unit written' "$log" | head -5
		return 1
	fi
	echo "fuzz $h: clean, ${SECS} s, ${execs:-?} runs, ${speed:-?} exec/s, ${cov:-cov ?}, corpus $(ls "$O/corpus/$h" | wc -l)"
}
jobs_max=${FUZZ_JOBS:-1}
for h in $HARNESSES; do
	[ -x "$O/fuzz_$h" ] || { echo "fuzz: no harness '$h' (have: $ALL)"; fails=$((fails + 1)); continue; }
	if [ "$jobs_max" -gt 1 ]; then
		run_one "$h" > "$O/fuzz_$h.summary" &
		while [ "$(jobs -r | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	else
		run_one "$h" || fails=$((fails + 1))
	fi
done
if [ "$jobs_max" -gt 1 ]; then
	wait
	for h in $HARNESSES; do
		cat "$O/fuzz_$h.summary" 2>/dev/null
		grep -q ': clean' "$O/fuzz_$h.summary" 2>/dev/null || fails=$((fails + 1))
	done
fi
echo "fuzz: $(( $(echo $HARNESSES | wc -w) - fails )) passed, $fails failed"
[ $fails = 0 ]
