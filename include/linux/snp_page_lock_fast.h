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
 * word of pfn. A chunk without memory online (a hole, ZONE_DEVICE) points
 * at a shared sink, whose words may count pins but never change state, as
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

/**
 * struct snp_word_map - the table behind snp_state_word()
 * @map: per chunk, its words biased by its first pfn
 * @nr: chunks covered; written after @map (grows at memory hot-add)
 * @sink: SNP_MAP_PAGES words for every pfn without memory online
 */
struct snp_word_map {
	struct snp_page_word **map;
	unsigned long nr;
	struct snp_page_word *sink;
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
