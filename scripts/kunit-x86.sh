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

for mode in on off; do
	name=kunit-x86
	[ "$mode" = on ] || name=kunit-x86-off
	log "KUnit in the x86_64 kernel: snp_page_lock=$mode"
	LOG=$LOGS/$name.log QUIET=1 TIMEOUT=900 \
	APPEND="snp_page_lock=$mode $KUNIT_ARGS" \
		"$ROOT/scripts/vm-run.sh" "$STATS" || true
	count_kunit "$name" "$LOGS/$name.log" || rc=1
done

# G5: each lockdep rule has a boot that breaks it on purpose and must get
# the report naming the pin map (lockdep turns itself off after the first
# report, hence one boot each).
#   1: converting while holding a pin        -> recursive locking
#   2: waiting for pins under a lock a pinner takes -> circular dependency
while read -r n expect; do
	name=lockdep-selftest-$n
	log "lockdep self-test $n boot (must report: $expect)"
	LOG=$LOGS/$name.log QUIET=1 TIMEOUT=600 \
	APPEND="kunit.enable=1 kunit.filter_glob=snp_page_lock_lockdep snp_page_lock.lockdep_selftest=$n" \
		"$ROOT/scripts/vm-run.sh" true >/dev/null 2>&1 || true
	if "$ROOT/scripts/scan-log.sh" --expect "$expect detected" "$LOGS/$name.log" &&
	   grep -q 'snp_page_pin' "$LOGS/$name.log"; then
		echo "$name: lockdep reported it: ok"
		record "$name" 1 0 0
	else
		echo "$name: FAILED: no '$expect' report naming snp_page_pin (log: $LOGS/$name.log)"
		record "$name" 0 1 0
		rc=1
	fi
done <<'LIST'
1 possible recursive locking
2 possible circular locking dependency
LIST
exit $rc
