#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ABI fuzzer (tools/testing/selftests/snp_page_lock/snp_pl_fuzz.c) in
# the main test kernel for SECONDS (default 30) with THREADS threads:
# random valid and invalid ioctls, touches and killed children; at the
# end every pin must be released, nothing leaked, no splat.
#
#   fuzz.sh [SECONDS [THREADS [SEED]]]
. "$(dirname "$0")/lib.sh"

SECONDS_=${1:-30}
THREADS=${2:-4}
SEED=${3:-}

"$ROOT/scripts/build-x86.sh"
D=$BUILD/fuzz
rm -rf "$D"
mkdir -p "$D"
build_lock
build_snp_selftests "$KST_SNP/snp_pl_fuzz"
flock -u 9
cp "$KST_SNP/snp_pl_fuzz" "$D/"

rc=0
LOG=$LOGS/fuzz.log QUIET=1 TIMEOUT=$((SECONDS_ * 4 + 300)) \
	"$ROOT/scripts/vm-run.sh" "/extra/snp_pl_fuzz $SECONDS_ $THREADS $SEED" "$D" ||
	rc=$?
grep '^snp_pl_fuzz\|^FAIL\|^undocumented' "$LOGS/fuzz.log" | head -20 || true
[ $rc -eq 0 ] || echo "fuzz: FAILED (exit $rc, log: $LOGS/fuzz.log)"
record_one fuzz $rc
exit $rc
