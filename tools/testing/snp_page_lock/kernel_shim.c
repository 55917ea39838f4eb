// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side the fast path needs, in userspace: the word map with
 * its sink (as mm/snp/snp_word_map.c sets it up), the counters the header
 * declares, and the out-of-line back-offs and unpin slow paths of page and
 * block pins (which only undo here: nobody waits in the harness).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_shim.h"

struct snp_word_map snp_word_map;
DEFINE_PER_CPU(struct snp_pin_counts, snp_pin_counts);
unsigned long shim_backoffs;
unsigned long shim_slow_unpins;
unsigned long shim_block_backoffs;
unsigned long shim_block_slow_unpins;

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

/*
 * A block pin that found pages of the block not shared (or the count
 * saturated) takes its bias away. The kernel's snp_block_errno() then
 * scans the block's page words for the first page in the way and returns
 * its errno: -EPERM for a private page, -EAGAIN for a converting one (or
 * for a converter that counted a page and has not marked it yet). The
 * shim does not scan: any unshared count is -EAGAIN here, private pages
 * included, as if every such page were being converted.
 */
int __snp_block_backoff(unsigned long pfn, atomic64_t *bword, u64 old)
{
	atomic64_sub_return(SNP_BS_PIN_BIAS, bword);
	__atomic_fetch_add(&shim_block_backoffs, 1, __ATOMIC_RELAXED);
	return (old & SNP_BS_UNSHARED_MASK) ? -EAGAIN : -EOVERFLOW;
}

/*
 * As the kernel's snp_block_unpinned(): undo an unpin without a pin; the
 * last pin of a block with WAITER set clears WAITER (nobody to wake).
 */
void __snp_block_unpin_slow(unsigned long pfn, atomic64_t *bword, u64 new)
{
	__atomic_fetch_add(&shim_block_slow_unpins, 1, __ATOMIC_RELAXED);
	if ((new & SNP_BS_UNDERFLOW) == SNP_BS_UNDERFLOW)
		new = atomic64_add_return(SNP_BS_PIN_BIAS, bword);
	if ((new & SNP_BS_WAITER) && !snp_bs_pins(new))
		atomic64_andnot(SNP_BS_WAITER, bword);
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

static struct snp_page_word *shim_chunk_base(struct snp_page_word *words,
					     unsigned long chunk)
{
	return words - (chunk << SNP_MAP_SHIFT);
}

static atomic64_t *shim_chunk_bbase(atomic64_t *bwords, unsigned long chunk)
{
	return bwords - (chunk << (SNP_MAP_SHIFT - SNP_BLOCK_SHIFT));
}

/*
 * The word map for [first_pfn, first_pfn + nr_pages) (chunk aligned), set
 * up as mm/snp/snp_word_map.c sets it up: per chunk, map[c] points at its
 * SNP_MAP_PAGES page words biased by its first pfn (snp_chunk_base()) and
 * bmap[c] at its SNP_MAP_BLOCKS block words biased by its first block
 * number (snp_chunk_bbase()). The kernel allocates both arrays per chunk;
 * here the chunks of the range take consecutive slices of one array of
 * page words and one of block words. Chunks below the range are holes:
 * they point at the sink and at bsink, biased the same way (snp_sink_of(),
 * snp_bsink_of()); pfns above it are beyond the table, where the lookups
 * return the same sink words. Returns the page words of the range, and
 * its block words in *@bwords.
 */
struct snp_page_word *shim_memory_init(unsigned long first_pfn,
				       unsigned long nr_pages,
				       atomic64_t **bwords)
{
	unsigned long c, nr = (first_pfn + nr_pages) >> SNP_MAP_SHIFT;
	unsigned long c0 = first_pfn >> SNP_MAP_SHIFT;
	struct snp_page_word *words;
	atomic64_t *bw;

	/* As the kernel's BUILD_BUG_ON: a block never spans two chunks. */
	static_assert(SNP_MAP_SHIFT >= SNP_BLOCK_SHIFT, "block > chunk");
	if ((first_pfn | nr_pages) & (SNP_MAP_PAGES - 1)) {
		fprintf(stderr, "%s: range not chunk aligned\n", __func__);
		exit(2);
	}
	words = zalloc(nr_pages * sizeof(*words));
	bw = zalloc((nr - c0) * SNP_MAP_BLOCKS * sizeof(*bw));
	snp_word_map.sink = zalloc(SNP_MAP_PAGES * sizeof(*snp_word_map.sink));
	snp_word_map.bsink = zalloc(SNP_MAP_BLOCKS *
				    sizeof(*snp_word_map.bsink));
	snp_word_map.map = zalloc(nr * sizeof(*snp_word_map.map));
	snp_word_map.bmap = zalloc(nr * sizeof(*snp_word_map.bmap));
	for (c = 0; c < nr; c++) {
		if (c < c0) {
			snp_word_map.map[c] =
				shim_chunk_base(snp_word_map.sink, c);
			snp_word_map.bmap[c] =
				shim_chunk_bbase(snp_word_map.bsink, c);
		} else {
			snp_word_map.map[c] = shim_chunk_base(words +
				(c - c0) * SNP_MAP_PAGES, c);
			snp_word_map.bmap[c] = shim_chunk_bbase(bw +
				(c - c0) * SNP_MAP_BLOCKS, c);
		}
	}
	snp_word_map.nr = nr;
	*bwords = bw;
	return words;
}
