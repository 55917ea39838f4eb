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
 * ktime_get_mono_fast_ns().
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
/* Distinct pages of two threads: far apart, so their page_ext words are too. */
#define SB_DISTINCT_STRIDE	(SB_BLOCK_PAGES / 2)

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
 */
struct sb_op {
	const char *name;
	int (*fn)(struct sb_thread *t, unsigned long loops);
	unsigned int threads;
	enum sb_pages pages;
	unsigned int nr_pages;
	bool sleeps;
	bool needs_layer;
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

/* Map @pfn with kmap_local_pfn(), read a word through it, unmap. */
static __always_inline void sb_kmap_touch_pfn(unsigned long pfn)
{
	void *addr = kmap_local_pfn(pfn);

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
		sb_kmap_touch_pfn(pfn);
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

/* 2021 SNP v5: srcu_read_lock(&kvm->srcu), check the state, map, unlock. */
static int sb_v5_srcu(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;
	int idx;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		idx = srcu_read_lock(&sb_vm.srcu);
		if (unlikely(!sb_vm_shared(pfn))) {
			srcu_read_unlock(&sb_vm.srcu, idx);
			return -EPERM;
		}
		sb_kmap_touch_pfn(pfn);
		srcu_read_unlock(&sb_vm.srcu, idx);
	}
	return 0;
}

/* 2022 SNP v6: a per-VM spinlock held across the lookup, map and unmap. */
static int sb_v6_spin(struct sb_thread *t, unsigned long loops)
{
	unsigned long pfn = t->pfn;
	unsigned long i;

	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(pfn);
		spin_lock(&sb_vm.lock);
		if (unlikely(!sb_vm_shared(pfn))) {
			spin_unlock(&sb_vm.lock);
			return -EPERM;
		}
		sb_kmap_touch_pfn(pfn);
		spin_unlock(&sb_vm.lock);
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

#define SB_OP(_name, _fn, _threads, _pages, _nr, _sleeps, _layer)	\
	{ .name = _name, .fn = _fn, .threads = _threads,		\
	  .pages = _pages, .nr_pages = _nr, .sleeps = _sleeps,		\
	  .needs_layer = _layer }

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
 * error, and in *@ps_op the mean per-thread time of one operation and in
 * *@wall_ns the wall-clock time of the round, from the first thread's start
 * to the last thread's end.
 */
static int sb_round(struct sb_thread *th, unsigned int n, unsigned long loops,
		    u64 *ps_op, u64 *wall_ns)
{
	u64 first = U64_MAX, last = 0, sum = 0;
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
		sum += th[i].end - th[i].start;
	}
	*ps_op = div64_u64(sum * 1000, (u64)n * loops);
	*wall_ns = last - first;
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

static void sb_measure(const struct sb_op *op, const struct sb_config *cfg,
		       struct sb_result *res)
{
	struct sb_thread th[SB_MAX_THREADS] = { };
	u64 ps_op[SB_MAX_RUNS], wall_ns[SB_MAX_RUNS];
	u64 target = (u64)cfg->ms * NSEC_PER_MSEC;
	unsigned long loops = 1;
	unsigned int i, cpu;
	u64 wall;
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

	/* Calibrate (and warm up) until a run takes about cfg->ms. */
	for (;;) {
		ret = sb_round(th, op->threads, loops, &ps_op[0], &wall);
		if (ret)
			goto out;
		if (wall >= target / 2 || loops >= SB_LOOPS_MAX)
			break;
		if (wall < target / 256)
			loops *= 16;
		else
			loops = max(loops + 1,
				    (unsigned long)div64_u64((u64)loops * target,
							     wall));
		loops = min(loops, SB_LOOPS_MAX);
	}
	/* One more warm-up round at the final count, then the timed runs. */
	ret = sb_round(th, op->threads, loops, &ps_op[0], &wall);
	for (i = 0; !ret && i < cfg->runs; i++)
		ret = sb_round(th, op->threads, loops, &ps_op[i], &wall_ns[i]);
	if (ret)
		goto out;

	res->loops = loops;
	res->runs = cfg->runs;
	/*
	 * Wall time per operation of all threads: the median round's, which
	 * is the median of the per-round values (the division is monotonic).
	 */
	sort(wall_ns, cfg->runs, sizeof(u64), sb_cmp_u64, NULL);
	res->ps_wall = div64_u64(wall_ns[cfg->runs / 2] * 1000,
				 (u64)op->threads * loops);
	sort(ps_op, cfg->runs, sizeof(u64), sb_cmp_u64, NULL);
	res->ps_op = ps_op[cfg->runs / 2];
	res->ps_min = ps_op[0];
	res->ps_max = ps_op[cfg->runs - 1];
out:
	sb_stop_threads(th, op->threads);
	if (ret) {
		res->err = ret;
		pr_err("%s failed: %d\n", op->name, ret);
	}
}

/* ------------------------------------------------------------------------
 * Setup and teardown of the pages and of the "VM".
 */

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

static const char sb_csv_columns[] =
	"op,threads,pages,nr_pages,irqs_off,loops,runs,ns_op,ns_min,ns_max,wall_ns_op,status";

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
		strscpy(buf, sb_csv_columns, size);
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
	else
		strscpy(status, "ok", sizeof(status));

	snprintf(buf, size,
		 "%s,%u,%s,%u,%d,%lu,%u,%llu.%03llu,%llu.%03llu,%llu.%03llu,%llu.%03llu,%s",
		 r->op->name, r->op->threads, sb_pages_name[r->op->pages],
		 r->op->nr_pages, !r->op->sleeps, r->loops, r->runs,
		 r->ps_op / 1000, r->ps_op % 1000,
		 r->ps_min / 1000, r->ps_min % 1000,
		 r->ps_max / 1000, r->ps_max % 1000,
		 r->ps_wall / 1000, r->ps_wall % 1000, status);
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
