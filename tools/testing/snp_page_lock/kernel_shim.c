// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side the fast path needs, in userspace: the section table
 * with page_ext behind it, the layout and counters the header declares,
 * and the out-of-line back-off and unpin slow path (which only undo here:
 * nobody waits in the harness).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_shim.h"

struct mem_section **mem_section;
struct snp_page_ext_layout snp_pe_layout;
DEFINE_PER_CPU(struct snp_pin_counts, snp_pin_counts);

unsigned long shim_backoffs;
unsigned long shim_slow_unpins;

int __snp_pin_backoff(unsigned long pfn, atomic_t *word, u32 old)
{
	atomic_sub_return(SNP_PS_PIN_BIAS, word);
	__atomic_fetch_add(&shim_backoffs, 1, __ATOMIC_RELAXED);
	if (old & (SNP_PS_CONVERTING | SNP_PS_WAITER))
		return -EAGAIN;
	if (old & SNP_PS_PRIVATE)
		return -EPERM;
	return -EOVERFLOW;
}

void __snp_unpin_slow(unsigned long pfn, atomic_t *word, u32 new)
{
	__atomic_fetch_add(&shim_slow_unpins, 1, __ATOMIC_RELAXED);
	if ((new & SNP_PS_UNDERFLOW) == SNP_PS_UNDERFLOW)
		atomic_add(SNP_PS_PIN_BIAS, word);
}

static void *zalloc(size_t size)
{
	void *p = aligned_alloc(4096, (size + 4095) & ~4095UL);

	if (!p) {
		perror("aligned_alloc");
		exit(2);
	}
	memset(p, 0, size);
	return p;
}

/*
 * Memory sections for [first_pfn, first_pfn + nr_pages), section aligned,
 * with page_ext entries of @stride bytes, the layer's word at @offset.
 * Returns the page_ext memory (entry of first_pfn).
 */
void *shim_memory_init(unsigned long first_pfn, unsigned long nr_pages,
		       unsigned long stride, unsigned long offset)
{
	unsigned long per = 1UL << PFN_SECTION_SHIFT;
	unsigned long nr, root;
	char *ext;

	mem_section = zalloc(NR_SECTION_ROOTS * sizeof(*mem_section));
	ext = zalloc(nr_pages * stride);
	snp_pe_layout.stride = stride;
	snp_pe_layout.offset = offset;
	for (nr = first_pfn / per; nr * per < first_pfn + nr_pages; nr++) {
		root = nr / SECTIONS_PER_ROOT;
		if (!mem_section[root])
			mem_section[root] = zalloc(SHIM_PAGE_SIZE);
		/* Biased as page_ext.c does: base - stride * section pfn. */
		mem_section[root][nr & (SECTIONS_PER_ROOT - 1)].page_ext =
			(struct page_ext *)(ext + (nr * per - first_pfn) * stride -
					    nr * per * stride);
	}
	return ext;
}
