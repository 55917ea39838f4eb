#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make stress DURATION=SECONDS: long runs outside CI (default 600 s
# each): the torture test in the KASAN + lockdep kernel and in the KCSAN
# kernel, then the ABI fuzzer. Ends with "N passed, N failed".
. "$(dirname "$0")/lib.sh"

D=${DURATION:-600}
RESULTS=$BUILD/results-stress
export RESULTS
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
: > "$LOGS/timings"

kcsan_torture() {
	"$ROOT/scripts/build-kcsan.sh" &&
	KERNEL=$BUILD/x86-kcsan/arch/x86/boot/bzImage NAME=torture-kcsan \
		"$ROOT/scripts/torture.sh" "$D"
}

run_stage torture "$ROOT/scripts/torture.sh" "$D"
run_stage torture-kcsan kcsan_torture
run_stage fuzz "$ROOT/scripts/fuzz.sh" "$D" 4
print_results
