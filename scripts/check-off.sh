#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# G6: with CONFIG_SNP_PAGE_LOCK=n every hook compiles to nothing. Compile
# the upstream files our patches hook (page_alloc.c and KVM's
# kvm_main.c, pfncache.c, x86.c, mmu.c, nested.c, sev.c) with the x86_64
# test kernel's own command line, the layer's options undefined, and check
# that the objects reference no symbol of the layer.
. "$(dirname "$0")/lib.sh"

T=$BUILD/check-off
rm -rf "$T"
mkdir -p "$T"
{
	echo '/* Included after kconfig.h: the layer is configured out. */'
	grep -o '^#define CONFIG_SNP_PAGE_LOCK[A-Z_]*' \
		"$X86_OUT/include/generated/autoconf.h" | sed 's/#define/#undef/'
} > "$T/snp-off.h"

rc=0
# Our symbols (sev.o has upstream SEV-SNP ones: not these).
OURS='kvm_snp_|snp_page_lock|snp_(un)?pin_shared|snp_user_|snp_revocable|snp_make_(private|shared)|snp_k(un)?map'
KVM=arch/x86/kvm/../../../virt/kvm
for obj in mm/page_alloc.o $KVM/kvm_main.o $KVM/pfncache.o \
	   arch/x86/kvm/x86.o arch/x86/kvm/mmu/mmu.o \
	   arch/x86/kvm/svm/nested.o arch/x86/kvm/svm/sev.o; do
	cmd=$(sed -n "s|^savedcmd_$obj := ||p" "$X86_OUT/$(dirname "$obj")/.$(basename "$obj").cmd")
	[ -n "$cmd" ] || die "no build command for $obj: build the x86_64 kernel first"
	out=$T/$(basename "$obj")
	# The compiler only (objtool and friends follow after ';'), another
	# output, the off header last among the -include files.
	cmd=${cmd%%;*}
	cmd=${cmd/-Wp,-MMD,$(dirname "$obj")\/.$(basename "$obj").d/-Wp,-MMD,$out.d}
	cmd=${cmd/ -o $obj / -o $out -include $T/snp-off.h }
	if ! (cd "$X86_OUT" && eval "$cmd") > "$T/build.log" 2>&1; then
		cat "$T/build.log"
		echo "check-off: $obj does not build with CONFIG_SNP_PAGE_LOCK=n"
		rc=1
		continue
	fi
	if nm "$out" | grep -E "$OURS"; then
		echo "check-off: $obj references the layer with CONFIG_SNP_PAGE_LOCK=n"
		rc=1
	fi
done
exit $rc
