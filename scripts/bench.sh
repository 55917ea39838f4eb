#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the snp_page_lock benchmark (mm/snp/snp_page_lock_bench.c).
#
# Builds the benchmark kernel (.build/x86-bench: no debug options) and
# boots it under QEMU TCG -smp 2: layer on, and snp_page_lock=off, each
# once for the in-kernel benchmark and once for the KVM one
# (snp_pl_map_bench: a VM's kvm_vcpu_map() + kvm_vcpu_unmap() against
# get_page() + put_page(), in-place guest_memfd conversions, with the
# in-kernel baselines they are compared with; see qemu_boot)
# (the static key is set once at boot, so "off" is a second boot; every
# ratio compares ops measured in the same boot). Builds a UML kernel
# (.build/uml-bench) and runs the single-thread ops there at native speed,
# layer on and off. Runs the native harness of the inline pin fast path
# (tools/testing/snp_page_lock) on the host's two cores. Every boot is repeated BENCH_REPEAT times: the host
# has two cores shared with other work, and the median over boots rejects
# a boot that lost its CPU. Writes under .build/bench/:
#   results.csv  every op of every boot (ns/op, Mops/s, ratio to get_put)
#   table.md     full table + issue 7's targets, met or missed
#   short.md     the short table (printed at the end, for `make run`)
#   plot.png     each target's ratio against its goal, one panel per
#                target, and the VMM's PIN+UNPIN per page (gnuplot)
# The layer-on boots also run perf bench snp-page-lock all (the VMM side
# through /dev/snp_page_lock: qemu-on-N-vmm.txt; in the CSV as env vmm and
# in table.md).
# and the raw CSVs and console logs of each boot.
#
# Environment: BENCH_MS (target ms per timed run, default 20), BENCH_RUNS
# (timed runs per op, median reported, default 5), BENCH_REPEAT (boots of
# each kind, default 3), BENCH_UML=0 (skip UML),
# BENCH_NO_BUILD=1 (use the kernels as built), BENCH_OUT (default
# .build/bench).
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/bench-lib.sh"

OUT=${BENCH_OUT:-$BUILD/bench}
KDIR=$BUILD/x86-bench
UDIR=$BUILD/uml-bench
MS=${BENCH_MS:-20}
RUNS=${BENCH_RUNS:-5}
REPEAT=${BENCH_REPEAT:-3}
BENCH_UML=${BENCH_UML:-1}
# The ops worth a second boot with the layer off.
OFF_OPS=empty,get_put,kmap,kmap_pfn,pin,snp_kmap,v5_srcu,v6_spin,get_put_2m,pin_2m,alloc_free_0,alloc_free_9
# The in-kernel ops of the KVM boots: the baselines of the KVM ratios.
KVM_OPS=get_put,layer_1p,convert_1p,layer_2m,convert_2m
t_start=$(now)

mkdir -p "$OUT"
rm -f "$OUT"/*.csv "$OUT"/*.md "$OUT"/plot* "$OUT"/*.log "$OUT"/*-vmm.txt

# --- build -------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	timed bench-build-x86 "$ROOT/scripts/build-x86.sh" "$KDIR" "${BENCH_FRAGS[@]}"
	for opt in KASAN KCSAN PROVE_LOCKING DEBUG_VM DEBUG_ATOMIC_SLEEP; do
		! grep -q "^CONFIG_$opt=y" "$KDIR/.config" ||
			die "$KDIR has CONFIG_$opt: not a benchmark kernel"
	done
	if [ "$BENCH_UML" = 1 ]; then
		# Under the build lock, released when the subshell ends.
		( build_lock
		  "$ROOT/scripts/overlay.sh"
		  cd "$SRC"
		  log "kunit.py build (UML, $UDIR)"
		  PYTHONDONTWRITEBYTECODE=1 timed bench-build-uml \
			python3 tools/testing/kunit/kunit.py build \
			--kunitconfig="$ROOT/configs/uml-bench.kunitconfig" \
			--build_dir="$UDIR" --jobs="$JOBS" \
			> "$LOGS/bench-uml-build.log" 2>&1 ) || {
			tail -30 "$LOGS/bench-uml-build.log" >&2
			log "UML build failed (log: $LOGS/bench-uml-build.log): no UML numbers"
			BENCH_UML=0
		}
	fi
fi

# The KVM benchmark driver, run in every QEMU boot after the layer's, and
# perf with the snp-page-lock bench collection (the VMM side, run in the
# layer-on boots).
MAP_BENCH=$OUT/extra
build_map_bench "$MAP_BENCH"
build_perf_extra "$MAP_BENCH"
# The native harness of the inline pin fast path, on the host's CPUs.
native_build "$OUT/native-bin" > "$LOGS/bench-native-build.log" 2>&1 ||
	die "native harness build failed (log: $LOGS/bench-native-build.log)"

# --- measure -----------------------------------------------------------
# Hold the build lock while measuring: a kernel build of the team's
# scripts on the same two cores would be measured too.
build_lock
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

rc=0
# qemu_boot NAME APPEND RUNARGS [kvm|perf]: with "perf", perf bench
# snp-page-lock all too (the VMM side: its simple output goes to
# NAME-vmm.txt); with "kvm", the KVM benchmark too,
# under single-threaded TCG: creating a VM flips preempt_notifier_key, and
# under multi-threaded TCG a CPU in __schedule() has been seen to trap on
# the int3 of that live patch (an "Oops: int3" of the benchmark kernel,
# which has jump labels; the test kernels do not). The ops of such a boot
# are single-thread ones, whose ratios need no second CPU.
qemu_boot() {
	local name=$1 append=$2 args=$3 kvm= perf= st=0
	[ "${4:-}" = kvm ] && kvm=1
	[ "${4:-}" = perf ] && perf=1
	local cmd="
B=/sys/kernel/debug/snp_page_lock_bench
echo '$args' > \$B/run || exit 1
echo SNP-BENCH-CSV-BEGIN
cat \$B/results
[ -z '$kvm' ] || /extra/snp_pl_map_bench 100000 $RUNS || exit 1
echo SNP-BENCH-CSV-END
if [ -n '$perf' ]; then
	echo SNP-PERF-BEGIN
	/extra/perf bench -f simple snp-page-lock all || exit 1
	echo SNP-PERF-END
fi
cat /sys/kernel/debug/snp_page_lock/stats"
	log "QEMU -smp 2 boot: $name (${append:-layer on by Kconfig}): $args${kvm:+ + KVM (thread=single)}"
	ACCEL=${kvm:+tcg,thread=single} MEM=${perf:+3G} \
	KERNEL=$KDIR/arch/x86/boot/bzImage APPEND="$append" \
		LOG="$OUT/$name.log" QUIET=1 TIMEOUT=900 \
		timed "bench-$name" "$ROOT/scripts/vm-run.sh" "$cmd" \
		"$MAP_BENCH" || st=$?
	extract_csv "$OUT/$name.log" "$OUT/$name.csv"
	[ -z "$perf" ] || sed -n '/^SNP-PERF-BEGIN$/,/^SNP-PERF-END$/p' "$OUT/$name.log" |
		grep -E '^(pin|convert|handoff|fault) ' > "$OUT/$name-vmm.txt" || true
	if [ $st -ne 0 ]; then
		log "$name: guest exit $st (log: $OUT/$name.log)"
		rc=1
	fi
}

for r in $(seq "$REPEAT"); do
	log "native harness run $r (tools/testing/snp_page_lock, host CPUs)"
	timed "bench-native-$r" "$OUT/native-bin/snp_pl_native" -m "$MS" \
		-r "$RUNS" > "$OUT/native-$r.csv" 2> "$OUT/native-$r.log" || {
		log "native-$r: harness failed (log: $OUT/native-$r.log)"
		rc=1
	}
	qemu_boot "qemu-on-$r" "" "run ms=$MS runs=$RUNS" perf
	qemu_boot "qemu-off-$r" "snp_page_lock=off" \
		"run ms=$MS runs=$RUNS only=$OFF_OPS"
	qemu_boot "qemu-on-kvm$r" "" "run ms=$MS runs=$RUNS only=$KVM_OPS" kvm
	qemu_boot "qemu-off-kvm$r" "snp_page_lock=off" \
		"run ms=$MS runs=$RUNS only=get_put" kvm
	if [ "$BENCH_UML" = 1 ] && [ -x "$UDIR/linux" ]; then
		for mode in on off; do
			name=uml-$mode-$r
			log "UML boot: $name (single-thread ops)"
			timeout -k 10 600 "$UDIR/linux" mem=512M console=tty \
				kunit_shutdown=halt "snp_page_lock=$mode" \
				snp_page_lock_bench.run=1 \
				"snp_page_lock_bench.ms=$MS" \
				"snp_page_lock_bench.runs=$RUNS" < /dev/null \
				> "$OUT/$name.log" 2>&1 || true
			sed -n 's/^.*snp_page_lock_bench: csv: //p' \
				"$OUT/$name.log" > "$OUT/$name.csv"
			"$ROOT/scripts/scan-log.sh" "$OUT/$name.log" || rc=1
			[ -s "$OUT/$name.csv" ] || {
				log "$name: no results (log: $OUT/$name.log)"
				rc=1
			}
		done
	fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
qv=$(qemu-system-x86_64 --version | head -1 | sed 's/QEMU emulator version //')
BENCH_MACHINE="$cpu, $(nproc) host CPUs; host loadavg $load_before before, $load_after after; QEMU $qv TCG -cpu max -smp 2; source $(cut -d' ' -f2- "$BUILD/source-version"); ms=$MS runs=$RUNS, $REPEAT boots of each kind"
export BENCH_MACHINE
specs=()
for env in qemu-on qemu-off uml-on uml-off native; do
	files=$(find "$OUT" -name "$env-*.csv" -size +0 | sort | paste -sd,)
	[ -n "$files" ] && specs+=("$env=$files")
done
files=$(find "$OUT" -name "qemu-on-*-vmm.txt" -size +0 | sort | paste -sd,)
if [ -n "$files" ]; then
	specs+=("vmm=$files")
	for f in ${files//,/ }; do
		python3 "$ROOT/benchmarks/report.py" check-vmm "$f" > /dev/null || {
			log "$f: a perf bench row is missing or not a positive number"
			rc=1
		}
	done
else
	log "no perf bench results (qemu-on-*-vmm.txt)"
	rc=1
fi
python3 "$ROOT/benchmarks/report.py" report "$OUT" "${specs[@]}" || rc=1
for f in results.csv table.md short.md plot.png; do
	[ -s "$OUT/$f" ] || { log "missing $OUT/$f"; rc=1; }
done

echo
echo "=== snp_page_lock benchmark ($BENCH_MACHINE)"
echo "    full table: $OUT/table.md, CSV: $OUT/results.csv, plot: $OUT/plot.png"
echo
cat "$OUT/short.md" 2>/dev/null || true
log "make bench: $(( $(now) - t_start )) s"
exit $rc
