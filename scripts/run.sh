#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make run: the main job. Build what is missing, boot the test kernel and
# show the layer working: its boot state, the VMM demo (snp_pl_demo: a
# VMM pins pages for I/O, the guest asks for some of them, the VMM gets
# EPOLLPRI, unpins, the conversion completes, a touch of a private page
# gets SIGBUS), the VM demo (snp_pl_vm_demo: guest memory in a
# guest_memfd converted in place; a guest's host access to a page made
# private becomes a memory-fault exit, the VMM converts back, the guest
# finishes), the layer's tracepoints through perf (the VMM demo under
# perf stat and perf record, as make trace does: the event counts must
# agree with the debugfs counters) and the layer's counters; then a short
# benchmark table.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

D=$BUILD/run-extra
rm -rf "$D"
# perf, the VMM demo and the perf checks; then the VM demo.
build_perf_extra "$D"
build_lock
build_kvm_selftests x86_64/snp_pl_vm_demo
flock -u 9
cp "$KST_KVM/x86_64/snp_pl_vm_demo" "$D/"

CMD='
echo "== kernel $(uname -r), $(nproc) CPUs"
echo "== boot state:"
dmesg | grep -i "snp_page_lock" | sed "s/^\[[^]]*\] /  /"
echo "== the VMM demo (/dev/snp_page_lock, test pool):"
/extra/snp_pl_demo
rc=$?
echo "== a VM on guest_memfd converted in place (KVM as the consumer):"
/extra/snp_pl_vm_demo || rc=1
echo "== the tracepoints through perf (make trace): the VMM demo again, under"
echo "   perf stat and perf record; perf counts next to the debugfs counters:"
/extra/perf-check.sh trace || rc=1
echo "== counters (/sys/kernel/debug/snp_page_lock/stats):"
sed "s/^/  /" /sys/kernel/debug/snp_page_lock/stats
exit $rc
'
rc=0
LOG=$LOGS/run.log QUIET=1 "$ROOT/scripts/vm-run.sh" "$CMD" "$D" || rc=$?
sed -n '/^SNP-VM-START$/,/^SNP-VM-EXIT/p' "$LOGS/run.log" |
	grep -v '^SNP-VM-' | grep -v '^\[ *[0-9.]*\] ' || true
[ $rc -eq 0 ] || { echo "run: FAILED (exit $rc, log: $LOGS/run.log)"; exit $rc; }

# RUN_BENCH=0 skips the benchmark (and the build of its kernel).
if [ "${RUN_BENCH:-1}" = 1 ]; then
	echo
	echo "== benchmark (one boot; make bench for the full run):"
	BENCH_OUT=$BUILD/bench-run BENCH_REPEAT=1 BENCH_UML=0 \
		"$ROOT/scripts/bench.sh" > "$LOGS/run-bench.log" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		cat "$BUILD/bench-run/short.md"
	else
		tail -20 "$LOGS/run-bench.log"
	fi
fi
exit $rc
