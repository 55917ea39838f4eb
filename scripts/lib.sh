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
