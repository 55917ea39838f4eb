// SPDX-License-Identifier: GPL-2.0
/*
 * snp_page_lock: the word map, where every page's state word lives.
 *
 * One pointer per chunk of SNP_MAP_PAGES pages (a memory section with
 * SPARSEMEM) to a zeroed array of struct snp_page_word for the chunk's
 * pages, biased by its first pfn: snp_state_word() is two dependent loads,
 * against four for a page_ext lookup (mem_section root, section, its
 * page_ext, the entry), which the native harness measured at 1.5x
 * get_page+put_page for a pin+unpin against 1.2-1.35x for this map.
 *
 * Arrays are allocated for the memory online at boot and, from a memory
 * hotplug notifier, when more comes online; they are never freed (an
 * offlined section keeps its words, all zero, for when it comes back), so
 * a lookup needs neither RCU nor a page reference to stay valid. A chunk
 * without memory points at one shared sink array, and snp_state_word()
 * gives pfns beyond the table the sink's words too: a pin of a pfn there
 * (an MMIO page, ZONE_DEVICE) counts in the sink and never fails, and
 * snp_word() refuses such pfns, so no conversion ever changes the sink.
 * The table covers every pfn up to the highest possible one at boot and
 * grows at hot-add beyond it; a grown table replaces the old one, which is
 * kept, as lock-free readers may still look at it.
 *
 * The block words of a chunk's 2 MiB blocks (snp_block_word()) are a
 * second, small array per chunk with a table of its own, set up and grown
 * with the first; a block never spans two chunks.
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/init.h>
#include <linux/memblock.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/snp_page_lock.h>
#include <kunit/visibility.h>

#include "snp_page_lock_internal.h"

struct snp_word_map snp_word_map;
EXPORT_SYMBOL_GPL(snp_word_map);

/* Writers: boot, then the memory hotplug notifier. */
static DEFINE_MUTEX(snp_word_map_lock);

static struct snp_page_word *snp_chunk_base(struct snp_page_word *words,
					    unsigned long chunk)
{
	return words - (chunk << SNP_MAP_SHIFT);
}

static struct snp_page_word *snp_sink_of(unsigned long chunk)
{
	return snp_chunk_base(snp_word_map.sink, chunk);
}

static atomic64_t *snp_chunk_bbase(atomic64_t *bwords, unsigned long chunk)
{
	return bwords - (chunk << (SNP_MAP_SHIFT - SNP_BLOCK_SHIFT));
}

static atomic64_t *snp_bsink_of(unsigned long chunk)
{
	return snp_chunk_bbase(snp_word_map.bsink, chunk);
}

/* Make the table cover @nr chunks; new chunks point at the sink. */
static int snp_word_map_grow(unsigned long nr)
{
	struct snp_page_word **map;
	unsigned long c, old = snp_word_map.nr;
	atomic64_t **bmap;

	lockdep_assert_held(&snp_word_map_lock);
	if (nr <= old)
		return 0;
	map = kvcalloc(nr, sizeof(*map), GFP_KERNEL);
	bmap = kvcalloc(nr, sizeof(*bmap), GFP_KERNEL);
	if (!map || !bmap) {
		kvfree(map);
		kvfree(bmap);
		return -ENOMEM;
	}
	for (c = 0; c < nr; c++) {
		map[c] = c < old ? snp_word_map.map[c] : snp_sink_of(c);
		bmap[c] = c < old ? snp_word_map.bmap[c] : snp_bsink_of(c);
	}
	/*
	 * The old tables stay: a reader may still be looking at them. The
	 * entries before the tables (readers depend on the address they
	 * load)...
	 */
	smp_store_release(&snp_word_map.map, map);
	/* Likewise for the block words' table (snp_block_word()). */
	smp_store_release(&snp_word_map.bmap, bmap);
	/* ...and the tables before their size (acquire in the lookups). */
	smp_store_release(&snp_word_map.nr, nr);
	return 0;
}

/* Give @chunk words of its own, on node @nid. */
static int snp_word_map_populate(unsigned long chunk, int nid)
{
	struct snp_page_word *words;
	atomic64_t *bwords;

	lockdep_assert_held(&snp_word_map_lock);
	if (snp_word_map.map[chunk] != snp_sink_of(chunk))
		return 0;
	words = kvcalloc_node(SNP_MAP_PAGES, sizeof(*words), GFP_KERNEL, nid);
	bwords = kvcalloc_node(SNP_MAP_BLOCKS, sizeof(*bwords), GFP_KERNEL,
			       nid);
	if (!words || !bwords) {
		kvfree(words);
		kvfree(bwords);
		return -ENOMEM;
	}
	/* Zeroed words before the pointers: release pairs with READ_ONCE. */
	smp_store_release(&snp_word_map.bmap[chunk],
			  snp_chunk_bbase(bwords, chunk));
	/* Same pairing, for the page words. */
	smp_store_release(&snp_word_map.map[chunk],
			  snp_chunk_base(words, chunk));
	return 0;
}

static int snp_word_map_add(unsigned long start_pfn, unsigned long nr_pages,
			    int nid)
{
	unsigned long c, first = start_pfn >> SNP_MAP_SHIFT;
	unsigned long last = (start_pfn + nr_pages - 1) >> SNP_MAP_SHIFT;
	int ret;

	ret = snp_word_map_grow(last + 1);
	for (c = first; !ret && c <= last; c++)
		ret = snp_word_map_populate(c, nid);
	return ret;
}

/* Does @chunk hold memory that is online now (boot)? */
static bool __init snp_chunk_online(unsigned long chunk)
{
#ifdef CONFIG_SPARSEMEM
	return online_section_nr(chunk);
#else
	unsigned long pfn = max_t(unsigned long, chunk << SNP_MAP_SHIFT,
				  ARCH_PFN_OFFSET);

	return pfn < (chunk + 1) << SNP_MAP_SHIFT && pfn_valid(pfn);
#endif
}

/* The node of an online chunk's memory (boot). */
static int __init snp_chunk_nid(unsigned long chunk)
{
#ifdef CONFIG_SPARSEMEM
	return pfn_to_nid(chunk << SNP_MAP_SHIFT);
#else
	return NUMA_NO_NODE;
#endif
}

/* Undo a failed snp_word_map_init(): nothing was published to anybody. */
static void __init snp_word_map_free(void)
{
	unsigned long c;

	for (c = 0; c < snp_word_map.nr; c++) {
		if (snp_word_map.map[c] == snp_sink_of(c))
			continue;
		kvfree(snp_word_map.map[c] + (c << SNP_MAP_SHIFT));
		kvfree(snp_word_map.bmap[c] +
		       (c << (SNP_MAP_SHIFT - SNP_BLOCK_SHIFT)));
	}
	kvfree(snp_word_map.map);
	kvfree(snp_word_map.bmap);
	kvfree(snp_word_map.sink);
	kvfree(snp_word_map.bsink);
	snp_word_map.nr = 0;
	snp_word_map.map = NULL;
	snp_word_map.bmap = NULL;
	snp_word_map.sink = NULL;
	snp_word_map.bsink = NULL;
}

static int snp_word_map_notify(struct notifier_block *nb, unsigned long action,
			       void *arg)
{
	struct memory_notify *mn = arg;
	int ret;

	if (action != MEM_GOING_ONLINE)
		return NOTIFY_OK;
	mutex_lock(&snp_word_map_lock);
	ret = snp_word_map_add(mn->start_pfn, mn->nr_pages,
			       pfn_to_nid(mn->start_pfn));
	mutex_unlock(&snp_word_map_lock);
	if (ret)
		pr_err("no state words for pfns %#lx-%#lx: %d\n", mn->start_pfn,
		       mn->start_pfn + mn->nr_pages - 1, ret);
	return notifier_from_errno(ret);
}

static struct notifier_block snp_word_map_nb = {
	.notifier_call = snp_word_map_notify,
};

int __init snp_word_map_init(void)
{
	unsigned long nr, c, words = 0;
	u64 end;
	int ret;

	end = max_t(u64, max_pfn, max_possible_pfn);
	nr = max_t(unsigned long, DIV_ROUND_UP(end, SNP_MAP_PAGES), 1);

	/* A block never straddles two chunks. */
	BUILD_BUG_ON(SNP_MAP_SHIFT < SNP_BLOCK_SHIFT);
	snp_word_map.sink = kvcalloc(SNP_MAP_PAGES, sizeof(*snp_word_map.sink),
				     GFP_KERNEL);
	snp_word_map.bsink = kvcalloc(SNP_MAP_BLOCKS,
				      sizeof(*snp_word_map.bsink), GFP_KERNEL);
	if (!snp_word_map.sink || !snp_word_map.bsink) {
		ret = -ENOMEM;
		goto free_sink;
	}
	/* First, so that no memory comes online unseen; it takes the lock. */
	ret = register_memory_notifier(&snp_word_map_nb);
	if (ret)
		goto free_sink;
	mutex_lock(&snp_word_map_lock);
	ret = snp_word_map_grow(nr);
	for (c = 0; !ret && c < nr; c++) {
		if (!snp_chunk_online(c))
			continue;
		ret = snp_word_map_populate(c, snp_chunk_nid(c));
		words += SNP_MAP_PAGES;
	}
	mutex_unlock(&snp_word_map_lock);
	if (ret)
		goto unregister;

	pr_info("state words for %lu pages (%lu KiB), map of %lu chunks\n",
		words, (words * sizeof(struct snp_page_word) +
			(words >> SNP_BLOCK_SHIFT) * sizeof(atomic64_t)) / SZ_1K,
		nr);
	return 0;

unregister:
	unregister_memory_notifier(&snp_word_map_nb);
	mutex_lock(&snp_word_map_lock);
	snp_word_map_free();
	mutex_unlock(&snp_word_map_lock);
	return ret;
free_sink:
	kvfree(snp_word_map.sink);
	kvfree(snp_word_map.bsink);
	snp_word_map.sink = NULL;
	snp_word_map.bsink = NULL;
	return ret;
}

struct snp_page_word *snp_word(unsigned long pfn)
{
	struct snp_page_word *w;

	/* The layer is off: no map. */
	if (unlikely(!snp_word_map.sink))
		return NULL;
	w = container_of(snp_state_word(pfn), struct snp_page_word, state);
	/* The sink is nobody's page: always shared, never converted. */
	if (w >= snp_word_map.sink && w < snp_word_map.sink + SNP_MAP_PAGES)
		return NULL;
	return w;
}
EXPORT_SYMBOL_IF_KUNIT(snp_word);
