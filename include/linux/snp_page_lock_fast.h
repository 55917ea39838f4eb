/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snp_page_lock: the state word and the single-page pin fast path.
 *
 * Included by <linux/snp_page_lock.h>; kept apart, with few includes, so
 * that tools/testing/snp_page_lock can compile this very code natively
 * against shims and measure it.
 */
#ifndef _LINUX_SNP_PAGE_LOCK_FAST_H
#define _LINUX_SNP_PAGE_LOCK_FAST_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/mmzone.h>
#include <linux/percpu.h>
#include <linux/types.h>

int __snp_pin_backoff(unsigned long pfn, atomic_t *word, u32 old);
void __snp_unpin_slow(unsigned long pfn, atomic_t *word, u32 new);
int __snp_block_backoff(unsigned long pfn, atomic64_t *bword, u64 old);
void __snp_block_unpin_slow(unsigned long pfn, atomic64_t *bword, u64 new);

/*
 * The per-page state word (32 bits in the word map below; zeroed memory =
 * shared and unpinned). Flags are in the low bits so that a pin is one fetch_add of
 * SNP_PS_PIN_BIAS, as the rwsem reader count:
 *
 *   bit 0      PRIVATE     the page belongs to a guest
 *   bit 1      CONVERTING  a conversion owns the page; new pins fail
 *   bit 2      WAITER      a converter sleeps until the pins drain
 *   bits 3-31  pins        shared pin count; bit 31 (GUARD) set means
 *                          saturated (SNP_PS_PINS_MAX pins), bits 31 and
 *                          30 both set means the count went below zero
 *
 * A pin that finds any of PRIVATE, CONVERTING, WAITER or GUARD in the old
 * value backs off: it takes its bias away again (and wakes a converter
 * that waits for the count to reach zero). So the count is exact at rest;
 * at any instant it may include such transient pins, which is why the
 * converter's wait, to-shared and the end of a conversion keep the count
 * as it is instead of expecting zero.
 */
#define SNP_PS_PRIVATE		BIT(0)
#define SNP_PS_CONVERTING	BIT(1)
#define SNP_PS_WAITER		BIT(2)
#define SNP_PS_FLAGS_MASK	(BIT(3) - 1)
#define SNP_PS_PIN_SHIFT	3
#define SNP_PS_PIN_BIAS		BIT(SNP_PS_PIN_SHIFT)
#define SNP_PS_GUARD		BIT(31)
#define SNP_PS_UNDERFLOW	(BIT(31) | BIT(30))
#define SNP_PS_PINS_MAX		(SNP_PS_GUARD >> SNP_PS_PIN_SHIFT)
#define SNP_PS_PIN_SLOW		(SNP_PS_PRIVATE | SNP_PS_CONVERTING | \
				 SNP_PS_WAITER | SNP_PS_GUARD)
#define SNP_PS_UNPIN_SLOW	(SNP_PS_WAITER | SNP_PS_GUARD)

/* The errno of a pin that found @old in the word and backed off. */
static __always_inline int snp_ps_pin_errno(u32 old)
{
	if (old & (SNP_PS_CONVERTING | SNP_PS_WAITER))
		return -EAGAIN;
	if (old & SNP_PS_PRIVATE)
		return -EPERM;
	return -EOVERFLOW;
}

/* Pins in a state word, transient back-off pins included. */
static __always_inline u32 snp_ps_pins(u32 s)
{
	return s >> SNP_PS_PIN_SHIFT;
}

/*
 * The block word: one per naturally aligned block of SNP_BLOCK_PAGES pages
 * (2 MiB), 64 bits, zero = no block pin and every page shared:
 *
 *   bit 0       WAITER    a converter waits for the block pins to drain
 *   bits 1-31   unshared  pages of the block that are private or being
 *                         converted to private, plus converters that
 *                         counted a page and have not marked it yet
 *   bits 32-63  pins      block pins; GUARD and underflow as the page word
 *
 * A range pin takes one block pin for each whole aligned block it covers
 * and 4 KiB pins for its unaligned head and tail; a block pin succeeds only
 * while unshared is zero, and stands for one pin on each page of the block
 * (snp_page_pins() adds both). A conversion to private counts each page in
 * its block before it marks the page word and, if the block held pins,
 * waits for them as for page pins; the page leaves the count when it is
 * shared again or the conversion aborts. The unpin or back-off that
 * takes the pins to zero with WAITER set clears WAITER (and wakes the
 * block's wait queue); a waiting converter sets it before every look at
 * the pins, and clears it when it stops waiting only while no pin is
 * counted (tools/testing/snp_page_lock_model/snp_page_lock_block.pml).
 */
#define SNP_BLOCK_SHIFT		(21 - PAGE_SHIFT)
#define SNP_BLOCK_PAGES		BIT(SNP_BLOCK_SHIFT)
#define SNP_BS_WAITER		BIT_ULL(0)
#define SNP_BS_UNSHARED_ONE	BIT_ULL(1)
#define SNP_BS_UNSHARED_MASK	GENMASK_ULL(31, 1)
#define SNP_BS_PIN_SHIFT	32
#define SNP_BS_PIN_BIAS		BIT_ULL(SNP_BS_PIN_SHIFT)
#define SNP_BS_GUARD		BIT_ULL(63)
#define SNP_BS_UNDERFLOW	(BIT_ULL(63) | BIT_ULL(62))
#define SNP_BS_PINS_MAX		(SNP_BS_GUARD >> SNP_BS_PIN_SHIFT)
#define SNP_BS_PIN_SLOW		(SNP_BS_UNSHARED_MASK | SNP_BS_GUARD)
#define SNP_BS_UNPIN_SLOW	(SNP_BS_WAITER | SNP_BS_GUARD)

/* Block pins in a block word, transient back-off pins included. */
static __always_inline u32 snp_bs_pins(u64 s)
{
	return s >> SNP_BS_PIN_SHIFT;
}

/* Pages counted as not shared in a block word. */
static __always_inline u32 snp_bs_unshared(u64 s)
{
	return (s & SNP_BS_UNSHARED_MASK) >> 1;
}

/**
 * struct snp_page_word - what the layer keeps per 4 KiB page
 * @state: the state word
 * @csum: CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM: the checksum of a private page
 */
struct snp_page_word {
	atomic_t state;
#ifdef CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM
	u32 csum;
#endif
};

/*
 * The word map: one pointer per chunk of SNP_MAP_PAGES pages (a memory
 * section with SPARSEMEM), to the words of that chunk's pages, biased by
 * the chunk's first pfn so that map[pfn >> SNP_MAP_SHIFT] + pfn is the
 * word of pfn; a parallel table does the same for the chunk's
 * SNP_MAP_BLOCKS block words, biased by its first block number. A chunk
 * without memory online (a hole, ZONE_DEVICE) points at a shared sink
 * (and block sink), whose words may count pins but never change state, as
 * do pfns beyond the table (so a pfn's word does not change when the table
 * grows). Arrays are allocated when memory comes online and never freed,
 * so the lookup needs no RCU and no reference.
 */
#ifdef CONFIG_SPARSEMEM
#define SNP_MAP_SHIFT	PFN_SECTION_SHIFT
#else
#define SNP_MAP_SHIFT	(27 - PAGE_SHIFT)
#endif
#define SNP_MAP_PAGES	BIT(SNP_MAP_SHIFT)
#define SNP_MAP_BLOCKS	(SNP_MAP_PAGES >> SNP_BLOCK_SHIFT)

/**
 * struct snp_word_map - the table behind snp_state_word()
 * @map: per chunk, its words biased by its first pfn
 * @bmap: per chunk, its block words biased by its first block number
 * @nr: chunks covered; written after @map and @bmap (grows at memory
 *	hot-add)
 * @sink: SNP_MAP_PAGES words for every pfn without memory online
 * @bsink: SNP_MAP_BLOCKS block words for the same
 */
struct snp_word_map {
	struct snp_page_word **map;
	atomic64_t **bmap;
	unsigned long nr;
	struct snp_page_word *sink;
	atomic64_t *bsink;
};

extern struct snp_word_map snp_word_map;

/* Fast-path counters: per CPU, summed in <debugfs>/snp_page_lock/stats. */
struct snp_pin_counts {
	unsigned long pins;
	unsigned long unpins;
};
DECLARE_PER_CPU(struct snp_pin_counts, snp_pin_counts);

/*
 * The state word of @pfn: two dependent loads, no pfn_valid(), no RCU.
 * Never NULL once the layer is on: a pfn without memory online (a hole,
 * MMIO, beyond the table) gets the sink's word, which pins count in and
 * nothing else reads.
 */
static __always_inline atomic_t *snp_state_word(unsigned long pfn)
{
	unsigned long chunk = pfn >> SNP_MAP_SHIFT;
	struct snp_page_word **map;

	/* Pairs with the release that publishes a grown map. */
	if (unlikely(chunk >= smp_load_acquire(&snp_word_map.nr)))
		return &snp_word_map.sink[pfn & (SNP_MAP_PAGES - 1)].state;
	map = READ_ONCE(snp_word_map.map);
	return &(READ_ONCE(map[chunk]) + pfn)->state;
}

/*
 * The block word of the aligned block around @pfn, found as its page
 * word is; the sink has block words too, which count block pins of pfns
 * without memory and never change otherwise.
 */
static __always_inline atomic64_t *snp_block_word(unsigned long pfn)
{
	unsigned long chunk = pfn >> SNP_MAP_SHIFT;
	unsigned long block = pfn >> SNP_BLOCK_SHIFT;
	atomic64_t **bmap;

	/* Pairs with the release that publishes a grown map. */
	if (unlikely(chunk >= smp_load_acquire(&snp_word_map.nr)))
		return &snp_word_map.bsink[block & (SNP_MAP_BLOCKS - 1)];
	bmap = READ_ONCE(snp_word_map.bmap);
	return READ_ONCE(bmap[chunk]) + block;
}

/*
 * One pin of a whole aligned block (@pfn its first page): one fully
 * ordered fetch_add on its block word, the counterpart of snp_pin_word().
 * A page of the block private or converting, or a saturated count, sends
 * it to the out-of-line back-off.
 */
static __always_inline int snp_pin_block(unsigned long pfn, atomic64_t *bword)
{
	u64 old = atomic64_fetch_add(SNP_BS_PIN_BIAS, bword);

	if (unlikely(old & SNP_BS_PIN_SLOW))
		return __snp_block_backoff(pfn, bword, old);
	return 0;
}

/* The unpin of a block pin, as snp_unpin_word(). */
static __always_inline void snp_unpin_block(unsigned long pfn,
					    atomic64_t *bword)
{
	u64 new = atomic64_sub_return(SNP_BS_PIN_BIAS, bword);

	if (unlikely(new & SNP_BS_UNPIN_SLOW))
		__snp_block_unpin_slow(pfn, bword, new);
}

/* Lockdep builds keep the single-page pin out of line (annotations). */
#ifndef CONFIG_LOCKDEP
#define SNP_PIN_INLINE	1
#else
#define SNP_PIN_INLINE	0
#endif

/*
 * One pin on one page: one fully ordered fetch_add; anything but a plain
 * shared page in the old value goes to the out-of-line back-off. The body
 * of both the inline single-page pin and the out-of-line range walk.
 */
static __always_inline int snp_pin_word(unsigned long pfn, atomic_t *word)
{
	u32 old = atomic_fetch_add(SNP_PS_PIN_BIAS, word);

	if (unlikely(old & SNP_PS_PIN_SLOW))
		return __snp_pin_backoff(pfn, word, old);
	return 0;
}

/*
 * One unpin: one fully ordered sub_return (the holder's accesses to the
 * page are ordered before a converter can see the pin gone, and the WAITER
 * check after the decrement); the slow path wakes a converter or catches
 * an unpin without a pin.
 */
static __always_inline void snp_unpin_word(unsigned long pfn, atomic_t *word)
{
	u32 new = atomic_sub_return(SNP_PS_PIN_BIAS, word);

	if (unlikely(new & SNP_PS_UNPIN_SLOW))
		__snp_unpin_slow(pfn, word, new);
}

#if SNP_PIN_INLINE
/* The single-page pin and unpin of kernels without lockdep. */
static __always_inline int snp_pin_page_inline(unsigned long pfn)
{
	int ret = snp_pin_word(pfn, snp_state_word(pfn));

	if (likely(!ret))
		this_cpu_inc(snp_pin_counts.pins);
	return ret;
}

static __always_inline void snp_unpin_page_inline(unsigned long pfn)
{
	snp_unpin_word(pfn, snp_state_word(pfn));
	this_cpu_inc(snp_pin_counts.unpins);
}
#endif /* SNP_PIN_INLINE */

#endif /* _LINUX_SNP_PAGE_LOCK_FAST_H */
