#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# KUnit under UML with kunit.py (the fast loop): build once, then boot
# with the layer on (suite snp_page_lock) and off (snp_page_lock_off).
. "$(dirname "$0")/lib.sh"


"$ROOT/scripts/deps.sh"
build_lock
"$ROOT/scripts/overlay.sh"

cd "$SRC"
export PYTHONDONTWRITEBYTECODE=1
KUNIT=(python3 tools/testing/kunit/kunit.py)

log "kunit.py build (UML, .build/uml)"
"${KUNIT[@]}" build --kunitconfig=mm/snp/.kunitconfig \
	--build_dir="$UML_OUT" --jobs="$JOBS" > "$LOGS/kunit-uml-build.log" 2>&1 || {
	tail -60 "$LOGS/kunit-uml-build.log"
	die "UML build failed (log: $LOGS/kunit-uml-build.log)"
}
flock -u 9

rc=0
# name  kernel-args
while read -r name suite args; do
	log "KUnit under UML: $name ($args)"
	"${KUNIT[@]}" exec --build_dir="$UML_OUT" --raw_output=all \
		--timeout=600 --kernel_args="$args" > "$LOGS/$name.log" 2>&1 || true
	count_kunit "$name" "$LOGS/$name.log" "$suite" || rc=1
done <<'LIST'
kunit-uml snp_page_lock snp_page_lock=on
kunit-uml-off snp_page_lock_off snp_page_lock=off
LIST
exit $rc
