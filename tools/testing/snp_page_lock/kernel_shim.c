// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side the fast path needs, in userspace: the word map with
 * its sink (as mm/snp/snp_word_map.c sets it up), the counters the header
 * declares, and the out-of-line back-off and unpin slow path (which only
 * undo here: nobody waits in the harness).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_shim.h"

struct snp_word_map snp_word_map;
DEFINE_PER_CPU(struct snp_pin_counts, snp_pin_counts);
unsigned long shim_backoffs;
unsigned long shim_slow_unpins;

int __snp_pin_backoff(unsigned long pfn, atomic_t *word, u32 old)
{
	atomic_sub_return(SNP_PS_PIN_BIAS, word);
	__atomic_fetch_add(&shim_backoffs, 1, __ATOMIC_RELAXED);
	return snp_ps_pin_errno(old);
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
 * The word map for [first_pfn, first_pfn + nr_pages) (chunk aligned): one
 * array for the range; chunks below it and pfns above it at the sink.
 * Returns the words.
 */
struct snp_page_word *shim_memory_init(unsigned long first_pfn,
				       unsigned long nr_pages)
{
	unsigned long c, nr = (first_pfn + nr_pages) >> SNP_MAP_SHIFT;
	struct snp_page_word *words, *sink;

	words = zalloc(nr_pages * sizeof(*words));
	sink = zalloc(SNP_MAP_PAGES * sizeof(*sink));
	snp_word_map.map = zalloc(nr * sizeof(*snp_word_map.map));
	for (c = 0; c < nr; c++) {
		if (c << SNP_MAP_SHIFT < first_pfn)
			snp_word_map.map[c] = sink - (c << SNP_MAP_SHIFT);
		else
			snp_word_map.map[c] = words - first_pfn;
	}
	snp_word_map.sink = sink;
	snp_word_map.nr = nr;
	return words;
}
