#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the test binaries listed in /extra/tests.list inside the guest.
# Each line: KIND NAME TIMEOUT COMMAND...  (KIND: tap or exit)
# Output of each is framed by markers the host parses.
rc=0
while read -r kind name tmo cmd; do
	case "$kind" in ''|'#'*) continue ;; esac
	echo "SNPTEST-BEGIN $kind $name"
	t0=$(cut -d. -f1 /proc/uptime)
	timeout "$tmo" sh -c "$cmd" 2>&1
	st=$?
	echo "SNPTEST-END $kind $name $st"
	echo "SNPTEST-TIME $name $(($(cut -d. -f1 /proc/uptime) - t0)) s"
	[ $st -eq 0 ] || rc=1
done < /extra/tests.list
exit $rc
