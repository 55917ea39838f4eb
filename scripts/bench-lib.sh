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
