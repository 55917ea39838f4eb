#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the userspace tests statically and run them in boots of the x86_64
# test kernel: our kselftests (tools/testing/selftests/snp_page_lock); our
# KVM selftests (KVM as the layer's consumer, in-place guest_memfd, on
# KVM_X86_SW_PROTECTED_VM under nested SVM) and the KVM tortures, in one
# boot under single-threaded TCG; then the KVM test that must WARN, in a
# boot of its own.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

EXTRA=$BUILD/selftests-extra
rm -rf "$EXTRA"
mkdir -p "$KST_KVM" "$EXTRA"
: > "$EXTRA/tests.list"

build_lock
# Our KVM selftests (KVM as the layer's consumer, in-place guest_memfd;
# snp_pl_clobber_test runs in a boot of its own: it must WARN). Upstream's
# run in the kvm-selftests stage. The two KVM tortures run after them in
# the same boot, under single-threaded TCG (see KVM_TORTURES below).
KVM_TESTS="x86_64/snp_pl_vcpu_map_test x86_64/snp_pl_nested_vmrun_test
x86_64/snp_pl_kvmclock_test x86_64/snp_pl_emulate_test x86_64/snp_pl_npf_test
x86_64/snp_pl_gmem_test x86_64/snp_pl_gmem_conversions_test
x86_64/snp_pl_gmem_footprint_test"
KVM_WARN_TESTS="x86_64/snp_pl_clobber_test"
# Multi-threaded TCG (QEMU 7.2) breaks nested SVM under the tortures' load:
# the L2 guest triple-faults on a #PF it cannot have (instruction fetch of
# code it just ran) or runs at L1's RIP inside __svm_vcpu_run, with or
# without any conversion (no converter: 4 of 30 runs). Single-threaded
# TCG: 0 of 120 (45 of them without a converter). The L1 vCPUs still
# interleave there.
KVM_TORTURES="x86_64/snp_pl_vcpu_torture_test x86_64/snp_pl_gmem_torture_test"
KVM_TORTURE_S=${KVM_TORTURE_S:-10}
log "building KVM selftests: $(echo $KVM_TESTS $KVM_WARN_TESTS $KVM_TORTURES)"
# shellcheck disable=SC2086
build_kvm_selftests $KVM_TESTS $KVM_WARN_TESTS $KVM_TORTURES \
	> "$LOGS/kvm-selftests-build.log" 2>&1 || {
	tail -40 "$LOGS/kvm-selftests-build.log"
	die "KVM selftests build failed"
}

log "building snp_page_lock kselftests"
build_snp_selftests > "$LOGS/snp-selftests-build.log" 2>&1 || {
	tail -40 "$LOGS/snp-selftests-build.log"
	die "snp_page_lock kselftests build failed"
}
mkdir -p "$EXTRA/snp"
# Convention: every test binary is named *_test; the demo is not.
for t in $(cd "$KST_SNP" && find . -maxdepth 1 -type f \
		-name '*_test' -perm -u+x -printf '%f\n' | sort); do
	cp "$KST_SNP/$t" "$EXTRA/snp/"
	echo "tap $t 600 /extra/snp/$t" >> "$EXTRA/tests.list"
done
grep -q '^tap ' "$EXTRA/tests.list" || die "no snp_page_lock kselftest was built"
flock -u 9

cp "$ROOT/scripts/guest/run-tests.sh" "$EXTRA/"

name=selftests
log "running selftests in QEMU: $(awk '{print $2}' "$EXTRA/tests.list" | xargs)"
LOG=$LOGS/$name.log QUIET=1 TIMEOUT=1500 MEM=3G \
	"$ROOT/scripts/vm-run.sh" "sh /extra/run-tests.sh" "$EXTRA" || true
rc=0
"$ROOT/scripts/count-tests.py" "$LOGS/$name.log" "$name" "$RESULTS" || rc=1
scan_counted "$name" "$LOGS/$name.log" || rc=1

# Our KVM selftests, in a boot of their own under single-threaded TCG, as
# the tortures below: they run nested SVM guests on both L1 vCPUs, which
# multi-threaded TCG breaks (see KVM_TORTURES). Under it the in-place
# conversions test (two vCPUs) met L1 kernel memory corrupted behind
# KASAN's back in one CI run and in two looped boots: a GPF on a memslot
# tree pointer of -1, a spinlock owned by its own would-be taker, a hang.
#
# kvm_boot NAME DIR TIMEOUT TEST[:ARG]...: the built KVM selftests TEST...
# in DIR, each run with its ARG (at most 300 s), in one boot of
# single-threaded TCG; counted and scanned as stage NAME.
kvm_boot() {
	local name=$1 d=$2 tmo=$3 t b a r

	shift 3
	rm -rf "$d"
	mkdir -p "$d/kvm"
	: > "$d/tests.list"
	for t in "$@"; do
		a=
		case $t in *:*) a=${t#*:}; t=${t%%:*} ;; esac
		b=$(basename "$t")
		cp "$KST_KVM/$t" "$d/kvm/$b"
		echo "exit $b 300 /extra/kvm/$b $a" >> "$d/tests.list"
	done
	cp "$ROOT/scripts/guest/run-tests.sh" "$d/"
	log "running $name, single-threaded TCG: $(awk '{print $2}' "$d/tests.list" | xargs)"
	LOG=$LOGS/$name.log QUIET=1 TIMEOUT=$tmo MEM=3G ACCEL=tcg,thread=single \
		"$ROOT/scripts/vm-run.sh" "sh /extra/run-tests.sh" "$d" || true
	grep -a "conversions to private" "$LOGS/$name.log" || true
	r=0
	"$ROOT/scripts/count-tests.py" "$LOGS/$name.log" "$name" "$RESULTS" || r=1
	scan_counted "$name" "$LOGS/$name.log" || r=1
	return $r
}

# Our KVM selftests, then the KVM tortures (vCPU maps, VMM reads and pins
# against conversions), in one boot. The footprint of a 16 MiB guest: the
# ratio is the same as for more (50% measured with 32 MiB), in half the
# time.
kvm_args=()
for t in $KVM_TESTS; do
	case $t in
	*/snp_pl_gmem_footprint_test) kvm_args+=("$t:16") ;;
	*) kvm_args+=("$t") ;;
	esac
done
for t in $KVM_TORTURES; do kvm_args+=("$t:$KVM_TORTURE_S"); done
kvm_boot selftests-kvm "$BUILD/selftests-kvm" 2100 "${kvm_args[@]}" || rc=1

# A second memory-fault report in one KVM_RUN: the first one must reach
# userspace intact (the test's verdict) and the kernel must WARN (this
# boot's EXPECT; CONFIG_KVM_SNP_PAGE_LOCK_DEBUG).
for t in $KVM_WARN_TESTS; do
	b=$(basename "$t")
	W=$BUILD/selftests-warn
	rm -rf "$W"
	mkdir -p "$W"
	cp "$KST_KVM/$t" "$W/"
	rc1=0
	LOG=$LOGS/$b.log QUIET=1 TIMEOUT=600 \
	EXPECT="WARNING:.*kvm_snp_report_fault" \
		"$ROOT/scripts/vm-run.sh" "/extra/$b" "$W" || rc1=$?
	[ $rc1 -eq 0 ] || { echo "$b: FAILED (exit $rc1, log: $LOGS/$b.log)"; rc=1; }
	record_one "$b" $rc1
done
exit $rc
