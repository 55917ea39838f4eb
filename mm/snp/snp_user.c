// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory seen through a user address: owners of user-mapped guest
 * memory whose pages change state in place register here (the test pool
 * of /dev/snp_page_lock, KVM's guest_memfd), so that the VMM ABI and KVM
 * can find a page that has no user mapping (it is private), tell why an
 * access through a memslot's hva failed, and convert such a page in place
 * as its owner does.
 *
 * A page of anything else is looked up in the page tables; it cannot be
 * converted from here.
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/file.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/snp_page_lock.h>
#include <linux/spinlock.h>

#include "snp_page_lock_dev.h"
#include "snp_page_lock_internal.h"

static LIST_HEAD(snp_user_owners);
static DEFINE_SPINLOCK(snp_user_owners_lock);

void snp_user_owner_register(struct snp_user_owner *owner)
{
	spin_lock(&snp_user_owners_lock);
	list_add_rcu(&owner->node, &snp_user_owners);
	spin_unlock(&snp_user_owners_lock);
}
EXPORT_SYMBOL_GPL(snp_user_owner_register);

void snp_user_owner_unregister(struct snp_user_owner *owner)
{
	spin_lock(&snp_user_owners_lock);
	list_del_rcu(&owner->node);
	spin_unlock(&snp_user_owners_lock);
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(snp_user_owner_unregister);

/* The owner of @vma's memory, or NULL. Stable while the VMA exists. */
static const struct snp_user_owner *snp_user_owner_of(struct vm_area_struct *vma)
{
	const struct snp_user_owner *owner, *found = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(owner, &snp_user_owners, node) {
		if (vma->vm_ops == owner->vm_ops) {
			found = owner;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

bool snp_user_owner_lookup(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long *pfn)
{
	const struct snp_user_owner *owner = snp_user_owner_of(vma);
	pgoff_t index;

	if (!owner)
		return false;
	index = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	if (!owner->page(vma->vm_file, index, pfn))
		*pfn = SNP_USER_NO_PFN;
	return true;
}

void snp_user_put_pfn(unsigned long pfn)
{
	if (pfn != SNP_USER_NO_PFN)
		put_page(pfn_to_page(pfn));
}

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
	if (snp_user_owner_lookup(vma, addr, &pfn)) {
		if (pfn != SNP_USER_NO_PFN)
			state = snp_page_state(pfn);
		snp_user_put_pfn(pfn);
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
	ret = vma && snp_user_owner_of(vma);
	mmap_read_unlock(mm);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_user_in_place);

int snp_user_convert(unsigned long addr, unsigned long nr_pages,
		     enum snp_page_state to, unsigned int flags)
{
	const struct snp_user_owner *owner = NULL;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct file *file = NULL;
	pgoff_t index = 0;
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
	if (vma)
		owner = snp_user_owner_of(vma);
	if (owner) {
		if (nr_pages > vma_pages(vma) ||
		    addr + (nr_pages << PAGE_SHIFT) > vma->vm_end) {
			owner = NULL;
		} else {
			index = vma->vm_pgoff +
				((addr - vma->vm_start) >> PAGE_SHIFT);
			file = get_file(vma->vm_file);
		}
	}
	mmap_read_unlock(mm);
	if (!owner)
		return -EOPNOTSUPP;

	/* The file keeps the owner's object alive, not the mapping. */
	ret = owner->convert(file, index, nr_pages, to, flags);
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
	if (vma && snp_user_owner_lookup(vma, addr, pfn)) {
		ret = -EINVAL;
		/* The lookup's reference goes to the caller. */
		if (*pfn != SNP_USER_NO_PFN &&
		    snp_page_state(*pfn) == SNP_PAGE_PRIVATE)
			ret = 0;
		else
			snp_user_put_pfn(*pfn);
	}
	mmap_read_unlock(mm);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_user_private_pfn);
