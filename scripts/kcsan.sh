#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The KCSAN + lockdep kernel: the KUnit suite snp_page_lock (its
# concurrency cases race pinners against converters), a torture run, and
# the KVM torture of in-place guest_memfd (snp_pl_gmem_torture_test: vCPUs,
# VMM threads and conversions on the same pages). Any KCSAN report fails,
# as does any other splat.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-kcsan.sh"
export KERNEL=$BUILD/x86-kcsan/arch/x86/boot/bzImage

rc=0
name=kunit-kcsan
log "KUnit in the KCSAN kernel"
LOG=$LOGS/$name.log QUIET=1 TIMEOUT=900 \
APPEND="kunit.enable=1 kunit.filter_glob=snp_page_lock" \
	"$ROOT/scripts/vm-run.sh" true || true
count_kunit "$name" "$LOGS/$name.log" snp_page_lock || rc=1

NAME=torture-kcsan "$ROOT/scripts/torture.sh" "${KCSAN_TORTURE_S:-20}" || rc=1

name=gmem-torture-kcsan
D=$BUILD/kcsan-extra
rm -rf "$D"
mkdir -p "$D"
build_lock
KHDR_DIR=$BUILD/x86-kcsan build_kvm_selftests x86_64/snp_pl_gmem_torture_test \
	> "$LOGS/kcsan-kvm-build.log" 2>&1 || {
	tail -20 "$LOGS/kcsan-kvm-build.log"
	die "snp_pl_gmem_torture_test build failed"
}
flock -u 9
cp "$KST_KVM/x86_64/snp_pl_gmem_torture_test" "$D/"
log "in-place guest_memfd torture in the KCSAN kernel"
st=0
# Single-threaded TCG: nested SVM breaks under multi-threaded TCG (see
# scripts/selftests.sh, KVM_TORTURES).
LOG=$LOGS/$name.log QUIET=1 TIMEOUT=600 MEM=2G ACCEL=tcg,thread=single \
	"$ROOT/scripts/vm-run.sh" \
	"/extra/snp_pl_gmem_torture_test ${KCSAN_GMEM_TORTURE_S:-20}" "$D" || st=$?
grep -a "conversions to private" "$LOGS/$name.log" | tail -1 || true
[ $st -eq 0 ] || { echo "$name: FAILED (exit $st, log: $LOGS/$name.log)"; rc=1; }
record_one "$name" $st
exit $rc
