// SPDX-License-Identifier: GPL-2.0
/*
 * Test pool of /dev/snp_page_lock (CONFIG_SNP_PAGE_LOCK_TEST): mmap() of the
 * device gives pages of "guest memory", and SNP_PL_IOC_TEST_CONVERT changes
 * their state through the page lock layer as KVM would when a guest asks
 * for it. For the kselftests and the demo only.
 *
 * Each open file has its own pool: an xarray of pages indexed by file page
 * offset, allocated on first touch, up to test_pool_max_mb. The file gets
 * its own address_space (file->f_mapping) so that a conversion can remove
 * exactly this pool's pages from every user mapping, as truncation does.
 *
 * A page is mapped only by the fault handler, with the page locked and the
 * page found shared; a conversion to private removes the mappings of each
 * page under its page lock once its pins have drained (the core calls
 * snp_pl_pool_unmap()), so no mapping of a private page can appear in
 * between, and the core then checks that no reference but the pool's is
 * left.
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/snp_page_lock.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/snp_page_lock.h>

#include "snp_page_lock_dev.h"
#include "snp_page_lock_internal.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "snp_page_lock."

static unsigned int test_pool_max_mb = 64;
module_param(test_pool_max_mb, uint, 0644);
MODULE_PARM_DESC(test_pool_max_mb,
		 "Size limit of the test pool of each open file, in MiB (default 64)");

/**
 * struct snp_pl_pool - the test pool of one open file
 * @mapping: the file's address_space: its i_mmap tree holds the pool's
 *	     mappings
 * @pages: file page offset -> struct page, allocated on first use
 * @max_pages: size limit (test_pool_max_mb when the file was opened)
 * @convert_wait: faults waiting for a conversion to end
 */
struct snp_pl_pool {
	struct address_space mapping;
	struct xarray pages;
	unsigned long max_pages;
	wait_queue_head_t convert_wait;
};

/**
 * struct snp_pl_pool_conversion - a TEST_CONVERT to private in progress
 * @owner: what the core calls once the pins have drained: unmap the pages
 * @pool: the pool the pages belong to
 * @items: the pages
 * @pfns: their pfns, at the same indices
 * @nr: number of pages
 */
struct snp_pl_pool_conversion {
	struct snp_convert_owner owner;
	struct snp_pl_pool *pool;
	const struct snp_pl_pool_item *items;
	const unsigned long *pfns;
	unsigned long nr;
};

/**
 * struct snp_pl_pool_item - one page of a TEST_CONVERT range
 * @index: its offset in the pool, in pages
 * @offset: offset of its first occurrence in the range, in pages
 *
 * The page's pfn is at the same index of the pfns array that goes with it.
 */
struct snp_pl_pool_item {
	pgoff_t index;
	unsigned long offset;
};

static const struct vm_operations_struct snp_pl_pool_vm_ops;

/* The pool of a file of the device (its f_mapping is the pool's). */
static struct snp_pl_pool *snp_pl_pool_of_file(struct file *file)
{
	return container_of(file->f_mapping, struct snp_pl_pool, mapping);
}

static pgoff_t snp_pl_pool_index(struct vm_area_struct *vma,
				 unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* The page at @index, allocated (zeroed) on first use. */
static struct page *snp_pl_pool_get(struct snp_pl_pool *pool, pgoff_t index)
{
	struct page *page, *old;

	page = xa_load(&pool->pages, index);
	if (page)
		return page;

	/*
	 * Not movable: the pages are pinned long-term. Charged to the memory
	 * cgroup of the task that touches them first, as guest memory is.
	 */
	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT);
	if (!page)
		return ERR_PTR(-ENOMEM);
	old = xa_cmpxchg(&pool->pages, index, NULL, page, GFP_KERNEL_ACCOUNT);
	if (!old)
		return page;
	__free_page(page);
	return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
}

/*
 * The fault handler: a shared page is mapped, a private one gets SIGBUS,
 * a converting one waits (killable) for the conversion to end, with the
 * mmap lock dropped when the fault may be retried.
 */
static vm_fault_t snp_pl_pool_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct snp_pl_pool *pool = vma->vm_private_data;
	struct file *fpin;
	struct page *page;
	unsigned long pfn;

	page = snp_pl_pool_get(pool, vmf->pgoff);
	if (IS_ERR(page))
		return VM_FAULT_OOM;
	pfn = page_to_pfn(page);

	for (;;) {
		lock_page(page);
		switch (snp_page_state(pfn)) {
		case SNP_PAGE_SHARED:
			/* Mapped under the page lock: see the top comment. */
			get_page(page);
			vmf->page = page;
			return VM_FAULT_LOCKED;
		case SNP_PAGE_PRIVATE:
			unlock_page(page);
			return VM_FAULT_SIGBUS;
		case SNP_PAGE_CONVERTING:
			unlock_page(page);
			break;
		}

		if (vmf->flags & FAULT_FLAG_ALLOW_RETRY) {
			if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
				return VM_FAULT_RETRY;
			/* The file keeps the pool alive without the lock. */
			fpin = get_file(vma->vm_file);
			release_fault_lock(vmf);
			snp_wait_conversion_annotate();
			wait_event_killable(pool->convert_wait,
					    snp_page_state(pfn) !=
					    SNP_PAGE_CONVERTING);
			fput(fpin);
			return VM_FAULT_RETRY;
		}
		snp_wait_conversion_annotate();
		if (wait_event_killable(pool->convert_wait,
					snp_page_state(pfn) !=
					SNP_PAGE_CONVERTING))
			return VM_FAULT_SIGBUS;
	}
}

static const struct vm_operations_struct snp_pl_pool_vm_ops = {
	.fault = snp_pl_pool_fault,
};

/**
 * snp_pl_pool_create() - create the test pool of an open file
 * @file: the file being opened; its f_mapping becomes the pool's
 *
 * Return: the pool or ERR_PTR(-ENOMEM).
 */
struct snp_pl_pool *snp_pl_pool_create(struct file *file)
{
	struct snp_pl_pool *pool;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL_ACCOUNT);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	address_space_init_once(&pool->mapping);
	init_rwsem(&pool->mapping.invalidate_lock);
	pool->mapping.host = file_inode(file);
	pool->mapping.a_ops = &empty_aops;
	xa_init(&pool->pages);
	pool->max_pages = (unsigned long)READ_ONCE(test_pool_max_mb) <<
			  (20 - PAGE_SHIFT);
	init_waitqueue_head(&pool->convert_wait);
	file->f_mapping = &pool->mapping;
	return pool;
}

/* Make a private page shared again; false if it must be leaked. */
static bool snp_pl_pool_page_shared(unsigned long pfn)
{
	int ret = snp_make_shared(pfn, 1, SNP_CONVERT_NOWAIT);

	if (ret)
		pr_warn_ratelimited("test pool: leaking pfn %#lx: %d\n", pfn, ret);
	return !ret;
}

/**
 * snp_pl_pool_destroy() - free the test pool on the last close
 * @pool: the pool; no mapping of it is left
 * @file: the file being released
 *
 * Private pages are made shared before they are freed (a private page must
 * never reach the page allocator). Pages still pinned through other files
 * are freed when those pins are dropped.
 */
void snp_pl_pool_destroy(struct snp_pl_pool *pool, struct file *file)
{
	struct page *page;
	unsigned long index, pfn;

	xa_for_each(&pool->pages, index, page) {
		pfn = page_to_pfn(page);
		if (snp_page_state(pfn) != SNP_PAGE_SHARED &&
		    !snp_pl_pool_page_shared(pfn))
			continue;
		put_page(page);
		cond_resched();
	}
	xa_destroy(&pool->pages);
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&pool->mapping.i_mmap.rb_root));
	file->f_mapping = file_inode(file)->i_mapping;
	kfree(pool);
}

/**
 * snp_pl_pool_mmap() - mmap() of the device: map the test pool
 * @pool: the pool of the file
 * @vma: the new mapping; must be shared and inside the pool's size limit
 *
 * Return: 0 or -EINVAL.
 */
int snp_pl_pool_mmap(struct snp_pl_pool *pool, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= pool->max_pages ||
	    vma_pages(vma) > pool->max_pages - vma->vm_pgoff)
		return -EINVAL;

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &snp_pl_pool_vm_ops;
	vma->vm_private_data = pool;
	return 0;
}

/* Owner op: the pool page at @index of @file's pool, if it was ever used. */
static bool snp_pl_pool_page(struct file *file, pgoff_t index,
			     unsigned long *pfn)
{
	struct snp_pl_pool *pool = snp_pl_pool_of_file(file);
	struct page *page = pool ? xa_load(&pool->pages, index) : NULL;

	if (!page)
		return false;
	/* The pool's own reference keeps it until the pool goes. */
	get_page(page);
	*pfn = page_to_pfn(page);
	return true;
}

/*
 * Remove the pages of a conversion to private from every user mapping of
 * the pool, each under its page lock: the fault handler maps a page only
 * with the page locked and found shared, so no mapping can come back.
 */
static void snp_pl_pool_unmap(const struct snp_convert_owner *owner)
{
	const struct snp_pl_pool_conversion *conv =
		container_of(owner, struct snp_pl_pool_conversion, owner);
	struct page *page;
	unsigned long k;

	for (k = 0; k < conv->nr; k++) {
		page = pfn_to_page(conv->pfns[k]);
		lock_page(page);
		unmap_mapping_pages(&conv->pool->mapping, conv->items[k].index,
				    1, false);
		unlock_page(page);
		cond_resched();
	}
}

/*
 * Collect the pool pages of the range (allocating never used ones), once
 * each, into @items and @pfns. Every page must be in a pool mapping of
 * @file.
 */
static int snp_pl_pool_collect(struct snp_pl_pool *pool, struct file *file,
			       unsigned long addr, unsigned long nr,
			       struct snp_pl_pool_item *items,
			       unsigned long *pfns, unsigned long *nr_items,
			       unsigned long *bad)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma = NULL;
	unsigned long i, va, n = 0;
	unsigned long *seen;
	struct page *page;
	pgoff_t index;
	int ret = 0;

	seen = kvcalloc(BITS_TO_LONGS(pool->max_pages), sizeof(*seen),
			GFP_KERNEL | __GFP_NOWARN);
	if (!seen)
		return -ENOMEM;
	if (mmap_read_lock_killable(mm)) {
		ret = -EINTR;
		goto out_free;
	}
	for (i = 0; i < nr; i++) {
		va = addr + i * PAGE_SIZE;
		if (!vma || va >= vma->vm_end) {
			vma = vma_lookup(mm, va);
			if (!vma || vma->vm_ops != &snp_pl_pool_vm_ops ||
			    vma->vm_file != file) {
				ret = vma ? -EINVAL : -EFAULT;
				*bad = i;
				break;
			}
		}
		index = snp_pl_pool_index(vma, va);
		if (__test_and_set_bit(index, seen))
			continue;
		page = snp_pl_pool_get(pool, index);
		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			break;
		}
		items[n].index = index;
		items[n].offset = i;
		pfns[n++] = page_to_pfn(page);
		cond_resched();
	}
	mmap_read_unlock(mm);
	*nr_items = n;
out_free:
	kvfree(seen);
	return ret;
}

/*
 * Convert the collected pages @pfns (at pool @items) to @to, all or
 * nothing. On a failure caused by one page, *@idx is its index in @pfns.
 */
static int snp_pl_pool_convert_pages(struct snp_pl_pool *pool,
				     const struct snp_pl_pool_item *items,
				     const unsigned long *pfns, unsigned long n,
				     enum snp_page_state to, unsigned int flags,
				     unsigned int timeout_ms, unsigned long *idx)
{
	struct snp_pl_pool_conversion conv = {
		.owner = {
			.unmap = snp_pl_pool_unmap,
			/* The pool's own reference (its xarray). */
			.refs = 1,
		},
		.pool = pool,
		.items = items,
		.pfns = pfns,
		.nr = n,
	};
	int ret;

	/* Every page converting, unpinned, unmapped and unreferenced. */
	ret = snp_convert_begin_pfns(pfns, n, to, flags, timeout_ms,
				     &conv.owner, idx);
	if (ret)
		goto out_wake;

	/* The backend; on error the core restores every page. */
	ret = snp_convert_end_pfns(pfns, n, to, true);

	/*
	 * A private page has no user mapping, but a guest may map it through
	 * KVM (a private gfn of a memslot on the pool): an unmap of the range
	 * tells KVM's mmu_notifier, which drops the guest's mapping of it.
	 */
	if (!ret && to == SNP_PAGE_SHARED)
		snp_pl_pool_unmap(&conv.owner);

out_wake:
	wake_up_all(&pool->convert_wait);
	return ret;
}

/**
 * snp_pl_pool_convert() - SNP_PL_IOC_TEST_CONVERT on the test pool
 * @pool: the pool of @file
 * @file: the file the ioctl was called on
 * @addr: first user address of the range, in pool mappings of @file
 * @nr: number of pages of the range
 * @to: %SNP_PAGE_PRIVATE or %SNP_PAGE_SHARED
 * @flags: 0 or %SNP_CONVERT_NOWAIT
 * @timeout_ms: how long to wait for pins and references; 0: the default
 * @bad: set on a failure caused by one page: its index in the range
 *
 * Every page of the range is marked converting and its pins drained with
 * snp_convert_begin_pfns() (pool pages are not contiguous); to private, the
 * core then has the pages removed from every user mapping
 * (snp_pl_pool_unmap()) and waits until no page holds a reference but the
 * pool's own (G7: a pipe, an in-flight I/O, a GUP user). Then the pages are
 * converted with snp_convert_end_pfns(). All or nothing: a page unmapped
 * by a conversion that then fails is faulted back in on its next touch.
 *
 * Return: 0 or a negative errno (see the uapi header).
 */
int snp_pl_pool_convert(struct snp_pl_pool *pool, struct file *file,
			unsigned long addr, unsigned long nr,
			enum snp_page_state to, unsigned int flags,
			unsigned int timeout_ms, unsigned long *bad)
{
	unsigned long n, idx = ULONG_MAX;
	struct snp_pl_pool_item *items;
	unsigned long *pfns;
	int ret;

	/* More pages than the pool holds: some are not in the pool. */
	if (nr > pool->max_pages)
		return -EINVAL;
	items = kvmalloc_array(nr, sizeof(*items) + sizeof(*pfns), GFP_KERNEL);
	if (!items)
		return -ENOMEM;
	pfns = (unsigned long *)(items + nr);
	ret = snp_pl_pool_collect(pool, file, addr, nr, items, pfns, &n, bad);
	if (!ret) {
		ret = snp_pl_pool_convert_pages(pool, items, pfns, n, to, flags,
						timeout_ms, &idx);
		if (ret && idx < n)
			*bad = items[idx].offset;
	}
	kvfree(items);
	return ret;
}

/* Owner op: convert pool pages [@index, @index + @nr) of @file in place. */
static int snp_pl_pool_convert_range(struct file *file, pgoff_t index,
				     unsigned long nr, enum snp_page_state to,
				     unsigned int flags)
{
	struct snp_pl_pool *pool = snp_pl_pool_of_file(file);
	struct snp_pl_pool_item *items;
	unsigned long *pfns, i, idx;
	struct page *page;
	int ret = 0;

	if (!pool || index >= pool->max_pages || nr > pool->max_pages - index)
		return -EINVAL;
	items = kvmalloc_array(nr, sizeof(*items) + sizeof(*pfns), GFP_KERNEL);
	if (!items)
		return -ENOMEM;
	pfns = (unsigned long *)(items + nr);
	for (i = 0; i < nr; i++) {
		page = snp_pl_pool_get(pool, index + i);
		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			goto out;
		}
		items[i].index = index + i;
		items[i].offset = i;
		pfns[i] = page_to_pfn(page);
	}
	ret = snp_pl_pool_convert_pages(pool, items, pfns, nr, to, flags, 0,
					&idx);
out:
	kvfree(items);
	return ret;
}

static struct snp_user_owner snp_pl_pool_owner = {
	.vm_ops = &snp_pl_pool_vm_ops,
	.page = snp_pl_pool_page,
	.convert = snp_pl_pool_convert_range,
};

static int __init snp_pl_pool_owner_init(void)
{
	if (snp_page_lock_is_enabled())
		snp_user_owner_register(&snp_pl_pool_owner);
	return 0;
}
device_initcall(snp_pl_pool_owner_init);
