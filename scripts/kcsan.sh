#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The KCSAN + lockdep kernel: the KUnit suite snp_page_lock (its
# concurrency cases race pinners against converters) and a torture run.
# Any KCSAN report fails, as does any other splat.
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

NAME=torture-kcsan "$ROOT/scripts/torture.sh" "${KCSAN_TORTURE_S:-30}" || rc=1
exit $rc
