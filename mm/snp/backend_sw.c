// SPDX-License-Identifier: GPL-2.0
/*
 * snp_page_lock software backend: private pages exist only in the page
 * lock's state word. Where the architecture can change the direct map (x86),
 * a private page is removed from it, as secretmem does, so that a stray
 * host access faults loudly instead of silently reading guest memory. With
 * CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM the contents of a private page are
 * checksummed when it becomes private and verified when it becomes shared
 * again, which catches host writes where the direct map cannot change
 * (e.g. UML).
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/highmem.h>
#include <linux/jhash.h>
#include <linux/mm.h>
#include <linux/set_memory.h>
#include <asm/tlbflush.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "snp_page_lock_internal.h"

/**
 * snp_backend_sw_unmaps_direct_map() - does make_private unmap the page?
 *
 * Return: true if the software backend removes private pages from the
 * direct map on this system.
 */
bool snp_backend_sw_unmaps_direct_map(void)
{
#ifdef CONFIG_ARCH_HAS_SET_DIRECT_MAP
	return can_set_direct_map();
#else
	return false;
#endif
}
EXPORT_SYMBOL_IF_KUNIT(snp_backend_sw_unmaps_direct_map);

static bool snp_sw_unmaps(struct page *page)
{
	return snp_backend_sw_unmaps_direct_map() && !PageHighMem(page);
}

#ifdef CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM
static u32 snp_sw_csum(struct page *page)
{
	void *addr = kmap_local_page(page);
	u32 csum;

	csum = jhash2(addr, PAGE_SIZE / sizeof(u32), 0);
	kunmap_local(addr);
	return csum;
}

static void snp_sw_csum_store(unsigned long pfn)
{
	snp_page_lock_set_csum(pfn, snp_sw_csum(pfn_to_page(pfn)));
}

static void snp_sw_csum_verify(unsigned long pfn)
{
	if (snp_sw_csum(pfn_to_page(pfn)) == snp_page_lock_get_csum(pfn))
		return;
	snp_stat_add(SNP_STAT_CSUM_MISMATCH, 1);
	pr_err_ratelimited("private page pfn %#lx was modified by the host\n",
			   pfn);
}
#else
static inline void snp_sw_csum_store(unsigned long pfn) { }
static inline void snp_sw_csum_verify(unsigned long pfn) { }
#endif

/*
 * The direct-map entry is gone when this returns; stale TLB entries of it
 * go in snp_sw_flush_private(), once per conversion.
 */
static int snp_sw_make_private(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);

	/* Lets a KUnit test make the backend fail (nothing without KUnit). */
	KUNIT_STATIC_STUB_REDIRECT(snp_sw_make_private, pfn);

	snp_sw_csum_store(pfn);

	if (!snp_sw_unmaps(page))
		return 0;
	return set_direct_map_invalid_noflush(page);
}

static void snp_sw_flush_private(unsigned long first_pfn,
				 unsigned long last_pfn)
{
	struct page *first = pfn_to_page(first_pfn);
	struct page *last = pfn_to_page(last_pfn);
	unsigned long start, end;

	if (!snp_backend_sw_unmaps_direct_map())
		return;
	if (PageHighMem(first) || PageHighMem(last)) {
		flush_tlb_all();
		return;
	}
	/* Large spans become one full flush (tlb_single_page_flush_ceiling). */
	start = (unsigned long)page_address(first);
	end = (unsigned long)page_address(last) + PAGE_SIZE;
	flush_tlb_kernel_range(start, end);
}

static int snp_sw_make_shared(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);
	int ret;

	/* Lets a KUnit test make the backend fail (nothing without KUnit). */
	KUNIT_STATIC_STUB_REDIRECT(snp_sw_make_shared, pfn);

	if (snp_sw_unmaps(page)) {
		/* Only a not-present PTE is replaced: no flush needed. */
		ret = set_direct_map_default_noflush(page);
		if (ret)
			return ret;
	}

	snp_sw_csum_verify(pfn);
	return 0;
}

const struct snp_backend_ops snp_backend_sw = {
	.name = "software",
	.make_private = snp_sw_make_private,
	.make_shared = snp_sw_make_shared,
	.flush_private = snp_sw_flush_private,
};
