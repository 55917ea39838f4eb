#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Common variables and helpers for the snp-page-lock build scripts.
# Sourced, never run.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/.build}
PRISTINE=$BUILD/pristine/linux-source-6.12
SRC=$BUILD/src
UML_OUT=$BUILD/uml
X86_OUT=$BUILD/x86
LOGS=$BUILD/logs
JOBS=${JOBS:-$(nproc)}

# Directories of this repository that mirror the kernel tree.
OVERLAY_DIRS="mm virt include Documentation tools arch kernel lib"

mkdir -p "$BUILD" "$LOGS"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Serialise kernel builds: the machines have two cores, and two builds
# at once only make both slow.
build_lock() {
	exec 9>"$BUILD/build.lock"
	if ! flock -n 9; then
		log "waiting for another build to finish (.build/build.lock)"
		flock 9
	fi
}

# Seconds since the epoch, for step timings.
now() { date +%s; }

timed() {
	local name=$1 t0 rc=0
	shift
	t0=$(now)
	"$@" || rc=$?
	log "$name: $(( $(now) - t0 )) s (exit $rc)"
	echo "$name $(( $(now) - t0 ))" >> "$LOGS/timings"
	return $rc
}

RESULTS=${RESULTS:-$BUILD/results}

# record NAME PASSED FAILED SKIPPED: one stage's test-case counts.
record() {
	mkdir -p "$RESULTS"
	echo "$2 $3 $4" > "$RESULTS/$1.counts"
}

# record_one NAME RC: a stage that is one test case, passed iff RC is 0.
record_one() {
	if [ "$2" -eq 0 ]; then record "$1" 1 0 0; else record "$1" 0 1 0; fi
}

# scan_counted NAME LOG: a splat in LOG is one more failed case of NAME.
scan_counted() {
	"$ROOT/scripts/scan-log.sh" "$2" && return 0
	record "$1-scan" 0 1 0
	return 1
}

# count_kunit NAME LOG: count the KUnit cases of a console log, scan it.
count_kunit() {
	local rc=0

	"$ROOT/scripts/ktap-count.py" "$SRC" "$2" "$1" "$RESULTS" || rc=1
	scan_counted "$1" "$2" || rc=1
	return $rc
}

# build_snp_selftests [TARGET...]: tools/testing/selftests/snp_page_lock,
# static, against the x86_64 test kernel's headers, into KST_SNP.
KST_SNP=$BUILD/kselftest/snp_page_lock
build_snp_selftests() {
	make -s -C "$SRC/tools/testing/selftests/snp_page_lock" \
		OUTPUT="$KST_SNP" KHDR_INCLUDES="-isystem $X86_OUT/usr/include" \
		EXTRA_CFLAGS=-static -j"$JOBS" "$@"
}
