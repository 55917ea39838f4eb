// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock: the VMM interface of the SNP page lock.
 *
 * A VMM that does I/O on guest-shared pages pins them shared through an open
 * file of this device (PIN), drops its pins when done (UNPIN), and learns
 * through poll() (EPOLLPRI) that a converter waits for one of its pages.
 * Pins belong to the open file. They are recorded twice: by the user
 * address they were taken at, per mm (UNPIN releases by address, whatever
 * is mapped there now, as iommufd unmaps by IOVA; the memlock charge is the
 * mm's), and counted per pfn (the conversion notifier and QUERY look pages
 * up by pfn). The last close drops them all. See
 * Documentation/userspace-api/snp_page_lock.rst.
 *
 * Locking: snp_pl_file.lock serialises PIN/UNPIN/QUERY of one file and is
 * taken before the mmap lock; the xa_lock of snp_pl_file.pins protects the
 * WAITED marks and nests inside snp_pl_files_lock, which the conversion
 * notifier takes (atomic context).
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/snp_page_lock.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/snp_page_lock.h>

#include "snp_page_lock_dev.h"
#include "snp_page_lock_internal.h"

/* Mark of a pin entry: a converter waits for this pfn's pins to drain. */
#define SNP_PL_WAITED		XA_MARK_0

/* Pages looked up per mmap lock hold by QUERY. */
#define SNP_PL_QUERY_CHUNK	512

/* PIN retries GUP on a test pool page that changed state under it. */
#define SNP_PL_GUP_RETRIES	3

/**
 * struct snp_pl_file - one open file of /dev/snp_page_lock
 * @pins: pfn -> xa_mk_value(number of pins taken through this file)
 * @blocks: 2 MiB block number -> xa_mk_value(number of those pins held as
 *	    one block pin each, see snp_pl_piece()); never more than the
 *	    @pins count of any page of the block
 * @lock: serialises PIN, UNPIN and QUERY on @pins, @blocks and @mms
 * @mms: the &struct snp_pl_mm of every mm that pinned through this file
 * @poll_wait: woken when an entry of @pins gains or loses the
 *	       %SNP_PL_WAITED mark (EPOLLPRI: some entry is marked)
 * @node: entry in snp_pl_files
 * @pool: the test pool of this file, or NULL
 */
struct snp_pl_file {
	struct xarray pins;
	struct xarray blocks;
	struct mutex lock;	/* PIN, UNPIN and QUERY of this file */
	struct list_head mms;
	wait_queue_head_t poll_wait;
	struct list_head node;
	struct snp_pl_pool *pool;
};

/**
 * struct snp_pl_mm - the pins one mm holds through one file
 * @mm: the mm whose pages are pinned (grabbed, not kept alive)
 * @addrs: user page number -> &struct snp_pl_pin
 * @nr_pinned: pins recorded in @addrs, charged to @mm->pinned_vm
 * @node: entry in snp_pl_file.mms
 *
 * A forked child that shares the file pins its own pages at addresses that
 * may also be the parent's: pins are recorded per mm.
 */
struct snp_pl_mm {
	struct mm_struct *mm;
	struct xarray addrs;
	unsigned long nr_pinned;
	struct list_head node;
};

/**
 * struct snp_pl_pin - the pins of one user address
 * @pfn: the page pinned there
 * @count: how many pins on it were taken there
 * @older: pins taken earlier at the same address on another page (the
 *	   mapping changed in between, e.g. MADV_DONTNEED), or NULL; UNPIN
 *	   drops the most recent pin first
 */
struct snp_pl_pin {
	unsigned long pfn;
	unsigned long count;
	struct snp_pl_pin *older;
};

/* Every open file, for the conversion notifier. */
static LIST_HEAD(snp_pl_files);
static DEFINE_SPINLOCK(snp_pl_files_lock);

/**
 * struct snp_pl_ucmd - one ioctl call
 * @pf: the open file
 * @file: the struct file
 * @ubuffer: the user's structure
 * @user_size: its size as given by userspace
 * @cmd: the kernel copy of the structure
 * @bad: on failure, the index in the range of the page that caused it, or
 *	 ULONG_MAX if no single page did; the dispatcher reports it in the
 *	 user's error_offset
 */
struct snp_pl_ucmd {
	struct snp_pl_file *pf;
	struct file *file;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
	unsigned long bad;
};

/* ------------------------------------------------------------------------
 * Helpers.
 */

/*
 * Check a user range: page aligned, not empty, no wrap-around. A range
 * beyond the user address space cannot be mapped: -EFAULT.
 */
static int snp_pl_check_range(u64 addr, u64 len, unsigned long *nr)
{
	u64 end;

	if (!len || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(len) ||
	    check_add_overflow(addr, len, &end))
		return -EINVAL;
	if (end > TASK_SIZE_MAX)
		return -EFAULT;
	*nr = len >> PAGE_SHIFT;
	return 0;
}

/*
 * Look up the pfns of [@addr, @addr + @nr pages) without faulting anything
 * in: a page of an in-place owner (the test pool, guest_memfd) by its
 * owner, any other page through the page tables.
 * A page that is not present gets SNP_USER_NO_PFN. Returns -EFAULT and the
 * index in @bad (if not NULL) if a page has no VMA.
 */
static int snp_pl_resolve(unsigned long addr, unsigned long nr,
			  unsigned long *pfns, unsigned long *bad)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma = NULL;
	struct page *page;
	unsigned long i, va;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for (i = 0; i < nr; i++) {
		va = addr + i * PAGE_SIZE;
		if (!vma || va >= vma->vm_end) {
			vma = vma_lookup(mm, va);
			if (!vma) {
				if (bad)
					*bad = i;
				ret = -EFAULT;
				break;
			}
		}
		if (snp_user_owner_lookup(vma, va, &pfns[i])) {
			/* A snapshot, as the GUP path's below. */
			snp_user_put_pfn(pfns[i]);
			continue;
		}
		if (get_user_page_fast_only(va, 0, &page)) {
			pfns[i] = page_to_pfn(page);
			put_page(page);
		} else {
			pfns[i] = SNP_USER_NO_PFN;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

/* The QUERY state of a resolved page. */
static u8 snp_pl_state(struct snp_pl_file *pf, unsigned long pfn)
{
	u8 state;

	if (pfn == SNP_USER_NO_PFN)
		return SNP_PL_STATE_SHARED;

	switch (snp_page_state(pfn)) {
	case SNP_PAGE_PRIVATE:
		state = SNP_PL_STATE_PRIVATE;
		break;
	case SNP_PAGE_CONVERTING:
		state = SNP_PL_STATE_CONVERTING;
		break;
	default:
		state = SNP_PL_STATE_SHARED;
		break;
	}
	/*
	 * A converter that waits for the block pin of a pinned page has not
	 * marked the page yet, but its conversion is under way: QUERY says
	 * so, so that the holder finds the page to unpin. Under the xa_lock:
	 * the conversion notifier sets the mark with the xarray's non-atomic
	 * bitops under it, which a lockless read would race with.
	 */
	xa_lock(&pf->pins);
	if (xa_get_mark(&pf->pins, pfn, SNP_PL_WAITED))
		state = SNP_PL_STATE_CONVERTING;
	if (xa_load(&pf->pins, pfn))
		state |= SNP_PL_STATE_PINNED;
	xa_unlock(&pf->pins);
	return state;
}

/* The error a page in @state gives to PIN, or 0. */
static int snp_pl_state_error(u8 state)
{
	switch (state & ~SNP_PL_STATE_PINNED) {
	case SNP_PL_STATE_PRIVATE:
		return -EPERM;
	case SNP_PL_STATE_CONVERTING:
		return -EAGAIN;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------------
 * Pin tracking and accounting.
 */

/*
 * Charge @nr pinned pages to @mm, the caller's: the pages are its own, and
 * so is the RLIMIT_MEMLOCK that limits them.
 */
static int snp_pl_charge(struct mm_struct *mm, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned;

	/* As ib_umem_get(): always counted, limited without CAP_IPC_LOCK. */
	pinned = atomic64_add_return(nr, &mm->pinned_vm);
	if ((u64)pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(nr, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

static void snp_pl_uncharge(struct mm_struct *mm, unsigned long nr)
{
	atomic64_sub(nr, &mm->pinned_vm);
}

/* The pins of @mm through @pf; created (empty) if @create. */
static struct snp_pl_mm *snp_pl_find_mm(struct snp_pl_file *pf,
					struct mm_struct *mm, bool create)
{
	struct snp_pl_mm *pm;

	lockdep_assert_held(&pf->lock);
	list_for_each_entry(pm, &pf->mms, node)
		if (pm->mm == mm)
			return pm;
	if (!create)
		return NULL;
	pm = kzalloc(sizeof(*pm), GFP_KERNEL_ACCOUNT);
	if (!pm)
		return NULL;
	pm->mm = mm;
	mmgrab(mm);
	xa_init(&pm->addrs);
	list_add(&pm->node, &pf->mms);
	return pm;
}

/* Forget an mm that holds no pin through @pf any more. */
static void snp_pl_free_mm(struct snp_pl_mm *pm)
{
	WARN_ON_ONCE(pm->nr_pinned || !xa_empty(&pm->addrs));
	list_del(&pm->node);
	xa_destroy(&pm->addrs);
	mmdrop(pm->mm);
	kfree(pm);
}

/*
 * Record one pin of @pfn at user page number @upn of @pm. Replacing an
 * existing entry never allocates; a new one may fail with -ENOMEM.
 */
static int snp_pl_record(struct snp_pl_mm *pm, unsigned long upn,
			 unsigned long pfn)
{
	struct snp_pl_pin *head = xa_load(&pm->addrs, upn), *pin;
	int ret;

	if (head && head->pfn == pfn) {
		head->count++;
		return 0;
	}
	pin = kmalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -ENOMEM;
	pin->pfn = pfn;
	pin->count = 1;
	pin->older = head;
	ret = xa_err(xa_store(&pm->addrs, upn, pin, GFP_KERNEL_ACCOUNT));
	if (ret)
		kfree(pin);
	return ret;
}

/*
 * Take back the most recent pin recorded at @upn of @pm (there must be
 * one) and return its pfn. Never allocates, never fails.
 */
static unsigned long snp_pl_unrecord(struct snp_pl_mm *pm, unsigned long upn)
{
	struct snp_pl_pin *head = xa_load(&pm->addrs, upn);
	unsigned long pfn = head->pfn;

	if (--head->count)
		return pfn;
	/* Replacing or erasing an existing entry does not allocate. */
	xa_store(&pm->addrs, upn, head->older, GFP_NOWAIT);
	kfree(head);
	return pfn;
}

/*
 * Drop one count of @pfn from @pf->pins; erase the entry when it drops to
 * zero and @erase is set (else keep a zero-count entry for UNPIN's
 * two-pass scheme). Never allocates.
 */
static void snp_pl_put_pfn(struct snp_pl_file *pf, unsigned long pfn,
			   bool erase)
{
	bool woke = false;
	unsigned long count;
	void *entry;

	xa_lock(&pf->pins);
	entry = xa_load(&pf->pins, pfn);
	if (WARN_ON_ONCE(!entry))
		goto out;
	count = xa_to_value(entry);
	if (count > 1 || (count == 1 && !erase)) {
		/* Replaces an existing entry: no allocation, no failure. */
		__xa_store(&pf->pins, pfn, xa_mk_value(count - 1), GFP_NOWAIT);
		goto out;
	}
	woke = xa_get_mark(&pf->pins, pfn, SNP_PL_WAITED);
	__xa_erase(&pf->pins, pfn);
out:
	xa_unlock(&pf->pins);
	if (woke)
		wake_up_poll(&pf->poll_wait, EPOLLPRI);
}

/*
 * Add one count to @pfn in @pf->pins, creating the entry (which may need
 * @gfp) if there is none; replacing an existing entry never fails.
 */
static int snp_pl_get_pfn(struct snp_pl_file *pf, unsigned long pfn,
			  gfp_t gfp)
{
	void *entry;

	lockdep_assert_held(&pf->lock);
	entry = xa_load(&pf->pins, pfn);
	return xa_err(xa_store(&pf->pins, pfn,
			       xa_mk_value((entry ? xa_to_value(entry) : 0) + 1),
			       gfp));
}

/*
 * Record the pins of @pages, pinned at @addr by @pm's mm: by address in
 * @pm and by pfn in @pf->pins, all or nothing. Called before the shared
 * pins are taken, so that the conversion notifier never misses a pin of
 * this file.
 */
static int snp_pl_track(struct snp_pl_file *pf, struct snp_pl_mm *pm,
			unsigned long addr, struct page **pages,
			unsigned long nr)
{
	unsigned long upn = addr >> PAGE_SHIFT, i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = snp_pl_get_pfn(pf, page_to_pfn(pages[i]),
				     GFP_KERNEL_ACCOUNT);
		if (ret)
			goto undo;
		ret = snp_pl_record(pm, upn + i, page_to_pfn(pages[i]));
		if (ret) {
			snp_pl_put_pfn(pf, page_to_pfn(pages[i]), true);
			goto undo;
		}
		cond_resched();
	}
	return 0;

undo:
	while (i--) {
		snp_pl_unrecord(pm, upn + i);
		snp_pl_put_pfn(pf, page_to_pfn(pages[i]), true);
	}
	return ret;
}

/* Block pins @pf holds on block @blk. */
static unsigned long snp_pl_block_pins(struct snp_pl_file *pf,
				       unsigned long blk)
{
	void *entry = xa_load(&pf->blocks, blk);

	return entry ? xa_to_value(entry) : 0;
}

/* Count one more (@delta 1, may fail) or one less (-1, never fails). */
static int snp_pl_count_block_pin(struct snp_pl_file *pf, unsigned long blk,
				  int delta)
{
	unsigned long n = snp_pl_block_pins(pf, blk) + delta;

	if (!n) {
		xa_erase(&pf->blocks, blk);
		return 0;
	}
	return xa_err(xa_store(&pf->blocks, blk, xa_mk_value(n),
			       GFP_KERNEL_ACCOUNT));
}

/*
 * The pieces PIN pins @pages in: a naturally aligned 2 MiB block of
 * physically contiguous pages (a THP, hugetlb) that the range covers whole,
 * in order, is one block pin, which is one atomic instead of 512; any
 * other page is a 4 KiB pin. Returns the pages of the piece at @i.
 */
static unsigned long snp_pl_piece(struct page **pages, unsigned long i,
				  unsigned long nr)
{
	unsigned long pfn = page_to_pfn(pages[i]), k;

	if (!IS_ALIGNED(pfn, SNP_BLOCK_PAGES) || nr - i < SNP_BLOCK_PAGES)
		return 1;
	for (k = 1; k < SNP_BLOCK_PAGES; k++)
		if (page_to_pfn(pages[i + k]) != pfn + k)
			return 1;
	return SNP_BLOCK_PAGES;
}

/*
 * Drop one pin of a file on @pfn: the GUP pin and the shared pin. The GUP
 * pin goes first, so that a converter woken by the shared unpin does not
 * find the page DMA-pinned (which fails a conversion at once, G7); the
 * reference taken meanwhile keeps the page from being freed while it still
 * holds its shared pin, and is only a transient extra reference to the
 * converter, which waits for it.
 */
static void snp_pl_unpin_page(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);

	get_page(page);
	unpin_user_page(page);
	snp_unpin_shared(pfn, 1);
	put_page(page);
}

/*
 * Drop the pin of @pfn that was just unrecorded from an mm of @pf: count it
 * down in @pf->pins and drop it. If all the pins @pf holds on @pfn are
 * block pins, one of them is first traded for 4 KiB pins of its pages
 * (the others of the block stay pinned).
 */
static void snp_pl_drop_pin(struct snp_pl_file *pf, unsigned long pfn)
{
	unsigned long blk = pfn >> SNP_BLOCK_SHIFT;
	unsigned long bpins;
	void *entry;

	/* A file without block pins (4 KiB pages) looks nothing up. */
	bpins = xa_empty(&pf->blocks) ? 0 : snp_pl_block_pins(pf, blk);
	if (bpins) {
		entry = xa_load(&pf->pins, pfn);
		if (entry && xa_to_value(entry) <= bpins) {
			snp_split_block_pin(blk << SNP_BLOCK_SHIFT);
			snp_pl_count_block_pin(pf, blk, -1);
		}
	}
	snp_pl_put_pfn(pf, pfn, true);
	snp_pl_unpin_page(pfn);
}

/*
 * If the most recent pins at the @left (or more) user pages from @upn of
 * @pm are on the pages of one aligned block, in order, and @pf holds a
 * block pin on it, drop the 512 pins at once with that block pin (GUP pins
 * first, as snp_pl_unpin_page()). Returns whether it did.
 */
static bool snp_pl_unpin_block_at(struct snp_pl_file *pf,
				  struct snp_pl_mm *pm, unsigned long upn,
				  unsigned long left)
{
	struct snp_pl_pin *pin;
	unsigned long base, k;

	if (left < SNP_BLOCK_PAGES || xa_empty(&pf->blocks))
		return false;
	pin = xa_load(&pm->addrs, upn);
	if (!pin || !IS_ALIGNED(pin->pfn, SNP_BLOCK_PAGES))
		return false;
	base = pin->pfn;
	if (!snp_pl_block_pins(pf, base >> SNP_BLOCK_SHIFT))
		return false;
	for (k = 1; k < SNP_BLOCK_PAGES; k++) {
		pin = xa_load(&pm->addrs, upn + k);
		if (!pin || pin->pfn != base + k)
			return false;
	}

	for (k = 0; k < SNP_BLOCK_PAGES; k++) {
		snp_pl_unrecord(pm, upn + k);
		snp_pl_put_pfn(pf, base + k, true);
		get_page(pfn_to_page(base + k));
		unpin_user_page(pfn_to_page(base + k));
	}
	snp_unpin_shared(base, SNP_BLOCK_PAGES);
	snp_pl_count_block_pin(pf, base >> SNP_BLOCK_SHIFT, -1);
	for (k = 0; k < SNP_BLOCK_PAGES; k++)
		put_page(pfn_to_page(base + k));
	return true;
}

/* ------------------------------------------------------------------------
 * ioctls.
 */

/*
 * Turn a GUP failure on page @va into the ABI's error. A writable mapping
 * of an in-place owner (the test pool, guest_memfd) only fails GUP because
 * its fault handler refused a private page: -EPERM if the page is still
 * private, -EAGAIN if it is converting or already shared again (the caller
 * retries); then *@bad_pfn is that page.
 */
static int snp_pl_gup_error(struct snp_pl_file *pf, unsigned long va, int err,
			    unsigned long *bad_pfn)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long pfn;
	int ret = err;

	if (err != -EFAULT)
		return err;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, va);
	if (vma && (vma->vm_flags & VM_WRITE) &&
	    snp_user_owner_lookup(vma, va, &pfn) && pfn != SNP_USER_NO_PFN) {
		ret = snp_pl_state_error(snp_pl_state(pf, pfn)) ?: -EAGAIN;
		*bad_pfn = pfn;
		snp_user_put_pfn(pfn);
	}
	mmap_read_unlock(mm);
	return ret;
}

/* PIN: first the pages that are known not to be pinnable. */
static int snp_pl_pin_precheck(struct snp_pl_file *pf, unsigned long addr,
			       unsigned long nr, unsigned long *bad)
{
	unsigned long *pfns, i, done, n;
	int ret = 0;

	pfns = kmalloc_array(SNP_PL_QUERY_CHUNK, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	for (done = 0; done < nr && !ret; done += n) {
		n = min_t(unsigned long, nr - done, SNP_PL_QUERY_CHUNK);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = snp_pl_resolve(addr + done * PAGE_SIZE, n, pfns, bad);
		if (ret) {
			*bad += done;
			break;
		}
		for (i = 0; i < n; i++) {
			ret = snp_pl_state_error(snp_pl_state(pf, pfns[i]));
			if (ret) {
				/*
				 * Counted and traced as the layer's own
				 * refusals; the range is of user addresses,
				 * so the refused page stands for its start.
				 */
				snp_pin_failed(pfns[i], nr, pfns[i], ret);
				*bad = done + i;
				break;
			}
		}
		cond_resched();
	}
	kfree(pfns);
	return ret;
}

static int snp_pl_pin(struct snp_pl_ucmd *ucmd)
{
	struct snp_pl_range *cmd = ucmd->cmd;
	struct snp_pl_file *pf = ucmd->pf;
	struct mm_struct *mm = current->mm;
	unsigned long addr, nr, got = 0, i, k, n = 1, pfn;
	unsigned int retries = 0;
	struct snp_pl_mm *pm;
	struct page **pages;
	int ret, want;

	if (cmd->flags)
		return -EINVAL;
	ret = snp_pl_check_range(cmd->addr, cmd->len, &nr);
	if (ret)
		return ret;
	addr = cmd->addr;

	ret = snp_pl_charge(mm, nr);
	if (ret)
		return ret;

	pages = kvmalloc_array(nr, sizeof(*pages),
			       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages) {
		ret = -ENOMEM;
		goto out_uncharge;
	}

	ret = snp_pl_pin_precheck(pf, addr, nr, &ucmd->bad);
	if (ret)
		goto out_free;

	while (got < nr) {
		want = min_t(unsigned long, nr - got, INT_MAX);
		ret = pin_user_pages_fast(addr + got * PAGE_SIZE, want,
					  FOLL_WRITE | FOLL_LONGTERM,
					  pages + got);
		if (ret <= 0) {
			pfn = ULONG_MAX;
			ret = snp_pl_gup_error(pf, addr + got * PAGE_SIZE,
					       ret ?: -EFAULT, &pfn);
			/* A pool page that changed state under GUP. */
			if (ret == -EAGAIN && ++retries <= SNP_PL_GUP_RETRIES)
				continue;
			if (pfn != ULONG_MAX)	/* refused for its state */
				snp_pin_failed(pfn, nr, pfn, ret);
			ucmd->bad = got;
			goto out_unpin_user;
		}
		got += ret;
	}

	mutex_lock(&pf->lock);
	pm = snp_pl_find_mm(pf, mm, true);
	if (!pm) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	ret = snp_pl_track(pf, pm, addr, pages, nr);
	if (ret)
		goto out_free_mm;
	for (i = 0; i < nr; i += n) {
		n = snp_pl_piece(pages, i, nr);
		pfn = page_to_pfn(pages[i]);
		if (n > 1) {
			ret = snp_pl_count_block_pin(pf, pfn >> SNP_BLOCK_SHIFT,
						     1);
			if (ret)
				goto out_unpin_shared;
		}
		ret = snp_pin_shared(pfn, n);
		if (ret) {
			if (n > 1)
				snp_pl_count_block_pin(pf,
						       pfn >> SNP_BLOCK_SHIFT,
						       -1);
			goto out_unpin_shared;
		}
		cond_resched();
	}
	pm->nr_pinned += nr;
	mutex_unlock(&pf->lock);
	kvfree(pages);
	return 0;

out_unpin_shared:
	/* The page that refused, in a block that did (not for -ENOMEM). */
	ucmd->bad = ret == -ENOMEM ? ULONG_MAX : i;
	for (k = 0; ret != -ENOMEM && n > 1 && k < n; k++) {
		if (snp_page_state(page_to_pfn(pages[i + k])) !=
		    SNP_PAGE_SHARED) {
			ucmd->bad = i + k;
			break;
		}
	}
	/* The same pieces, up to the one that failed. */
	for (k = 0; k < i; k += n) {
		n = snp_pl_piece(pages, k, nr);
		pfn = page_to_pfn(pages[k]);
		snp_unpin_shared(pfn, n);
		if (n > 1)
			snp_pl_count_block_pin(pf, pfn >> SNP_BLOCK_SHIFT, -1);
	}
	for (i = 0; i < nr; i++) {
		snp_pl_unrecord(pm, (addr >> PAGE_SHIFT) + i);
		snp_pl_put_pfn(pf, page_to_pfn(pages[i]), true);
	}
out_free_mm:
	if (!pm->nr_pinned)
		snp_pl_free_mm(pm);
out_unlock:
	mutex_unlock(&pf->lock);
out_unpin_user:
	unpin_user_pages(pages, got);
out_free:
	kvfree(pages);
out_uncharge:
	snp_pl_uncharge(mm, nr);
	return ret;
}

/*
 * UNPIN of an address without a pin: -EFAULT if nothing is mapped there
 * (as for every ioctl of a range), -EINVAL if the page just holds no pin of
 * this file.
 */
static int snp_pl_unpinned_error(unsigned long addr)
{
	struct mm_struct *mm = current->mm;
	int ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = vma_lookup(mm, addr) ? -EINVAL : -EFAULT;
	mmap_read_unlock(mm);
	return ret;
}

/*
 * UNPIN goes by address: it drops what this mm pinned through this file at
 * each address of the range, whatever is mapped there now (the page may
 * have been zapped, unmapped or moved since), as iommufd unmaps by IOVA.
 */
static int snp_pl_unpin(struct snp_pl_ucmd *ucmd)
{
	struct snp_pl_range *cmd = ucmd->cmd;
	struct snp_pl_file *pf = ucmd->pf;
	unsigned long nr, i, n, upn;
	struct snp_pl_mm *pm;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = snp_pl_check_range(cmd->addr, cmd->len, &nr);
	if (ret)
		return ret;
	upn = cmd->addr >> PAGE_SHIFT;

	mutex_lock(&pf->lock);
	pm = snp_pl_find_mm(pf, current->mm, false);
	/* Pass 1: every address holds a pin; all or nothing. */
	for (i = 0; i < nr; i++) {
		if (!pm || !xa_load(&pm->addrs, upn + i)) {
			ucmd->bad = i;
			ret = snp_pl_unpinned_error(cmd->addr + i * PAGE_SIZE);
			goto out_unlock;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out_unlock;
		}
		cond_resched();
	}

	/* Pass 2: cannot fail. */
	for (i = 0; i < nr; i += n) {
		n = 1;
		if (snp_pl_unpin_block_at(pf, pm, upn + i, nr - i))
			n = SNP_BLOCK_PAGES;
		else
			snp_pl_drop_pin(pf, snp_pl_unrecord(pm, upn + i));
		cond_resched();
	}
	pm->nr_pinned -= nr;
	snp_pl_uncharge(pm->mm, nr);
	if (!pm->nr_pinned)
		snp_pl_free_mm(pm);
out_unlock:
	mutex_unlock(&pf->lock);
	return ret;
}

static int snp_pl_query(struct snp_pl_ucmd *ucmd)
{
	struct snp_pl_query *cmd = ucmd->cmd;
	struct snp_pl_file *pf = ucmd->pf;
	u8 __user *ustates = u64_to_user_ptr(cmd->states);
	unsigned long nr, done, n, i;
	unsigned long *pfns;
	u8 *states;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = snp_pl_check_range(cmd->addr, cmd->len, &nr);
	if (ret)
		return ret;

	pfns = kmalloc_array(SNP_PL_QUERY_CHUNK, sizeof(*pfns) + 1, GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	states = (u8 *)(pfns + SNP_PL_QUERY_CHUNK);

	for (done = 0; done < nr; done += n) {
		n = min_t(unsigned long, nr - done, SNP_PL_QUERY_CHUNK);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		mutex_lock(&pf->lock);
		ret = snp_pl_resolve(cmd->addr + done * PAGE_SIZE, n, pfns,
				     NULL);
		if (!ret) {
			for (i = 0; i < n; i++)
				states[i] = snp_pl_state(pf, pfns[i]);
		}
		mutex_unlock(&pf->lock);
		if (ret)
			break;
		if (copy_to_user(ustates + done, states, n)) {
			ret = -EFAULT;
			break;
		}
		cond_resched();
	}
	kfree(pfns);
	return ret;
}

#ifdef CONFIG_SNP_PAGE_LOCK_TEST
static int snp_pl_test_convert(struct snp_pl_ucmd *ucmd)
{
	struct snp_pl_convert *cmd = ucmd->cmd;
	unsigned long nr;
	int ret;

	if (cmd->flags & ~SNP_PL_CONVERT_NOWAIT)
		return -EINVAL;
	if (cmd->to != SNP_PL_STATE_SHARED && cmd->to != SNP_PL_STATE_PRIVATE)
		return -EINVAL;
	ret = snp_pl_check_range(cmd->addr, cmd->len, &nr);
	if (ret)
		return ret;

	return snp_pl_pool_convert(ucmd->pf->pool, ucmd->file, cmd->addr, nr,
				   cmd->to == SNP_PL_STATE_PRIVATE ?
				   SNP_PAGE_PRIVATE : SNP_PAGE_SHARED,
				   cmd->flags & SNP_PL_CONVERT_NOWAIT ?
				   SNP_CONVERT_NOWAIT : 0,
				   cmd->timeout_ms, &ucmd->bad);
}
#endif

/**
 * struct snp_pl_ioctl_op - one entry of the ioctl dispatch table
 * @size: size of the kernel's structure
 * @min_size: size of the first version of the structure
 * @error_offset: offset of the structure's error_offset member, or 0 if it
 *		  has none (offset 0 is always @size)
 * @ioctl_num: the ioctl number
 * @admin: needs CAP_SYS_ADMIN (checked before anything else)
 * @execute: the handler; sets ucmd->bad on a failure caused by one page
 */
struct snp_pl_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int error_offset;
	unsigned int ioctl_num;
	bool admin;
	int (*execute)(struct snp_pl_ucmd *ucmd);
};

union snp_pl_ucmd_buffer {
	struct snp_pl_range range;
	struct snp_pl_query query;
	struct snp_pl_convert convert;
};

/*
 * @_eoff: offsetof() the structure's error_offset, or 0 if it has none. It
 * is in the first version (@_last), which every accepted user_size covers.
 */
#define SNP_PL_IOCTL_OP(_ioctl, _fn, _struct, _last, _eoff, _admin)	\
	{								\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union snp_pl_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.error_offset = _eoff,					\
		.ioctl_num = _ioctl,					\
		.admin = _admin,					\
		.execute = _fn,						\
	}

static const struct snp_pl_ioctl_op snp_pl_ioctl_ops[] = {
	SNP_PL_IOCTL_OP(SNP_PL_IOC_PIN, snp_pl_pin, struct snp_pl_range,
			error_offset,
			offsetof(struct snp_pl_range, error_offset), false),
	SNP_PL_IOCTL_OP(SNP_PL_IOC_UNPIN, snp_pl_unpin, struct snp_pl_range,
			error_offset,
			offsetof(struct snp_pl_range, error_offset), false),
	SNP_PL_IOCTL_OP(SNP_PL_IOC_QUERY, snp_pl_query, struct snp_pl_query,
			states, 0, false),
#ifdef CONFIG_SNP_PAGE_LOCK_TEST
	SNP_PL_IOCTL_OP(SNP_PL_IOC_TEST_CONVERT, snp_pl_test_convert,
			struct snp_pl_convert, error_offset,
			offsetof(struct snp_pl_convert, error_offset), true),
#endif
};

/*
 * Write the offset (bytes) of the page that caused the failure of @op to
 * the user's error_offset; left unchanged when no single page did. If the
 * structure has become unwritable, the ioctl still returns its own error.
 */
static void snp_pl_report(const struct snp_pl_ioctl_op *op,
			  const struct snp_pl_ucmd *ucmd)
{
	u64 __user *uoff = ucmd->ubuffer + op->error_offset;

	if (!op->error_offset || ucmd->bad == ULONG_MAX)
		return;
	if (put_user((u64)ucmd->bad << PAGE_SHIFT, uoff))
		pr_debug("cannot write error_offset\n");
}

static long snp_pl_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	const struct snp_pl_ioctl_op *op = NULL;
	struct snp_pl_ucmd ucmd = {
		.pf = file->private_data,
		.file = file,
		.ubuffer = (void __user *)arg,
		.bad = ULONG_MAX,
	};
	union snp_pl_ucmd_buffer buf;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(snp_pl_ioctl_ops); i++) {
		if (snp_pl_ioctl_ops[i].ioctl_num == cmd) {
			op = &snp_pl_ioctl_ops[i];
			break;
		}
	}
	if (!op)
		return -ENOIOCTLCMD;
	if (op->admin && !capable(CAP_SYS_ADMIN))
		return -EPERM;

	ret = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (ret)
		return ret;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(&buf, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	ucmd.cmd = &buf;
	ret = op->execute(&ucmd);
	if (ret)
		snp_pl_report(op, &ucmd);
	return ret;
}

/* ------------------------------------------------------------------------
 * poll() and the conversion notifier.
 */

static __poll_t snp_pl_poll(struct file *file, poll_table *wait)
{
	struct snp_pl_file *pf = file->private_data;
	__poll_t mask;

	poll_wait(file, &pf->poll_wait, wait);
	xa_lock(&pf->pins);
	mask = xa_marked(&pf->pins, SNP_PL_WAITED) ? EPOLLPRI : 0;
	xa_unlock(&pf->pins);
	return mask;
}

/*
 * A converter starts or stops waiting for the pins of a pfn: raise or clear
 * EPOLLPRI on every file that pins it. While the pfn is converting no new
 * pin can be taken, so no file can start pinning it between the two events;
 * a file that drops its last pin on it clears its own mark. While the
 * converter waits for the pins of the pfn's 2 MiB block, before it marks
 * the pfn, a file may still take a 4 KiB pin of it: the converter finds
 * that pin when it marks the pfn and raises the event again.
 */
static int snp_pl_convert_event(struct notifier_block *nb,
				unsigned long event, void *data)
{
	struct snp_convert_wait_info *info = data;
	struct snp_pl_file *pf;
	bool marked, changed;

	spin_lock(&snp_pl_files_lock);
	list_for_each_entry(pf, &snp_pl_files, node) {
		changed = false;
		xa_lock(&pf->pins);
		if (xa_load(&pf->pins, info->pfn)) {
			marked = xa_get_mark(&pf->pins, info->pfn,
					     SNP_PL_WAITED);
			if (event == SNP_CONVERT_WAIT_START && !marked) {
				__xa_set_mark(&pf->pins, info->pfn,
					      SNP_PL_WAITED);
				changed = true;
			} else if (event == SNP_CONVERT_WAIT_END && marked) {
				__xa_clear_mark(&pf->pins, info->pfn,
						SNP_PL_WAITED);
				changed = true;
			}
		}
		xa_unlock(&pf->pins);
		if (changed)
			wake_up_poll(&pf->poll_wait, EPOLLPRI);
	}
	spin_unlock(&snp_pl_files_lock);
	return NOTIFY_OK;
}

static struct notifier_block snp_pl_convert_nb = {
	.notifier_call = snp_pl_convert_event,
};

/* ------------------------------------------------------------------------
 * File operations.
 */

static int snp_pl_open(struct inode *inode, struct file *file)
{
	struct snp_pl_file *pf;
	int ret;

	if (!current->mm)
		return -EINVAL;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL_ACCOUNT);
	if (!pf)
		return -ENOMEM;
	xa_init(&pf->pins);
	xa_init(&pf->blocks);
	mutex_init(&pf->lock);
	INIT_LIST_HEAD(&pf->mms);
	init_waitqueue_head(&pf->poll_wait);

	/* NULL without CONFIG_SNP_PAGE_LOCK_TEST. */
	pf->pool = snp_pl_pool_create(file);
	if (IS_ERR(pf->pool)) {
		ret = PTR_ERR(pf->pool);
		goto out_free;
	}

	file->private_data = pf;
	spin_lock(&snp_pl_files_lock);
	list_add(&pf->node, &snp_pl_files);
	spin_unlock(&snp_pl_files_lock);
	return 0;

out_free:
	kfree(pf);
	return ret;
}

/* The last close: drop every pin of the file, then its test pool. */
static int snp_pl_release(struct inode *inode, struct file *file)
{
	struct snp_pl_file *pf = file->private_data;
	struct snp_pl_mm *pm, *tmp;
	struct snp_pl_pin *pin;
	unsigned long upn;

	spin_lock(&snp_pl_files_lock);
	list_del(&pf->node);
	spin_unlock(&snp_pl_files_lock);

	/* Each pin is returned to the mm it was charged to. */
	list_for_each_entry_safe(pm, tmp, &pf->mms, node) {
		xa_for_each(&pm->addrs, upn, pin) {
			while (xa_load(&pm->addrs, upn)) {
				if (!snp_pl_unpin_block_at(pf, pm, upn,
							   ULONG_MAX))
					snp_pl_drop_pin(pf,
							snp_pl_unrecord(pm, upn));
			}
			cond_resched();
		}
		snp_pl_uncharge(pm->mm, pm->nr_pinned);
		pm->nr_pinned = 0;
		snp_pl_free_mm(pm);
	}
	WARN_ON_ONCE(!xa_empty(&pf->pins) || !xa_empty(&pf->blocks));
	xa_destroy(&pf->pins);
	xa_destroy(&pf->blocks);

	snp_pl_pool_destroy(pf->pool, file);
	mutex_destroy(&pf->lock);
	kfree(pf);
	return 0;
}

static int snp_pl_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct snp_pl_file *pf = file->private_data;

	return snp_pl_pool_mmap(pf->pool, vma);
}

static const struct file_operations snp_pl_fops = {
	.owner = THIS_MODULE,
	.open = snp_pl_open,
	.release = snp_pl_release,
	.unlocked_ioctl = snp_pl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = snp_pl_poll,
	.mmap = snp_pl_mmap,
};

static struct miscdevice snp_pl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "snp_page_lock",
	.fops = &snp_pl_fops,
	.mode = 0660,
};

static int __init snp_pl_dev_init(void)
{
	int ret;

	/* No layer, no device: nothing a VMM could pin or learn. */
	if (!snp_page_lock_is_enabled())
		return 0;

	ret = snp_convert_notifier_register(&snp_pl_convert_nb);
	if (ret)
		return ret;
	ret = misc_register(&snp_pl_misc);
	if (ret)
		goto out_unregister;
	return 0;

out_unregister:
	snp_convert_notifier_unregister(&snp_pl_convert_nb);
	return ret;
}
device_initcall(snp_pl_dev_init);
