#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Scan a kernel console log for splats.
#
#   scan-log.sh LOG                 fail (exit 1) on any splat
#   scan-log.sh --expect RE LOG     pass only if RE matches (a boot that
#                                   is meant to splat); other splats are
#                                   not checked
#
# Any lockdep, KASAN, KCSAN, UBSAN report, WARNING, BUG, Oops, panic,
# RCU stall or hung task fails the run; the offending lines are printed
# with some context (line numbers of the log without OOM-killer reports).
set -uo pipefail

expect=
if [ "${1:-}" = "--expect" ]; then
	expect=$2
	shift 2
fi
log=$1
if [ ! -r "$log" ]; then
	echo "scan-log: FAIL: no log $log"
	exit 1
fi

SPLAT='WARNING:|BUG:|Oops|Kernel panic|general protection fault|'
SPLAT+='UBSAN:|KASAN:|KCSAN:|possible recursive locking|'
SPLAT+='circular locking dependency|inconsistent lock state|'
SPLAT+='suspicious RCU usage|lock held when returning to user|'
SPLAT+='DEBUG_LOCKS_WARN_ON|detected stalls on CPU|blocked for more than|'
SPLAT+='refcount_t:|list_add corruption|list_del corruption|'
SPLAT+='Unable to handle kernel|stack-protector|kernel BUG at|'
SPLAT+='sleeping function called from invalid context|'
SPLAT+='scheduling while atomic|bad page state|BAD page|'
SPLAT+='Call Trace:'

if [ -n "$expect" ]; then
	if grep -Eq -- "$expect" "$log"; then
		echo "scan-log: expected splat found in $log:"
		grep -En -m5 -- "$expect" "$log"
		exit 0
	fi
	echo "scan-log: FAIL: expected splat /$expect/ not found in $log"
	exit 1
fi

# The OOM killer's report (a test that exceeds a memory cgroup's limit on
# purpose) carries a stack trace but is not a kernel bug: its lines, from
# "invoked oom-killer" to the end of its trace, are not scanned.
scanned=$(mktemp)
trap 'rm -f "$scanned"' EXIT
awk '/invoked oom-killer:/ { skip = 1 }
     !skip { print; next }
     /<\/TASK>/ { skip = 0 }' "$log" > "$scanned"

if grep -Eq -- "$SPLAT" "$scanned"; then
	echo "scan-log: FAIL: kernel splat in $log:"
	grep -En -B2 -A25 -m3 -- "$SPLAT" "$scanned" | head -120
	exit 1
fi
exit 0
