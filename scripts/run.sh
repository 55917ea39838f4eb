#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make run: build what is missing, boot the test kernel, and show the
# layer working: its boot state, a pin/convert round trip through
# debugfs counters.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

CMD='
echo "== kernel: $(uname -r)"
echo "== boot state:"
dmesg | grep -i "snp_page_lock" || echo "(no snp_page_lock messages)"
echo "== counters (/sys/kernel/debug/snp_page_lock/stats):"
cat /sys/kernel/debug/snp_page_lock/stats
'
rc=0
LOG=$LOGS/run.log QUIET=1 "$ROOT/scripts/vm-run.sh" "$CMD" || rc=$?
sed -n '/^SNP-VM-START$/,/^SNP-VM-EXIT/p' "$LOGS/run.log"
exit $rc
