/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RMP updates through the SNP page lock (x86, CONFIG_KVM_AMD_SEV): KVM's
 * SEV code assigns guest pages with the guest's ASID and GPA, which the
 * layer's generic conversion does not know, but still through the layer,
 * so that the layer's state and the RMP never disagree. With the layer off
 * (or configured out) these are rmp_make_private() / rmp_make_shared().
 */
#ifndef _LINUX_SNP_PAGE_LOCK_RMP_H
#define _LINUX_SNP_PAGE_LOCK_RMP_H

#include <linux/types.h>
#include <asm/pgtable_types.h>
#include <asm/sev.h>

#if defined(CONFIG_SNP_PAGE_LOCK) && defined(CONFIG_KVM_AMD_SEV)

/**
 * snp_rmp_make_private() - rmp_make_private() through the SNP page lock
 * @pfn: first pfn (aligned to @level)
 * @gpa: guest physical address of the first page
 * @level: %PG_LEVEL_4K or %PG_LEVEL_2M
 * @asid: the guest's ASID
 * @immutable: assign immutably (firmware-owned)
 *
 * The pages are marked converting, their host pins waited for (bounded),
 * then RMPUPDATE makes them private and the layer commits. Sleeps.
 *
 * Return: 0, the layer's errors (-EBUSY: the host still maps a page) or
 * rmp_make_private()'s.
 */
int snp_rmp_make_private(u64 pfn, u64 gpa, enum pg_level level, u32 asid,
			 bool immutable);

/**
 * snp_rmp_make_shared() - rmp_make_shared() through the SNP page lock
 * @pfn: first pfn (aligned to @level)
 * @level: %PG_LEVEL_4K or %PG_LEVEL_2M
 *
 * Return: 0, the layer's errors or rmp_make_shared()'s.
 */
int snp_rmp_make_shared(u64 pfn, enum pg_level level);

#else

static inline int snp_rmp_make_private(u64 pfn, u64 gpa, enum pg_level level,
				       u32 asid, bool immutable)
{
	return rmp_make_private(pfn, gpa, level, asid, immutable);
}

static inline int snp_rmp_make_shared(u64 pfn, enum pg_level level)
{
	return rmp_make_shared(pfn, level);
}

#endif

#endif /* _LINUX_SNP_PAGE_LOCK_RMP_H */
