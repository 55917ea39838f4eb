/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim of <linux/mmzone.h>: SPARSEMEM_EXTREME's section table as
 * x86_64 lays it out (128 MiB sections, a root array of pointers to pages
 * of 32-byte struct mem_section), so that the fast path's lookup does the
 * same loads as in the kernel. The harness fills it in.
 */
#ifndef _SHIM_LINUX_MMZONE_H
#define _SHIM_LINUX_MMZONE_H

#include <linux/compiler.h>
#include <linux/types.h>

#define PFN_SECTION_SHIFT	15
#define SHIM_PAGE_SIZE		4096UL

struct page_ext;

struct mem_section {
	unsigned long section_mem_map;
	void *usage;
	struct page_ext *page_ext;
	unsigned long pad;
};

#define SECTIONS_PER_ROOT	(SHIM_PAGE_SIZE / sizeof(struct mem_section))
#define NR_MEM_SECTIONS		(1UL << (46 - 27))
#define NR_SECTION_ROOTS	(NR_MEM_SECTIONS / SECTIONS_PER_ROOT)

extern struct mem_section **mem_section;

static __always_inline struct mem_section *__nr_to_section(unsigned long nr)
{
	unsigned long root = nr / SECTIONS_PER_ROOT;

	if (unlikely(root >= NR_SECTION_ROOTS))
		return NULL;
	if (!mem_section || !mem_section[root])
		return NULL;
	return &mem_section[root][nr & (SECTIONS_PER_ROOT - 1)];
}

static __always_inline struct mem_section *__pfn_to_section(unsigned long pfn)
{
	return __nr_to_section(pfn >> PFN_SECTION_SHIFT);
}

#endif
