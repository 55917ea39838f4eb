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
#include <linux/mmzone.h>
#include <linux/percpu.h>
#include <linux/types.h>

int __snp_pin_backoff(unsigned long pfn, atomic_t *word, u32 old);
void __snp_unpin_slow(unsigned long pfn, atomic_t *word, u32 new);

/*
 * The per-page state word (32 bits in page_ext; zeroed memory = shared and
 * unpinned). Flags are in the low bits so that a pin is one fetch_add of
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

/* Pins in a state word, transient back-off pins included. */
static __always_inline u32 snp_ps_pins(u32 s)
{
	return s >> SNP_PS_PIN_SHIFT;
}

/*
 * Where the state words are: page_ext stride and the layer's offset in an
 * entry, set once at boot. Exported for the inline fast path.
 */
struct snp_page_ext_layout {
	unsigned long stride;
	unsigned long offset;
};

extern struct snp_page_ext_layout snp_pe_layout;

/* Fast-path counters: per CPU, summed in <debugfs>/snp_page_lock/stats. */
struct snp_pin_counts {
	unsigned long pins;
	unsigned long unpins;
};
DECLARE_PER_CPU(struct snp_pin_counts, snp_pin_counts);

#ifdef CONFIG_SPARSEMEM
/*
 * The state word of @pfn, found as lookup_page_ext() does for SPARSEMEM,
 * without page_ext_get(): no RCU and no pfn_valid(). NULL when the pfn has
 * no page_ext (not RAM, or a section without page_ext): such a page is
 * always shared. Safe for any pfn; the word stays valid as long as the
 * caller holds a reference on the page (memory with a referenced page
 * cannot go offline, and page_ext is freed only after offlining).
 */
static __always_inline atomic_t *snp_state_word(unsigned long pfn)
{
	struct mem_section *ms = __pfn_to_section(pfn);
	unsigned long base;

	if (unlikely(!ms))
		return NULL;
	base = (unsigned long)READ_ONCE(ms->page_ext);
	/* NULL, or page_ext.c's PAGE_EXT_INVALID (being offlined) */
	if (unlikely(!base || (base & 1)))
		return NULL;
	return (atomic_t *)(base + snp_pe_layout.stride * pfn +
			    snp_pe_layout.offset);
}
#endif

/* Lockdep builds keep the single-page pin out of line (annotations). */
#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_LOCKDEP)
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
	u32 old;

	if (unlikely(!word))
		return 0;
	old = atomic_fetch_add(SNP_PS_PIN_BIAS, word);
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
	u32 new;

	if (unlikely(!word))
		return;
	new = atomic_sub_return(SNP_PS_PIN_BIAS, word);
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
