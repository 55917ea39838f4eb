#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The upstream x86_64 KVM selftests that pass under QEMU TCG
# (configs/kvm-selftests-tcg.list, made by scripts/kvm-upstream.sh), run
# with the layer on in one boot of the x86_64 test kernel: KVM's own tests
# must not notice the layer. Each test is one case; a test that skips
# fails (the list holds tests that ran). Tests marked "slow" in the list
# run only with KVM_SELFTESTS_ALL=1 (make kvm-selftests).
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-x86.sh"

LIST=$ROOT/configs/kvm-selftests-tcg.list
# "NAME slow": only with KVM_SELFTESTS_ALL=1 (make kvm-selftests).
if [ "${KVM_SELFTESTS_ALL:-0}" = 1 ]; then
	mapfile -t tests < <(grep -v '^#' "$LIST" | awk 'NF { print $1 }')
else
	mapfile -t tests < <(grep -v '^#' "$LIST" | awk 'NF && $2 != "slow" { print $1 }')
fi
[ ${#tests[@]} -gt 0 ] || die "no test in $LIST"

D=$BUILD/kvm-selftests-extra
log "building ${#tests[@]} upstream KVM selftests"
stage_kvm_tests "$D" 300 "$LOGS/kvm-upstream-list-build.log" "${tests[@]}"

name=kvm-selftests
log "running ${#tests[@]} upstream KVM selftests in QEMU, layer on"
# Under TCG the early TSC calibration can miss by 0.15% (PIT calibration
# fails, HPET is the reference; refined to the true rate later): KVM then
# refuses every vCPU's rate ("user requested TSC rate below hardware
# speed") and kvm_clock_test and hyperv_clock fail: a property of the
# boot, not of the layer. A wider tolerance than 250 ppm takes the rate
# as the host's.
LOG=$LOGS/$name.log QUIET=1 TIMEOUT=$(( ${#tests[@]} * 300 + 300 )) MEM=3G \
APPEND="kvm.tsc_tolerance_ppm=5000" \
	"$ROOT/scripts/vm-run.sh" "sh /extra/run-tests.sh" "$D" || true
rc=0
"$ROOT/scripts/count-tests.py" "$LOGS/$name.log" "$name" "$RESULTS" || rc=1
scan_counted "$name" "$LOGS/$name.log" || rc=1
exit $rc
