// SPDX-License-Identifier: GPL-2.0
/*
 * snp_page_lock SEV-SNP backend: RMPUPDATE through rmp_make_private() and
 * rmp_make_shared(). Selected at boot only on an SNP host
 * (CC_ATTR_HOST_SEV_SNP).
 *
 * The layer itself does not know the guest: pages converted through the
 * generic API are assigned to ASID 0 at GPA 0, i.e. owned by the hypervisor
 * but not host-accessible. KVM's SEV code assigns guest pages with the
 * guest's ASID and GPA through snp_rmp_make_private() and
 * snp_rmp_make_shared(), which do the RMPUPDATE inside a conversion of the
 * layer (snp_convert_external()).
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/mm.h>
#include <linux/snp_page_lock.h>
#include <linux/snp_page_lock_rmp.h>
#include <linux/cacheflush.h>
#include <asm/sev.h>

#include "snp_page_lock_internal.h"

static int snp_rmp_backend_private(unsigned long pfn)
{
	return rmp_make_private(pfn, 0, PG_LEVEL_4K, 0, false);
}

static int snp_rmp_backend_shared(unsigned long pfn)
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
	.make_private = snp_rmp_backend_private,
	.make_shared = snp_rmp_backend_shared,
};

struct snp_rmp_assign {
	u64 gpa;
	enum pg_level level;
	u32 asid;
	bool immutable;
};

static int snp_rmp_assign(unsigned long pfn, unsigned long nr_pages,
			  void *arg)
{
	const struct snp_rmp_assign *a = arg;

	return rmp_make_private(pfn, a->gpa, a->level, a->asid, a->immutable);
}

int snp_rmp_make_private(u64 pfn, u64 gpa, enum pg_level level, u32 asid,
			 bool immutable)
{
	struct snp_rmp_assign a = {
		.gpa = gpa,
		.level = level,
		.asid = asid,
		.immutable = immutable,
	};

	if (!snp_page_lock_is_enabled())
		return rmp_make_private(pfn, gpa, level, asid, immutable);
	return snp_convert_external(pfn, page_level_size(level) >> PAGE_SHIFT,
				    SNP_PAGE_PRIVATE, 0, snp_rmp_assign, &a);
}
EXPORT_SYMBOL_GPL(snp_rmp_make_private);

static int snp_rmp_unassign(unsigned long pfn, unsigned long nr_pages,
			    void *arg)
{
	return rmp_make_shared(pfn, *(enum pg_level *)arg);
}

int snp_rmp_make_shared(u64 pfn, enum pg_level level)
{
	if (!snp_page_lock_is_enabled())
		return rmp_make_shared(pfn, level);
	return snp_convert_external(pfn, page_level_size(level) >> PAGE_SHIFT,
				    SNP_PAGE_SHARED, 0, snp_rmp_unassign,
				    &level);
}
EXPORT_SYMBOL_GPL(snp_rmp_make_shared);
