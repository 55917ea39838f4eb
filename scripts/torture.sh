#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the snp_page_lock_torture kthreads in the x86_64 test kernel (KASAN
# + lockdep, -smp 2) for DURATION seconds (default 30). Passes only on
# "SUCCESS" with operations counted, no violation and no splat.
#
#   torture.sh [DURATION] [extra snp_page_lock_torture.* params]
. "$(dirname "$0")/lib.sh"

DURATION=${1:-${DURATION:-30}}
shift || true
PARAMS="$*"
NAME=${NAME:-torture}

# KERNEL=... (e.g. the KCSAN kernel, see kcsan.sh) skips the main build.
[ -n "${KERNEL:-}" ] || "$ROOT/scripts/build-x86.sh"

R=/sys/module/snp_page_lock_torture/parameters/result
CMD="
[ -r $R ] || { echo 'torture result: not built in'; exit 1; }
i=0
while ! grep -qE 'SUCCESS|FAILURE' $R && [ \$i -lt $((DURATION * 3 + 120)) ]; do
	sleep 1; i=\$((i + 1))
done
dmesg | grep snp_page_lock_torture
echo \"torture result: \$(cat $R)\"
grep -q SUCCESS $R
"
rc=0
LOG=$LOGS/$NAME.log QUIET=1 TIMEOUT=$((DURATION * 3 + 300)) \
APPEND="snp_page_lock_torture.run=1 snp_page_lock_torture.duration=$DURATION $PARAMS" \
	"$ROOT/scripts/vm-run.sh" "$CMD" || rc=$?
grep -E 'snp_page_lock_torture: (start|end|SUCCESS|FAILURE|VIOLATION)' \
	"$LOGS/$NAME.log" | sed 's/^\[[^]]*\] //' | awk '!seen[$0]++' | head -20 || true
# CMD's status is the "SUCCESS" check; vm-run adds the splat scan.
[ $rc -eq 0 ] || echo "$NAME: FAILED (exit $rc, log: $LOGS/$NAME.log)"
record_one "$NAME" $rc
exit $rc
