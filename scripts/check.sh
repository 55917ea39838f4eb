#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: checkpatch --strict on our kernel files and patches,
# kernel-doc -Wall on our sources and headers, sparse (C=2) on our
# objects in the x86_64 test kernel, and the hook sites built with the
# layer configured out (check-off.sh). Any finding fails.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/overlay.sh"
cd "$ROOT"

# Our kernel-style files (scripts/ and Documentation are not C; the
# native harness's shims of kernel headers imitate the kernel's own
# macros and are left out).
mapfile -t files < <(git ls-files -co --exclude-standard -- \
	mm virt include arch kernel lib benchmarks \
	tools/testing/selftests/snp_page_lock tools/perf/bench/snp-page-lock.c \
	'tools/testing/selftests/kvm/x86_64/snp_pl_*' \
	':(glob)tools/testing/snp_page_lock/*.[ch]' \
	tools/testing/snp_page_lock/Makefile |
	grep -E '\.(c|h)$|/Kconfig[^/]*$|/Makefile$' | sort -u |
	while read -r f; do [ -f "$f" ] && echo "$f"; done)
mapfile -t csrc < <(printf '%s\n' "${files[@]}" | grep -E '\.(c|h)$' |
	grep -v '^tools/' || true)
mapfile -t patches < <(ls patches/*.patch 2>/dev/null || true)

rc=0
fail() { echo "check: FAIL: $*"; rc=1; }

if [ ${#files[@]} -gt 0 ]; then
	out=$(run_checkpatch "$SRC" --no-tree -f "${files[@]/#/$ROOT/}")
	# --no-tree -f runs on copies: report paths relative to the repo.
	if [ -n "$out" ]; then
		echo "${out//$ROOT\//}"
		fail "checkpatch (files)"
	fi
fi
for p in "${patches[@]}"; do
	out=$(run_checkpatch "$SRC" "$ROOT/$p")
	if [ -n "$out" ]; then
		echo "$p:"; echo "$out"
		fail "checkpatch $p"
	fi
done
log "checkpatch --strict: ${#files[@]} files, ${#patches[@]} patches"

# perf builds against its own copy of the uapi header (as
# tools/perf/check-headers.sh checks for the headers it copies).
cmp -s include/uapi/linux/snp_page_lock.h tools/include/uapi/linux/snp_page_lock.h ||
	fail "tools/include/uapi/linux/snp_page_lock.h differs from include/uapi/linux/snp_page_lock.h"

if [ ${#csrc[@]} -gt 0 ]; then
	out=$(cd "$SRC" && scripts/kernel-doc -none -Wall "${csrc[@]}" 2>&1) || true
	if [ -n "$out" ]; then
		echo "$out"
		fail "kernel-doc"
	fi
fi
log "kernel-doc -Wall: ${#csrc[@]} files"

# sparse on every directory of ours that builds objects.
mapfile -t dirs < <(printf '%s\n' "${csrc[@]}" | grep '\.c$' |
	xargs -r -n1 dirname | sort -u)
if [ ${#dirs[@]} -gt 0 ]; then
	"$ROOT/scripts/build-x86.sh" >/dev/null
	command -v sparse >/dev/null || "$ROOT/scripts/deps.sh"
	build_lock
	for d in "${dirs[@]}"; do
		if [ ! -f "$SRC/$d/Makefile" ]; then
			# virt/kvm/snp is built as part of kvm.ko: check all of
			# arch/x86/kvm and keep what sparse says of our files.
			[ "$d" = virt/kvm/snp ] || continue
			out=$(make -s -C "$SRC" O="$X86_OUT" ARCH=x86_64 C=2 \
				-j"$JOBS" arch/x86/kvm/ 2>&1) ||
				fail "sparse build of arch/x86/kvm"
			if echo "$out" | grep -E 'virt/kvm/snp/.*(warning|error):' >/dev/null; then
				echo "$out" | grep -E 'virt/kvm/snp/'
				fail "sparse $d"
			fi
			continue
		fi
		out=$(make -s -C "$SRC" O="$X86_OUT" ARCH=x86_64 C=2 \
			-j"$JOBS" "$d/" 2>&1) || fail "sparse build of $d"
		if echo "$out" | grep -E 'warning:|error:' >/dev/null; then
			echo "$out"
			fail "sparse $d"
		fi
	done
fi
log "sparse: ${dirs[*]:-none}"

# G6: the hooks compile to nothing with CONFIG_SNP_PAGE_LOCK=n.
"$ROOT/scripts/check-off.sh" || fail "CONFIG_SNP_PAGE_LOCK=n"
log "CONFIG_SNP_PAGE_LOCK=n: hooks compile to nothing"

name=check
record_one "$name" $rc
exit $rc
