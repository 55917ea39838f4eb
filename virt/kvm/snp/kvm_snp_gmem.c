// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd converted in place through the SNP page lock
 * (KVM_X86_SW_PROTECTED_VM, CONFIG_SNP_PAGE_LOCK).
 *
 * A guest_memfd created with GUEST_MEMFD_FLAG_MMAP can be mmap()ed by the
 * VMM; a memslot's userspace_addr may point at that mapping, so one page
 * serves the guest both shared (through the hva) and private (through
 * guest_memfd). Which pages are private is tracked per file (a bitmap;
 * GUEST_MEMFD_FLAG_INIT_SHARED makes every page shared at first, else
 * every page is private at first) and, for allocated pages, by the layer's
 * state word, which never disagrees with it outside a conversion. Either
 * flag alone makes a file converted in place; without MMAP it cannot be
 * mapped, and the guest's shared memory is the memslot's own.
 *
 * A conversion (KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd, or
 * KVM_SET_MEMORY_ATTRIBUTES on the VM for a range bound to such a file)
 * goes through the layer: to private, the pages are marked converting (new
 * pins fail, faults wait), the pin holders told (EPOLLPRI for the VMM ABI)
 * and KVM's revocable pins revoked, the pins and then, once the VMM's
 * mappings are zapped, the references beyond the page cache's are waited
 * for (or the conversion fails, NOWAIT), the software backend removes the
 * pages from the direct map, and the layer commits; then the VM's
 * attributes are updated, which zaps the guest's mappings. To shared, the
 * reverse. The content of a page is kept across conversions (same page).
 *
 * The VMM's mapping faults a page in only while it is shared; a private
 * page gets SIGBUS; a fault during a conversion of the file waits for it
 * (guest_memfd's invalidate lock, taken for write by conversions). A
 * private page freed (hole punched, file gone) is made shared first (G4).
 *
 * See Documentation/virt/kvm/snp_page_lock.rst.
 */

#define pr_fmt(fmt) "kvm_snp_gmem: " fmt

#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/kvm_host.h>
#include <linux/kvm_snp_page_lock.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/snp_page_lock.h>
#include <linux/swap.h>
#include <linux/uaccess.h>

#include "../kvm_mm.h"

/**
 * struct kvm_snp_gmem - in-place state of a guest_memfd inode
 * @npages: size of the file, in pages
 * @private: bit set: the page at that offset is private
 * @mmap: GUEST_MEMFD_FLAG_MMAP: the VMM may map it
 * @lock: protects @private
 */
struct kvm_snp_gmem {
	pgoff_t npages;
	unsigned long *private;
	bool mmap;
	spinlock_t lock;	/* @private */
};

/* The pfn of file page offset @index, which @folio contains. */
static unsigned long folio_file_pfn_index(struct folio *folio, pgoff_t index)
{
	return page_to_pfn(folio_file_page(folio, index));
}

static struct kvm_snp_gmem *kvm_snp_gmem_of(struct address_space *mapping)
{
	return mapping->i_private_data;
}

static bool kvm_snp_gmem_private(struct kvm_snp_gmem *st, pgoff_t index)
{
	bool ret;

	spin_lock(&st->lock);
	ret = test_bit(index, st->private);
	spin_unlock(&st->lock);
	return ret;
}

u64 kvm_snp_gmem_flags(struct kvm *kvm)
{
	if (!snp_page_lock_is_enabled())
		return 0;
#ifdef CONFIG_X86
	/* On /dev/kvm: what some VM type supports, as upstream. */
	if (kvm ? kvm->arch.vm_type == KVM_X86_SW_PROTECTED_VM :
		  IS_ENABLED(CONFIG_KVM_SW_PROTECTED_VM))
		return GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
#endif
	return 0;
}

struct kvm_snp_gmem *kvm_snp_gmem_alloc(loff_t size, u64 flags)
{
	struct kvm_snp_gmem *st;

	/*
	 * Either flag makes the file one converted in place; each works alone,
	 * as upstream's: INIT_SHARED without MMAP cannot be mapped.
	 */
	if (!(flags & (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)))
		return NULL;

	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return ERR_PTR(-ENOMEM);
	st->npages = size >> PAGE_SHIFT;
	st->mmap = flags & GUEST_MEMFD_FLAG_MMAP;
	/* One bit per page of the file, however large: not kmalloc-bound. */
	st->private = kvcalloc(BITS_TO_LONGS(st->npages), sizeof(long),
			       GFP_KERNEL_ACCOUNT);
	if (!st->private) {
		kfree(st);
		return ERR_PTR(-ENOMEM);
	}
	if (!(flags & GUEST_MEMFD_FLAG_INIT_SHARED))
		bitmap_fill(st->private, st->npages);
	spin_lock_init(&st->lock);
	return st;
}

void kvm_snp_gmem_free(struct kvm_snp_gmem *st)
{
	if (!st)
		return;
	kvfree(st->private);
	kfree(st);
}

void kvm_snp_gmem_attach(struct inode *inode, struct kvm_snp_gmem *st)
{
	inode->i_mapping->i_private_data = st;
}

void kvm_snp_gmem_release(struct inode *inode)
{
	struct kvm_snp_gmem *st = kvm_snp_gmem_of(inode->i_mapping);

	inode->i_mapping->i_private_data = NULL;
	kvm_snp_gmem_free(st);
}

/*
 * The VMM's mapping: a shared page is mapped (allocated and zeroed on
 * first use), a private one gets SIGBUS. Conversions of the file hold its
 * invalidate lock for write: a fault waits for them here (killable; a
 * conversion waits at most snp_page_lock.convert_timeout_ms). The page is
 * mapped with its lock held (VM_FAULT_LOCKED) and a conversion zaps it
 * under the page lock, so no mapping of a page on its way to private
 * survives the zap.
 */
static vm_fault_t kvm_snp_gmem_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct kvm_snp_gmem *st = kvm_snp_gmem_of(mapping);
	struct folio *folio;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	if (!st || vmf->pgoff >= st->npages)
		return VM_FAULT_SIGBUS;

	snp_wait_conversion_annotate();
	/* Killable: a dying task's fault ends here (a user fault, SIGBUS). */
	if (down_read_killable(&mapping->invalidate_lock))
		return VM_FAULT_SIGBUS;
	if (kvm_snp_gmem_private(st, vmf->pgoff))
		goto out;

	folio = filemap_grab_folio(mapping, vmf->pgoff);
	if (IS_ERR(folio)) {
		ret = vmf_error(PTR_ERR(folio));
		goto out;
	}
	/* Not even cleared unless shared: the host never writes a private page. */
	if (snp_page_state(folio_file_pfn_index(folio, vmf->pgoff)) !=
	    SNP_PAGE_SHARED) {
		folio_unlock(folio);
		folio_put(folio);
		goto out;
	}
	/* As guest_memfd prepares a folio: never hand out old data. */
	if (!folio_test_uptodate(folio)) {
		clear_highpage(folio_file_page(folio, vmf->pgoff));
		folio_mark_uptodate(folio);
	}
	vmf->page = folio_file_page(folio, vmf->pgoff);
	ret = VM_FAULT_LOCKED;
out:
	filemap_invalidate_unlock_shared(mapping);
	return ret;
}

static const struct vm_operations_struct kvm_snp_gmem_vm_ops = {
	.fault = kvm_snp_gmem_fault,
};

int kvm_snp_gmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kvm_snp_gmem *st = kvm_snp_gmem_of(file->f_mapping);

	if (!st || !st->mmap)
		return -ENODEV;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) !=
	    (VM_SHARED | VM_MAYSHARE))
		return -EINVAL;
	vm_flags_set(vma, VM_DONTDUMP);
	vma->vm_ops = &kvm_snp_gmem_vm_ops;
	return 0;
}

/**
 * struct kvm_snp_gmem_conversion - a conversion of a guest_memfd range
 * @owner: what the layer calls once the pins have drained
 * @mapping: the file's page cache
 * @index: file page offset of each page in @pfns
 * @pfns: the allocated pages of the range
 * @nr: how many
 */
struct kvm_snp_gmem_conversion {
	struct snp_convert_owner owner;
	struct address_space *mapping;
	pgoff_t *index;
	unsigned long *pfns;
	unsigned long nr;
};

/* Zap the VMM's mappings of the pages, each under its page lock. */
static void kvm_snp_gmem_unmap(const struct snp_convert_owner *owner)
{
	const struct kvm_snp_gmem_conversion *conv =
		container_of(owner, struct kvm_snp_gmem_conversion, owner);
	struct page *page;
	unsigned long k;

	for (k = 0; k < conv->nr; k++) {
		page = pfn_to_page(conv->pfns[k]);
		lock_page(page);
		unmap_mapping_pages(conv->mapping, conv->index[k], 1, false);
		unlock_page(page);
		cond_resched();
	}
}

/*
 * Convert file pages [@start, @start + @nr) of @file in place. On a failure
 * caused by one page, *@bad is its offset in the file, in pages (what
 * error_offset reports, as in the posted series).
 */
static int kvm_snp_gmem_convert_range(struct file *file, pgoff_t start,
				      unsigned long nr, enum snp_page_state to,
				      unsigned int flags,
				      unsigned long *bad)
{
	struct address_space *mapping = file->f_mapping;
	struct kvm_snp_gmem *st = kvm_snp_gmem_of(mapping);
	struct kvm_snp_gmem_conversion conv = {
		.owner = {
			.unmap = kvm_snp_gmem_unmap,
			/* The page cache's, and the one taken here. */
			.refs = 2,
		},
		.mapping = mapping,
	};
	bool to_private = to == SNP_PAGE_PRIVATE;
	struct folio **folios;
	unsigned long i, idx = ULONG_MAX;
	struct folio *folio;
	int ret = 0;

	if (!st || start >= st->npages || nr > st->npages - start || !nr)
		return -EINVAL;

	folios = kvmalloc_array(nr, sizeof(*folios) + sizeof(*conv.index) +
				sizeof(*conv.pfns), GFP_KERNEL_ACCOUNT);
	if (!folios)
		return -ENOMEM;
	conv.index = (pgoff_t *)(folios + nr);
	conv.pfns = (unsigned long *)(conv.index + nr);

	/* One conversion at a time; VMM faults wait, holes are not punched. */
	if (down_write_killable(&mapping->invalidate_lock)) {
		kvfree(folios);
		return -EINTR;
	}

	/*
	 * The pages in the other state; others need no conversion. A page
	 * the file has private may still be shared in the layer: a private
	 * access allocated it and its conversion failed (get_pfn).
	 */
	for (i = 0; i < nr; i++) {
		if (kvm_snp_gmem_private(st, start + i) == to_private)
			continue;
		folio = filemap_get_folio(mapping, start + i);
		if (IS_ERR(folio))
			continue;
		conv.pfns[conv.nr] = folio_file_pfn_index(folio, start + i);
		if (snp_page_state(conv.pfns[conv.nr]) == to) {
			folio_put(folio);
			continue;
		}
		folios[conv.nr] = folio;
		conv.index[conv.nr++] = start + i;
	}

	if (conv.nr) {
		ret = snp_convert_begin_pfns(conv.pfns, conv.nr, to, flags, 0,
					     &conv.owner, &idx);
		if (ret) {
			if (idx < conv.nr)
				*bad = conv.index[idx];
			goto out_put;
		}
		ret = snp_convert_end_pfns(conv.pfns, conv.nr, to, true);
		if (ret)
			goto out_put;
	}

	spin_lock(&st->lock);
	if (to_private)
		bitmap_set(st->private, start, nr);
	else
		bitmap_clear(st->private, start, nr);
	spin_unlock(&st->lock);

out_put:
	filemap_invalidate_unlock(mapping);
	for (i = 0; i < conv.nr; i++)
		folio_put(folios[i]);
	kvfree(folios);
	return ret;
}

/*
 * The VM's attributes follow: for each memslot of the VM bound to the file
 * range, KVM_SET_MEMORY_ATTRIBUTES' own path (which zaps the guest's
 * mappings of the range).
 */
/* Bindings of a guest_memfd range to gfns, collected under kvm->srcu. */
struct kvm_snp_gmem_range {
	struct file *file;
	pgoff_t index;
	gfn_t gfn;
	unsigned long nr;
};

static void kvm_snp_gmem_put_ranges(struct kvm_snp_gmem_range *r, int n)
{
	while (n--)
		fput(r[n].file);
}

/* At most this many memslots per conversion: one or two in practice. */
#define KVM_SNP_GMEM_MAX_RANGES	16

/*
 * The memslots of @kvm with a guest_memfd (@file, or any converted in
 * place if @file is NULL) that cover gfns [@gfn_lo, @gfn_hi) or file pages
 * [@lo, @hi) of @file. Takes a file reference for each range. More than
 * KVM_SNP_GMEM_MAX_RANGES of them: -E2BIG, nothing held.
 */
static int kvm_snp_gmem_ranges(struct kvm *kvm, struct file *file,
			       pgoff_t lo, pgoff_t hi, gfn_t gfn_lo,
			       gfn_t gfn_hi, struct kvm_snp_gmem_range *r)
{
	struct kvm_memory_slot *slot;
	int bkt, idx, n = 0;
	struct file *f;
	u64 a, b;

	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		if (!(slot->flags & KVM_MEM_GUEST_MEMFD))
			continue;
		if (file) {
			if (READ_ONCE(slot->gmem.file) != file)
				continue;
			a = max(lo, slot->gmem.pgoff);
			b = min(hi, slot->gmem.pgoff + slot->npages);
		} else {
			a = max(gfn_lo, slot->base_gfn);
			b = min(gfn_hi, slot->base_gfn + slot->npages);
			/* Disjoint: before the translation can wrap. */
			if (a >= b)
				continue;
			a += slot->gmem.pgoff - slot->base_gfn;
			b += slot->gmem.pgoff - slot->base_gfn;
		}
		if (a >= b)
			continue;
		f = get_file_active(&slot->gmem.file);
		if (!f)
			continue;
		if (!kvm_snp_gmem_of(f->f_mapping)) {
			fput(f);
			continue;
		}
		if (n == KVM_SNP_GMEM_MAX_RANGES) {
			fput(f);
			kvm_snp_gmem_put_ranges(r, n);
			n = -E2BIG;
			break;
		}
		r[n].file = f;
		r[n].index = a;
		r[n].gfn = slot->base_gfn + a - slot->gmem.pgoff;
		r[n++].nr = b - a;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return n;
}

/*
 * Convert pages [@index, @index + @nr) of @file in place, then the VM's
 * attributes follow: for each memslot bound to them, KVM_SET_MEMORY_ATTRIBUTES'
 * own path, which zaps the guest's mappings of the range. The memslots are
 * collected first, so that too many of them fail before anything changes.
 */
static int kvm_snp_gmem_convert_file(struct file *file, pgoff_t index,
				     unsigned long nr, enum snp_page_state to,
				     unsigned int flags, unsigned long *bad)
{
	struct kvm_snp_gmem_range r[KVM_SNP_GMEM_MAX_RANGES];
	struct kvm *kvm = kvm_gmem_vm(file);
	int i, n, ret;

	n = kvm_snp_gmem_ranges(kvm, file, index, index + nr, 0, 0, r);
	if (n < 0)
		return n;
	ret = kvm_snp_gmem_convert_range(file, index, nr, to, flags, bad);
	for (i = 0; i < n && !ret; i++)
		ret = kvm_vm_set_mem_attributes(kvm, r[i].gfn,
						r[i].gfn + r[i].nr,
						to == SNP_PAGE_PRIVATE ?
						KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
	kvm_snp_gmem_put_ranges(r, n);
	return ret;
}

/* KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd converted in place. */
static long kvm_snp_gmem_set_attributes2(struct file *file,
					 struct kvm_memory_attributes2 __user *uarg)
{
	struct kvm_memory_attributes2 attrs;
	unsigned long bad = ULONG_MAX, nr;
	unsigned int flags;
	pgoff_t start;
	int i, ret;

	if (copy_from_user(&attrs, uarg, sizeof(attrs)))
		return -EFAULT;
	if (attrs.flags & ~KVM_SET_MEMORY_ATTRIBUTES2_WAIT)
		return -EINVAL;
	if (attrs.attributes & ~KVM_MEMORY_ATTRIBUTE_PRIVATE)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(attrs.reserved); i++)
		if (attrs.reserved[i])
			return -EINVAL;
	if (!attrs.size || !PAGE_ALIGNED(attrs.offset) ||
	    !PAGE_ALIGNED(attrs.size) || attrs.offset + attrs.size < attrs.offset)
		return -EINVAL;

	start = attrs.offset >> PAGE_SHIFT;
	nr = attrs.size >> PAGE_SHIFT;
	/* Upstream's rule without our flag: fail as soon as pages are held. */
	flags = attrs.flags & KVM_SET_MEMORY_ATTRIBUTES2_WAIT ? 0 :
		SNP_CONVERT_NOWAIT;
	ret = kvm_snp_gmem_convert_file(file, start, nr,
					attrs.attributes ? SNP_PAGE_PRIVATE :
							   SNP_PAGE_SHARED,
					flags, &bad);
	if (ret && bad != ULONG_MAX &&
	    put_user((u64)bad << PAGE_SHIFT, &uarg->error_offset))
		return -EFAULT;
	return ret;
}

long kvm_snp_gmem_ioctl(struct file *file, unsigned int ioctl,
			unsigned long arg)
{
	if (!kvm_snp_gmem_of(file->f_mapping))
		return -ENOTTY;
	if (ioctl != KVM_SET_MEMORY_ATTRIBUTES2)
		return -ENOTTY;
	return kvm_snp_gmem_set_attributes2(file, (void __user *)arg);
}

int kvm_snp_gmem_set_attributes(struct kvm *kvm, gfn_t start, gfn_t end,
				u64 attrs)
{
	struct kvm_snp_gmem_range r[KVM_SNP_GMEM_MAX_RANGES];
	unsigned long bad;
	int i, n, ret = 0;

	if (!snp_page_lock_is_enabled())
		return 0;

	/* KVM_SET_MEMORY_ATTRIBUTES converts in place too, waiting. */
	n = kvm_snp_gmem_ranges(kvm, NULL, 0, 0, start, end, r);
	if (n < 0)
		return n;
	for (i = 0; i < n && !ret; i++)
		ret = kvm_snp_gmem_convert_range(r[i].file, r[i].index, r[i].nr,
						 attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE ?
						 SNP_PAGE_PRIVATE :
						 SNP_PAGE_SHARED, 0, &bad);
	kvm_snp_gmem_put_ranges(r, n);
	return ret;
}

int kvm_snp_gmem_get_pfn_begin(struct file *file)
{
	struct address_space *mapping = file->f_mapping;

	if (!kvm_snp_gmem_of(mapping))
		return 0;
	snp_wait_conversion_annotate();
	return down_read_killable(&mapping->invalidate_lock) ? -EINTR : 0;
}

void kvm_snp_gmem_get_pfn_end(struct file *file)
{
	if (kvm_snp_gmem_of(file->f_mapping))
		filemap_invalidate_unlock_shared(file->f_mapping);
}

int kvm_snp_gmem_get_pfn(struct file *file, pgoff_t index,
			 struct folio *folio)
{
	struct kvm_snp_gmem *st = kvm_snp_gmem_of(file->f_mapping);
	unsigned long pfn = folio_file_pfn_index(folio, index);
	struct snp_convert_owner owner = {
		/* Not mapped by the VMM (private); the cache's and ours. */
		.refs = 2,
	};
	int ret;

	if (!st)
		return 0;
	/* A private access to a page the file has shared: a mismatch. */
	if (!kvm_snp_gmem_private(st, index))
		return -EFAULT;
	if (snp_page_state(pfn) == SNP_PAGE_PRIVATE)
		return 0;

	/*
	 * A page allocated for a private access: private from the start. Not
	 * mapped, not pinned (nothing maps a page the file has private); the
	 * wait is for transient references (the LRU's batch), bounded.
	 */
	lockdep_assert_held_read(&file->f_mapping->invalidate_lock);
	/*
	 * The page was just added to this CPU's LRU batch, whose reference
	 * would otherwise make the G7 check drain every CPU's batch.
	 */
	lru_add_drain();
	ret = snp_convert_begin_pfns(&pfn, 1, SNP_PAGE_PRIVATE, 0, 0, &owner,
				     NULL);
	if (!ret)
		ret = snp_convert_end_pfns(&pfn, 1, SNP_PAGE_PRIVATE, true);
	return ret == -EINTR ? ret : ret ? -EFAULT : 0;
}

void kvm_snp_gmem_free_folio(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio), i;

	if (!snp_page_lock_is_enabled())
		return;
	/* G4: a private page never reaches the page allocator. */
	for (i = 0; i < folio_nr_pages(folio); i++)
		if (snp_page_state(pfn + i) == SNP_PAGE_PRIVATE &&
		    snp_make_shared(pfn + i, 1, 0))
			pr_err_ratelimited("pfn %#lx stays private: it will be leaked\n",
					   pfn + i);
}

/*
 * The layer finds private guest_memfd pages behind the VMM's mapping. The
 * reference goes to the caller: a hole punched meanwhile does not free the
 * page under it.
 */
static bool kvm_snp_gmem_page(struct file *file, pgoff_t index,
			      unsigned long *pfn)
{
	struct folio *folio = filemap_get_folio(file->f_mapping, index);

	if (IS_ERR(folio))
		return false;
	*pfn = folio_file_pfn_index(folio, index);
	return true;
}

/* The owner's conversion (the ABI's TEST_CONVERT, #NPF policy "convert"). */
static int kvm_snp_gmem_convert(struct file *file, pgoff_t index,
				unsigned long nr, enum snp_page_state to,
				unsigned int flags)
{
	unsigned long bad;

	return kvm_snp_gmem_convert_file(file, index, nr, to, flags, &bad);
}

static struct snp_user_owner kvm_snp_gmem_owner = {
	.vm_ops = &kvm_snp_gmem_vm_ops,
	.page = kvm_snp_gmem_page,
	.convert = kvm_snp_gmem_convert,
};

void kvm_snp_gmem_module_init(void)
{
	if (snp_page_lock_is_enabled())
		snp_user_owner_register(&kvm_snp_gmem_owner);
}

void kvm_snp_gmem_module_exit(void)
{
	if (snp_page_lock_is_enabled())
		snp_user_owner_unregister(&kvm_snp_gmem_owner);
}
