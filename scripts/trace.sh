#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make trace: the layer's tracepoints through perf. Boots the test kernel
# and runs the VMM demo (snp_pl_demo: a conversion waits for the VMM's
# pin) under perf stat -a -e 'snp_page_lock:*', then under perf record,
# and prints perf script's events; the event counts are shown next to
# the debugfs counters, and must agree (scripts/guest/perf-check.sh
# trace). make run does the same in its own boot.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

D=$BUILD/trace-extra
rm -rf "$D"
build_perf_extra "$D"

rc=0
LOG=$LOGS/trace.log QUIET=1 "$ROOT/scripts/vm-run.sh" \
	"/extra/perf-check.sh trace" "$D" || rc=$?
sed -n '/^SNP-VM-START$/,/^SNP-VM-EXIT/p' "$LOGS/trace.log" |
	grep -v '^SNP-VM-' | grep -v '^\[ *[0-9.]*\] ' || true
[ $rc -eq 0 ] || { echo "trace: FAILED (exit $rc, log: $LOGS/trace.log)"; exit $rc; }
