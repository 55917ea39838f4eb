// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of the snp_page_lock layer, in the style of kernel/rcu/refscale.c:
 * what a shared pin, a pinned mapping and a conversion cost, next to
 * baselines measured the same way in the same boot (get_page + put_page,
 * a bare kmap_local, the 2021 per-VM SRCU and the 2022 per-VM spinlock
 * designs, synchronize_srcu_expedited()).
 *
 * Every operation of the table runs in a loop on CPU-bound kthreads (one per
 * CPU, bound to CPUs 0..n-1), with interrupts off around the timed loop
 * unless the operation sleeps. The loop count is calibrated until one run
 * takes about ``ms`` milliseconds (this also warms up), then ``runs`` timed
 * runs are made and the median is reported. Times come from
 * ktime_get_mono_fast_ns(). A round of a two-thread op in which the threads
 * did not run together for 90% of its time is dropped (counted in the
 * CSV's "dropped"; at most SB_TRIES_PER_RUN rounds are tried per run).
 *
 * The cs_* ops compare the designs fairly on two threads: every variant
 * protects the same critical section (map, read 64 bytes, unmap) with
 * interrupts on, while a converter converts another page to private and
 * back once a millisecond, each design's way; the latency of its
 * conversions to private goes in the CSV (median and 99th percentile).
 * The *_cold ops walk 64 MiB of pages with a stride.
 *
 * Usage (the results go back to userspace as CSV, as mm/gup_test.c returns
 * its timing):
 *
 *   echo run > /sys/kernel/debug/snp_page_lock_bench/run
 *   cat /sys/kernel/debug/snp_page_lock_bench/results
 *
 * The write returns when the benchmark is done. It takes optional tokens:
 * ``quick`` (ms=2 runs=3), ``ms=N``, ``runs=N`` and ``only=NAME,NAME``.
 * Booted with ``snp_page_lock_bench.run=1`` the benchmark runs once at boot
 * and prints the CSV lines to the kernel log, prefixed with "csv: " (for
 * UML, where there is no userspace to ask).
 *
 * Nothing runs unless asked: the cost of this file is its debugfs files.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/snp_page_lock.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "snp_page_lock_internal.h"

static bool run;
module_param(run, bool, 0444);
MODULE_PARM_DESC(run, "Run the benchmark once at boot and print the CSV");

static unsigned int ms = 20;
module_param(ms, uint, 0644);
MODULE_PARM_DESC(ms, "Target length of one timed run, in ms (default 20)");

static unsigned int runs = 5;
module_param(runs, uint, 0644);
MODULE_PARM_DESC(runs, "Timed runs per operation; the median is reported (default 5)");

#define SB_MAX_THREADS	2
#define SB_MAX_RUNS	31
#define SB_MAX_MS	1000
#define SB_LOOPS_MAX	BIT(28)
/* The 2 MiB block: 512 pages, one order-9 allocation split into pages. */
#define SB_ORDER	9
#define SB_BLOCK_PAGES	BIT(SB_ORDER)
/* Distinct pages of two threads: far apart, so their state words are too. */
#define SB_DISTINCT_STRIDE	(SB_BLOCK_PAGES / 2)
/* The page the converter of the critical-section ops converts: nobody's. */
#define SB_CONV_PAGE		(SB_BLOCK_PAGES / 4)
/* Timed rounds tried per run wanted, when rounds without overlap are dropped. */
#define SB_TRIES_PER_RUN	4
/*
 * The cold walk: pages allocated in 2 MiB blocks, visited with a stride so
 * that consecutive visits share neither a struct page cache line nor a
 * state word cache line.
 */
#define SB_COLD_BLOCKS		32
#define SB_COLD_PAGES		(SB_COLD_BLOCKS * SB_BLOCK_PAGES)
#define SB_COLD_STRIDE		17
/* The converter of the critical-section ops: one conversion per period. */
#define SB_CONV_PERIOD_US	1000
#define SB_CONV_SAMPLES		4096
/* 64 bytes read through each mapping of the critical-section ops. */
#define SB_LINE_WORDS		(64 / sizeof(unsigned long))
/* Iterations of a critical-section loop between chances for the converter. */
#define SB_CS_RESCHED		64

/**
 * enum sb_pages - which pages the threads of an operation use
 * @SB_DISTINCT: one page per thread, far apart (no shared cache line)
 * @SB_SAME: all threads use the same page
 * @SB_ADJACENT: one page per thread, neighbouring pfns (their page_ext
 *	state words share a cache line)
 */
enum sb_pages {
	SB_DISTINCT,
	SB_SAME,
	SB_ADJACENT,
};

static const char * const sb_pages_name[] = {
	[SB_DISTINCT] = "distinct",
	[SB_SAME] = "same",
	[SB_ADJACENT] = "adjacent",
};

/**
 * enum sb_conv - the converter running next to a critical-section op
 * @SB_CONV_NONE: none
 * @SB_CONV_LAYER: snp_make_private() + snp_make_shared() of another page
 * @SB_CONV_V5: the 2021 v5 converter: flip the per-VM state, wait for the
 *	readers with synchronize_srcu(), then the backend
 * @SB_CONV_V6: the 2022 v6 converter: flip the state under the per-VM
 *	spinlock, then the backend
 */
enum sb_conv {
	SB_CONV_NONE,
	SB_CONV_LAYER,
	SB_CONV_V5,
	SB_CONV_V6,
};

struct sb_thread;

/**
 * struct sb_op - one row of the benchmark
 * @name: short name, used in the CSV and by ``only=``
 * @fn: runs the operation @loops times; returns 0 or the first error
 * @threads: number of threads running it at once
 * @pages: which pages the threads use
 * @nr_pages: pages per operation (1, or SB_BLOCK_PAGES for a 2 MiB range)
 * @sleeps: the operation may sleep: time it with interrupts on
 * @needs_layer: meaningless with the layer off (conversions, the word map): skipped
 * @conv: the converter that runs on other pages while the threads loop
 */
struct sb_op {
	const char *name;
	int (*fn)(struct sb_thread *t, unsigned long loops);
	unsigned int threads;
	enum sb_pages pages;
	unsigned int nr_pages;
	bool sleeps;
	bool needs_layer;
	enum sb_conv conv;
};

/**
 * struct sb_thread - one benchmark kthread
 * @task: the kthread
 * @op: the operation it runs
 * @page: its (first) page
 * @pfn: page_to_pfn(@page)
 * @gen: the last round it ran
 * @loops: iterations per round
 * @start: ktime_get_mono_fast_ns() before the timed loop
 * @end: ktime_get_mono_fast_ns() after it
 * @ret: what the operation returned
 * @word: a private state word for the xadd_pair op
 */
struct sb_thread {
	struct task_struct *task;
	const struct sb_op *op;
	struct page *page;
	unsigned long pfn;
	unsigned long gen;
	unsigned long loops;
	u64 start;
	u64 end;
	int ret;
	atomic_t word ____cacheline_aligned;
};

/**
 * struct sb_result - the measurement of one operation
 * @op: the operation
 * @err: 0, or the negative errno the operation failed with
 * @skip: why it was skipped, or NULL if it ran
 * @loops: iterations per thread in one timed run
 * @runs: timed runs
 * @ps_op: median over the runs of the mean per-thread time of one
 *	operation, in picoseconds
 * @ps_min: fastest run
 * @ps_max: slowest run
 * @ps_wall: median wall-clock time per operation over all threads (the
 *	inverse of the throughput), in picoseconds
 * @dropped: timed rounds dropped because the threads did not overlap
 * @no_overlap: no round overlapped: the numbers are of one that did not
 * @conv_n: conversions the converter made during the timed runs
 * @conv_p50_ns: their median latency
 * @conv_p99_ns: their 99th percentile latency
 */
struct sb_result {
	const struct sb_op *op;
	int err;
	const char *skip;
	unsigned long loops;
	unsigned int runs;
	u64 ps_op;
	u64 ps_min;
	u64 ps_max;
	u64 ps_wall;
	unsigned int dropped;
	bool no_overlap;
	unsigned int conv_n;
	u64 conv_p50_ns;
	u64 conv_p99_ns;
};

/**
 * struct sb_converter - the converter of a critical-section op
 * @task: its kthread
 * @kind: what it does
 * @pfn: the page it converts, which no benchmark thread uses
 * @record: latencies are recorded (the timed runs)
 * @n: latencies recorded
 * @lat_ns: the latency of each conversion to private
 * @ret: the first error, which stops the conversions
 */
struct sb_converter {
	struct task_struct *task;
	enum sb_conv kind;
	unsigned long pfn;
	bool record;
	unsigned int n;
	u64 *lat_ns;
	int ret;
};

/**
 * struct sb_vm - what the designs tried upstream lock per VM
 * @srcu: the 2021 SNP v5 pattern: readers in an SRCU section
 * @lock: the 2022 SNP v6 pattern: a per-VM spinlock held across the map
 * @state: gfn -> page state (xa_mk_value()), looked up by both
 */
struct sb_vm {
	struct srcu_struct srcu;
	spinlock_t lock;		/* the whole VM's map/unmap, as in v6 */
	struct xarray state;
};

/**
 * struct sb_config - parameters of one benchmark run
 * @ms: target length of one timed run
 * @runs: timed runs per operation
 * @only: if not empty, ",name,name," of the operations to run
 */
struct sb_config {
	unsigned int ms;
	unsigned int runs;
	char only[128];
};

static struct sb_vm sb_vm;
static struct page *sb_block;
static unsigned long sb_block_pfn;
/* The cold walk's pages: SB_COLD_BLOCKS blocks of SB_BLOCK_PAGES. */
static struct page *sb_cold[SB_COLD_BLOCKS];

/* One round: every thread of the op runs its loop once. */
static DECLARE_WAIT_QUEUE_HEAD(sb_go_wq);
static DECLARE_COMPLETION(sb_done);
static unsigned long sb_gen;
static atomic_t sb_starting;
static atomic_t sb_running;

/* Serialises runs and protects the results. */
static DEFINE_MUTEX(sb_mutex);
static struct sb_result *sb_results;
static unsigned int sb_nr_results;
static struct sb_config sb_last;
static bool sb_last_enabled;

/* ------------------------------------------------------------------------
 * The operations. Each hides its page from the optimiser on every
 * iteration, so that nothing loop-invariant (page_address(), the page_ext
 * lookup) is hoisted out of the loop, and the mapping ops read one word
 * through the mapping, as a real user would.
 */

static __always_inline void sb_touch(const void *addr)
{
	(void)READ_ONCE(*(const unsigned long *)addr);
}

/* Read the 64 bytes of the critical section of the cs_* ops. */
static __always_inline void sb_touch_line(const void *addr)
{
	const unsigned long *w = addr;
	unsigned int k;

	for (k = 0; k < SB_LINE_WORDS; k++)
		(void)READ_ONCE(w[k]);
}

/* Map @pfn with kmap_local_pfn(), read a word (@line: 64 bytes), unmap. */
static __always_inline void sb_kmap_touch_pfn(unsigned long pfn, bool line)
{
	void *addr = kmap_local_pfn(pfn);

	if (line)
		sb_touch_line(addr);
	else
		sb_touch(addr);
	kunmap_local(addr);
}

static int sb_empty(struct sb_thread *t, unsigned long loops)
{
	unsigned long i;

	for (i = 0; i < loops; i++)
		barrier();
	return 0;
}

static int sb_get_put(struct sb_thread *t, unsigned long loops)
{
	struct page *page = t->page;
	unsigned long i;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(page);
		get_page(page);
		put_page(page);
	}
	return 0;
}

/* folio_try_get() + folio_put(): the conditional-pin shape. */
static int sb_try_get_put(struct sb_thread *t, unsigned long loops)
{
	struct folio *folio = page_folio(t->page);
	unsigned long i;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(folio);
		if (unlikely(!folio_try_get(folio)))
			return -EINVAL;
		folio_put(folio);
	}
	return 0;
}

/*
 * alloc_pages() + __free_pages() of order 0 or 9: the free path carries
 * the layer's G4 check (one counter read while no page is private).
 */
static int sb_alloc_free(struct sb_thread *t, unsigned long loops)
{
	unsigned int order = ilog2(t->op->nr_pages);
	struct page *page;
	unsigned long i;

	for (i = 0; i < loops; i++) {
		page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
		if (unlikely(!page))
			return -ENOMEM;
		__free_pages(page, order);
	}
	return 0;
}

static int sb_kmap(struct sb_thread *t, unsigned long loops)
{
	struct page *page = t->page;
	unsigned long i;
	void *addr;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(page);
		addr = kmap_local_page(page);
		sb_touch(addr);
		kunmap_local(addr);
	}
	return 0;
}

/* What snp_kmap_local_pfn() wraps: the baseline of the layer-off case. */
static int sb_kmap_pfn(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		sb_kmap_touch_pfn(pfn, false);
	}
	return 0;
}

/* snp_pin_shared() + snp_unpin_shared() of one page or of a 2 MiB range. */
static int sb_pin(struct sb_thread *t, unsigned long loops)
{
	unsigned int nr = t->op->nr_pages;
	unsigned long pfn = t->pfn;
	unsigned long i;
	int ret;

	if (nr == 1) {
		/* The inline single-page path, as kvm_vcpu_map() gets it. */
		for (i = 0; i < loops; i++) {
			OPTIMIZER_HIDE_VAR(pfn);
			ret = snp_pin_shared(pfn, 1);
			if (unlikely(ret))
				return ret;
			snp_unpin_shared(pfn, 1);
		}
		return 0;
	}
	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		ret = snp_pin_shared(pfn, nr);
		if (unlikely(ret))
			return ret;
		snp_unpin_shared(pfn, nr);
	}
	return 0;
}

static int sb_snp_kmap(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	void *addr;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		addr = snp_kmap_local_pfn(pfn);
		if (IS_ERR(addr))
			return PTR_ERR(addr);
		sb_touch(addr);
		snp_kunmap_local(addr, pfn);
	}
	return 0;
}

/*
 * Where the time of pin + unpin goes: the pieces of the layer's fast path
 * (mm/snp/snp_page_lock.c), each done twice as pin + unpin do them.
 */

/* The word map lookup, twice as pin + unpin do it. */
static int sb_word_lookup(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	atomic_t *word;
	int k;

	for (i = 0; i < loops; i++) {
		for (k = 0; k < 2; k++) {
			OPTIMIZER_HIDE_VAR(pfn);
			word = snp_state_word(pfn);
			if (unlikely(!word))
				return -EINVAL;
			OPTIMIZER_HIDE_VAR(word);
		}
	}
	return 0;
}

/* The two atomics: a fetch_add of the pin bias, then a sub_return. */
static int sb_xadd_pair(struct sb_thread *t, unsigned long loops)
{
	atomic_t *word = &t->word;
	unsigned long i;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(word);
		if (unlikely(atomic_fetch_add(SNP_PS_PIN_BIAS, word) &
			     SNP_PS_PIN_SLOW))
			return -EINVAL;
		if (unlikely(atomic_sub_return(SNP_PS_PIN_BIAS, word) &
			     SNP_PS_UNPIN_SLOW))
			return -EINVAL;
	}
	return 0;
}

/* The per-CPU counters the layer bumps on pin and unpin. */
static DEFINE_PER_CPU(unsigned long, sb_counter);

static int sb_stat_pair(struct sb_thread *t, unsigned long loops)
{
	unsigned long i;

	for (i = 0; i < loops; i++) {
		this_cpu_add(sb_counter, 1);
		barrier();
		this_cpu_add(sb_counter, 1);
	}
	return 0;
}

/* The per-VM state lookup both old designs do before mapping. */
static __always_inline bool sb_vm_shared(unsigned long gfn)
{
	return xa_load(&sb_vm.state, gfn) == xa_mk_value(SNP_PAGE_SHARED);
}

/*
 * One critical section of 2021 SNP v5: srcu_read_lock(&kvm->srcu), check
 * the state, map, touch (@line: 64 bytes), unmap, unlock.
 */
static __always_inline int sb_v5_once(unsigned long pfn, bool line)
{
	int idx = srcu_read_lock(&sb_vm.srcu);
	int ret = -EPERM;

	if (likely(sb_vm_shared(pfn))) {
		sb_kmap_touch_pfn(pfn, line);
		ret = 0;
	}
	srcu_read_unlock(&sb_vm.srcu, idx);
	return ret;
}

/* One of 2022 SNP v6: the per-VM spinlock across lookup, map and unmap. */
static __always_inline int sb_v6_once(unsigned long pfn, bool line)
{
	int ret = -EPERM;

	spin_lock(&sb_vm.lock);
	if (likely(sb_vm_shared(pfn))) {
		sb_kmap_touch_pfn(pfn, line);
		ret = 0;
	}
	spin_unlock(&sb_vm.lock);
	return ret;
}

static int sb_v5_srcu(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	int ret;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		ret = sb_v5_once(pfn, false);
		if (unlikely(ret))
			return ret;
	}
	return 0;
}

static int sb_v6_spin(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	int ret;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		ret = sb_v6_once(pfn, false);
		if (unlikely(ret))
			return ret;
	}
	return 0;
}

/* The baseline of a range pin: a reference on each page of the range. */
static int sb_get_put_range(struct sb_thread *t, unsigned long loops)
{
	unsigned int nr = t->op->nr_pages;
	struct page *page = t->page;
	unsigned long i;
	unsigned int j;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(page);
		for (j = 0; j < nr; j++)
			get_page(page + j);
		for (j = 0; j < nr; j++)
			put_page(page + j);
	}
	return 0;
}

/* A conversion round trip through the layer: shared -> private -> shared. */
static int sb_convert(struct sb_thread *t, unsigned long loops)
{
	unsigned int nr = t->op->nr_pages;
	unsigned long i;
	int ret;

	for (i = 0; i < loops; i++) {
		ret = snp_make_private(t->pfn, nr, 0);
		if (ret)
			return ret;
		ret = snp_make_shared(t->pfn, nr, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The layer's own part of a round trip, without the backend: begin (mark
 * CONVERTING, find no pins) and end without committing, once towards
 * private and once more, as a round trip touches the state words twice.
 */
static int sb_layer(struct sb_thread *t, unsigned long loops)
{
	unsigned int nr = t->op->nr_pages;
	unsigned long i;
	int k, ret;

	for (i = 0; i < loops; i++) {
		for (k = 0; k < 2; k++) {
			ret = snp_convert_begin(t->pfn, nr, SNP_PAGE_PRIVATE, 0,
						0, NULL);
			if (ret)
				return ret;
			snp_convert_end(t->pfn, nr, SNP_PAGE_PRIVATE, false);
		}
	}
	return 0;
}

/*
 * The same round trip done by the software backend alone, page by page in
 * the same order as the layer's wrappers: the work the layer adds nothing
 * to. The pages stay shared in the layer's state word; nobody else uses
 * them.
 */
static int sb_backend(struct sb_thread *t, unsigned long loops)
{
	unsigned int nr = t->op->nr_pages;
	unsigned long i;
	unsigned int j;
	int ret = 0;

	for (i = 0; i < loops; i++) {
		for (j = 0; j < nr; j++) {
			ret = snp_backend_sw.make_private(t->pfn + j);
			if (ret)
				break;
		}
		if (ret) {
			while (j--)
				snp_backend_sw.make_shared(t->pfn + j);
			return ret;
		}
		for (j = 0; j < nr; j++) {
			ret = snp_backend_sw.make_shared(t->pfn + j);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int sb_srcu_exp(struct sb_thread *t, unsigned long loops)
{
	unsigned long i;

	for (i = 0; i < loops; i++)
		synchronize_srcu_expedited(&sb_vm.srcu);
	return 0;
}

/*
 * The cold walk: the same ops over SB_COLD_PAGES pages, each visit
 * SB_COLD_STRIDE pages after the last, so that a visit finds neither the
 * struct page nor the state word in a cache.
 */
static __always_inline struct page *sb_cold_page(unsigned long *k)
{
	unsigned long i = *k;

	*k = i + SB_COLD_STRIDE < SB_COLD_PAGES ? i + SB_COLD_STRIDE :
						   i + SB_COLD_STRIDE - SB_COLD_PAGES;
	return sb_cold[i / SB_BLOCK_PAGES] + i % SB_BLOCK_PAGES;
}

static int sb_get_put_cold(struct sb_thread *t, unsigned long loops)
{
	unsigned long i, k = 0;
	struct page *page;

	for (i = 0; i < loops; i++) {
		page = sb_cold_page(&k);
		get_page(page);
		put_page(page);
	}
	return 0;
}

static int sb_try_get_put_cold(struct sb_thread *t, unsigned long loops)
{
	unsigned long i, k = 0;
	struct folio *folio;

	for (i = 0; i < loops; i++) {
		folio = page_folio(sb_cold_page(&k));
		if (unlikely(!folio_try_get(folio)))
			return -EINVAL;
		folio_put(folio);
	}
	return 0;
}

static int sb_pin_cold(struct sb_thread *t, unsigned long loops)
{
	unsigned long i, k = 0, pfn;
	int ret;

	for (i = 0; i < loops; i++) {
		pfn = page_to_pfn(sb_cold_page(&k));
		ret = snp_pin_shared(pfn, 1);
		if (unlikely(ret))
			return ret;
		snp_unpin_shared(pfn, 1);
	}
	return 0;
}

/*
 * The two-thread comparison of the designs, made fair: every variant
 * protects the same critical section (map, read 64 bytes, unmap), runs
 * with interrupts on and lets the converter in every SB_CS_RESCHED
 * iterations, while the op's converter converts another page at a fixed
 * rate (sb_converter_fn()).
 */
static __always_inline void sb_cs_yield(unsigned long i)
{
	if (!(i % SB_CS_RESCHED))
		cond_resched();
}

/* No protection: the floor of the critical section. */
static int sb_cs_none(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		sb_kmap_touch_pfn(pfn, true);
		sb_cs_yield(i);
	}
	return 0;
}

/* The layer: a shared pin around the mapping. */
static int sb_cs_pin(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	void *addr;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		addr = snp_kmap_local_pfn(pfn);
		if (IS_ERR(addr))
			return PTR_ERR(addr);
		sb_touch_line(addr);
		snp_kunmap_local(addr, pfn);
		sb_cs_yield(i);
	}
	return 0;
}

/* 2021 v5 and 2022 v6 on the critical section of the cs_* ops. */
static int sb_cs_v5(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	int ret;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		ret = sb_v5_once(pfn, true);
		if (unlikely(ret))
			return ret;
		sb_cs_yield(i);
	}
	return 0;
}

static int sb_cs_v6(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	int ret;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		ret = sb_v6_once(pfn, true);
		if (unlikely(ret))
			return ret;
		sb_cs_yield(i);
	}
	return 0;
}

/* Flip the "VM"'s state of @pfn as the old designs' converters did. */
static int sb_vm_set(unsigned long pfn, enum snp_page_state state, gfp_t gfp)
{
	return xa_err(xa_store(&sb_vm.state, pfn, xa_mk_value(state), gfp));
}

/*
 * One conversion of @c's page to private and back, each design's way;
 * the time to private (readers blocked, waited for, backend done) goes in
 * *@ns.
 */
static int sb_convert_once(struct sb_converter *c, u64 *ns)
{
	u64 start = ktime_get_mono_fast_ns();
	int ret;

	switch (c->kind) {
	case SB_CONV_LAYER:
		ret = snp_make_private(c->pfn, 1, 0);
		*ns = ktime_get_mono_fast_ns() - start;
		return ret ?: snp_make_shared(c->pfn, 1, 0);
	case SB_CONV_V5:
		ret = sb_vm_set(c->pfn, SNP_PAGE_PRIVATE, GFP_KERNEL);
		if (ret)
			return ret;
		synchronize_srcu(&sb_vm.srcu);
		break;
	case SB_CONV_V6:
		/* The entry exists: replacing it allocates nothing. */
		spin_lock(&sb_vm.lock);
		ret = sb_vm_set(c->pfn, SNP_PAGE_PRIVATE, GFP_NOWAIT);
		spin_unlock(&sb_vm.lock);
		if (ret)
			return ret;
		break;
	default:
		return -EINVAL;
	}
	ret = snp_backend_sw.make_private(c->pfn);
	*ns = ktime_get_mono_fast_ns() - start;
	if (!ret)
		ret = snp_backend_sw.make_shared(c->pfn);
	if (c->kind == SB_CONV_V6) {
		spin_lock(&sb_vm.lock);
		ret = ret ?: sb_vm_set(c->pfn, SNP_PAGE_SHARED, GFP_NOWAIT);
		spin_unlock(&sb_vm.lock);
	} else {
		ret = ret ?: sb_vm_set(c->pfn, SNP_PAGE_SHARED, GFP_KERNEL);
	}
	return ret;
}

/* The converter: one conversion every SB_CONV_PERIOD_US, until stopped. */
static int sb_converter_fn(void *arg)
{
	struct sb_converter *c = arg;
	ktime_t next = ktime_get();
	u64 ns = 0;

	while (!kthread_should_stop()) {
		if (!c->ret) {
			c->ret = sb_convert_once(c, &ns);
			if (!c->ret && READ_ONCE(c->record) &&
			    c->n < SB_CONV_SAMPLES)
				c->lat_ns[c->n++] = ns;
		}
		next = ktime_add_us(next, SB_CONV_PERIOD_US);
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule_hrtimeout(&next, HRTIMER_MODE_ABS);
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

#define SB_OP(_name, _fn, _threads, _pages, _nr, _sleeps, _layer)	\
	{ .name = _name, .fn = _fn, .threads = _threads,		\
	  .pages = _pages, .nr_pages = _nr, .sleeps = _sleeps,		\
	  .needs_layer = _layer }

/* Two threads on distinct pages, interrupts on, a converter next to them. */
#define SB_CS_OP(_name, _fn, _conv, _layer)				\
	{ .name = _name, .fn = _fn, .threads = 2, .pages = SB_DISTINCT,	\
	  .nr_pages = 1, .sleeps = true, .needs_layer = _layer,		\
	  .conv = _conv }

static const struct sb_op sb_ops[] = {
	/* One thread: the fast paths and their baselines. */
	SB_OP("empty", sb_empty, 1, SB_DISTINCT, 1, false, false),
	SB_OP("get_put", sb_get_put, 1, SB_DISTINCT, 1, false, false),
	SB_OP("try_get_put", sb_try_get_put, 1, SB_DISTINCT, 1, false, false),
	SB_OP("kmap", sb_kmap, 1, SB_DISTINCT, 1, false, false),
	SB_OP("kmap_pfn", sb_kmap_pfn, 1, SB_DISTINCT, 1, false, false),
	SB_OP("pin", sb_pin, 1, SB_DISTINCT, 1, false, false),
	SB_OP("snp_kmap", sb_snp_kmap, 1, SB_DISTINCT, 1, false, false),
	SB_OP("v5_srcu", sb_v5_srcu, 1, SB_DISTINCT, 1, false, false),
	SB_OP("v6_spin", sb_v6_spin, 1, SB_DISTINCT, 1, false, false),
	/* Where the time of pin goes. */
	SB_OP("word_lookup", sb_word_lookup, 1, SB_DISTINCT, 1, false, true),
	SB_OP("xadd_pair", sb_xadd_pair, 1, SB_DISTINCT, 1, false, false),
	SB_OP("stat_pair", sb_stat_pair, 1, SB_DISTINCT, 1, false, false),
	/* A 2 MiB range. */
	SB_OP("get_put_2m", sb_get_put_range, 1, SB_DISTINCT, SB_BLOCK_PAGES,
	      false, false),
	SB_OP("pin_2m", sb_pin, 1, SB_DISTINCT, SB_BLOCK_PAGES,
	      false, false),
	/* Conversions, no pins held, against their floor and SRCU. */
	SB_OP("layer_1p", sb_layer, 1, SB_DISTINCT, 1, true, true),
	SB_OP("backend_1p", sb_backend, 1, SB_DISTINCT, 1, true, false),
	SB_OP("convert_1p", sb_convert, 1, SB_DISTINCT, 1, true, true),
	SB_OP("layer_2m", sb_layer, 1, SB_DISTINCT, SB_BLOCK_PAGES,
	      true, true),
	SB_OP("backend_2m", sb_backend, 1, SB_DISTINCT, SB_BLOCK_PAGES,
	      true, false),
	SB_OP("convert_2m", sb_convert, 1, SB_DISTINCT, SB_BLOCK_PAGES,
	      true, true),
	SB_OP("srcu_exp", sb_srcu_exp, 1, SB_DISTINCT, 1, true, false),
	/* The free path, layer on (this boot) against off (another boot). */
	SB_OP("alloc_free_0", sb_alloc_free, 1, SB_DISTINCT, 1, true, false),
	SB_OP("alloc_free_9", sb_alloc_free, 1, SB_DISTINCT, SB_BLOCK_PAGES,
	      true, false),
	/* Scaling: two threads. */
	SB_OP("get_put_x2", sb_get_put, 2, SB_DISTINCT, 1, false, false),
	SB_OP("get_put_x2_same", sb_get_put, 2, SB_SAME, 1, false, false),
	SB_OP("pin_x2", sb_pin, 2, SB_DISTINCT, 1, false, false),
	SB_OP("pin_x2_same", sb_pin, 2, SB_SAME, 1, false, false),
	SB_OP("pin_x2_adjacent", sb_pin, 2, SB_ADJACENT, 1, false, false),
	SB_OP("snp_kmap_x2", sb_snp_kmap, 2, SB_DISTINCT, 1, false, false),
	SB_OP("v5_srcu_x2", sb_v5_srcu, 2, SB_DISTINCT, 1, false, false),
	SB_OP("v6_spin_x2", sb_v6_spin, 2, SB_DISTINCT, 1, false, false),
	/* The designs compared fairly: same critical section, a converter. */
	SB_CS_OP("cs_none_x2", sb_cs_none, SB_CONV_NONE, false),
	SB_CS_OP("cs_pin_x2", sb_cs_pin, SB_CONV_LAYER, true),
	SB_CS_OP("cs_v5_x2", sb_cs_v5, SB_CONV_V5, false),
	SB_CS_OP("cs_v6_x2", sb_cs_v6, SB_CONV_V6, false),
	/* Cold: a strided walk over 64 MiB of pages. */
	SB_OP("get_put_cold", sb_get_put_cold, 1, SB_DISTINCT, 1, false, false),
	SB_OP("try_get_put_cold", sb_try_get_put_cold, 1, SB_DISTINCT, 1,
	      false, false),
	SB_OP("pin_cold", sb_pin_cold, 1, SB_DISTINCT, 1, false, false),
};

/* ------------------------------------------------------------------------
 * Threads and rounds.
 */

static int sb_thread_fn(void *arg)
{
	struct sb_thread *t = arg;
	unsigned long flags;

	for (;;) {
		/* Pairs with the release in sb_round(): see ->loops set. */
		wait_event_idle(sb_go_wq, smp_load_acquire(&sb_gen) != t->gen ||
				kthread_should_stop());
		if (kthread_should_stop())
			break;
		t->gen = READ_ONCE(sb_gen);

		/* Start together: wait until every thread of the op is here. */
		atomic_dec(&sb_starting);
		while (atomic_read(&sb_starting)) {
			cond_resched();
			cpu_relax();
		}

		if (t->op->sleeps) {
			t->start = ktime_get_mono_fast_ns();
			t->ret = t->op->fn(t, t->loops);
			t->end = ktime_get_mono_fast_ns();
		} else {
			local_irq_save(flags);
			t->start = ktime_get_mono_fast_ns();
			t->ret = t->op->fn(t, t->loops);
			t->end = ktime_get_mono_fast_ns();
			local_irq_restore(flags);
		}

		if (atomic_dec_and_test(&sb_running))
			complete(&sb_done);
	}
	return 0;
}

/*
 * Run every thread's loop once, @loops iterations each. Returns the first
 * error, and in *@ps_op the mean per-thread time of one operation, in
 * *@wall_ns the wall-clock time of the round, from the first thread's start
 * to the last thread's end, and in *@overlap whether the threads ran
 * together for at least 90% of it (a thread that started late, or was not
 * given a CPU, measured something else).
 */
static int sb_round(struct sb_thread *th, unsigned int n, unsigned long loops,
		    u64 *ps_op, u64 *wall_ns, bool *overlap)
{
	u64 first = U64_MAX, last = 0, sum = 0;
	u64 last_start = 0, first_end = U64_MAX;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		th[i].loops = loops;
		th[i].ret = 0;
	}
	atomic_set(&sb_starting, n);
	atomic_set(&sb_running, n);
	reinit_completion(&sb_done);
	/* Publish ->loops before the new round (acquire in sb_thread_fn). */
	smp_store_release(&sb_gen, sb_gen + 1);
	wake_up_all(&sb_go_wq);
	wait_for_completion(&sb_done);

	for (i = 0; i < n; i++) {
		if (th[i].ret && !ret)
			ret = th[i].ret;
		first = min(first, th[i].start);
		last = max(last, th[i].end);
		last_start = max(last_start, th[i].start);
		first_end = min(first_end, th[i].end);
		sum += th[i].end - th[i].start;
	}
	*ps_op = div64_u64(sum * 1000, (u64)n * loops);
	*wall_ns = last - first;
	*overlap = n == 1 ||
		   (first_end > last_start &&
		    (first_end - last_start) * 10 >= (last - first) * 9);
	return ret;
}

static int sb_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static struct page *sb_thread_page(const struct sb_op *op, unsigned int i)
{
	switch (op->pages) {
	case SB_SAME:
		return sb_block;
	case SB_ADJACENT:
		return sb_block + i;
	case SB_DISTINCT:
	default:
		return sb_block + i * SB_DISTINCT_STRIDE;
	}
}

static void sb_stop_threads(struct sb_thread *th, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (th[i].task) {
			kthread_stop(th[i].task);
			put_task_struct(th[i].task);
			th[i].task = NULL;
		}
	}
}

/* Start @c converting SB_CONV_PAGE @kind's way. */
static int sb_converter_start(struct sb_converter *c, enum sb_conv kind)
{
	struct task_struct *task;

	c->kind = kind;
	c->pfn = sb_block_pfn + SB_CONV_PAGE;
	c->lat_ns = kvmalloc_array(SB_CONV_SAMPLES, sizeof(*c->lat_ns),
				   GFP_KERNEL);
	if (!c->lat_ns)
		return -ENOMEM;
	task = kthread_create(sb_converter_fn, c, "snp_bench/conv");
	if (IS_ERR(task)) {
		kvfree(c->lat_ns);
		c->lat_ns = NULL;
		return PTR_ERR(task);
	}
	/*
	 * Real time, as every design's converter: its latency is that of its
	 * conversion, not of the readers' time slices (the layer's loops
	 * cond_resched(), the v6 converter never yields).
	 */
	sched_set_fifo(task);
	get_task_struct(task);
	c->task = task;
	wake_up_process(task);
	return 0;
}

/* Stop @c and put its latencies' median and 99th percentile in @res. */
static void sb_converter_stop(struct sb_converter *c, struct sb_result *res)
{
	kthread_stop(c->task);
	put_task_struct(c->task);
	c->task = NULL;
	res->conv_n = c->n;
	if (c->n) {
		sort(c->lat_ns, c->n, sizeof(u64), sb_cmp_u64, NULL);
		res->conv_p50_ns = c->lat_ns[c->n / 2];
		res->conv_p99_ns = c->lat_ns[(c->n * 99) / 100];
	}
	kvfree(c->lat_ns);
	c->lat_ns = NULL;
}

static void sb_measure(const struct sb_op *op, const struct sb_config *cfg,
		       struct sb_result *res)
{
	struct sb_thread th[SB_MAX_THREADS] = { };
	u64 ps_op[SB_MAX_RUNS], wall_ns[SB_MAX_RUNS];
	u64 target = (u64)cfg->ms * NSEC_PER_MSEC;
	struct sb_converter conv = { };
	unsigned int i, cpu, tries, done;
	unsigned long loops = 1;
	bool overlap;
	u64 wall, busy;
	int ret;

	res->op = op;
	if (op->needs_layer && !snp_page_lock_is_enabled()) {
		res->skip = "layer off";
		return;
	}
	if (op->threads > num_online_cpus()) {
		res->skip = "too few CPUs";
		return;
	}
	if (op->fn == sb_get_put_cold || op->fn == sb_try_get_put_cold ||
	    op->fn == sb_pin_cold) {
		if (!sb_cold[0]) {
			res->skip = "no memory for the cold walk";
			return;
		}
	}

	cpus_read_lock();
	cpu = cpumask_first(cpu_online_mask);
	for (i = 0; i < op->threads; i++) {
		struct task_struct *task;

		th[i].op = op;
		th[i].page = sb_thread_page(op, i);
		th[i].pfn = page_to_pfn(th[i].page);
		th[i].gen = sb_gen;
		task = kthread_create(sb_thread_fn, &th[i], "snp_bench/%u", i);
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			cpus_read_unlock();
			goto out;
		}
		get_task_struct(task);
		th[i].task = task;
		kthread_bind(task, cpu);
		wake_up_process(task);
		cpu = cpumask_next(cpu, cpu_online_mask);
	}
	cpus_read_unlock();

	/*
	 * Calibrate (and warm up) until a thread's loop takes about cfg->ms:
	 * by the threads' own time, which the skew of their start does not
	 * inflate.
	 */
	for (;;) {
		ret = sb_round(th, op->threads, loops, &ps_op[0], &wall,
			       &overlap);
		if (ret)
			goto out;
		busy = max_t(u64, div64_u64(ps_op[0] * loops, 1000), 1);
		if (busy >= target / 2 || loops >= SB_LOOPS_MAX)
			break;
		if (busy < target / 256)
			loops *= 16;
		else
			loops = max(loops + 1,
				    (unsigned long)div64_u64((u64)loops * target,
							     busy));
		loops = min(loops, SB_LOOPS_MAX);
	}
	/* The converter runs from here on: it is not part of the calibration. */
	if (op->conv != SB_CONV_NONE) {
		ret = sb_converter_start(&conv, op->conv);
		if (ret)
			goto out;
	}

	/*
	 * One more warm-up round at the final count, then the timed runs;
	 * rounds in which the threads did not run together are dropped. The
	 * converter's latencies are those of these rounds.
	 */
	WRITE_ONCE(conv.record, true);
	ret = sb_round(th, op->threads, loops, &ps_op[0], &wall, &overlap);
	for (done = 0, tries = 0;
	     !ret && done < cfg->runs && tries < cfg->runs * SB_TRIES_PER_RUN;
	     tries++) {
		ret = sb_round(th, op->threads, loops, &ps_op[done],
			       &wall_ns[done], &overlap);
		if (!ret && !overlap)
			res->dropped++;
		else
			done++;
	}
	/* The CPUs were never given to the threads together: say so. */
	if (!ret && !done) {
		res->no_overlap = true;
		ret = sb_round(th, op->threads, loops, &ps_op[0], &wall_ns[0],
			       &overlap);
		done = 1;
	}
	WRITE_ONCE(conv.record, false);
	if (ret)
		goto out;

	res->loops = loops;
	res->runs = done;
	/*
	 * Wall time per operation of all threads: the median round's, which
	 * is the median of the per-round values (the division is monotonic).
	 */
	sort(wall_ns, done, sizeof(u64), sb_cmp_u64, NULL);
	res->ps_wall = div64_u64(wall_ns[done / 2] * 1000,
				 (u64)op->threads * loops);
	sort(ps_op, done, sizeof(u64), sb_cmp_u64, NULL);
	res->ps_op = ps_op[done / 2];
	res->ps_min = ps_op[0];
	res->ps_max = ps_op[done - 1];
out:
	sb_stop_threads(th, op->threads);
	if (conv.task) {
		sb_converter_stop(&conv, res);
		if (!ret)
			ret = conv.ret;
	}
	if (ret) {
		res->err = ret;
		pr_err("%s failed: %d\n", op->name, ret);
	}
}

/* ------------------------------------------------------------------------
 * Setup and teardown of the pages and of the "VM".
 */

static void sb_cold_free_block(unsigned int b)
{
	unsigned int i;

	for (i = 0; i < SB_BLOCK_PAGES; i++)
		__free_page(sb_cold[b] + i);
	sb_cold[b] = NULL;
}

/* The cold walk's memory, if there is that much: its ops skip otherwise. */
static void sb_cold_setup(void)
{
	unsigned int b;

	for (b = 0; b < SB_COLD_BLOCKS; b++) {
		sb_cold[b] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, SB_ORDER);
		if (!sb_cold[b])
			break;
		split_page(sb_cold[b], SB_ORDER);
	}
	if (b == SB_COLD_BLOCKS)
		return;
	pr_info("no memory for the cold walk: its ops are skipped\n");
	while (b--)
		sb_cold_free_block(b);
}

static int sb_setup(void)
{
	unsigned long i;
	int ret;

	sb_block = alloc_pages(GFP_KERNEL, SB_ORDER);
	if (!sb_block)
		return -ENOMEM;
	split_page(sb_block, SB_ORDER);
	sb_block_pfn = page_to_pfn(sb_block);

	ret = init_srcu_struct(&sb_vm.srcu);
	if (ret)
		goto free_pages;
	spin_lock_init(&sb_vm.lock);
	xa_init(&sb_vm.state);
	for (i = 0; i < SB_BLOCK_PAGES; i++) {
		ret = xa_err(xa_store(&sb_vm.state, sb_block_pfn + i,
				      xa_mk_value(SNP_PAGE_SHARED),
				      GFP_KERNEL));
		if (ret)
			goto destroy;
	}
	sb_cold_setup();
	return 0;

destroy:
	xa_destroy(&sb_vm.state);
	cleanup_srcu_struct(&sb_vm.srcu);
free_pages:
	for (i = 0; i < SB_BLOCK_PAGES; i++)
		__free_page(sb_block + i);
	sb_block = NULL;
	return ret;
}

static void sb_teardown(void)
{
	unsigned long pfn, i;
	unsigned int b;

	for (b = 0; b < SB_COLD_BLOCKS && sb_cold[b]; b++)
		sb_cold_free_block(b);

	xa_destroy(&sb_vm.state);
	cleanup_srcu_struct(&sb_vm.srcu);
	for (i = 0; i < SB_BLOCK_PAGES; i++) {
		pfn = sb_block_pfn + i;
		/* A failed conversion could leave a page private: never free it. */
		if (snp_page_state(pfn) == SNP_PAGE_PRIVATE)
			snp_make_shared(pfn, 1, 0);
		if (snp_page_state(pfn) != SNP_PAGE_SHARED || snp_page_pins(pfn)) {
			pr_err("pfn %#lx left private or pinned: leaked\n", pfn);
			continue;
		}
		__free_page(sb_block + i);
	}
	sb_block = NULL;
}

static bool sb_selected(const struct sb_config *cfg, const struct sb_op *op)
{
	char name[40];

	if (!cfg->only[0])
		return true;
	snprintf(name, sizeof(name), ",%s,", op->name);
	return strstr(cfg->only, name);
}

/* Run the selected operations; the caller holds sb_mutex. */
static int sb_run(const struct sb_config *cfg)
{
	struct sb_result *res;
	unsigned int i, n = 0;
	int ret;

	res = kcalloc(ARRAY_SIZE(sb_ops), sizeof(*res), GFP_KERNEL);
	if (!res)
		return -ENOMEM;
	ret = sb_setup();
	if (ret) {
		kfree(res);
		return ret;
	}

	for (i = 0; i < ARRAY_SIZE(sb_ops); i++) {
		if (!sb_selected(cfg, &sb_ops[i]))
			continue;
		sb_measure(&sb_ops[i], cfg, &res[n++]);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	sb_teardown();

	kfree(sb_results);
	sb_results = res;
	sb_nr_results = n;
	sb_last = *cfg;
	sb_last_enabled = snp_page_lock_is_enabled();
	return ret;
}

/* ------------------------------------------------------------------------
 * Results as CSV.
 */

#define SB_HEADER_LINES	2

static const char * const sb_csv_columns[] = {
	"op", "threads", "pages", "nr_pages", "irqs_off", "loops", "runs",
	"ns_op", "ns_min", "ns_max", "wall_ns_op", "dropped", "conv_n",
	"conv_p50_ns", "conv_p99_ns", "status",
};

/* Line @i of the CSV into @buf; false past the end. */
static bool sb_format_line(unsigned int i, char *buf, size_t size)
{
	const struct sb_result *r;
	char status[32];

	if (i == 0) {
		snprintf(buf, size,
			 "# snp_page_lock_bench layer=%s backend=%s cpus=%u ms=%u runs=%u clock=ktime_get_mono_fast_ns",
			 sb_last_enabled ? "on" : "off",
			 snp_page_lock_backend_name(), num_online_cpus(),
			 sb_last.ms, sb_last.runs);
		return true;
	}
	if (i == 1) {
		unsigned int c, len = 0;

		for (c = 0; c < ARRAY_SIZE(sb_csv_columns) && len < size; c++)
			len += scnprintf(buf + len, size - len, "%s%s",
					 c ? "," : "", sb_csv_columns[c]);
		return true;
	}
	i -= SB_HEADER_LINES;
	if (i >= sb_nr_results)
		return false;
	r = &sb_results[i];

	if (r->skip)
		snprintf(status, sizeof(status), "skipped: %s", r->skip);
	else if (r->err)
		snprintf(status, sizeof(status), "error %d", r->err);
	else if (r->no_overlap)
		strscpy(status, "no overlap", sizeof(status));
	else
		strscpy(status, "ok", sizeof(status));

	snprintf(buf, size,
		 "%s,%u,%s,%u,%d,%lu,%u,%llu.%03llu,%llu.%03llu,%llu.%03llu,%llu.%03llu,%u,%u,%llu,%llu,%s",
		 r->op->name, r->op->threads, sb_pages_name[r->op->pages],
		 r->op->nr_pages, !r->op->sleeps, r->loops, r->runs,
		 r->ps_op / 1000, r->ps_op % 1000,
		 r->ps_min / 1000, r->ps_min % 1000,
		 r->ps_max / 1000, r->ps_max % 1000,
		 r->ps_wall / 1000, r->ps_wall % 1000, r->dropped, r->conv_n,
		 r->conv_p50_ns, r->conv_p99_ns, status);
	return true;
}

static int sb_results_show(struct seq_file *m, void *v)
{
	char line[256];
	unsigned int i;
	int ret;

	ret = mutex_lock_interruptible(&sb_mutex);
	if (ret)
		return ret;
	if (sb_results)
		for (i = 0; sb_format_line(i, line, sizeof(line)); i++)
			seq_printf(m, "%s\n", line);
	mutex_unlock(&sb_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sb_results);

static int sb_parse(char *buf, struct sb_config *cfg)
{
	bool any = false;
	char *tok;
	int ret;

	while ((tok = strsep(&buf, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		any = true;
		if (!strcmp(tok, "run")) {
			continue;
		} else if (!strcmp(tok, "quick")) {
			cfg->ms = 2;
			cfg->runs = 3;
		} else if (!strncmp(tok, "ms=", 3)) {
			ret = kstrtouint(tok + 3, 0, &cfg->ms);
			if (ret)
				return ret;
		} else if (!strncmp(tok, "runs=", 5)) {
			ret = kstrtouint(tok + 5, 0, &cfg->runs);
			if (ret)
				return ret;
		} else if (!strncmp(tok, "only=", 5)) {
			if (strlen(tok + 5) + 3 > sizeof(cfg->only))
				return -EINVAL;
			snprintf(cfg->only, sizeof(cfg->only), ",%s,", tok + 5);
		} else {
			return -EINVAL;
		}
	}
	if (!any || !cfg->ms || cfg->ms > SB_MAX_MS || !cfg->runs ||
	    cfg->runs > SB_MAX_RUNS)
		return -EINVAL;
	return 0;
}

static ssize_t sb_run_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct sb_config cfg = {
		.ms = READ_ONCE(ms),
		.runs = READ_ONCE(runs),
	};
	char *buf;
	int ret;

	if (len > 256)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	ret = sb_parse(buf, &cfg);
	kfree(buf);
	if (ret)
		return ret;

	ret = mutex_lock_killable(&sb_mutex);
	if (ret)
		return ret;
	ret = sb_run(&cfg);
	mutex_unlock(&sb_mutex);
	return ret ?: len;
}

static const struct file_operations sb_run_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = sb_run_write,
	.llseek = noop_llseek,
};

static int __init snp_page_lock_bench_init(void)
{
	struct sb_config cfg = {
		.ms = clamp(ms, 1U, (unsigned int)SB_MAX_MS),
		.runs = clamp(runs, 1U, (unsigned int)SB_MAX_RUNS),
	};
	struct dentry *dir;
	char line[256];
	unsigned int i;

	dir = debugfs_create_dir("snp_page_lock_bench", NULL);
	debugfs_create_file("run", 0200, dir, NULL, &sb_run_fops);
	debugfs_create_file("results", 0444, dir, NULL, &sb_results_fops);

	if (!run)
		return 0;

	mutex_lock(&sb_mutex);
	if (sb_run(&cfg))
		pr_err("boot run failed\n");
	for (i = 0; sb_results && sb_format_line(i, line, sizeof(line)); i++)
		pr_info("csv: %s\n", line);
	mutex_unlock(&sb_mutex);
	return 0;
}
late_initcall(snp_page_lock_bench_init);
