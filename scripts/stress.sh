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

"$ROOT/scripts/torture.sh" "$D" || true
"$ROOT/scripts/build-kcsan.sh"
KERNEL=$BUILD/x86-kcsan/arch/x86/boot/bzImage NAME=torture-kcsan \
	"$ROOT/scripts/torture.sh" "$D" || true
"$ROOT/scripts/fuzz.sh" "$D" 4 || true

passed=0 failed=0
for f in "$RESULTS"/*.counts; do
	read -r p fl s < "$f"
	passed=$((passed + p)); failed=$((failed + fl))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
