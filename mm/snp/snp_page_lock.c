// SPDX-License-Identifier: GPL-2.0
/*
 * snp_page_lock: shared pins on host mappings of guest pages versus
 * shared <-> private conversions.
 *
 * Every 4 KiB page has a 32-bit state word in the word map (see
 * snp_word_map.c, and <linux/snp_page_lock_fast.h> for the layout). Pinning is one fetch_add on
 * that word, inline for a single page; a conversion first marks the pages
 * CONVERTING so that no new pin can be taken, then sleeps on the struct
 * page until the existing pins have drained, then lets the backend convert
 * the pages. See
 * Documentation/mm/snp_page_lock.rst.
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/atomic.h>
#include <linux/cc_platform.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kstrtox.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/page_ref.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/swap.h>
#include <linux/seq_file.h>
#include <linux/snp_page_lock.h>
#include <linux/wait_bit.h>
#include <kunit/visibility.h>

#define CREATE_TRACE_POINTS
#include <trace/events/snp_page_lock.h>

#include "snp_page_lock_internal.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "snp_page_lock."

/*
 * Enabled once, from a core initcall (before any code that pins or
 * converts can run), and never disabled: a pin taken while the key was
 * off would be invisible to a converter.
 */
DEFINE_STATIC_KEY_FALSE(snp_page_lock_enabled);
EXPORT_SYMBOL_GPL(snp_page_lock_enabled);

/* snp_page_lock=on|off; -1 when not given on the command line. */
static int snp_page_lock_param __initdata = -1;

static unsigned int convert_timeout_ms = 1000;
module_param(convert_timeout_ms, uint, 0644);
MODULE_PARM_DESC(convert_timeout_ms,
		 "How long a conversion waits for pins to drain, in ms (default 1000)");

/*
 * 1: the snp_page_lock_lockdep KUnit suite converts while holding a pin;
 * 2: it waits for pins while holding a lock a pin holder takes. Both are
 * expected to produce a lockdep report; only for a dedicated test boot.
 */
#if IS_ENABLED(CONFIG_SNP_PAGE_LOCK_KUNIT_TEST)
unsigned int snp_page_lock_lockdep_selftest;
module_param_named(lockdep_selftest, snp_page_lock_lockdep_selftest, uint, 0444);
MODULE_PARM_DESC(lockdep_selftest,
		 "Run the lockdep self-test KUnit suite (1 or 2; expect a splat)");
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_lockdep_selftest);
#endif

/*
 * Chosen in snp_page_lock_backend_init(), once CC_ATTR_HOST_SEV_SNP is final;
 * NULL before (and when the layer is off): no conversion can run then.
 */
static const struct snp_backend_ops *snp_backend __ro_after_init;

DEFINE_PER_CPU(struct snp_pin_counts, snp_pin_counts);
EXPORT_PER_CPU_SYMBOL_GPL(snp_pin_counts);

static ATOMIC_NOTIFIER_HEAD(snp_convert_notifier);

/*
 * Pages that are private or converting, system-wide. Raised before a
 * shared page is marked CONVERTING, lowered after a page is back to
 * shared: while it reads zero, no freed page can be private (G4), and
 * the free check need not look.
 */
static atomic_long_t snp_nr_unshared = ATOMIC_LONG_INIT(0);

/* ------------------------------------------------------------------------
 * Boot: early parameter, word map, static key.
 */

static int __init snp_page_lock_setup(char *str)
{
	bool on;
	int ret;

	ret = kstrtobool(str, &on);
	if (ret)
		return ret;
	snp_page_lock_param = on;
	return 0;
}
early_param("snp_page_lock", snp_page_lock_setup);

static bool __init snp_page_lock_need(void)
{
	if (snp_page_lock_param >= 0)
		return snp_page_lock_param;
	return IS_ENABLED(CONFIG_SNP_PAGE_LOCK_DEFAULT_ON) ||
	       cc_platform_has(CC_ATTR_HOST_SEV_SNP);
}

/*
 * All memory present at boot is online by now (after
 * page_alloc_init_late()), and no initcall has run that could pin or
 * convert.
 */
static int __init snp_page_lock_init(void)
{
	int ret;

	if (!snp_page_lock_need())
		return 0;

	ret = snp_word_map_init();
	if (ret) {
		pr_err("no memory for the state words (%d): staying off\n",
		       ret);
		return 0;
	}
	static_branch_enable(&snp_page_lock_enabled);
	pr_info("enabled\n");
	return 0;
}
core_initcall(snp_page_lock_init);

/*
 * The backend is chosen only once the host's SNP support is final: the
 * AMD IOMMU driver sets up the RMP table from a rootfs initcall
 * (pci_iommu_init()) and clears CC_ATTR_HOST_SEV_SNP if that fails, long
 * after the layer was enabled. Nothing converts before this runs:
 * conversions come from KVM guests, the VMM ABI, the torture test (a later
 * initcall in this directory) and the KUnit suites (after all initcalls).
 */
static int __init snp_page_lock_backend_init(void)
{
	if (!snp_page_lock_is_enabled())
		return 0;

	if (IS_ENABLED(CONFIG_KVM_AMD_SEV) &&
	    cc_platform_has(CC_ATTR_HOST_SEV_SNP))
		snp_backend = &snp_backend_rmp;
	else
		snp_backend = &snp_backend_sw;
	pr_info("%s backend\n", snp_backend->name);
	return 0;
}
device_initcall(snp_page_lock_backend_init);

static const char *snp_backend_name(void)
{
	return snp_backend ? snp_backend->name : "none";
}

/* ------------------------------------------------------------------------
 * Counters.
 */

struct snp_stats {
	unsigned long count[SNP_NR_STATS];
};

static DEFINE_PER_CPU(struct snp_stats, snp_stat_pcpu);

static const char * const snp_stat_names[SNP_NR_STATS] = {
	[SNP_STAT_PINS]			= "pins",
	[SNP_STAT_UNPINS]		= "unpins",
	[SNP_STAT_PIN_EPERM]		= "pin_fail_eperm",
	[SNP_STAT_PIN_EAGAIN]		= "pin_fail_eagain",
	[SNP_STAT_PIN_EOVERFLOW]	= "pin_fail_eoverflow",
	[SNP_STAT_PIN_EINVAL]		= "pin_fail_einval",
	[SNP_STAT_TO_PRIVATE]		= "converted_to_private",
	[SNP_STAT_TO_SHARED]		= "converted_to_shared",
	[SNP_STAT_CONVERT_EAGAIN]	= "convert_fail_eagain",
	[SNP_STAT_CONVERT_EINVAL]	= "convert_fail_einval",
	[SNP_STAT_CONVERT_EBUSY]	= "convert_fail_nowait",
	[SNP_STAT_ABORTS]		= "convert_aborts",
	[SNP_STAT_BACKEND_ERRORS]	= "backend_errors",
	[SNP_STAT_WAITS]		= "waits",
	[SNP_STAT_TIMEOUTS]		= "wait_timeouts",
	[SNP_STAT_INTERRUPTED]		= "wait_interrupted",
	[SNP_STAT_REVOKES]		= "revocations",
	[SNP_STAT_REF_WAITS]		= "ref_waits",
	[SNP_STAT_CONVERT_EREFS]	= "convert_fail_refs",
	[SNP_STAT_CONVERT_DMA_PINNED]	= "convert_fail_dma_pinned",
	[SNP_STAT_ROLLBACK_FAILURES]	= "rollback_failures",
	[SNP_STAT_LEAKS]		= "leaked_pages",
	[SNP_STAT_FREED_PINNED]		= "freed_pinned",
	[SNP_STAT_CSUM_MISMATCH]	= "checksum_mismatches",
	[SNP_STAT_BLOCK_PINS]		= "block_pins",
	[SNP_STAT_BLOCK_WAITS]		= "block_waits",
};

/* Pins and unpins are counted where the inline fast path counts them. */
void snp_stat_add(enum snp_stat item, unsigned long n)
{
	if (item == SNP_STAT_PINS)
		this_cpu_add(snp_pin_counts.pins, n);
	else if (item == SNP_STAT_UNPINS)
		this_cpu_add(snp_pin_counts.unpins, n);
	else
		this_cpu_add(snp_stat_pcpu.count[item], n);
}

unsigned long snp_stat_read(enum snp_stat item)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		if (item == SNP_STAT_PINS)
			sum += per_cpu(snp_pin_counts, cpu).pins;
		else if (item == SNP_STAT_UNPINS)
			sum += per_cpu(snp_pin_counts, cpu).unpins;
		else
			sum += per_cpu(snp_stat_pcpu, cpu).count[item];
	}
	return sum;
}
EXPORT_SYMBOL_IF_KUNIT(snp_stat_read);

static int snp_stats_show(struct seq_file *m, void *v)
{
	int i;

	seq_printf(m, "enabled %d\n", snp_page_lock_is_enabled());
	seq_printf(m, "backend %s\n", snp_backend_name());
	seq_printf(m, "convert_timeout_ms %u\n", READ_ONCE(convert_timeout_ms));
	for (i = 0; i < SNP_NR_STATS; i++)
		seq_printf(m, "%s %lu\n", snp_stat_names[i],
			   snp_stat_read(i));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(snp_stats);

static int __init snp_page_lock_debugfs_init(void)
{
	struct dentry *dir;

	dir = debugfs_create_dir("snp_page_lock", NULL);
	debugfs_create_file("stats", 0444, dir, NULL, &snp_stats_fops);
	return 0;
}
late_initcall(snp_page_lock_debugfs_init);

/* ------------------------------------------------------------------------
 * Lockdep (G5).
 *
 * Pins behave like a read lock that a converter takes for write while it
 * waits. The short-term snp_kmap_local_pfn() section holds the map for read
 * until snp_kunmap_local(); every snp_pin_shared() touches it for read so the
 * locks held by pinners are recorded; a converter that may wait touches it
 * for write first (as mmu_notifier invalidate_range_start and
 * dma_fence_begin_signalling do). Lockdep thus reports a conversion inside a
 * kmap section (it would wait for itself) and a converter waiting while
 * holding a lock that a kmap section takes. Pins from interrupt context
 * never block a converter's progress (they fail fast instead), so they are
 * not annotated.
 */
#ifdef CONFIG_LOCKDEP
static struct lockdep_map snp_pin_map = {
	.name = "snp_page_pin",
};

static void snp_pin_map_touch(void)
{
	if (in_task()) {
		lock_map_acquire_read(&snp_pin_map);
		lock_map_release(&snp_pin_map);
	}
}

static void snp_pin_map_acquire(void)
{
	if (in_task())
		lock_map_acquire_read(&snp_pin_map);
}

static void snp_pin_map_release(void)
{
	if (in_task())
		lock_map_release(&snp_pin_map);
}

static void snp_pin_map_wait(void)
{
	lock_map_acquire(&snp_pin_map);
	lock_map_release(&snp_pin_map);
}
#else
static inline void snp_pin_map_touch(void) { }
static inline void snp_pin_map_acquire(void) { }
static inline void snp_pin_map_release(void) { }
static inline void snp_pin_map_wait(void) { }
#endif

/* ------------------------------------------------------------------------
 * State words.
 */

/* Snapshot of one page's state word; false if the pfn has no word. */
static bool snp_read_state(unsigned long pfn, u32 *state)
{
	struct snp_page_word *spe;

	spe = snp_word(pfn);
	if (!spe)
		return false;
	*state = atomic_read_acquire(&spe->state);
	return true;
}

static bool snp_range_ok(unsigned long pfn, unsigned long nr_pages)
{
	return nr_pages && pfn + nr_pages > pfn;
}

/* ------------------------------------------------------------------------
 * Pins.
 */

/*
 * A pin that found a flag set in the old value (snp_pin_word()): take the
 * bias away again. The page is converting, private or saturated, so this
 * was never a pin; but a converter may have counted it in phase 1 and be
 * waiting for the count to drop to zero, so wake it as an unpin would.
 */
/*
 * After taking a bias away (unpin or back-off): the last pin of a page a
 * converter waits on wakes it; a count that went below zero (an unpin
 * without a pin, a caller bug) is warned about and put back.
 */
static void snp_unpinned(unsigned long pfn, atomic_t *word, u32 new)
{
	if (WARN_ON_ONCE((new & SNP_PS_UNDERFLOW) == SNP_PS_UNDERFLOW))
		new = atomic_add_return(SNP_PS_PIN_BIAS, word);
	if ((new & SNP_PS_WAITER) && !snp_ps_pins(new))
		wake_up_var(pfn_to_page(pfn));
}

static int snp_pin_undo(unsigned long pfn, atomic_t *word, u32 old)
{
	snp_unpinned(pfn, word, atomic_sub_return(SNP_PS_PIN_BIAS, word));
	return snp_ps_pin_errno(old);
}

/* The back-off of the single-page pin: undo, count and trace. */
int __snp_pin_backoff(unsigned long pfn, atomic_t *word, u32 old)
{
	int err = snp_pin_undo(pfn, word, old);

	snp_pin_failed(pfn, 1, pfn, err);
	return err;
}
EXPORT_SYMBOL_GPL(__snp_pin_backoff);

/* One page of a range: as snp_pin_word(), counted once for the range. */
static int snp_pin_one(unsigned long pfn, atomic_t *word)
{
	u32 old = atomic_fetch_add(SNP_PS_PIN_BIAS, word);

	if (unlikely(old & SNP_PS_PIN_SLOW))
		return snp_pin_undo(pfn, word, old);
	return 0;
}

/*
 * An unpin that left WAITER or GUARD set (snp_unpin_word()): wake the
 * converter on the last pin, or undo an unpin of a page without pins.
 * Unpinning a page that has no pin is a caller bug.
 */
void __snp_unpin_slow(unsigned long pfn, atomic_t *word, u32 new)
{
	snp_unpinned(pfn, word, new);
}
EXPORT_SYMBOL_GPL(__snp_unpin_slow);

/*
 * After taking a block pin's bias away (unpin or back-off): the last pin
 * of a block a converter waits on clears WAITER and wakes the block's
 * queue. Several converters may wait on one block: each sets WAITER again
 * before it looks at the pins, and one that stops waiting clears it only
 * while no pin is counted (snp_block_waiter_clear()).
 */
static void snp_block_unpinned(unsigned long pfn, atomic64_t *bword, u64 new)
{
	if (WARN_ON_ONCE((new & SNP_BS_UNDERFLOW) == SNP_BS_UNDERFLOW))
		new = atomic64_add_return(SNP_BS_PIN_BIAS, bword);
	if ((new & SNP_BS_WAITER) && !snp_bs_pins(new)) {
		atomic64_andnot(SNP_BS_WAITER, bword);
		/*
		 * The clear before the look at the wait queue: a converter
		 * that set WAITER after prepare_to_wait() and saw a pin that
		 * backs off later is then either seen queued here, or its
		 * WAITER is seen by that back-off.
		 */
		smp_mb__after_atomic();
		wake_up_var(bword);
	}
}

/*
 * The errno of a block pin that found @old in the block word: the one a
 * 4 KiB pin of the first page in the way would get, in *@bad_pfn (a
 * converter that counted a page and has not marked it yet is converting
 * too: -EAGAIN, the block's first page).
 */
static int snp_block_errno(unsigned long pfn, u64 old, unsigned long *bad_pfn)
{
	unsigned long i;
	u32 s;

	*bad_pfn = pfn;
	if (!(old & SNP_BS_UNSHARED_MASK))
		return -EOVERFLOW;
	for (i = 0; i < SNP_BLOCK_PAGES; i++) {
		if (!snp_read_state(pfn + i, &s) ||
		    !(s & (SNP_PS_PRIVATE | SNP_PS_CONVERTING)))
			continue;
		*bad_pfn = pfn + i;
		return snp_ps_pin_errno(s);
	}
	return -EAGAIN;
}

/*
 * A block pin that found a page of the block not shared, or the count
 * saturated (snp_pin_block()): undo it, as snp_pin_undo() a page pin.
 */
int __snp_block_backoff(unsigned long pfn, atomic64_t *bword, u64 old)
{
	unsigned long bad;

	snp_block_unpinned(pfn, bword,
			   atomic64_sub_return(SNP_BS_PIN_BIAS, bword));
	return snp_block_errno(pfn, old, &bad);
}

/* Not exported: only the out-of-line range walk pins blocks. */
void __snp_block_unpin_slow(unsigned long pfn, atomic64_t *bword, u64 new)
{
	snp_block_unpinned(pfn, bword, new);
}

/*
 * A range is pinned in pieces: a whole naturally aligned block that fits
 * in what is left of the range is one block pin, anything else one 4 KiB
 * pin. The pieces follow from the range alone, so an unpin of the same
 * range (or of its part before a piece, when a pin fails half way) drops
 * exactly the pins the pin took. Returns the pages of the piece at @pfn.
 */
static unsigned long snp_range_piece(unsigned long pfn, unsigned long end)
{
	if (IS_ALIGNED(pfn, SNP_BLOCK_PAGES) && end - pfn >= SNP_BLOCK_PAGES)
		return SNP_BLOCK_PAGES;
	return 1;
}

/*
 * Ranges pin and unpin the same words as the inline path, the sink's
 * included, so a pin and its unpin may take either path.
 */
static void snp_unpin_range(unsigned long pfn, unsigned long nr_pages)
{
	unsigned long end = pfn + nr_pages, n;

	for (; pfn < end; pfn += n) {
		n = snp_range_piece(pfn, end);
		if (n == 1)
			snp_unpin_word(pfn, snp_state_word(pfn));
		else
			snp_unpin_block(pfn, snp_block_word(pfn));
	}
}

/* A pin refused (here or by the ABI's own checks): count and trace it. */
void snp_pin_failed(unsigned long pfn, unsigned long nr_pages,
		    unsigned long bad_pfn, int err)
{
	enum snp_stat item;

	switch (err) {
	case -EPERM:
		item = SNP_STAT_PIN_EPERM;
		break;
	case -EAGAIN:
		item = SNP_STAT_PIN_EAGAIN;
		break;
	case -EOVERFLOW:
		item = SNP_STAT_PIN_EOVERFLOW;
		break;
	default:
		item = SNP_STAT_PIN_EINVAL;
		break;
	}
	snp_stat_add(item, 1);
	trace_snp_pin_fail(pfn, nr_pages, bad_pfn, err);
}

/* Pin a valid range, all or nothing. */
static int snp_pin_range(unsigned long pfn, unsigned long nr_pages)
{
	unsigned long end = pfn + nr_pages, p, n, bad = pfn, blocks = 0;
	int ret = 0;

	for (p = pfn; p < end; p += n) {
		n = snp_range_piece(p, end);
		if (n == 1) {
			ret = snp_pin_one(p, snp_state_word(p));
			bad = p;
		} else {
			ret = snp_pin_block(p, snp_block_word(p));
			/* Look again, for the page that caused it. */
			if (unlikely(ret))
				snp_block_errno(p, ret == -EOVERFLOW ? 0 :
						SNP_BS_UNSHARED_ONE, &bad);
			else
				blocks++;
		}
		if (unlikely(ret))
			break;
	}

	if (likely(!ret)) {
		snp_stat_add(SNP_STAT_PINS, nr_pages);
		if (blocks)
			snp_stat_add(SNP_STAT_BLOCK_PINS, blocks);
		return 0;
	}

	/* All-or-nothing: drop the pins taken so far. */
	snp_unpin_range(pfn, p - pfn);
	snp_pin_failed(pfn, nr_pages, bad, ret);
	return ret;
}

int __snp_pin_shared(unsigned long pfn, unsigned long nr_pages)
{
	/* A converter's wakeup takes a spinlock: not from NMI. */
	if (WARN_ON_ONCE(in_nmi()) || unlikely(!snp_range_ok(pfn, nr_pages))) {
		snp_pin_failed(pfn, nr_pages, pfn, -EINVAL);
		return -EINVAL;
	}
	snp_pin_map_touch();
	return snp_pin_range(pfn, nr_pages);
}
EXPORT_SYMBOL_GPL(__snp_pin_shared);

void __snp_unpin_shared(unsigned long pfn, unsigned long nr_pages)
{
	WARN_ON_ONCE(in_nmi());
	if (WARN_ON_ONCE(!snp_range_ok(pfn, nr_pages)))
		return;
	snp_unpin_range(pfn, nr_pages);
	snp_stat_add(SNP_STAT_UNPINS, nr_pages);
}
EXPORT_SYMBOL_GPL(__snp_unpin_shared);

/*
 * The block pin keeps every page of its block shared and unmarked (a
 * converter counts its page in the block, and waits for the block's pins,
 * before it marks the page word), so the 4 KiB pins cannot be refused:
 * they are added without the pin rules, before the block pin goes (fully
 * ordered). A count this takes past saturation stays saturated (GUARD),
 * which only makes further pins fail -EOVERFLOW. The pages stay pinned
 * throughout, so nothing is counted in the statistics.
 */
void snp_split_block_pin(unsigned long pfn)
{
	unsigned long i;

	if (!snp_page_lock_is_enabled() ||
	    WARN_ON_ONCE(!IS_ALIGNED(pfn, SNP_BLOCK_PAGES)))
		return;
	for (i = 0; i < SNP_BLOCK_PAGES; i++)
		atomic_add(SNP_PS_PIN_BIAS, snp_state_word(pfn + i));
	snp_unpin_block(pfn, snp_block_word(pfn));
}

/*
 * One page, so no range check; the lockdep map is held for read until
 * snp_kunmap_local(), which records what snp_pin_map_touch() would.
 */
void *__snp_kmap_local_pfn(unsigned long pfn)
{
	int ret;

	if (WARN_ON_ONCE(in_nmi()))
		return ERR_PTR(-EINVAL);
	ret = snp_pin_range(pfn, 1);
	if (ret)
		return ERR_PTR(ret);
	snp_pin_map_acquire();
	return kmap_local_pfn(pfn);
}
EXPORT_SYMBOL_GPL(__snp_kmap_local_pfn);

void __snp_kunmap_local(const void *addr, unsigned long pfn)
{
	kunmap_local(addr);
	snp_pin_map_release();
	snp_unpin_range(pfn, 1);
	snp_stat_add(SNP_STAT_UNPINS, 1);
}
EXPORT_SYMBOL_GPL(__snp_kunmap_local);

enum snp_page_state snp_page_state(unsigned long pfn)
{
	u32 s;

	if (!snp_page_lock_is_enabled() || !snp_read_state(pfn, &s))
		return SNP_PAGE_SHARED;
	if (s & SNP_PS_CONVERTING)
		return SNP_PAGE_CONVERTING;
	if (s & SNP_PS_PRIVATE)
		return SNP_PAGE_PRIVATE;
	return SNP_PAGE_SHARED;
}
EXPORT_SYMBOL_GPL(snp_page_state);

unsigned int snp_page_pins(unsigned long pfn)
{
	u32 s;

	if (!snp_page_lock_is_enabled() || !snp_read_state(pfn, &s))
		return 0;
	/* Its own pins and those of its block. */
	return snp_ps_pins(s) +
	       snp_bs_pins(atomic64_read_acquire(snp_block_word(pfn)));
}
EXPORT_SYMBOL_GPL(snp_page_pins);

/* ------------------------------------------------------------------------
 * G4: private pages must not reach the page allocator.
 *
 * As upstream snp_leak_pages() (which reports with pr_warn(), not a WARN),
 * the page is leaked and counted, and the report is a rate-limited pr_err()
 * naming the pfn: the leak is fully contained (the page is never handed
 * out again), so there is no reason to taint the kernel or to panic with
 * panic_on_warn, and the KUnit test can exercise this exact path through
 * __free_pages() without producing a WARNING that would fail the test run.
 * The counter is in <debugfs>/snp_page_lock/stats ("leaked_pages").
 *
 * A page freed while it still holds shared pins is a caller bug (a pin
 * holder must own a reference). Its block is leaked too, rather than its
 * pins cleared: the holder will drop its pins later, and on a page handed
 * out again that unpin would take away a pin of the next owner, which
 * could then see its page become private under its mapping (G2). It is
 * reported once per boot and counted in "freed_pinned". Without
 * CONFIG_DEBUG_VM that check is made only while some page is private or
 * converting (snp_nr_unshared): the free path then costs one read of a
 * counter on a host without confidential guests.
 */
bool __snp_page_lock_free_prepare(struct page *page, unsigned int order)
{
	unsigned long pfn = page_to_pfn(page);
	unsigned long nr_pages = 1UL << order;
	struct snp_page_word *spe;
	unsigned long i;
	u32 s = 0, bpins = 0;

	/*
	 * Nothing private or converting anywhere: nothing to leak. Pins on
	 * a freed page (a caller bug) are looked for only with DEBUG_VM then.
	 */
	if (!IS_ENABLED(CONFIG_DEBUG_VM) &&
	    !atomic_long_read(&snp_nr_unshared))
		return true;

	for (i = 0; i < nr_pages; i++) {
		spe = snp_word(pfn + i);
		if (!spe)
			continue;
		s = atomic_read(&spe->state);
		/* The pins of its block are its pins too. */
		if (!i || IS_ALIGNED(pfn + i, SNP_BLOCK_PAGES))
			bpins = snp_bs_pins(atomic64_read(snp_block_word(pfn + i)));
		if (unlikely(s || bpins))
			break;
	}

	if (likely(i == nr_pages))
		return true;

	snp_stat_add(SNP_STAT_LEAKS, nr_pages);
	if (s & (SNP_PS_PRIVATE | SNP_PS_CONVERTING)) {
		pr_err_ratelimited("leaking %s page pfn %#lx (freed block pfn %#lx order %u)\n",
				   s & SNP_PS_CONVERTING ? "converting" : "private",
				   pfn + i, pfn, order);
	} else {
		snp_stat_add(SNP_STAT_FREED_PINNED, 1);
		pr_err_once("leaking pfn %#lx: freed with %u shared pins (freed block pfn %#lx order %u); a pin holder must hold a page reference\n",
			    pfn + i, snp_ps_pins(s) + bpins, pfn, order);
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Conversion.
 */

/* wait_bit.h has no killable wait with a timeout. */
#define snp_wait_var_event_killable_timeout(var, condition, timeout)	\
	___wait_var_event(var, ___wait_cond_timeout(condition),		\
			  TASK_KILLABLE, 0, timeout,			\
			  __ret = schedule_timeout(__ret))

/*
 * Phase 1 for one page: block new pins. Returns the pins the page held,
 * which the converter has to wait for (to private only); such a page gets
 * the WAITER bit, which stays set until the conversion ends and so also
 * records which pages the converter announced to the notifier.
 */
static int snp_mark_one(struct snp_page_word *spe, enum snp_page_state to,
			unsigned int *pins)
{
	bool to_private = to == SNP_PAGE_PRIVATE;
	int old = atomic_read(&spe->state);
	u32 s, new;

	/* A shared page is counted before anybody can see it converting. */
	if (to_private)
		atomic_long_inc(&snp_nr_unshared);
	do {
		s = old;
		if (s & SNP_PS_CONVERTING)
			goto fail_eagain;
		/* Already in the target state. */
		if (!!(s & SNP_PS_PRIVATE) == to_private)
			goto fail_einval;
		new = s | SNP_PS_CONVERTING;
		/* The count may include pins about to back off: wait anyway. */
		if (to_private && snp_ps_pins(s))
			new |= SNP_PS_WAITER;
	} while (!atomic_try_cmpxchg(&spe->state, &old, new));

	*pins = to_private ? snp_ps_pins(s) : 0;
	return 0;

fail_eagain:
	if (to_private)
		atomic_long_dec(&snp_nr_unshared);
	return -EAGAIN;
fail_einval:
	if (to_private)
		atomic_long_dec(&snp_nr_unshared);
	return -EINVAL;
}

/*
 * The pages of one conversion: a pfn range, or an array of distinct pfns
 * (e.g. the pages of a file, which need not be contiguous). Both are
 * converted the same way: all pages are marked before any wait.
 */
struct snp_pfn_set {
	const unsigned long *pfns;	/* NULL: the range [base, base + nr) */
	unsigned long base;
	unsigned long nr;
};

static unsigned long snp_set_pfn(const struct snp_pfn_set *set,
				 unsigned long i)
{
	return set->pfns ? set->pfns[i] : set->base + i;
}

/*
 * Updates of the blocks' unshared counts, batched: one atomic per run of
 * consecutive pages of a set in the same block, not one per page (a 2 MiB
 * conversion is one).
 */
struct snp_block_batch {
	unsigned long blk;	/* block number of the run */
	unsigned long n;	/* pages in the run */
};

#define SNP_BLOCK_BATCH_INIT	{ .blk = ULONG_MAX }

/*
 * Pages leave their block's unshared count: they are shared again (commit
 * to shared, abort). Release: the backend's work on them is done before a
 * block pin can succeed again.
 */
static void snp_block_uncount_flush(struct snp_block_batch *b)
{
	u64 old;

	if (!b->n)
		return;
	old = atomic64_fetch_sub_release(b->n * SNP_BS_UNSHARED_ONE,
					 snp_block_word(b->blk << SNP_BLOCK_SHIFT));
	/* More pages left the count than were in it: a layer bug. */
	WARN_ON_ONCE(snp_bs_unshared(old) < b->n);
	b->n = 0;
}

/* One more page of the run, or the first of a new one. */
static void snp_block_uncount(struct snp_block_batch *b, unsigned long pfn)
{
	if (pfn >> SNP_BLOCK_SHIFT != b->blk) {
		snp_block_uncount_flush(b);
		b->blk = pfn >> SNP_BLOCK_SHIFT;
	}
	b->n++;
}

static void snp_block_uncount_set(const struct snp_pfn_set *set,
				  unsigned long from, unsigned long to)
{
	struct snp_block_batch b = SNP_BLOCK_BATCH_INIT;
	unsigned long i;

	for (i = from; i < to; i++)
		snp_block_uncount(&b, snp_set_pfn(set, i));
	snp_block_uncount_flush(&b);
}

/*
 * Count the run of @b in its block (fully ordered: block pins after it
 * back off, and those before it are seen); @from and @to are the indexes
 * of its first and last page in the set, recorded in *@first, *@last if
 * the block held pins.
 */
static void snp_block_count_flush(struct snp_block_batch *b,
				  unsigned long from, unsigned long to,
				  unsigned long *first, unsigned long *last)
{
	u64 old;

	if (!b->n)
		return;
	old = atomic64_fetch_add(b->n * SNP_BS_UNSHARED_ONE,
				 snp_block_word(b->blk << SNP_BLOCK_SHIFT));
	if (snp_bs_pins(old)) {
		*first = min(*first, from);
		*last = max(*last, to);
	}
	b->n = 0;
}

/*
 * Phase 0 of a conversion to private: count every page of @set in its
 * block, so that new block pins fail, before the page words are marked.
 * A page the conversion cannot take (converting, private, no word) is
 * refused here already, before any wait for block pins. Returns the range
 * of pages whose block held pins when counted in *@first, *@last (empty:
 * *@first > *@last); on error *@bad is the failing page and nothing is
 * counted.
 */
static int snp_block_mark(const struct snp_pfn_set *set, unsigned long *first,
			  unsigned long *last, unsigned long *bad)
{
	struct snp_block_batch b = SNP_BLOCK_BATCH_INIT;
	struct snp_page_word *spe;
	unsigned long i, pfn, run = 0;
	u32 s;
	int ret = 0;

	*first = set->nr;
	*last = 0;
	for (i = 0; i < set->nr; i++) {
		pfn = snp_set_pfn(set, i);
		spe = snp_word(pfn);
		if (!spe) {
			ret = -EINVAL;
			break;
		}
		s = atomic_read(&spe->state);
		if (s & SNP_PS_CONVERTING) {
			ret = -EAGAIN;
			break;
		}
		if (s & SNP_PS_PRIVATE) {
			ret = -EINVAL;
			break;
		}
		if (pfn >> SNP_BLOCK_SHIFT != b.blk) {
			snp_block_count_flush(&b, run, i - 1, first, last);
			b.blk = pfn >> SNP_BLOCK_SHIFT;
			run = i;
		}
		b.n++;
		cond_resched();
	}
	if (!ret) {
		snp_block_count_flush(&b, run, i - 1, first, last);
		return 0;
	}
	/* The current run was not counted yet. */
	*bad = i;
	snp_block_uncount_set(set, 0, run);
	return ret;
}

/* A converter starts to wait for @pins of @pfn: count, trace, time left. */
static long snp_wait_begin(unsigned long pfn, unsigned int pins,
			   unsigned long deadline)
{
	long left = max_t(long, (long)(deadline - jiffies), 0);

	snp_stat_add(SNP_STAT_WAITS, 1);
	trace_snp_convert_wait(pfn, pins, jiffies_to_msecs(left));
	return left;
}

/* The outcome of a killable wait with a timeout that ended with @left. */
static int snp_wait_result(long left)
{
	if (left > 0)
		return 0;
	if (!left) {
		snp_stat_add(SNP_STAT_TIMEOUTS, 1);
		return -EBUSY;
	}
	snp_stat_add(SNP_STAT_INTERRUPTED, 1);
	return -EINTR;
}

/* Has the block drained? WAITER goes in before every look (see the model). */
static bool snp_block_drained(atomic64_t *bword)
{
	return !snp_bs_pins(atomic64_fetch_or(SNP_BS_WAITER, bword));
}

/*
 * Do not leave WAITER set at rest: clear it while no block pin is counted.
 * A converter that set it and saw pins was woken by the unpin that took
 * them to zero (which clears it too); clearing it while pins are counted
 * could make a back-off skip the wake-up of another converter.
 */
static void snp_block_waiter_clear(atomic64_t *bword)
{
	s64 s = atomic64_read(bword);

	do {
		if (!(s & SNP_BS_WAITER) || snp_bs_pins(s))
			return;
	} while (!atomic64_try_cmpxchg(bword, &s, s & ~SNP_BS_WAITER));
}

/* Wait until the block of @pfn holds no block pin, until @deadline. */
static int snp_wait_block_drained(unsigned long pfn, atomic64_t *bword,
				  unsigned long deadline)
{
	u32 pins = snp_bs_pins(atomic64_read_acquire(bword));
	long left;

	if (!pins)
		return 0;

	left = snp_wait_begin(pfn, pins, deadline);
	snp_stat_add(SNP_STAT_BLOCK_WAITS, 1);

	/* The last block unpin or back-off wakes the block word's queue. */
	left = snp_wait_var_event_killable_timeout(bword,
						   snp_block_drained(bword),
						   left);
	snp_block_waiter_clear(bword);
	return snp_wait_result(left);
}

/*
 * Tell the notifier about every page of [@from, @to] of @set whose block
 * holds pins: a block pin holder (a VMM through the ABI) pins each of
 * them.
 */
static void snp_notify_blocks(const struct snp_pfn_set *set,
			      unsigned long from, unsigned long to,
			      unsigned long event, int ret)
{
	struct snp_convert_wait_info info = { .ret = ret };
	unsigned long i;

	for (i = from; i <= to; i++) {
		info.pfn = snp_set_pfn(set, i);
		if (event == SNP_CONVERT_WAIT_START &&
		    !snp_bs_pins(atomic64_read(snp_block_word(info.pfn))))
			continue;
		atomic_notifier_call_chain(&snp_convert_notifier, event, &info);
		cond_resched();
	}
}

/*
 * Phase 0, the wait: the blocks of the pages [@first, @last] of @set that
 * held block pins when counted lose them before @deadline (new block pins
 * fail now). With NOWAIT, a block still pinned fails it at once. On error
 * *@bad is the first page whose block did not drain.
 */
static int snp_wait_blocks(const struct snp_pfn_set *set, unsigned long first,
			   unsigned long last, unsigned int flags,
			   unsigned long deadline, unsigned long *bad)
{
	atomic64_t *bword, *prev = NULL;
	unsigned long i;
	int ret = 0;

	if (flags & SNP_CONVERT_NOWAIT) {
		for (i = first; i <= last; i++) {
			bword = snp_block_word(snp_set_pfn(set, i));
			if (snp_bs_pins(atomic64_read_acquire(bword))) {
				*bad = i;
				snp_stat_add(SNP_STAT_CONVERT_EBUSY, 1);
				return -EBUSY;
			}
		}
		return 0;
	}

	snp_notify_blocks(set, first, last, SNP_CONVERT_WAIT_START, 0);
	for (i = first; i <= last; i++) {
		bword = snp_block_word(snp_set_pfn(set, i));
		if (bword == prev)
			continue;
		prev = bword;
		ret = snp_wait_block_drained(snp_set_pfn(set, i), bword,
					     deadline);
		if (ret) {
			*bad = i;
			break;
		}
	}
	snp_notify_blocks(set, first, last, SNP_CONVERT_WAIT_END, ret);
	return ret;
}

/* Undo phase 1 on pages [from, to) of @set: back to their state before. */
static void snp_unmark(const struct snp_pfn_set *set, unsigned long from,
		       unsigned long to)
{
	struct snp_block_batch b = SNP_BLOCK_BATCH_INIT;
	struct snp_page_word *spe;
	unsigned long i, shared = 0;
	u32 old;

	for (i = from; i < to; i++) {
		spe = snp_word(snp_set_pfn(set, i));
		if (spe) {
			old = atomic_fetch_andnot(SNP_PS_CONVERTING |
						  SNP_PS_WAITER, &spe->state);
			if (!(old & SNP_PS_PRIVATE)) {
				snp_block_uncount(&b, snp_set_pfn(set, i));
				shared++;
			}
		}
		cond_resched();
	}
	snp_block_uncount_flush(&b);
	atomic_long_sub(shared, &snp_nr_unshared);
}

/*
 * Tell the notifier about every page of [@from, @to] of @set that a
 * converter waits on (WAITER set in phase 1): all of them at once, before
 * the first wait, so that every pin holder can start letting go while the
 * converter still waits for another one. Returns how many there were.
 */
static unsigned long snp_notify_waited(const struct snp_pfn_set *set,
				       unsigned long from, unsigned long to,
				       unsigned long event, int ret)
{
	struct snp_convert_wait_info info = { .ret = ret };
	unsigned long i, n = 0;
	u32 s;

	for (i = from; i <= to; i++) {
		info.pfn = snp_set_pfn(set, i);
		if (!snp_read_state(info.pfn, &s) || !(s & SNP_PS_WAITER))
			continue;
		atomic_notifier_call_chain(&snp_convert_notifier, event, &info);
		n++;
		cond_resched();
	}
	return n;
}

/*
 * The 4 KiB pins of a page a converter has marked (phase 1), transient
 * back-off pins included: its block's pins are gone already (phase 0),
 * and a block pin that backs off now wakes only the block's queue, so the
 * phase 2 wait must not count it. The acquire read pairs with the fully
 * ordered unpin, so the backend's work is ordered after the last pin
 * holder's.
 */
static unsigned int snp_marked_page_pins(unsigned long pfn)
{
	u32 s;

	if (!snp_read_state(pfn, &s))
		return 0;
	return snp_ps_pins(s);
}

/* Wait until @pfn holds no 4 KiB pin, until @deadline (jiffies). */
static int snp_wait_drained(unsigned long pfn, unsigned long deadline)
{
	unsigned int pins = snp_marked_page_pins(pfn);
	long left;

	if (!pins)
		return 0;

	left = snp_wait_begin(pfn, pins, deadline);

	/* Unpins and back-offs wake the struct page's wait queue. */
	left = snp_wait_var_event_killable_timeout(pfn_to_page(pfn),
						   !snp_marked_page_pins(pfn),
						   left);
	return snp_wait_result(left);
}

/*
 * Ask the holders of revocable pins on the pages of [@first, @last] of @set
 * that hold pins (WAITER) to give them up. Returns the first of those pages
 * still pinned afterwards, or @last + 1.
 */
static unsigned long snp_revoke_pins(const struct snp_pfn_set *set,
				     unsigned long first, unsigned long last)
{
	unsigned long i, pinned = last + 1;
	u32 s;

	for (i = last + 1; i-- > first;) {
		if (!snp_read_state(snp_set_pfn(set, i), &s) ||
		    !(s & SNP_PS_WAITER))
			continue;
		if (snp_ps_pins(s))
			snp_revoke_page(snp_set_pfn(set, i));
		if (snp_marked_page_pins(snp_set_pfn(set, i)))
			pinned = i;
		cond_resched();
	}
	return pinned;
}

/*
 * Phase 2: every page of [@first, @last] of @set marked WAITER in phase 1
 * loses its pins before @deadline. On error *@bad is the page that did not
 * drain.
 */
static int snp_wait_pins(const struct snp_pfn_set *set, unsigned long first,
			 unsigned long last, unsigned long deadline,
			 unsigned long *bad)
{
	unsigned long i;
	int ret = 0;
	u32 s;

	snp_notify_waited(set, first, last, SNP_CONVERT_WAIT_START, 0);
	for (i = first; i <= last; i++) {
		/*
		 * A page without WAITER held no pin when it was marked: what
		 * its count holds now are pins backing off, which wake only
		 * a converter that set WAITER. Not waiting for them is safe.
		 */
		if (!snp_read_state(snp_set_pfn(set, i), &s) ||
		    !(s & SNP_PS_WAITER))
			continue;
		ret = snp_wait_drained(snp_set_pfn(set, i), deadline);
		if (ret) {
			*bad = i;
			break;
		}
	}
	snp_notify_waited(set, first, last, SNP_CONVERT_WAIT_END, ret);
	return ret;
}

/*
 * G7 for one folio: does it hold more than the @expected references of its
 * owner? A DMA pin (FOLL_PIN, e.g. VFIO, io_uring fixed buffers, O_DIRECT
 * in flight) is not waited for: it fails the conversion at once.
 */
static int snp_folio_refs(struct folio *folio, int expected)
{
	if (folio_maybe_dma_pinned(folio))
		return -EBUSY;
	return folio_ref_count(folio) > expected ? -EAGAIN : 0;
}

/*
 * Wait until @folio holds only the owner's references, until @deadline.
 * Nobody is told when a reference is dropped, so this polls, from every
 * jiffy up to every 10 ms; it is the rare case (a pipe, an in-flight I/O,
 * a GUP-fast that lost the race with the zap).
 */
static int snp_wait_refs(struct folio *folio, int expected,
			 unsigned long deadline)
{
	long left, delay = 1;
	int ret;

	snp_stat_add(SNP_STAT_REF_WAITS, 1);
	trace_snp_convert_ref_wait(folio_pfn(folio), folio_ref_count(folio),
				   expected);
	for (;;) {
		ret = snp_folio_refs(folio, expected);
		if (ret != -EAGAIN)
			return ret;
		left = (long)(deadline - jiffies);
		if (left <= 0)
			return -ETIMEDOUT;
		if (fatal_signal_pending(current))
			return -EINTR;
		schedule_timeout_killable(min(delay, left));
		delay = min_t(long, delay * 2, max(msecs_to_jiffies(10), 1UL));
	}
}

/*
 * G7, after the owner's user mappings are gone: every page of @set holds
 * only the references its owner expects. Extra references are waited for
 * until @deadline, or fail the conversion at once with NOWAIT; a DMA pin
 * always fails it. Pages in per-CPU LRU batches hold a reference of the
 * batch: those are drained once before giving up, as upstream guest_memfd
 * conversion does.
 */
static int snp_check_refs(const struct snp_pfn_set *set, int expected,
			  unsigned int flags, unsigned long deadline,
			  unsigned long *bad)
{
	struct folio *folio = NULL;
	bool drained = false;
	unsigned long i;
	int ret = 0;

	/*
	 * Order the owner's PTE clears before the reference reads. GUP-fast
	 * takes its reference (fully ordered) before it checks that the PTE
	 * is still there: either it sees the PTE gone and drops its
	 * reference, or this sees the reference.
	 */
	smp_mb();

	for (i = 0; i < set->nr; i++) {
		folio = page_folio(pfn_to_page(snp_set_pfn(set, i)));
		ret = snp_folio_refs(folio, expected);
		if (ret == -EAGAIN && !drained) {
			lru_add_drain_all();
			drained = true;
			ret = snp_folio_refs(folio, expected);
		}
		if (ret == -EAGAIN)
			ret = flags & SNP_CONVERT_NOWAIT ? -EBUSY :
			      snp_wait_refs(folio, expected, deadline);
		if (ret) {
			*bad = i;
			break;
		}
		cond_resched();
	}

	switch (ret) {
	case 0:
		return 0;
	case -EBUSY:
		/* NOWAIT, or a DMA pin (which only snp_folio_refs() reports). */
		snp_stat_add(folio_maybe_dma_pinned(folio) ?
			     SNP_STAT_CONVERT_DMA_PINNED :
			     SNP_STAT_CONVERT_EREFS, 1);
		return -EBUSY;
	case -ETIMEDOUT:
		snp_stat_add(SNP_STAT_CONVERT_EREFS, 1);
		snp_stat_add(SNP_STAT_TIMEOUTS, 1);
		return -EBUSY;
	default:
		snp_stat_add(SNP_STAT_INTERRUPTED, 1);
		return ret;
	}
}

static bool snp_set_ok(const struct snp_pfn_set *set)
{
	return set->nr && (set->pfns || snp_range_ok(set->base, set->nr));
}

static void snp_convert_aborted(unsigned long pfn, unsigned long nr_pages,
				enum snp_page_state to, int ret)
{
	snp_stat_add(SNP_STAT_ABORTS, 1);
	trace_snp_convert_abort(pfn, nr_pages, to, ret);
}

/*
 * Phase one for a set of pages; on error *@bad_idx (if not NULL) is the
 * index of the failing page in @set.
 */
static int __snp_convert_begin(const struct snp_pfn_set *set,
			       enum snp_page_state to, unsigned int flags,
			       unsigned int timeout_ms,
			       const struct snp_convert_owner *owner,
			       unsigned long *bad_idx)
{
	unsigned long i, nr_pages = set->nr, first_pinned = set->nr;
	unsigned long pfn, last_pinned = 0, deadline;
	unsigned long first_bpinned, last_bpinned;
	struct snp_page_word *spe;
	unsigned int pins;
	int ret = 0;

	might_sleep();

	if (!snp_page_lock_is_enabled())
		return -EOPNOTSUPP;
	/* Only before snp_page_lock_backend_init(): a caller bug. */
	if (WARN_ON_ONCE(!snp_backend))
		return -EOPNOTSUPP;

	i = 0;
	if (!snp_set_ok(set) || (flags & ~SNP_CONVERT_NOWAIT) ||
	    (to != SNP_PAGE_PRIVATE && to != SNP_PAGE_SHARED)) {
		ret = -EINVAL;
		goto fail;
	}
	pfn = snp_set_pfn(set, 0);
	deadline = jiffies +
		   msecs_to_jiffies(timeout_ms ?: READ_ONCE(convert_timeout_ms));

	trace_snp_convert_begin(pfn, nr_pages, to, flags);

	/* Any wait for pins, even one that ends at once, follows the rules. */
	if (to == SNP_PAGE_PRIVATE && !(flags & SNP_CONVERT_NOWAIT))
		snp_pin_map_wait();

	/*
	 * Phase 0 (to private): block new block pins and wait for the old
	 * ones, before the page words are marked: a block pin holder can
	 * still trade its block pin for 4 KiB pins meanwhile.
	 */
	if (to == SNP_PAGE_PRIVATE) {
		ret = snp_block_mark(set, &first_bpinned, &last_bpinned, &i);
		if (ret) {
			snp_stat_add(ret == -EAGAIN ? SNP_STAT_CONVERT_EAGAIN :
				     SNP_STAT_CONVERT_EINVAL, 1);
			trace_snp_convert_abort(pfn, nr_pages, to, ret);
			goto fail;
		}
		if (first_bpinned <= last_bpinned) {
			ret = snp_wait_blocks(set, first_bpinned, last_bpinned,
					      flags, deadline, &i);
			if (ret) {
				snp_block_uncount_set(set, 0, nr_pages);
				snp_convert_aborted(pfn, nr_pages, to, ret);
				goto fail;
			}
		}
	}

	/* Phase 1: block new pins. */
	for (i = 0; i < nr_pages; i++) {
		spe = snp_word(snp_set_pfn(set, i));
		if (!spe) {
			ret = -EINVAL;
			break;
		}
		ret = snp_mark_one(spe, to, &pins);
		if (ret)
			break;
		if (pins) {
			if (first_pinned == nr_pages)
				first_pinned = i;
			last_pinned = i;
		}
		cond_resched();
	}

	if (ret) {
		snp_unmark(set, 0, i);
		/* Counted in phase 0, not marked. */
		if (to == SNP_PAGE_PRIVATE)
			snp_block_uncount_set(set, i, nr_pages);
		snp_stat_add(ret == -EAGAIN ? SNP_STAT_CONVERT_EAGAIN :
			     SNP_STAT_CONVERT_EINVAL, 1);
		trace_snp_convert_abort(pfn, nr_pages, to, ret);
		goto fail;
	}

	/* A private page holds no pin and no host reference to check. */
	if (to == SNP_PAGE_SHARED)
		return 0;

	/*
	 * Phase 2: revocable pins are given up on demand, without a wait;
	 * wait for the others to drain.
	 */
	if (first_pinned < nr_pages)
		first_pinned = snp_revoke_pins(set, first_pinned, last_pinned);
	if (first_pinned <= last_pinned) {
		if (flags & SNP_CONVERT_NOWAIT) {
			snp_stat_add(SNP_STAT_CONVERT_EBUSY, 1);
			i = first_pinned;
			ret = -EBUSY;
			goto abort;
		}
		ret = snp_wait_pins(set, first_pinned, last_pinned, deadline, &i);
		if (ret)
			goto abort;
	}

	/* Phase 3 (G7): no user mapping, no reference but the owner's. */
	if (owner && owner->unmap)
		owner->unmap(owner);
	if (owner && owner->refs < 0)
		return 0;
	ret = snp_check_refs(set, owner ? owner->refs : 1, flags, deadline, &i);
	if (!ret)
		return 0;

abort:
	snp_unmark(set, 0, nr_pages);
	snp_convert_aborted(pfn, nr_pages, to, ret);
fail:
	if (bad_idx)
		*bad_idx = i;
	return ret;
}

/**
 * snp_convert_begin() - phase one of a conversion
 * @pfn: first page frame number
 * @nr_pages: number of pages
 * @to: %SNP_PAGE_PRIVATE or %SNP_PAGE_SHARED
 * @flags: 0 or %SNP_CONVERT_NOWAIT
 * @timeout_ms: how long to wait for pins and references in total; 0: the
 *		module parameter
 * @bad_pfn: if not NULL, receives the failing pfn on error
 *
 * Marks every page CONVERTING, so that new pins fail with -EAGAIN, then
 * waits (killable, bounded) until no page holds a pin. To private, it then
 * checks that each page holds no reference but its owner's (G7): the
 * caller owns the pages, holds one reference on each folio and has no user
 * mapping of them; extra references are waited for within the same
 * timeout, or fail with %SNP_CONVERT_NOWAIT, and a DMA-pinned page fails at
 * once. On success the whole range is CONVERTING, unpinned and
 * unreferenced, and the caller must finish with snp_convert_end(). On
 * error nothing changed.
 *
 * Return: 0, -EINVAL (bad arguments, a page without a state word or not in the
 * opposite state of @to), -EAGAIN (a page is converting), -EBUSY (pins or
 * references did not drain: NOWAIT or timeout; or a page is DMA-pinned),
 * -EINTR (fatal signal), -EOPNOTSUPP (layer off).
 */
int snp_convert_begin(unsigned long pfn, unsigned long nr_pages,
		      enum snp_page_state to, unsigned int flags,
		      unsigned int timeout_ms, unsigned long *bad_pfn)
{
	struct snp_pfn_set set = { .base = pfn, .nr = nr_pages };
	unsigned long idx = ULONG_MAX;
	int ret;

	ret = __snp_convert_begin(&set, to, flags, timeout_ms, NULL, &idx);
	if (bad_pfn && idx != ULONG_MAX)
		*bad_pfn = pfn + idx;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(snp_convert_begin);

int snp_convert_begin_pfns(const unsigned long *pfns, unsigned long nr,
			   enum snp_page_state to, unsigned int flags,
			   unsigned int timeout_ms,
			   const struct snp_convert_owner *owner,
			   unsigned long *bad_idx)
{
	struct snp_pfn_set set = { .pfns = pfns, .nr = nr };

	return __snp_convert_begin(&set, to, flags, timeout_ms, owner, bad_idx);
}
EXPORT_SYMBOL_GPL(snp_convert_begin_pfns);

/*
 * Leave the CONVERTING state: commit to @to, or restore the old state.
 * Phase 1 guarantees that no page holds a pin here; the count may still
 * include pins that found CONVERTING and are backing off, which is why it
 * is kept as it is.
 */
static void snp_finish(const struct snp_pfn_set *set, unsigned long from,
		       unsigned long end, enum snp_page_state to, bool commit)
{
	struct snp_block_batch b = SNP_BLOCK_BATCH_INIT;
	struct snp_page_word *spe;
	unsigned long i, shared = 0;
	int old;
	u32 new;

	for (i = from; i < end; i++) {
		spe = snp_word(snp_set_pfn(set, i));
		if (!spe)
			continue;
		old = atomic_read(&spe->state);
		do {
			/* Not converting: a caller bug, the page is left alone. */
			if (WARN_ON_ONCE(!((u32)old & SNP_PS_CONVERTING)))
				goto next;
			new = (u32)old & ~SNP_PS_FLAGS_MASK;
			if (commit)
				new |= to == SNP_PAGE_PRIVATE ? SNP_PS_PRIVATE : 0;
			else
				new |= (u32)old & SNP_PS_PRIVATE;
		} while (!atomic_try_cmpxchg_release(&spe->state, &old, new));
		if (!(new & SNP_PS_PRIVATE)) {
			snp_block_uncount(&b, snp_set_pfn(set, i));
			shared++;
		}
next:
		cond_resched();
	}
	snp_block_uncount_flush(&b);
	atomic_long_sub(shared, &snp_nr_unshared);
}

/* Let the backend drop stale translations of pages [0, @n) of @set. */
static void snp_flush_private(const struct snp_pfn_set *set, unsigned long n)
{
	unsigned long i, pfn, lo = ULONG_MAX, hi = 0;

	if (!snp_backend->flush_private || !n)
		return;
	for (i = 0; i < n; i++) {
		pfn = snp_set_pfn(set, i);
		lo = min(lo, pfn);
		hi = max(hi, pfn);
	}
	snp_backend->flush_private(lo, hi);
}

/*
 * The backend failed on page @failed of @set (pages [0, @failed) are
 * converted): convert them back and abort. A page the backend then cannot
 * convert back keeps the new state, since the state word must follow the
 * hardware: it is reported and counted, and it stays in the new state for
 * the caller to find (snp_page_state()); freeing it leaks it if it is
 * private (G4).
 */
static void snp_roll_back(const struct snp_pfn_set *set,
			  unsigned long failed, enum snp_page_state to,
			  int (*undo)(unsigned long pfn), int err)
{
	unsigned long j, pfn, stuck = 0;
	bool keep;

	snp_stat_add(SNP_STAT_BACKEND_ERRORS, 1);
	pr_err_ratelimited("%s backend failed on pfn %#lx: %d\n",
			   snp_backend->name, snp_set_pfn(set, failed), err);
	/* A page that stays private must not stay in a stale TLB entry. */
	if (to == SNP_PAGE_PRIVATE)
		snp_flush_private(set, failed);
	for (j = 0; j < failed; j++) {
		pfn = snp_set_pfn(set, j);
		keep = undo(pfn) != 0;
		if (keep) {
			stuck++;
			pr_err_ratelimited("pfn %#lx cannot be rolled back: it stays %s\n",
					   pfn, to == SNP_PAGE_PRIVATE ?
					   "private" : "shared");
		}
		snp_finish(set, j, j + 1, to, keep);
		cond_resched();
	}
	snp_finish(set, failed, set->nr, to, false);
	if (stuck)
		snp_stat_add(SNP_STAT_ROLLBACK_FAILURES, stuck);
	snp_convert_aborted(snp_set_pfn(set, 0), set->nr, to, err);
}

static int __snp_convert_end(const struct snp_pfn_set *set,
			     enum snp_page_state to, bool commit)
{
	unsigned long i, nr_pages = set->nr;
	unsigned long pfn;
	int (*apply)(unsigned long pfn);
	int (*undo)(unsigned long pfn);
	int ret = 0;

	/* Only after a successful begin, so these are caller bugs. */
	if (WARN_ON_ONCE(!snp_page_lock_is_enabled() || !snp_backend))
		return -EOPNOTSUPP;
	if (WARN_ON_ONCE(!snp_set_ok(set) ||
			 (to != SNP_PAGE_PRIVATE && to != SNP_PAGE_SHARED)))
		return -EINVAL;
	pfn = snp_set_pfn(set, 0);

	if (!commit) {
		snp_finish(set, 0, nr_pages, to, false);
		snp_convert_aborted(pfn, nr_pages, to, 0);
		return 0;
	}

	might_sleep();
	if (to == SNP_PAGE_PRIVATE) {
		apply = snp_backend->make_private;
		undo = snp_backend->make_shared;
	} else {
		apply = snp_backend->make_shared;
		undo = snp_backend->make_private;
	}

	for (i = 0; i < nr_pages; i++) {
		ret = apply(snp_set_pfn(set, i));
		if (ret)
			break;
		cond_resched();
	}
	if (ret) {
		snp_roll_back(set, i, to, undo, ret);
		return ret;
	}

	/* One flush for the whole set, before anybody can see it private. */
	if (to == SNP_PAGE_PRIVATE)
		snp_flush_private(set, nr_pages);
	snp_finish(set, 0, nr_pages, to, true);
	snp_stat_add(to == SNP_PAGE_PRIVATE ? SNP_STAT_TO_PRIVATE :
		     SNP_STAT_TO_SHARED, nr_pages);
	trace_snp_convert_end(pfn, nr_pages, to, 0);
	return 0;
}

/**
 * snp_convert_end() - phase two of a conversion
 * @pfn: first page frame number, as passed to snp_convert_begin()
 * @nr_pages: number of pages, as passed to snp_convert_begin()
 * @to: as passed to snp_convert_begin()
 * @commit: true to convert the pages in the backend and commit, false to
 *	    abort (restore the state the pages had before begin)
 *
 * If the backend fails on a page, the pages it already converted are
 * converted back and the whole range is aborted. A page the backend can
 * convert but then not convert back keeps its new state (the state word
 * always follows the hardware): it is reported with pr_err(), counted in
 * ``rollback_failures``, and the call still returns the backend's error;
 * the caller finds such a page with snp_page_state().
 *
 * Return: 0, the backend's error, or -EINVAL on bad arguments.
 */
int snp_convert_end(unsigned long pfn, unsigned long nr_pages,
		    enum snp_page_state to, bool commit)
{
	struct snp_pfn_set set = { .base = pfn, .nr = nr_pages };

	return __snp_convert_end(&set, to, commit);
}
EXPORT_SYMBOL_IF_KUNIT(snp_convert_end);

int snp_convert_end_pfns(const unsigned long *pfns, unsigned long nr,
			 enum snp_page_state to, bool commit)
{
	struct snp_pfn_set set = { .pfns = pfns, .nr = nr };

	return __snp_convert_end(&set, to, commit);
}
EXPORT_SYMBOL_GPL(snp_convert_end_pfns);

static int snp_convert(unsigned long pfn, unsigned long nr_pages,
		       enum snp_page_state to, unsigned int flags)
{
	int ret;

	ret = snp_convert_begin(pfn, nr_pages, to, flags, 0, NULL);
	if (ret)
		return ret;
	return snp_convert_end(pfn, nr_pages, to, true);
}

int snp_make_private(unsigned long pfn, unsigned long nr_pages,
		     unsigned int flags)
{
	return snp_convert(pfn, nr_pages, SNP_PAGE_PRIVATE, flags);
}
EXPORT_SYMBOL_GPL(snp_make_private);

/* The owner of memory the host never maps through user mappings. */
static const struct snp_convert_owner snp_owner_unmapped = {
	.refs = -1,
};

int snp_convert_external(unsigned long pfn, unsigned long nr_pages,
			 enum snp_page_state to, unsigned int flags,
			 int (*update)(unsigned long pfn,
				       unsigned long nr_pages, void *arg),
			 void *arg)
{
	struct snp_pfn_set set = { .base = pfn, .nr = nr_pages };
	int ret;

	ret = __snp_convert_begin(&set, to, flags, 0, &snp_owner_unmapped,
				  NULL);
	if (ret)
		return ret;
	ret = update(pfn, nr_pages, arg);
	if (ret) {
		snp_stat_add(SNP_STAT_BACKEND_ERRORS, 1);
		snp_finish(&set, 0, nr_pages, to, false);
		snp_convert_aborted(pfn, nr_pages, to, ret);
		return ret;
	}
	snp_finish(&set, 0, nr_pages, to, true);
	snp_stat_add(to == SNP_PAGE_PRIVATE ? SNP_STAT_TO_PRIVATE :
		     SNP_STAT_TO_SHARED, nr_pages);
	trace_snp_convert_end(pfn, nr_pages, to, 0);
	return 0;
}
EXPORT_SYMBOL_GPL(snp_convert_external);

int snp_make_shared(unsigned long pfn, unsigned long nr_pages,
		    unsigned int flags)
{
	return snp_convert(pfn, nr_pages, SNP_PAGE_SHARED, flags);
}
EXPORT_SYMBOL_GPL(snp_make_shared);

/**
 * snp_convert_notifier_register() - get told when a converter waits on a pfn
 * @nb: notifier block; its callback gets an &enum snp_convert_event and a
 *	&struct snp_convert_wait_info and must not sleep
 *
 * Return: 0 (as atomic_notifier_chain_register()).
 */
int snp_convert_notifier_register(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&snp_convert_notifier, nb);
}
EXPORT_SYMBOL_IF_KUNIT(snp_convert_notifier_register);

/**
 * snp_convert_notifier_unregister() - undo snp_convert_notifier_register()
 * @nb: the notifier block
 *
 * Return: 0, or -ENOENT if @nb was not registered.
 */
int snp_convert_notifier_unregister(struct notifier_block *nb)
{
	return atomic_notifier_chain_unregister(&snp_convert_notifier, nb);
}
EXPORT_SYMBOL_IF_KUNIT(snp_convert_notifier_unregister);

/* ------------------------------------------------------------------------
 * Backend support and test helpers.
 */

#ifdef CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM
void snp_page_lock_set_csum(unsigned long pfn, u32 csum)
{
	struct snp_page_word *spe;

	spe = snp_word(pfn);
	if (spe)
		spe->csum = csum;
}

u32 snp_page_lock_get_csum(unsigned long pfn)
{
	struct snp_page_word *spe;
	u32 csum = 0;

	spe = snp_word(pfn);
	if (spe)
		csum = spe->csum;
	return csum;
}
#endif

const char *snp_page_lock_backend_name(void)
{
	return snp_backend_name();
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_backend_name);

#if IS_ENABLED(CONFIG_SNP_PAGE_LOCK_KUNIT_TEST)
/* The raw state word of a page, or 0 without one. */
u32 snp_page_lock_test_state_word(unsigned long pfn)
{
	u32 s;

	if (!snp_read_state(pfn, &s))
		return 0;
	return s;
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_test_state_word);

/* Add @delta to a page's pin count without the pin rules (saturation). */
int snp_page_lock_test_add_pins(unsigned long pfn, int delta)
{
	struct snp_page_word *spe;
	long pins;
	int old;

	spe = snp_word(pfn);
	if (!spe)
		return -EINVAL;
	old = atomic_read(&spe->state);
	do {
		pins = (long)snp_ps_pins(old) + delta;
		if (pins < 0 || pins > SNP_PS_PINS_MAX)
			return -ERANGE;
	} while (!atomic_try_cmpxchg(&spe->state, &old,
				     old + delta * (int)SNP_PS_PIN_BIAS));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_test_add_pins);

/*
 * The back-off of a pin that found @seen (SNP_PS_* flags) in the word of
 * @pfn: for a pin the test made with snp_page_lock_test_add_pins().
 * Returns the pin's error.
 */
int snp_page_lock_test_backoff(unsigned long pfn, u32 seen)
{
	struct snp_page_word *spe;
	int ret;

	spe = snp_word(pfn);
	if (!spe)
		return -EINVAL;
	ret = snp_pin_undo(pfn, &spe->state, seen);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_test_backoff);

/* Pages private or converting, as the free check sees them. */
long snp_page_lock_test_nr_unshared(void)
{
	return atomic_long_read(&snp_nr_unshared);
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_test_nr_unshared);

/* The raw block word of the block around @pfn, or 0 without a state word. */
u64 snp_page_lock_test_block_word(unsigned long pfn)
{
	if (!snp_word(pfn))
		return 0;
	return atomic64_read(snp_block_word(pfn));
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_test_block_word);

/* Add @delta to a block's pin count without the pin rules (saturation). */
int snp_page_lock_test_add_block_pins(unsigned long pfn, long delta)
{
	atomic64_t *bword;
	s64 old, pins;

	if (!snp_word(pfn))
		return -EINVAL;
	bword = snp_block_word(pfn);
	old = atomic64_read(bword);
	do {
		pins = (s64)snp_bs_pins(old) + delta;
		if (pins < 0 || pins > SNP_BS_PINS_MAX)
			return -ERANGE;
	} while (!atomic64_try_cmpxchg(bword, &old,
				       old + delta * (s64)SNP_BS_PIN_BIAS));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(snp_page_lock_test_add_block_pins);
#endif
