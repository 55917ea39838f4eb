/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snp_page_lock: keep host mappings of guest pages and page state
 * conversions (shared <-> private) apart.
 *
 * See Documentation/mm/snp_page_lock.rst.
 */
#ifndef _LINUX_SNP_PAGE_LOCK_H
#define _LINUX_SNP_PAGE_LOCK_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/jump_label.h>
#include <linux/list.h>
#include <linux/snp_page_lock_fast.h>
#include <linux/snp_page_lock_types.h>
#include <linux/types.h>

struct file;
struct page;
struct snp_convert_owner;
struct snp_user_owner;
struct vm_area_struct;

/**
 * enum snp_page_state - ownership state of a 4 KiB page
 * @SNP_PAGE_SHARED: owned by the host; may be mapped and pinned.
 * @SNP_PAGE_PRIVATE: assigned to a guest; the host must not map it.
 * @SNP_PAGE_CONVERTING: a conversion is in progress; new pins fail.
 */
enum snp_page_state {
	SNP_PAGE_SHARED,
	SNP_PAGE_PRIVATE,
	SNP_PAGE_CONVERTING,
};

/* Fail a conversion with -EBUSY instead of waiting for pins to drain. */
#define SNP_CONVERT_NOWAIT	0x1

/**
 * snp_revocable_pin_init() - set up a revocable pin, not pinning anything
 * @rp: the pin
 * @revoke: its revoke callback
 */
static inline void snp_revocable_pin_init(struct snp_revocable_pin *rp,
					  void (*revoke)(struct snp_revocable_pin *rp))
{
	rp->pfn = ULONG_MAX;
	rp->revoke = revoke;
	INIT_HLIST_NODE(&rp->node);
}

#ifdef CONFIG_SNP_PAGE_LOCK

DECLARE_STATIC_KEY_FALSE(snp_page_lock_enabled);

int __snp_pin_shared(unsigned long pfn, unsigned long nr_pages);
void __snp_unpin_shared(unsigned long pfn, unsigned long nr_pages);
void *__snp_kmap_local_pfn(unsigned long pfn);
void __snp_kunmap_local(const void *addr, unsigned long pfn);
bool __snp_page_lock_free_prepare(struct page *page, unsigned int order);

#if SNP_PIN_INLINE
/* The single-page kmap of kernels without lockdep. */
static __always_inline void *snp_kmap_local_pfn_inline(unsigned long pfn)
{
	int ret = snp_pin_page_inline(pfn);

	if (unlikely(ret))
		return ERR_PTR(ret);
	return kmap_local_pfn(pfn);
}
#endif

/**
 * snp_page_lock_is_enabled() - is the page lock layer on in this boot?
 *
 * The answer is fixed at boot (``snp_page_lock=on|off``, the Kconfig default,
 * or an SNP host) and never changes while the system runs.
 *
 * Return: true if pins are counted and conversions are possible.
 */
static __always_inline bool snp_page_lock_is_enabled(void)
{
	return static_branch_unlikely(&snp_page_lock_enabled);
}

/**
 * snp_pin_shared() - take a shared pin on a range of pages (post_map)
 * @pfn: first page frame number
 * @nr_pages: number of pages, at least one
 *
 * Take one shared pin on each page of [@pfn, @pfn + @nr_pages). While a page
 * holds a pin it never becomes private: a conversion to private waits for
 * (or fails on) the pins. Pins are counted, not owned; they are not page
 * references, so the caller must hold a reference on each page until it has
 * dropped its pins with snp_unpin_shared(). A pfn of no memory online (e.g.
 * MMIO) is always shared: the pin succeeds and counts nothing.
 *
 * Lock-free: one atomic_fetch_add() on the block word of each naturally
 * aligned 2 MiB block the range covers whole (a block pin, see
 * <linux/snp_page_lock_fast.h>) and one on the state word of each other
 * page; a single page (@nr_pages a constant 1) is pinned inline in kernels
 * without lockdep. May be called in any context but NMI. The range is
 * all-or-nothing: on error no pin has been taken.
 *
 * Return: 0 on success (also when the layer is off), -EPERM if a page is
 * private, -EAGAIN if a page is converting, -EOVERFLOW if a page's pin
 * count is saturated, -EINVAL if @nr_pages is 0 or the range wraps.
 */
static __always_inline int snp_pin_shared(unsigned long pfn,
					  unsigned long nr_pages)
{
	if (!snp_page_lock_is_enabled())
		return 0;
#if SNP_PIN_INLINE
	if (__builtin_constant_p(nr_pages) && nr_pages == 1)
		return snp_pin_page_inline(pfn);
#endif
	return __snp_pin_shared(pfn, nr_pages);
}

/**
 * snp_unpin_shared() - drop the shared pins taken by snp_pin_shared()
 * @pfn: first page frame number
 * @nr_pages: number of pages
 *
 * Drop one shared pin on each page of the range. Dropping the last pin of a
 * page that a converter waits on wakes the converter. Dropping a pin that
 * was never taken is a caller bug: it warns once and leaves the page alone.
 * Pins are dropped by the ranges they were taken with (or, after an
 * error, never): a range that covers a whole aligned 2 MiB block is one
 * block pin, which the unpin of the same range drops, and which unpins of
 * its pages one by one would not. May be called in any context.
 */
static __always_inline void snp_unpin_shared(unsigned long pfn,
					     unsigned long nr_pages)
{
	if (!snp_page_lock_is_enabled())
		return;
#if SNP_PIN_INLINE
	if (__builtin_constant_p(nr_pages) && nr_pages == 1) {
		snp_unpin_page_inline(pfn);
		return;
	}
#endif
	__snp_unpin_shared(pfn, nr_pages);
}

/**
 * snp_kmap_local_pfn() - pin a page shared and map it with kmap_local_pfn()
 * @pfn: page frame number
 *
 * The short-term mapping helper: the page is pinned for as long as it is
 * mapped, and lockdep treats the section up to snp_kunmap_local() as a read
 * side of the pin "lock" (a conversion inside it is reported). The usual
 * kmap_local rules apply (strictly nested, same task, no migration).
 *
 * Return: the mapping, or ERR_PTR() with -EPERM (private), -EAGAIN
 * (converting) or -EOVERFLOW (pin count saturated). Never a mapping of a
 * private or converting page.
 */
static __always_inline void *snp_kmap_local_pfn(unsigned long pfn)
{
	if (!snp_page_lock_is_enabled())
		return kmap_local_pfn(pfn);
#if SNP_PIN_INLINE
	return snp_kmap_local_pfn_inline(pfn);
#else
	return __snp_kmap_local_pfn(pfn);
#endif
}

/**
 * snp_kunmap_local() - undo snp_kmap_local_pfn()
 * @addr: the address returned by snp_kmap_local_pfn()
 * @pfn: the pfn passed to snp_kmap_local_pfn()
 *
 * Unmap the page and drop its shared pin.
 */
static __always_inline void snp_kunmap_local(const void *addr,
					     unsigned long pfn)
{
	if (!snp_page_lock_is_enabled()) {
		kunmap_local(addr);
		return;
	}
#if SNP_PIN_INLINE
	kunmap_local(addr);
	snp_unpin_page_inline(pfn);
#else
	__snp_kunmap_local(addr, pfn);
#endif
}

/**
 * snp_page_lock_free_prepare() - check pages on their way to the allocator
 * @page: first page of the block being freed
 * @order: order of the block
 *
 * Called from free_pages_prepare(). A private or converting page must never
 * be handed out again: the whole block is leaked and counted (G4).
 *
 * Return: true if the block may be freed, false if it is leaked.
 */
static __always_inline bool snp_page_lock_free_prepare(struct page *page,
						       unsigned int order)
{
	if (!snp_page_lock_is_enabled())
		return true;
	return __snp_page_lock_free_prepare(page, order);
}

/**
 * snp_make_private() - convert a range of pages to private
 * @pfn: first page frame number
 * @nr_pages: number of pages, at least one
 * @flags: 0 or %SNP_CONVERT_NOWAIT
 *
 * Mark every page converting (new pins fail with -EAGAIN), wait for the
 * existing pins to drain (killable, bounded by the module parameter
 * ``snp_page_lock.convert_timeout_ms``) unless %SNP_CONVERT_NOWAIT is set,
 * then make the pages private in the backend. All-or-nothing: on error every
 * page is back in its old state. Must not be called while holding a pin
 * (lockdep reports it: the wait could never end). Sleeps.
 *
 * Return: 0 on success, -EINVAL on a bad range or flags, a page without
 * a state word or a page that is not shared, -EAGAIN if a page is already
 * converting, -EBUSY if pins did not drain (%SNP_CONVERT_NOWAIT or
 * timeout), -EINTR on a fatal signal while waiting, -EOPNOTSUPP if the
 * layer is off, or the backend's error.
 */
int snp_make_private(unsigned long pfn, unsigned long nr_pages,
		     unsigned int flags);

/**
 * snp_make_shared() - convert a range of private pages back to shared
 * @pfn: first page frame number
 * @nr_pages: number of pages, at least one
 * @flags: 0 or %SNP_CONVERT_NOWAIT (private pages hold no pins, so this
 *	   conversion never waits)
 *
 * All-or-nothing, like snp_make_private(). Sleeps.
 *
 * Return: 0 on success, -EINVAL on a bad range or flags or a page that is
 * not private, -EAGAIN if a page is converting, -EOPNOTSUPP if the layer
 * is off, or the backend's error.
 */
int snp_make_shared(unsigned long pfn, unsigned long nr_pages,
		    unsigned int flags);

/**
 * struct snp_convert_owner - the owner of the pages of a conversion (G7)
 * @unmap: remove every user mapping of the pages of the conversion, so that
 *	   no new reference can be taken through one. Called during a
 *	   conversion to private, after the pins have drained and before the
 *	   page references are checked; may sleep. NULL: the pages have no
 *	   user mapping.
 * @refs: the references the owner itself holds on each folio of the set
 *	  once it is unmapped (its allocation's, the page cache's, its own
 *	  lookup's). A folio holding more is referenced by someone else (a
 *	  GUP user, a pipe, an in-flight I/O): the conversion waits for those
 *	  references or fails, it never makes the page private under one.
 *	  Negative: memory the host never maps through user mappings, whose
 *	  references are all the owner's (snp_convert_external()).
 *
 * A conversion without an owner behaves as if its owner held one reference
 * on each folio and had no user mapping of it: a page its caller
 * allocated and has not given to anybody.
 */
struct snp_convert_owner {
	void (*unmap)(const struct snp_convert_owner *owner);
	int refs;
};

/**
 * snp_convert_begin_pfns() - phase one of a conversion of an owner's pages
 * @pfns: the pages, distinct page frame numbers
 * @nr: number of entries in @pfns
 * @to: %SNP_PAGE_PRIVATE or %SNP_PAGE_SHARED
 * @flags: 0 or %SNP_CONVERT_NOWAIT
 * @timeout_ms: how long to wait for pins and references in total; 0: the
 *		module parameter ``snp_page_lock.convert_timeout_ms``
 * @owner: the owner of the pages (its user mappings and its references),
 *	   or NULL for pages as snp_make_private() expects them
 * @bad_idx: if not NULL, receives the index in @pfns of the failing page
 *
 * For owners of guest memory that convert pages in place (the test pool,
 * guest_memfd): every page is marked CONVERTING before the first wait, so
 * no page of the set can gain a pin while the converter waits for another;
 * every holder of a pin on a page of the set is notified before the first
 * wait, and revocable pins are revoked. To private, once the pins have
 * drained, @owner->unmap removes the pages from user mappings and each
 * folio must then hold no more than @owner->refs references (G7): extra
 * ones are waited for within the same timeout, or fail the conversion
 * with %SNP_CONVERT_NOWAIT; a DMA-pinned folio fails it at once. On
 * success every page is CONVERTING, unpinned and unreferenced, and the
 * caller finishes with snp_convert_end_pfns(); on error nothing changed.
 * Sleeps.
 *
 * Return: 0, -EINVAL (bad arguments, a page without a state word or not in the
 * opposite state of @to), -EAGAIN (a page is converting), -EBUSY (pins or
 * references did not drain: NOWAIT or timeout; or a page is DMA-pinned),
 * -EINTR (fatal signal), -EOPNOTSUPP (layer off).
 */
int snp_convert_begin_pfns(const unsigned long *pfns, unsigned long nr,
			   enum snp_page_state to, unsigned int flags,
			   unsigned int timeout_ms,
			   const struct snp_convert_owner *owner,
			   unsigned long *bad_idx);

/**
 * snp_convert_end_pfns() - phase two of a conversion of an owner's pages
 * @pfns: as passed to snp_convert_begin_pfns()
 * @nr: as passed to snp_convert_begin_pfns()
 * @to: as passed to snp_convert_begin_pfns()
 * @commit: true to convert the pages in the backend and commit, false to
 *	    abort (restore the state the pages had before begin)
 *
 * If the backend fails on a page, the pages it already converted are
 * converted back and the whole set is aborted; a page it cannot convert
 * back keeps its new state, reported and counted (``rollback_failures``).
 *
 * Return: 0, the backend's error, or -EINVAL on bad arguments.
 */
int snp_convert_end_pfns(const unsigned long *pfns, unsigned long nr,
			 enum snp_page_state to, bool commit);

/**
 * snp_convert_external() - convert pages whose hardware state the caller sets
 * @pfn: first page frame number
 * @nr_pages: number of pages, at least one
 * @to: %SNP_PAGE_PRIVATE or %SNP_PAGE_SHARED
 * @flags: 0 or %SNP_CONVERT_NOWAIT
 * @update: makes the change in hardware for the whole range (an RMPUPDATE
 *	    with the guest's ASID and GPA, which the layer's backend does not
 *	    know); on error it must leave every page as it was
 * @arg: passed to @update
 *
 * As snp_make_private() / snp_make_shared() (pages marked converting, pins
 * waited for or failed on), with @update in place of the layer's backend.
 * For memory the host never maps through user mappings (guest_memfd
 * without mmap, VMSA pages): no reference check is made. Sleeps.
 *
 * Return: 0, the errors of snp_make_private(), or @update's error (then
 * nothing changed).
 */
int snp_convert_external(unsigned long pfn, unsigned long nr_pages,
			 enum snp_page_state to, unsigned int flags,
			 int (*update)(unsigned long pfn,
				       unsigned long nr_pages, void *arg),
			 void *arg);

/**
 * snp_page_state() - current state of a page
 * @pfn: page frame number
 *
 * A snapshot: it may change as soon as it is returned unless the caller
 * holds a pin (then it stays %SNP_PAGE_SHARED) or owns the conversion.
 *
 * Return: the page's state; %SNP_PAGE_SHARED for a pfn without a state word
 * or when the layer is off.
 */
enum snp_page_state snp_page_state(unsigned long pfn);

/**
 * snp_page_pins() - number of shared pins a page holds
 * @pfn: page frame number
 *
 * Return: the pin count (a snapshot), the pins of its 2 MiB block
 * included; 0 for a pfn without a state word or when the layer is off.
 */
unsigned int snp_page_pins(unsigned long pfn);

/**
 * snp_pin_shared_revocable() - take a shared pin its holder gives up on demand
 * @rp: the pin, set up with snp_revocable_pin_init(), pinning nothing
 * @pfn: the page
 *
 * For holders that keep a page mapped indefinitely and can stop using it
 * at any time, as a gfn_to_pfn_cache can (it is invalidated the way an
 * mmu_notifier invalidation does it, and refreshed later): a converter
 * that finds such a pin on a page it converts to private does not wait for
 * the holder to drop it on its own, it calls @rp->revoke. The pin is
 * otherwise an ordinary shared pin (the same errors, the same rules: the
 * holder must also hold a page reference, or be told before the page can
 * be freed).
 *
 * The revoke callback runs in the converter's process context, with IRQs
 * enabled, inside an RCU read-side critical section: it must not sleep
 * (lockdep and CONFIG_DEBUG_ATOMIC_SLEEP report it if it does). It must
 * make the holder stop using the page and drop the pin with
 * snp_unpin_shared_revocable(), under the holder's own lock; it may take
 * spinlocks and rwlocks, but none that is held by a task waiting for a
 * conversion to end (a fault on a converting page): lockdep knows
 * conversions as the "snp_conversion" map and reports such a lock. It may
 * be called for a pin that the holder is dropping concurrently, and must
 * then do nothing.
 *
 * Return: 0, or the errors of snp_pin_shared() (-EPERM, -EAGAIN,
 * -EOVERFLOW); -EINVAL if @rp already pins a page. 0 and nothing pinned
 * when the layer is off.
 */
int snp_pin_shared_revocable(struct snp_revocable_pin *rp, unsigned long pfn);

/**
 * snp_unpin_shared_revocable() - drop a revocable pin
 * @rp: the pin; nothing happens if it pins nothing
 *
 * Any context but NMI.
 */
void snp_unpin_shared_revocable(struct snp_revocable_pin *rp);

/**
 * snp_revocable_pin_destroy() - before the memory of a revocable pin goes
 * @rp: the pin, pinning nothing
 *
 * Waits until no converter can still be calling @rp->revoke. Sleeps (an
 * RCU grace period) if @rp was ever pinned.
 */
void snp_revocable_pin_destroy(struct snp_revocable_pin *rp);

/**
 * snp_wait_conversion_annotate() - tell lockdep a task waits for a conversion
 *
 * Called by code about to wait until a converting page is converted (a
 * fault handler of guest memory), with the locks it will hold while
 * waiting: a revoke callback must not take any of them.
 */
void snp_wait_conversion_annotate(void);

/**
 * struct snp_user_owner - an owner of user-mapped guest memory whose pages
 *	change state in place (the /dev/snp_page_lock test pool,
 *	guest_memfd)
 * @vm_ops: the vm_operations of its mappings: how its VMAs are known
 * @page: the page at file page offset @index of @file, if one is allocated
 *	  (sets *@pfn and takes a reference on the page for the caller,
 *	  who drops it with put_page()); must not fault anything in or
 *	  sleep long
 * @convert: convert the pages [@index, @index + @nr) of @file in place
 *	     (%SNP_PAGE_PRIVATE or %SNP_PAGE_SHARED, flags 0 or
 *	     %SNP_CONVERT_NOWAIT), as its own interface would; may sleep
 * @node: in the layer's list of owners (the layer's)
 *
 * A private page has no user mapping: the owner is how the VMM ABI (PIN,
 * QUERY) and KVM (snp_user_*()) find it behind a user address.
 */
struct snp_user_owner {
	const struct vm_operations_struct *vm_ops;
	bool (*page)(struct file *file, pgoff_t index, unsigned long *pfn);
	int (*convert)(struct file *file, pgoff_t index, unsigned long nr,
		       enum snp_page_state to, unsigned int flags);
	struct list_head node;
};

/**
 * snp_user_owner_register() - make an owner's mappings known to the layer
 * @owner: the owner; stays registered until snp_user_owner_unregister()
 */
void snp_user_owner_register(struct snp_user_owner *owner);

/**
 * snp_user_owner_unregister() - undo snp_user_owner_register()
 * @owner: the owner; sleeps (an RCU grace period)
 */
void snp_user_owner_unregister(struct snp_user_owner *owner);

/**
 * snp_user_page_state() - state of the page behind a user address
 * @addr: a user address of current->mm
 *
 * For a caller whose access to guest memory through a user address (a KVM
 * memslot's hva) failed: was it because the page is private or converting?
 * The page is looked up without faulting anything in: by its in-place
 * owner if it has one, else in the page tables.
 * Takes the mmap lock for read: the caller must not hold it.
 *
 * Return: the page's state; %SNP_PAGE_SHARED when nothing is mapped there
 * or the layer is off.
 */
enum snp_page_state snp_user_page_state(unsigned long addr);

/**
 * snp_user_in_place() - is a user address memory that converts in place?
 * @addr: a user address of current->mm
 *
 * True for the mappings of owners whose pages change state in place
 * (struct snp_user_owner): a failed access there may be a page that was
 * private or converting at the time and is shared again now.
 * Takes the mmap lock for read.
 *
 * Return: true if such an owner maps @addr.
 */
bool snp_user_in_place(unsigned long addr);

/**
 * snp_user_convert() - convert the guest pages behind user addresses in place
 * @addr: page aligned user address of current->mm
 * @nr_pages: number of pages
 * @to: %SNP_PAGE_PRIVATE or %SNP_PAGE_SHARED
 * @flags: 0 or %SNP_CONVERT_NOWAIT
 *
 * Converts the pages as their owner does (removing them from user
 * mappings, waiting for pins and references within the layer's timeout;
 * see snp_make_private()). Only in-place owners (struct snp_user_owner)
 * can; the range must be within one of their VMAs. Sleeps; takes the mmap
 * lock.
 *
 * Return: 0, -EOPNOTSUPP (no such owner at @addr, or the layer is off),
 * or the errors of snp_make_private() and snp_make_shared().
 */
int snp_user_convert(unsigned long addr, unsigned long nr_pages,
		     enum snp_page_state to, unsigned int flags);

/**
 * snp_user_private_pfn() - the private page behind a user address
 * @addr: a user address of current->mm
 * @pfn: set to the page's pfn
 *
 * A private page has no user mapping; its owner still knows it. For KVM,
 * which maps it into the guest in place of a guest_memfd page.
 *
 * Return: 0 with a page reference taken, -EINVAL if the page is not
 * private, -ENOENT if no owner of in-place guest memory maps @addr,
 * -EOPNOTSUPP if the layer is off.
 */
int snp_user_private_pfn(unsigned long addr, unsigned long *pfn);

#else /* !CONFIG_SNP_PAGE_LOCK */

static __always_inline bool snp_page_lock_is_enabled(void)
{
	return false;
}

static __always_inline int snp_pin_shared(unsigned long pfn,
					  unsigned long nr_pages)
{
	return 0;
}

static __always_inline void snp_unpin_shared(unsigned long pfn,
					     unsigned long nr_pages)
{
}

static __always_inline void *snp_kmap_local_pfn(unsigned long pfn)
{
	return kmap_local_pfn(pfn);
}

static __always_inline void snp_kunmap_local(const void *addr,
					     unsigned long pfn)
{
	kunmap_local(addr);
}

static __always_inline bool snp_page_lock_free_prepare(struct page *page,
						       unsigned int order)
{
	return true;
}

static inline int snp_make_private(unsigned long pfn, unsigned long nr_pages,
				   unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline int snp_make_shared(unsigned long pfn, unsigned long nr_pages,
				  unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline int snp_convert_external(unsigned long pfn,
				       unsigned long nr_pages,
				       enum snp_page_state to,
				       unsigned int flags,
				       int (*update)(unsigned long pfn,
						     unsigned long nr_pages,
						     void *arg),
				       void *arg)
{
	return -EOPNOTSUPP;
}

static inline enum snp_page_state snp_page_state(unsigned long pfn)
{
	return SNP_PAGE_SHARED;
}

static inline unsigned int snp_page_pins(unsigned long pfn)
{
	return 0;
}

static inline int snp_pin_shared_revocable(struct snp_revocable_pin *rp,
					   unsigned long pfn)
{
	return 0;
}

static inline void snp_unpin_shared_revocable(struct snp_revocable_pin *rp)
{
}

static inline void snp_revocable_pin_destroy(struct snp_revocable_pin *rp)
{
}

static inline void snp_wait_conversion_annotate(void)
{
}

static inline enum snp_page_state snp_user_page_state(unsigned long addr)
{
	return SNP_PAGE_SHARED;
}

static inline bool snp_user_in_place(unsigned long addr)
{
	return false;
}

static inline int snp_user_convert(unsigned long addr, unsigned long nr_pages,
				   enum snp_page_state to, unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline int snp_user_private_pfn(unsigned long addr, unsigned long *pfn)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_SNP_PAGE_LOCK */

#endif /* _LINUX_SNP_PAGE_LOCK_H */
