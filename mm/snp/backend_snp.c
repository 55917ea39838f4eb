// SPDX-License-Identifier: GPL-2.0
/*
 * snp_page_lock SEV-SNP backend: RMPUPDATE through rmp_make_private() and
 * rmp_make_shared(). Selected at boot only on an SNP host
 * (CC_ATTR_HOST_SEV_SNP).
 *
 * The layer itself does not know the guest: pages converted through the
 * generic API are assigned to ASID 0 at GPA 0, i.e. owned by the hypervisor
 * but not host-accessible. The KVM consumer assigns guest pages with the
 * guest's ASID and GPA itself, between snp_convert_begin() and
 * snp_convert_end().
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/mm.h>
#include <asm/cacheflush.h>
#include <asm/sev.h>

#include "snp_page_lock_internal.h"

static int snp_rmp_make_private(unsigned long pfn)
{
	return rmp_make_private(pfn, 0, PG_LEVEL_4K, 0, false);
}

static int snp_rmp_make_shared(unsigned long pfn)
{
	int ret;

	ret = rmp_make_shared(pfn, PG_LEVEL_4K);
	if (ret)
		return ret;

	/* Do not let stale guest-encrypted lines alias host accesses. */
	clflush_cache_range(pfn_to_kaddr(pfn), PAGE_SIZE);
	return 0;
}

const struct snp_backend_ops snp_backend_rmp = {
	.name = "sev-snp",
	.make_private = snp_rmp_make_private,
	.make_shared = snp_rmp_make_shared,
};
