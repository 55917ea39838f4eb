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

# The config fragments of the main test kernel (.build/x86), merged onto
# tinyconfig in this order.
X86_TEST_FRAGMENTS=("$ROOT/configs/x86_64-base.config" "$ROOT/configs/x86_64-io.config"
		    "$ROOT/configs/x86_64-kvm.config" "$ROOT/configs/x86_64-sev.config"
		    "$ROOT/configs/x86_64-debug.config" "$ROOT/configs/snp_page_lock.config")

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
	rm -f "$RESULTS/$1-scan.counts"
	"$ROOT/scripts/scan-log.sh" "$2" && return 0
	record "$1-scan" 0 1 0
	return 1
}

# count_kunit NAME LOG SUITE: count the KUnit cases of a console log (SUITE
# must have passed cases: the suite this boot is for), scan it.
count_kunit() {
	local rc=0

	"$ROOT/scripts/ktap-count.py" "$SRC" "$2" "$1" "$RESULTS" "$3" || rc=1
	scan_counted "$1" "$2" || rc=1
	return $rc
}

# build_snp_selftests [TARGET...]: tools/testing/selftests/snp_page_lock,
# static, against the headers of the x86_64 kernel in KHDR_DIR (default
# the test kernel), into KST_SNP. Call with the build lock held.
KST_SNP=$BUILD/kselftest/snp_page_lock
build_snp_selftests() {
	make -s -C "$SRC/tools/testing/selftests/snp_page_lock" \
		OUTPUT="$KST_SNP" \
		KHDR_INCLUDES="-isystem ${KHDR_DIR:-$X86_OUT}/usr/include" \
		EXTRA_CFLAGS=-static -j"$JOBS" "$@"
}

# build_perf_extra DIR: the static perf with the snp-page-lock bench
# collection (scripts/build-perf.sh), the VMM demo (against the headers
# of the x86_64 kernel in KDIR, default the test kernel) and
# scripts/guest/perf-check.sh into DIR, for the guest's /extra. Takes the
# build lock itself.
build_perf_extra() {
	"$ROOT/scripts/build-perf.sh"
	( build_lock
	  KHDR_DIR=${KDIR:-$X86_OUT} build_snp_selftests "$KST_SNP/snp_pl_demo" \
		> "$LOGS/perf-demo-build.log" 2>&1 ) ||
		die "snp_pl_demo build failed (log: $LOGS/perf-demo-build.log)"
	mkdir -p "$1"
	cp "$BUILD/perf/perf" "$KST_SNP/snp_pl_demo" \
		"$ROOT/scripts/guest/perf-check.sh" "$1/"
}

# x86_config KSRC OUT FRAGMENT...: OUT/.config = tinyconfig of the tree
# KSRC with the fragments merged in order. The caller runs olddefconfig.
x86_config() {
	local ksrc=$1 out=$2

	shift 2
	make -s -C "$ksrc" O="$out" ARCH=x86_64 tinyconfig > /dev/null
	(cd "$out" && "$ksrc/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" "$@" > /dev/null)
}

# config_satisfied CONFIG FRAGMENT...: every CONFIG_X=v of the fragments
# is in CONFIG, and every "# CONFIG_X is not set" is not on there (not
# selected back on by another option); prints what is not, and fails.
config_satisfied() {
	local config=$1 line opt ok=0

	shift
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$config" || {
				echo "config: $line requested, got: $(grep "^${line%%=*}=" "$config" || echo 'not set')" >&2
				ok=1
			} ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -q "^$opt=" "$config"; then
				echo "config: $opt off requested, got: $(grep "^$opt=" "$config")" >&2
				ok=1
			fi ;;
		esac
	done < <(cat "$@")
	return $ok
}

# run_checkpatch KTREE ARG...: the kernel tree's checkpatch.pl --strict,
# run in KTREE as a reviewer runs it, with this project's line length;
# prints its findings (nothing when clean). In a git tree it also runs
# spdxcheck.py, which needs Debian's python3-ply and python3-git: the
# system python3, whatever PATH says.
run_checkpatch() {
	local ktree=$1

	shift
	(cd "$ktree" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict \
		--no-summary --quiet --show-types --max-line-length=100 "$@" 2>&1) || true
	rm -f "$ktree"/.checkpatch-camelcase.*
}

# build_kvm_selftests TARGET...: KVM selftests (paths relative to
# tools/testing/selftests/kvm, e.g. x86_64/snp_pl_vm_demo), static, against
# the headers of the x86_64 kernel in KHDR_DIR (default the test kernel),
# into KST_KVM. Call with the build lock held.
KST_KVM=$BUILD/kselftest/kvm
build_kvm_selftests() {
	local t targets=()

	for t in "$@"; do targets+=("$KST_KVM/$t"); done
	make -s -C "$SRC/tools/testing/selftests/kvm" ARCH=x86_64 \
		OUTPUT="$KST_KVM" \
		KHDR_INCLUDES="-isystem ${KHDR_DIR:-$X86_OUT}/usr/include" \
		EXTRA_CFLAGS=-static -j"$JOBS" "${targets[@]}"
}

# stage_kvm_tests DIR TIMEOUT BUILDLOG TEST...: build the KVM selftests
# TEST... (see build_kvm_selftests), copy them to DIR/kvm and list them in
# DIR/tests.list for scripts/guest/run-tests.sh (each one case, TIMEOUT
# seconds). Takes the build lock itself.
stage_kvm_tests() {
	local d=$1 tmo=$2 blog=$3 t b

	shift 3
	rm -rf "$d"
	mkdir -p "$d/kvm"
	build_lock
	build_kvm_selftests "$@" > "$blog" 2>&1 || {
		tail -40 "$blog"
		die "KVM selftests build failed (log: $blog)"
	}
	flock -u 9
	: > "$d/tests.list"
	for t in "$@"; do
		b=$(basename "$t")
		cp "$KST_KVM/$t" "$d/kvm/$b"
		echo "exit $b $tmo /extra/kvm/$b" >> "$d/tests.list"
	done
	cp "$ROOT/scripts/guest/run-tests.sh" "$d/"
}

# failed_total: failed cases recorded so far in RESULTS.
failed_total() {
	local f p fl s total=0

	for f in "$RESULTS"/*.counts; do
		[ -e "$f" ] || continue
		read -r p fl s < "$f"
		total=$((total + fl))
	done
	echo "$total"
}

# run_stage NAME CMD...: run one stage, timed. A stage that fails without
# recording a failed case gets one (NAME-error), so no failure is lost.
run_stage() {
	local name=$1 before rc=0

	shift
	before=$(failed_total)
	log "=== $name"
	timed "$name" "$@" 2>&1 | tee "$LOGS/stage-$name.out" || rc=$?
	if [ $rc -ne 0 ] && [ "$(failed_total)" -eq "$before" ]; then
		record "$name-error" 0 1 0
	fi
	# What failed, in a few lines: CI shows only the end of the output.
	if [ "$(failed_total)" -ne "$before" ]; then
		grep -aE "$WHY_RE" "$LOGS/stage-$name.out" | grep -av "$WHY_NOT_RE" |
			head -n 6 | sed "s|^|$name: |" > "$RESULTS/$name.why" || true
	fi
}

# Lines of a stage's output that say why it failed.
WHY_RE='FAIL|not ok|BUG:|WARNING:|KCSAN:|KASAN:|TIMEOUT|died|error:|Oops|panic|DISAGREE'
WHY_NOT_RE=' 0 failed|# SKIP|^ok '

# print_results: a line per recorded stage, then "N passed, N failed".
# Fails if a case failed or none passed.
print_results() {
	local f p fl s passed=0 failed=0 skipped=0

	for f in "$RESULTS"/*.counts; do
		[ -e "$f" ] || continue
		read -r p fl s < "$f"
		printf '  %-24s %4d passed %4d failed %4d skipped\n' \
			"$(basename "$f" .counts)" "$p" "$fl" "$s"
		passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + s))
	done
	echo "  skipped: $skipped (suites meant for the other boot: layer on/off, lockdep self-tests; the UML-only checksum case on x86)"
	if [ "$failed" -ne 0 ]; then
		echo "  why (first lines of each failed stage; full output in $LOGS/stage-*.out):"
		cat "$RESULTS"/*.why 2>/dev/null | cut -c1-200 | head -n 12 | sed 's/^/    /'
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
