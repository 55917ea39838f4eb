#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What scripts/bench.sh and scripts/bench-smoke.sh share. Sourced after
# lib.sh, never run.

# The config fragments of the benchmark kernel (.build/x86-bench), in
# merge order: x86_64-bench.config drops the debug options of the others.
# shellcheck disable=SC2034 # used by the scripts that source this file
BENCH_FRAGS=("$ROOT/configs/x86_64-base.config" "$ROOT/configs/x86_64-kvm.config"
	     "$ROOT/configs/snp_page_lock.config" "$ROOT/configs/x86_64-bench.config")

# extract_csv LOG OUT: the CSV the guest printed between its markers
# (SNP-BENCH-CSV-BEGIN/END), without any kernel message that got
# interleaved on the console.
extract_csv() {
	sed -n '/^SNP-BENCH-CSV-BEGIN$/,/^SNP-BENCH-CSV-END$/p' "$1" |
		grep -E '^(# snp_page_lock_bench|op,|[a-z0-9_]+,[0-9]+,)' > "$2" || true
}

# build_map_bench DIR: the KVM benchmark driver (snp_pl_map_bench, against
# the headers of KDIR) into DIR, for the guest's /extra.
build_map_bench() {
	( build_lock
	  "$ROOT/scripts/overlay.sh"
	  KHDR_DIR=$KDIR build_kvm_selftests x86_64/snp_pl_map_bench \
		> "$LOGS/map-bench-build.log" 2>&1 ) ||
		die "snp_pl_map_bench build failed (log: $LOGS/map-bench-build.log)"
	mkdir -p "$1"
	cp "$KST_KVM/x86_64/snp_pl_map_bench" "$1/"
}

# native_build DIR: the native harness of the pin fast path
# (tools/testing/snp_page_lock/snp_pl_native) into DIR, compiled from the
# repository's header (not .build/src: no overlay needed).
native_build() {
	mkdir -p "$1"
	make -s -C "$ROOT/tools/testing/snp_page_lock" O="$(realpath "$1")"
}
