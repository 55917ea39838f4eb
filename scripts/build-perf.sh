#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build perf from the overlaid tree (with the snp-page-lock bench
# collection, patches/0044) as one static binary (the perf target only:
# the dlfilter .so files cannot be linked -static), .build/perf/perf, that
# runs in the test guests' busybox initramfs.
#
# Minimal on purpose: everything optional is off but libtraceevent, which
# perf needs to parse tracepoint events (perf stat -e 'snp_page_lock:*')
# and to print their fields (perf script). Debian's libtraceevent-dev has
# the static library. Without libelf perf reads kernel symbols from
# /proc/kallsyms, which is all the recipes here need.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/deps.sh"
"$ROOT/scripts/overlay.sh"

OUT=$BUILD/perf
mkdir -p "$OUT"
build_lock
log "building perf (static, minimal) in $OUT"
make -s -C "$SRC/tools/perf" O="$OUT" -j"$JOBS" \
	LDFLAGS=-static WERROR=0 \
	NO_LIBELF=1 NO_DWARF=1 NO_LIBDW_DWARF_UNWIND=1 NO_LIBUNWIND=1 \
	NO_LIBPYTHON=1 NO_LIBPERL=1 NO_JEVENTS=1 NO_SLANG=1 NO_GTK2=1 \
	NO_LIBNUMA=1 NO_LIBAUDIT=1 NO_LIBCRYPTO=1 NO_LIBCAP=1 NO_LIBBPF=1 \
	BUILD_BPF_SKEL=0 NO_LIBZSTD=1 NO_LZMA=1 NO_ZLIB=1 NO_LIBLLVM=1 \
	NO_CAPSTONE=1 NO_DEMANGLE=1 NO_LIBBABELTRACE=1 NO_LIBDEBUGINFOD=1 \
	NO_SDT=1 NO_JVMTI=1 NO_LIBPFM4=1 NO_SHELLCHECK=1 NO_AIO=1 \
	NO_BACKTRACE=1 perf \
	> "$LOGS/perf-build.log" 2>&1 || {
	tail -40 "$LOGS/perf-build.log"
	die "perf build failed (log: $LOGS/perf-build.log)"
}
flock -u 9
file "$OUT/perf" 2>/dev/null | grep -q "statically linked" ||
	ldd "$OUT/perf" 2>&1 | grep -q "not a dynamic executable" ||
	die "$OUT/perf is not static"
"$OUT/perf" bench snp-page-lock 2>&1 | grep -q "pin" ||
	die "$OUT/perf has no snp-page-lock bench collection"
