#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make test: everything CI runs, in order. Every stage runs even if an
# earlier one failed; the last line is "N passed, N failed" counting
# test cases over all stages.
. "$(dirname "$0")/lib.sh"

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
: > "$LOGS/timings"

STAGES=${STAGES:-"scan-selftest model check kunit-uml kunit-x86 selftests torture kcsan fuzz bench-smoke"}
# The benchmark smoke test runs on the main test kernel (no timing is
# asserted), which saves CI the build of the benchmark kernel.
export BENCH_KDIR=${BENCH_KDIR:-$X86_OUT}
for stage in $STAGES; do
	before=$(ls "$RESULTS" | wc -l)
	log "=== $stage"
	rc=0
	timed "$stage" "$ROOT/scripts/$stage.sh" || rc=$?
	if [ $rc -ne 0 ] && [ "$(ls "$RESULTS" | wc -l)" -eq "$before" ]; then
		record "$stage-error" 0 1 0
	fi
done

echo
echo "=== results (source: $(cat "$BUILD/source-version"))"
passed=0 failed=0 skipped=0
for f in "$RESULTS"/*.counts; do
	read -r p fl s < "$f"
	printf '  %-24s %4d passed %4d failed %4d skipped\n' \
		"$(basename "$f" .counts)" "$p" "$fl" "$s"
	passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + s))
done
echo "  timings (s): $(tr '\n' ' ' < "$LOGS/timings")"
echo "  skipped cases are suites meant for the other boot (layer on/off, lockdep self-test): $skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
