#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make test: everything CI runs, in order. Every stage runs even if an
# earlier one failed; the last line is "N passed, N failed" counting
# test cases over all stages.
. "$(dirname "$0")/lib.sh"

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
: > "$LOGS/timings"

STAGES=${STAGES:-"scan-selftest model check series-check kunit-uml kunit-x86 selftests kvm-selftests torture kcsan fuzz bench-smoke"}
# The benchmark smoke test runs on the main test kernel (no timing is
# asserted), which saves CI the build of the benchmark kernel.
export BENCH_KDIR=${BENCH_KDIR:-$X86_OUT}
# The patch series: generated, checkpatch per patch, git am. Its build at
# every patch takes long: make series-check.
export SERIES_CHECK=quick
for stage in $STAGES; do
	run_stage "$stage" "$ROOT/scripts/$stage.sh"
done

echo
echo "=== results (source: $(cat "$BUILD/source-version"))"
echo "  timings (s): $(tr '\n' ' ' < "$LOGS/timings")"
print_results
