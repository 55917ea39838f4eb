#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test the console-log scanner on saved logs: a clean boot must pass,
# a boot with a planted WARN_ON(1) (and the other splat kinds) must fail
# with the offending lines shown.
. "$(dirname "$0")/lib.sh"

p=0 f=0
for log in "$ROOT"/scripts/testdata/*.log; do
	n=$(basename "$log" .log)
	out=$("$ROOT/scripts/scan-log.sh" "$log" 2>&1) && got=pass || got=fail
	case "$n" in
	clean-*) want=pass ;;
	*) want=fail ;;
	esac
	if [ "$got" = "$want" ]; then
		p=$((p + 1))
		echo "ok: scan-log $n: $got"
		[ "$want" = pass ] || echo "$out" | sed -n '1,4p'
	else
		f=$((f + 1))
		echo "FAIL: scan-log $n: expected $want, got $got"
		echo "$out"
	fi
done
record scan-selftest $p $f 0
[ $f -eq 0 ]
