#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the userspace tests statically and run them in one boot of the
# x86_64 test kernel: our kselftests (tools/testing/selftests/
# snp_page_lock) and the upstream KVM selftests that exercise private
# memory on KVM_X86_SW_PROTECTED_VM under nested SVM.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

KST=$BUILD/kselftest
EXTRA=$BUILD/selftests-extra
HDRS="-isystem $X86_OUT/usr/include"
rm -rf "$EXTRA"
mkdir -p "$KST" "$EXTRA"
: > "$EXTRA/tests.list"

build_lock
KVM_TESTS="guest_memfd_test x86_64/private_mem_kvm_exits_test
x86_64/private_mem_conversions_test"
targets=()
for t in $KVM_TESTS; do targets+=("$KST/kvm/$t"); done
log "building KVM selftests: $(echo $KVM_TESTS)"
make -s -C "$SRC/tools/testing/selftests/kvm" ARCH=x86_64 \
	OUTPUT="$KST/kvm" KHDR_INCLUDES="$HDRS" EXTRA_CFLAGS=-static \
	-j"$JOBS" "${targets[@]}" > "$LOGS/kvm-selftests-build.log" 2>&1 || {
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

mkdir -p "$EXTRA/kvm"
for t in $KVM_TESTS; do
	b=$(basename "$t")
	cp "$KST/kvm/$t" "$EXTRA/kvm/$b"
	echo "exit $b 600 /extra/kvm/$b" >> "$EXTRA/tests.list"
done
cp "$ROOT/scripts/guest/run-tests.sh" "$EXTRA/"

name=selftests
log "running selftests in QEMU: $(awk '{print $2}' "$EXTRA/tests.list" | xargs)"
LOG=$LOGS/$name.log QUIET=1 TIMEOUT=1500 MEM=3G \
	"$ROOT/scripts/vm-run.sh" "sh /extra/run-tests.sh" "$EXTRA" || true
rc=0
"$ROOT/scripts/count-tests.py" "$LOGS/$name.log" "$name" "$RESULTS" || rc=1
scan_counted "$name" "$LOGS/$name.log" || rc=1
exit $rc
