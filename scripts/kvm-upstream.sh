#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every upstream x86_64 KVM selftest (tools/testing/selftests/kvm,
# TEST_GEN_PROGS_x86_64, ours excluded) in the x86_64 test kernel, once
# with the layer on and once with snp_page_lock=off, each test with a
# timeout, and write one line per test and boot to
# .build/kvm-upstream/{on,off}.txt: "NAME STATUS" (pass, fail, skip,
# timeout). Used to (re)make configs/kvm-selftests-tcg.list, the tests
# that pass here and that make kvm-selftests runs (make test: all but those
# marked slow); not part of make test itself.
#
#   kvm-upstream.sh [TIMEOUT_PER_TEST]
#
# MODES="on" or "off" runs one boot only (the other's results stay).
. "$(dirname "$0")/lib.sh"

TMO=${1:-120}
"$ROOT/scripts/build-x86.sh"

OUT=$BUILD/kvm-upstream
D=$OUT/extra
mk=$SRC/tools/testing/selftests/kvm/Makefile
mapfile -t tests < <(sed -n 's/^TEST_GEN_PROGS_x86_64 +\{0,1\}= *//p' "$mk" |
		     grep -v snp_pl_)
stage_kvm_tests "$D" "$TMO" "$LOGS/kvm-upstream-build.log" "${tests[@]}"

for mode in ${MODES:-on off}; do
	log "all ${#tests[@]} upstream KVM selftests, snp_page_lock=$mode"
	LOG=$LOGS/kvm-upstream-$mode.log QUIET=1 MEM=3G \
	TIMEOUT=$(( ${#tests[@]} * (TMO + 10) + 300 )) \
	APPEND="snp_page_lock=$mode kvm.tsc_tolerance_ppm=5000" \
		"$ROOT/scripts/vm-run.sh" "sh /extra/run-tests.sh" "$D" || true
	# run-tests.sh: "SNPTEST-END exit NAME STATUS"; timeout(1) gives 124,
	# a kselftest skip 4, busybox timeout(1) 143.
	sed -n 's/^SNPTEST-END exit \([^ ]*\) \([0-9]*\)$/\1 \2/p' \
		"$LOGS/kvm-upstream-$mode.log" |
	awk '{ s = "fail" }
	     $2 == 0 { s = "pass" }
	     $2 == 4 { s = "skip" }
	     $2 == 124 || $2 == 143 { s = "timeout" }
	     { print $1, s }' \
		> "$OUT/$mode.txt"
	log "$mode: $(awk '{print $2}' "$OUT/$mode.txt" | sort | uniq -c | xargs)"
done
# Every test that passes with the layer off must pass with it on.
join <(sort "$OUT/off.txt") <(sort "$OUT/on.txt") |
	awk '$2 == "pass" && $3 != "pass" { print "REGRESSION:", $1, $3; bad = 1 }
	     END { exit bad }'
