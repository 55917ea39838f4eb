// SPDX-License-Identifier: GPL-2.0
/*
 * Torture test for the snp_page_lock layer, in the style of
 * kernel/locking/locktorture.c.
 *
 * Pinner threads pin random ranges of a block of pages (some of them
 * whole 2 MiB blocks, which are block pins), check under the
 * pin that every page is shared (state word, and a direct-map access that
 * must not fault), write to the pages through snp_kmap_local_pfn() or the
 * direct map, and unpin. GUP threads take page references the way a
 * vmsplice() or an O_DIRECT read does: the pages are also mapped into a
 * user address space of the test's own, and GUP threads look them up there
 * with GUP-fast, racing the converters' zaps, and check the same under
 * their reference (G7). Converter threads make random ranges private
 * (waiting, or with SNP_CONVERT_NOWAIT), as the owner of the pages: they
 * zap the user mappings once the pins have drained and let the layer
 * check the references; then they make the ranges shared again and map
 * them back. They check that no page they made private holds a pin or is
 * mapped. Every failed check is an invariant violation; a run with any
 * violation fails.
 *
 * It is built in (CONFIG_SNP_PAGE_LOCK_TORTURE is bool) and runs only
 * when booted with snp_page_lock_torture.run=1. The result is printed as
 * one line, "snp_page_lock_torture: SUCCESS ..." or "... FAILURE ...", and
 * kept in /sys/module/snp_page_lock_torture/parameters/result.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/snp_page_lock.h>
#include <linux/torture.h>
#include <linux/uaccess.h>

#include "snp_page_lock_internal.h"

torture_param(bool, run, false, "Run the test at boot (default: do not)");
torture_param(int, nr_pinners, -1, "Pinner threads (default: 2 per online CPU)");
torture_param(int, nr_converters, 2, "Converter threads (default 2)");
torture_param(int, nr_gup, 2,
	      "GUP-fast threads taking page references through a user mapping (default 2)");
torture_param(uint, order, 10,
	      "The pages tortured: one block of 2^order pages (default 10)");
torture_param(uint, max_range, 8,
	      "Largest range pinned or converted at once, in pages");
torture_param(uint, duration, 60, "Seconds to run (default 60)");
torture_param(uint, hold_us, 20, "Longest time a pin is held, in microseconds");
torture_param(uint, nowait_pct, 50,
	      "Percentage of conversions using SNP_CONVERT_NOWAIT");
torture_param(uint, block_pct, 10,
	      "Percentage of range pins covering whole 2 MiB blocks (block pins; needs order >= 9)");

static char result[256] = "not run";
module_param_string(result, result, sizeof(result), 0444);
MODULE_PARM_DESC(result, "Summary of the last run");

/* Operation and violation counters, summed over all threads. */
enum {
	T_PIN_OK,
	T_BLOCK_PIN_OK,
	T_PIN_EAGAIN,
	T_PIN_EPERM,
	T_PIN_OTHER,
	T_KMAP_OK,
	T_KMAP_FAIL,
	T_PRIVATE_OK,
	T_SHARED_OK,
	T_CONV_EBUSY,
	T_CONV_OTHER,
	T_GUP_OK,
	T_GUP_MISS,
	T_VIOLATIONS,
	T_NR,
};

static const char * const t_names[T_NR] = {
	"pins", "block_pins", "pin_eagain", "pin_eperm", "pin_other", "kmaps",
	"kmap_fail", "to_private", "to_shared", "conv_ebusy",
	"conv_other", "gup_refs", "gup_miss", "violations",
};

static atomic_long_t t_count[T_NR];
static unsigned long base_pfn;
static unsigned long nr_pages;
static struct task_struct **threads;
static int nr_threads;

/* The user address space the pages are also mapped into, and where. */
static struct mm_struct *t_mm;
static unsigned long t_uaddr;

/*
 * Pins the pinners hold, per page. The state word counts them too, but at
 * any instant also the pins that are backing off, so the converters'
 * "no pin on a private page" check looks here.
 */
static atomic_t *t_held;

static void t_hold(unsigned long pfn, unsigned long nr, int delta)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		atomic_add(delta, &t_held[pfn - base_pfn + i]);
}

static void t_inc(int item)
{
	atomic_long_inc(&t_count[item]);
}

static void t_violation(const char *what, unsigned long pfn)
{
	t_inc(T_VIOLATIONS);
	pr_err("VIOLATION: %s (pfn %#lx, state %d, pins %u)\n", what, pfn,
	       snp_page_state(pfn), snp_page_pins(pfn));
}

/* A random range of at most max_range pages in [first, first + count). */
static void t_pick(struct rnd_state *rnd, unsigned long first,
		   unsigned long count, unsigned long *pfn, unsigned long *nr)
{
	unsigned long start = prandom_u32_state(rnd) % count;
	unsigned long len = 1 + prandom_u32_state(rnd) % max_range;

	*pfn = base_pfn + first + start;
	*nr = min(len, count - start);
}

/*
 * A range that covers whole 2 MiB blocks, taken as block pins: one or two
 * blocks from a block boundary, or from 1-3 pages before one (a head of
 * 4 KiB pins), clipped to the pages.
 */
static void t_pick_blocks(struct rnd_state *rnd, unsigned long *pfn,
			  unsigned long *nr)
{
	unsigned long blocks = nr_pages / SNP_BLOCK_PAGES;
	unsigned long start = (prandom_u32_state(rnd) % blocks) *
			      SNP_BLOCK_PAGES;
	unsigned long head = min(start, (unsigned long)prandom_u32_state(rnd) % 4);

	start -= head;
	*pfn = base_pfn + start;
	*nr = min(head + (1 + prandom_u32_state(rnd) % 2) * SNP_BLOCK_PAGES,
		  nr_pages - start);
}

/* A page the host holds must be reachable through the direct map. */
static void t_check_reachable(unsigned long pfn, u32 tag, const char *what)
{
	void *addr = page_address(pfn_to_page(pfn));
	u64 v;

	if (copy_from_kernel_nofault(&v, addr, sizeof(v)))
		t_violation(what, pfn);
	if (copy_to_kernel_nofault(addr + sizeof(u64), &tag, sizeof(tag)))
		t_violation(what, pfn);
}

/*
 * Under a pin the page must not be private (G2) and must be reachable by
 * the host. It may be CONVERTING: a converter waits for this very pin.
 */
static void t_check_pinned(unsigned long pfn, u32 tag)
{
	if (snp_page_state(pfn) == SNP_PAGE_PRIVATE)
		t_violation("pinned page private", pfn);
	if (!snp_page_pins(pfn))
		t_violation("pinned page shows no pin", pfn);
	t_check_reachable(pfn, tag, "pinned page not reachable");
}

/* The same under a page reference taken by GUP (G7). */
static void t_check_referenced(unsigned long pfn, u32 tag)
{
	if (snp_page_state(pfn) == SNP_PAGE_PRIVATE)
		t_violation("referenced page private", pfn);
	t_check_reachable(pfn, tag, "referenced page not reachable");
}

/* ------------------------------------------------------------------------
 * The user mapping of the pages: an address space of the test's own.
 */

static unsigned long t_uaddr_of(unsigned long pfn)
{
	return t_uaddr + ((pfn - base_pfn) << PAGE_SHIFT);
}

/*
 * Map the shared pages of [pfn, pfn + nr) at their user address (an
 * unmapped page is mapped again; a mapped one gives -EBUSY). Never maps a
 * page that is not shared: only its converter makes it so, and the
 * converter is the caller.
 */
static void t_map_user(unsigned long pfn, unsigned long nr)
{
	struct vm_area_struct *vma;
	unsigned long i;
	int ret;

	if (!t_mm)
		return;
	mmap_read_lock(t_mm);
	vma = vma_lookup(t_mm, t_uaddr);
	for (i = 0; vma && i < nr; i++) {
		if (snp_page_state(pfn + i) != SNP_PAGE_SHARED)
			continue;
		ret = vm_insert_page(vma, t_uaddr_of(pfn + i),
				     pfn_to_page(pfn + i));
		if (ret && ret != -EBUSY) {
			pr_err("vm_insert_page: %d\n", ret);
			t_violation("cannot map a shared page", pfn + i);
		}
	}
	mmap_read_unlock(t_mm);
}

/* The converter's owner callback: zap the range's user mappings. */
struct t_owner {
	struct snp_convert_owner owner;
	unsigned long pfn;
	unsigned long nr;
};

static void t_unmap_user(const struct snp_convert_owner *owner)
{
	const struct t_owner *o = container_of(owner, struct t_owner, owner);
	struct vm_area_struct *vma;

	if (!t_mm)
		return;
	mmap_read_lock(t_mm);
	vma = vma_lookup(t_mm, t_uaddr);
	if (vma)
		zap_page_range_single(vma, t_uaddr_of(o->pfn),
				      o->nr << PAGE_SHIFT, NULL);
	mmap_read_unlock(t_mm);
}

/*
 * A kthread cannot mmap: this one borrows the test's address space to
 * create the mapping and maps every page (each holds its own reference
 * after split_page(), as vm_insert_page() requires).
 */
static int t_setup_user(void *arg)
{
	struct completion *done = arg;
	struct vm_area_struct *vma;
	unsigned long i;
	int ret = 0;

	kthread_use_mm(t_mm);
	t_uaddr = vm_mmap(NULL, 0, nr_pages << PAGE_SHIFT, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(t_uaddr)) {
		ret = (int)t_uaddr;
		goto out;
	}
	/* The first vm_insert_page() sets VM_MIXEDMAP: mmap lock for write. */
	mmap_write_lock(t_mm);
	vma = vma_lookup(t_mm, t_uaddr);
	for (i = 0; vma && !ret && i < nr_pages; i++)
		ret = vm_insert_page(vma, t_uaddr_of(base_pfn + i),
				     pfn_to_page(base_pfn + i));
	mmap_write_unlock(t_mm);
	if (!vma)
		ret = -EFAULT;
out:
	kthread_unuse_mm(t_mm);
	if (ret)
		pr_err("cannot map the pages into user space: %d\n", ret);
	t_uaddr = ret ? 0 : t_uaddr;
	complete(done);
	return 0;
}

static int t_create_user(void)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct task_struct *task;

	t_mm = mm_alloc();
	if (!t_mm)
		return -ENOMEM;
	t_mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(t_mm, &current->signal->rlim[RLIMIT_STACK]);

	task = kthread_run(t_setup_user, &done, "snp_torture_mm");
	if (IS_ERR(task)) {
		mmput(t_mm);
		t_mm = NULL;
		return PTR_ERR(task);
	}
	wait_for_completion(&done);
	if (!t_uaddr) {
		mmput(t_mm);
		t_mm = NULL;
		return -EFAULT;
	}
	return 0;
}

/* Tear the address space down; its mappings drop their page references. */
static void t_destroy_user(void)
{
	if (t_mm)
		mmput(t_mm);
	t_mm = NULL;
}

/*
 * Like a vmsplice() or an O_DIRECT read: take a reference on a page with
 * GUP-fast through its user mapping, racing the converter's zap, and use
 * the page through the direct map while holding it. The reference must
 * keep the page from becoming private (G7).
 */
static int t_gup(void *arg)
{
	struct rnd_state rnd;
	struct page *page;
	unsigned long pfn;
	u32 tag = (uintptr_t)arg;
	unsigned int i;

	prandom_seed_state(&rnd, get_random_u64());
	kthread_use_mm(t_mm);
	while (!kthread_should_stop()) {
		pfn = base_pfn + prandom_u32_state(&rnd) % nr_pages;
		if (!get_user_page_fast_only(t_uaddr_of(pfn), 0, &page)) {
			t_inc(T_GUP_MISS);
			goto next;
		}
		if (page_to_pfn(page) != pfn)
			t_violation("user mapping of the wrong page", pfn);
		/*
		 * Hold it as long as a pipe buffer or an I/O would, across
		 * whole conversions of the page's range, checking throughout.
		 */
		t_check_referenced(pfn, tag);
		for (i = prandom_u32_state(&rnd) % 8; i; i--) {
			if (hold_us)
				usleep_range(hold_us, 2 * hold_us);
			t_check_referenced(pfn, tag);
		}
		put_page(page);
		t_inc(T_GUP_OK);
next:
		cond_resched();
	}
	kthread_unuse_mm(t_mm);
	return 0;
}

static int t_pinner(void *arg)
{
	struct rnd_state rnd;
	unsigned long pfn, nr, i;
	u32 tag = (uintptr_t)arg;
	bool block;
	u32 *p;
	int ret;

	prandom_seed_state(&rnd, get_random_u64());
	while (!kthread_should_stop()) {
		block = nr_pages >= SNP_BLOCK_PAGES &&
			prandom_u32_state(&rnd) % 100 < block_pct;
		if (block)
			t_pick_blocks(&rnd, &pfn, &nr);
		else
			t_pick(&rnd, 0, nr_pages, &pfn, &nr);

		if (!block && (prandom_u32_state(&rnd) & 1)) {
			/* A short-term mapping: snp_kmap_local_pfn(). */
			p = snp_kmap_local_pfn(pfn);
			if (IS_ERR(p)) {
				t_inc(T_KMAP_FAIL);
			} else {
				t_hold(pfn, 1, 1);
				t_check_pinned(pfn, tag);
				WRITE_ONCE(p[4], tag);
				if (hold_us)
					udelay(prandom_u32_state(&rnd) % hold_us);
				t_hold(pfn, 1, -1);
				snp_kunmap_local(p, pfn);
				t_inc(T_KMAP_OK);
			}
		} else {
			/* A longer pin of a range, as the VMM ABI takes. */
			ret = snp_pin_shared(pfn, nr);
			switch (ret) {
			case 0:
				t_inc(block ? T_BLOCK_PIN_OK : T_PIN_OK);
				t_hold(pfn, nr, 1);
				for (i = 0; i < nr; i++)
					t_check_pinned(pfn + i, tag);
				if (hold_us)
					usleep_range(1, hold_us);
				for (i = 0; i < nr; i++)
					t_check_pinned(pfn + i, tag);
				t_hold(pfn, nr, -1);
				snp_unpin_shared(pfn, nr);
				break;
			case -EAGAIN:
				t_inc(T_PIN_EAGAIN);
				break;
			case -EPERM:
				t_inc(T_PIN_EPERM);
				break;
			default:
				t_inc(T_PIN_OTHER);
				pr_err("unexpected pin error %d\n", ret);
				break;
			}
		}
		cond_resched();
	}
	return 0;
}

static void t_count_convert_error(int ret)
{
	switch (ret) {
	case -EBUSY:
		t_inc(T_CONV_EBUSY);
		break;
	default:
		/* Nobody else converts this converter's pages. */
		t_inc(T_CONV_OTHER);
		pr_err("unexpected conversion error %d\n", ret);
		break;
	}
}

/*
 * Each converter owns a slice of the pages, so that what it made private
 * stays private until it makes it shared again; pinners roam everywhere.
 */
static int t_converter(void *arg)
{
	bool unmaps = snp_backend_sw_unmaps_direct_map();
	unsigned long slice = nr_pages / nr_converters;
	unsigned long first = (uintptr_t)arg * slice;
	struct t_owner o = {
		.owner = { .unmap = t_unmap_user, .refs = 1 },
	};
	unsigned long *pfns, pfn, nr, i;
	struct rnd_state rnd;
	unsigned int flags;
	struct page *page;
	u64 v;
	int ret;

	pfns = kcalloc(max_range, sizeof(*pfns), GFP_KERNEL);
	if (!pfns) {
		t_violation("converter out of memory", base_pfn + first);
		return -ENOMEM;
	}
	prandom_seed_state(&rnd, get_random_u64());
	if (t_mm)
		kthread_use_mm(t_mm);
	while (!kthread_should_stop()) {
		t_pick(&rnd, first, slice, &pfn, &nr);
		flags = prandom_u32_state(&rnd) % 100 < nowait_pct ?
			SNP_CONVERT_NOWAIT : 0;

		/* As the owner of the pages and of their user mapping. */
		for (i = 0; i < nr; i++)
			pfns[i] = pfn + i;
		o.pfn = pfn;
		o.nr = nr;
		ret = snp_convert_begin_pfns(pfns, nr, SNP_PAGE_PRIVATE, flags,
					     0, &o.owner, NULL);
		if (!ret)
			ret = snp_convert_end_pfns(pfns, nr, SNP_PAGE_PRIVATE,
						   true);
		if (ret) {
			t_count_convert_error(ret);
			/* Zapped before the reference check failed. */
			t_map_user(pfn, nr);
			goto next;
		}
		t_inc(T_PRIVATE_OK);
		for (i = 0; i < nr; i++) {
			if (atomic_read(&t_held[pfn - base_pfn + i]))
				t_violation("private page holds a pin", pfn + i);
			if (snp_page_state(pfn + i) != SNP_PAGE_PRIVATE)
				t_violation("converted page not private", pfn + i);
			if (t_mm && get_user_page_fast_only(t_uaddr_of(pfn + i),
							    0, &page)) {
				put_page(page);
				t_violation("private page mapped", pfn + i);
			}
			if (unmaps &&
			    !copy_from_kernel_nofault(&v,
						      page_address(pfn_to_page(pfn + i)),
						      sizeof(v)))
				t_violation("private page still in the direct map",
					    pfn + i);
		}
		if (hold_us)
			usleep_range(1, hold_us);

		/* Private pages hold no pins: this cannot fail. */
		ret = snp_make_shared(pfn, nr, flags);
		if (ret) {
			pr_err("make_shared of an unpinned private range: %d\n", ret);
			t_violation("cannot make own private range shared", pfn);
		} else {
			t_inc(T_SHARED_OK);
			t_map_user(pfn, nr);
		}
next:
		cond_resched();
	}
	if (t_mm)
		kthread_unuse_mm(t_mm);
	kfree(pfns);
	return 0;
}

/* After the threads stopped: everything shared again, no pin left. */
static void t_final_sweep(void)
{
	unsigned long i, pfn;
	int ret;

	for (i = 0; i < nr_pages; i++) {
		pfn = base_pfn + i;
		if (snp_page_state(pfn) == SNP_PAGE_PRIVATE) {
			ret = snp_make_shared(pfn, 1, SNP_CONVERT_NOWAIT);
			if (ret)
				t_violation("cannot make page shared at the end", pfn);
		}
		if (snp_page_state(pfn) != SNP_PAGE_SHARED)
			t_violation("page not shared at the end", pfn);
		if (snp_page_pins(pfn))
			t_violation("pin leaked", pfn);
	}
}

static void t_report(const char *when)
{
	char *buf = kzalloc(512, GFP_KERNEL);
	int i, len = 0;

	if (!buf)
		return;
	for (i = 0; i < T_NR; i++)
		len += scnprintf(buf + len, 512 - len, " %s=%ld", t_names[i],
				 atomic_long_read(&t_count[i]));
	pr_info("%s:%s\n", when, buf);
	kfree(buf);
}

static void t_stop_threads(void)
{
	int i;

	for (i = 0; i < nr_threads; i++) {
		if (!IS_ERR_OR_NULL(threads[i]))
			kthread_stop(threads[i]);
		threads[i] = NULL;
	}
}

/* The block was split: every page is freed on its own. */
static void t_free_pages(void)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++)
		__free_page(pfn_to_page(base_pfn + i));
	kfree(t_held);
	t_held = NULL;
}

/* Runs the test for duration seconds, stops it, reports; then exits. */
static int t_supervisor(void *arg)
{
	unsigned long end = jiffies + duration * HZ;
	long ops, violations;

	while (time_before(jiffies, end)) {
		schedule_timeout_interruptible(min_t(long, 10 * HZ,
						     end - jiffies));
		t_report("progress");
	}
	t_stop_threads();
	kfree(threads);
	threads = NULL;
	t_final_sweep();
	t_destroy_user();

	ops = atomic_long_read(&t_count[T_PIN_OK]) +
	      atomic_long_read(&t_count[T_BLOCK_PIN_OK]) +
	      atomic_long_read(&t_count[T_KMAP_OK]) +
	      atomic_long_read(&t_count[T_GUP_OK]) +
	      atomic_long_read(&t_count[T_PRIVATE_OK]) +
	      atomic_long_read(&t_count[T_SHARED_OK]);
	violations = atomic_long_read(&t_count[T_VIOLATIONS]) +
		     atomic_long_read(&t_count[T_PIN_OTHER]) +
		     atomic_long_read(&t_count[T_CONV_OTHER]);
	/* Asked for block pins and got none: the mix was not tested. */
	if (block_pct && nr_pages >= SNP_BLOCK_PAGES &&
	    !atomic_long_read(&t_count[T_BLOCK_PIN_OK])) {
		pr_err("VIOLATION: no block pin was taken\n");
		violations++;
	}
	snprintf(result, sizeof(result),
		 "%s ops=%ld violations=%ld pinners=%d converters=%d gup=%d pages=%lu duration=%us",
		 violations || !ops ? "FAILURE" : "SUCCESS", ops, violations,
		 nr_pinners, nr_converters, nr_gup, nr_pages, duration);
	t_report("end");
	pr_info("%s\n", result);

	/* A page left private or pinned is leaked, never handed out again. */
	if (!violations)
		t_free_pages();
	return 0;
}

static int __init snp_page_lock_torture_init(void)
{
	struct task_struct *supervisor;
	struct page *page;
	int i, ret;

	if (!run)
		return 0;
	if (!snp_page_lock_is_enabled()) {
		pr_err("the page lock is off (snp_page_lock=off)\n");
		return -EOPNOTSUPP;
	}
	if (nr_pinners < 0)
		nr_pinners = 2 * num_online_cpus();
	if (nr_pinners < 0 || nr_converters < 0 || nr_gup < 0 || !max_range ||
	    order > MAX_PAGE_ORDER || nowait_pct > 100 || block_pct > 100 ||
	    nr_converters > (1 << order))
		return -EINVAL;

	page = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	if (!page)
		return -ENOMEM;
	/* One reference per page, as the layer and vm_insert_page() expect. */
	split_page(page, order);
	base_pfn = page_to_pfn(page);
	nr_pages = 1UL << order;
	t_held = kcalloc(nr_pages, sizeof(*t_held), GFP_KERNEL);
	if (!t_held) {
		ret = -ENOMEM;
		goto free_pages;
	}

	if (nr_gup) {
		ret = t_create_user();
		if (ret)
			goto free_pages;
	}

	nr_threads = nr_pinners + nr_converters + nr_gup;
	threads = kcalloc(nr_threads, sizeof(*threads), GFP_KERNEL);
	if (!threads) {
		ret = -ENOMEM;
		goto destroy_user;
	}
	for (i = 0; i < nr_threads; i++) {
		if (i < nr_pinners)
			threads[i] = kthread_run(t_pinner, (void *)(uintptr_t)i,
						 "snp_torture_pin/%d", i);
		else if (i < nr_pinners + nr_converters)
			threads[i] = kthread_run(t_converter,
						 (void *)(uintptr_t)(i - nr_pinners),
						 "snp_torture_conv/%d",
						 i - nr_pinners);
		else
			threads[i] = kthread_run(t_gup, (void *)(uintptr_t)i,
						 "snp_torture_gup/%d",
						 i - nr_pinners - nr_converters);
		if (IS_ERR(threads[i])) {
			ret = PTR_ERR(threads[i]);
			goto stop_threads;
		}
	}

	pr_info("start: pinners=%d converters=%d gup=%d pages=%lu max_range=%u duration=%us hold_us=%u nowait_pct=%u block_pct=%u backend=%s\n",
		nr_pinners, nr_converters, nr_gup, nr_pages, max_range,
		duration, hold_us, nowait_pct, block_pct,
		snp_page_lock_backend_name());
	supervisor = kthread_run(t_supervisor, NULL, "snp_torture");
	if (IS_ERR(supervisor)) {
		ret = PTR_ERR(supervisor);
		goto stop_threads;
	}
	return 0;

stop_threads:
	t_stop_threads();
	t_final_sweep();
	kfree(threads);
	threads = NULL;
destroy_user:
	t_destroy_user();
free_pages:
	t_free_pages();
	return ret;
}
module_init(snp_page_lock_torture_init);

MODULE_DESCRIPTION("Torture test for the SNP page lock");
MODULE_LICENSE("GPL");
