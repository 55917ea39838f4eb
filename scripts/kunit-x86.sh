#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# KUnit built into the x86_64 test kernel (KASAN + lockdep): one boot
# with the layer on, one with snp_page_lock=off, and one boot that runs
# the lockdep self-test, which must produce the G5 lockdep report.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

rc=0
KUNIT_ARGS="kunit.enable=1 kunit.filter_glob=snp_page_lock*"
STATS='cat /sys/kernel/debug/snp_page_lock/stats 2>/dev/null; true'

# name  suite this boot is for  layer
# 4 GiB: QEMU's pc machine puts RAM below 3 GiB and above 4 GiB, so the
# word map has chunks without memory (snp_test_hole_uses_sink).
while read -r name suite mode; do
	log "KUnit in the x86_64 kernel: snp_page_lock=$mode"
	LOG=$LOGS/$name.log QUIET=1 TIMEOUT=900 MEM=4G \
	APPEND="snp_page_lock=$mode $KUNIT_ARGS" \
		"$ROOT/scripts/vm-run.sh" "$STATS" || true
	count_kunit "$name" "$LOGS/$name.log" "$suite" || rc=1
done <<'LIST'
kunit-x86 snp_page_lock on
kunit-x86-off snp_page_lock_off off
LIST

# G5: each lockdep rule has a boot that breaks it on purpose and must get
# the report naming the pin map (lockdep turns itself off after the first
# report, hence one boot each).
#   1: converting while holding a pin        -> recursive locking
#   2: waiting for pins under a lock a pinner takes -> circular dependency
while read -r n case expect; do
	name=lockdep-selftest-$n
	log "lockdep self-test $n boot (must report: $expect)"
	rc1=0
	LOG=$LOGS/$name.log QUIET=1 TIMEOUT=600 EXPECT="$expect detected" \
	APPEND="kunit.enable=1 kunit.filter_glob=snp_page_lock_lockdep snp_page_lock.lockdep_selftest=$n" \
		"$ROOT/scripts/vm-run.sh" true > /dev/null || rc1=$?
	# The case itself checks that lockdep turned off (debug_locks).
	if [ $rc1 -eq 0 ] && grep -q 'snp_page_pin' "$LOGS/$name.log" &&
	   grep -Eq "] +ok [0-9]+ $case\$" "$LOGS/$name.log"; then
		echo "$name: lockdep reported it, $case passed: ok"
	else
		echo "$name: FAILED: no '$expect' report naming snp_page_pin, or $case did not pass (log: $LOGS/$name.log)"
		rc1=1
		rc=1
	fi
	record_one "$name" $rc1
done <<'LIST'
1 snp_test_lockdep_convert_while_pinned possible recursive locking
2 snp_test_lockdep_wait_under_lock possible circular locking dependency
LIST
exit $rc
