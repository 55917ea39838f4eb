#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Smoke test of the benchmark, for `make test`: a short run ("quick":
# 2 ms per timed run, 3 runs) of every op under QEMU -smp 2, layer on and
# then off. Checks that every op ran (the conversions report "skipped:
# layer off" in the off boot), that every number is positive and finite
# and that bad input to "run" is refused; in the layer-on boot, perf bench
# snp-page-lock (every benchmark briefly, bad options refused) and the
# tracepoint recipe (perf stat and perf record of the VMM demo: event
# counts agree with the debugfs counters; scripts/guest/perf-check.sh);
# then the native harness of the
# inline pin fast path (tools/testing/snp_page_lock) in smoke mode. No
# timing is asserted. Records the counts as stage bench-smoke (one case
# per op and boot).
#
# Under `make test` it runs on the main test kernel (.build/x86, KASAN +
# lockdep: test.sh sets BENCH_KDIR to it), which saves CI the build of
# the benchmark kernel; run alone it builds and boots .build/x86-bench.
#
# Environment: BENCH_NO_BUILD=1 (use the kernel as built), BENCH_KDIR
# (a kernel build dir with CONFIG_SNP_PAGE_LOCK_BENCH=y, default
# .build/x86-bench; the main test kernel is built as `make x86` does,
# any other dir is used as it is).
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/bench-lib.sh"

KDIR=${BENCH_KDIR:-$BUILD/x86-bench}
OUT=$BUILD/bench-smoke

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	if [ -z "${BENCH_KDIR:-}" ]; then
		"$ROOT/scripts/build-x86.sh" "$KDIR" "${BENCH_FRAGS[@]}"
	elif [ "$(realpath -m "$KDIR")" = "$(realpath -m "$X86_OUT")" ]; then
		# The main test kernel (make test): the benchmark is built in.
		"$ROOT/scripts/build-x86.sh"
	fi
fi
mkdir -p "$OUT"
build_map_bench "$OUT/extra"
build_perf_extra "$OUT/extra"

CMD='
B=/sys/kernel/debug/snp_page_lock_bench
if echo bogus > $B/run 2>/dev/null; then echo "bad input accepted"; exit 3; fi
echo run quick > $B/run || exit 1
echo SNP-BENCH-CSV-BEGIN
cat $B/results
/extra/snp_pl_map_bench 1000 3 || exit 1
echo SNP-BENCH-CSV-END'
# The layer-on boot also runs perf bench snp-page-lock briefly and the
# tracepoint recipe (scripts/guest/perf-check.sh): one case per line
# "PERF-CHECK PASS|FAIL".
PERF_CMD='
/extra/perf-check.sh smoke
/extra/perf-check.sh trace
true'

# A kernel with jump labels (the benchmark kernel, when run alone): the
# VM the KVM benchmark creates live-patches preempt_notifier_key, which
# multi-threaded TCG has been seen to trip over (see scripts/bench.sh).
accel=tcg
grep -q '^CONFIG_JUMP_LABEL=y' "$KDIR/.config" && accel=tcg,thread=single

passed=0 failed=0
for mode in on off; do
	append=
	flag=
	cmd=$CMD$PERF_CMD
	if [ $mode = off ]; then
		append=snp_page_lock=off
		flag=--off
		cmd=$CMD
	fi
	log "bench-smoke: layer $mode"
	st=0
	ACCEL=$accel KERNEL=$KDIR/arch/x86/boot/bzImage APPEND="$append" \
		LOG="$LOGS/bench-smoke-$mode.log" QUIET=1 TIMEOUT=300 \
		"$ROOT/scripts/vm-run.sh" "$cmd" "$OUT/extra" || st=$?
	extract_csv "$LOGS/bench-smoke-$mode.log" "$OUT/$mode.csv"
	out=$(python3 "$ROOT/benchmarks/report.py" check "$OUT/$mode.csv" $flag) || true
	echo "$out" | sed '$d'
	read -r p f <<< "$(echo "$out" | tail -1)"
	[[ "$p" =~ ^[0-9]+$ && "$f" =~ ^[0-9]+$ ]] || { p=0; f=1; }
	if [ $st -ne 0 ]; then
		echo "  FAIL boot (layer $mode): exit $st, log $LOGS/bench-smoke-$mode.log"
		f=$((f + 1))
	fi
	if [ $mode = on ]; then
		grep -a '^PERF-CHECK ' "$LOGS/bench-smoke-$mode.log" | sed 's/^PERF-CHECK /  perf: /'
		pp=$(grep -ac '^PERF-CHECK PASS ' "$LOGS/bench-smoke-$mode.log" || true)
		pf=$(grep -ac '^PERF-CHECK FAIL ' "$LOGS/bench-smoke-$mode.log" || true)
		if [ "$pp" -eq 0 ]; then
			echo "  FAIL perf: no perf check ran (log $LOGS/bench-smoke-$mode.log)"
			pf=$((pf + 1))
		fi
		p=$((p + pp))
		f=$((f + pf))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

# The native harness of the inline fast path (tools/testing/snp_page_lock):
# its semantic self-check, then a few ms per op; no timing asserted.
log "bench-smoke: native harness"
st=0
native_build "$OUT/native" > "$LOGS/bench-smoke-native.log" 2>&1 &&
	"$OUT/native/snp_pl_native" -s > "$OUT/native.csv" \
	2>> "$LOGS/bench-smoke-native.log" || st=$?
out=$(python3 "$ROOT/benchmarks/report.py" check "$OUT/native.csv" --native) || true
echo "$out" | sed '$d'
read -r p f <<< "$(echo "$out" | tail -1)"
[[ "$p" =~ ^[0-9]+$ && "$f" =~ ^[0-9]+$ ]] || { p=0; f=1; }
if [ $st -ne 0 ]; then
	echo "  FAIL native harness: exit $st, log $LOGS/bench-smoke-native.log"
	tail -5 "$LOGS/bench-smoke-native.log"
	f=$((f + 1))
fi
# Bad options are refused.
if "$OUT/native/snp_pl_native" -r 0 > /dev/null 2>&1; then
	echo "  FAIL native harness: -r 0 accepted"
	f=$((f + 1))
else
	p=$((p + 1))
fi
passed=$((passed + p))
failed=$((failed + f))

record bench-smoke "$passed" "$failed" 0
echo "bench-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
