// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory seen through a user address: what KVM needs to know about
 * the page behind a memslot's hva when an access to it failed, and how it
 * converts such a page in place, as the page's owner does.
 *
 * The owners of user-mapped guest memory whose pages change state in place
 * are the test pool of /dev/snp_page_lock (snp_page_lock_test_pool.c) and,
 * later, guest_memfd. A page of anything else is looked up in the page
 * tables; it cannot be converted from here.
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/snp_page_lock.h>

#include "snp_page_lock_dev.h"
#include "snp_page_lock_internal.h"

enum snp_page_state snp_user_page_state(unsigned long addr)
{
	enum snp_page_state state = SNP_PAGE_SHARED;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct page *page;
	unsigned long pfn;

	if (!snp_page_lock_is_enabled() || !mm)
		return SNP_PAGE_SHARED;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma)
		goto out;
	if (snp_pl_pool_lookup(vma, addr, &pfn)) {
		if (pfn != SNP_PL_NO_PFN)
			state = snp_page_state(pfn);
	} else if (get_user_page_fast_only(addr, 0, &page)) {
		state = snp_page_state(page_to_pfn(page));
		put_page(page);
	}
out:
	mmap_read_unlock(mm);
	return state;
}
EXPORT_SYMBOL_GPL(snp_user_page_state);

bool snp_user_in_place(unsigned long addr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool ret;

	if (!snp_page_lock_is_enabled() || !mm)
		return false;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	ret = vma && snp_pl_pool_of(vma);
	mmap_read_unlock(mm);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_user_in_place);

int snp_user_convert(unsigned long addr, unsigned long nr_pages,
		     enum snp_page_state to, unsigned int flags)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct snp_pl_pool *pool;
	unsigned long bad;
	struct file *file;
	int ret;

	if (!snp_page_lock_is_enabled())
		return -EOPNOTSUPP;
	if (!mm || !nr_pages || !PAGE_ALIGNED(addr) ||
	    (to != SNP_PAGE_PRIVATE && to != SNP_PAGE_SHARED) ||
	    (flags & ~SNP_CONVERT_NOWAIT))
		return -EINVAL;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, addr);
	pool = vma ? snp_pl_pool_of(vma) : NULL;
	file = pool ? get_file(vma->vm_file) : NULL;
	mmap_read_unlock(mm);
	if (!pool)
		return -EOPNOTSUPP;

	/* The pool collects the pages under the mmap lock again. */
	ret = snp_pl_pool_convert(pool, file, addr, nr_pages, to, flags, 0,
				  &bad);
	fput(file);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_user_convert);

int snp_user_private_pfn(unsigned long addr, unsigned long *pfn)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret = -ENOENT;

	if (!snp_page_lock_is_enabled() || !mm)
		return -EOPNOTSUPP;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma && snp_pl_pool_of(vma)) {
		ret = -EINVAL;
		if (snp_pl_pool_lookup(vma, addr, pfn) &&
		    *pfn != SNP_PL_NO_PFN &&
		    snp_page_state(*pfn) == SNP_PAGE_PRIVATE) {
			/* The pool's reference keeps it alive meanwhile. */
			get_page(pfn_to_page(*pfn));
			ret = 0;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_user_private_pfn);
