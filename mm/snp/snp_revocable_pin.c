// SPDX-License-Identifier: GPL-2.0
/*
 * Revocable shared pins: long-lived pins whose holder gives them up when a
 * converter needs the page, instead of making the converter wait until its
 * timeout. A gfn_to_pfn_cache holds one for as long as it maps a page; a
 * conversion to private invalidates it the way an mmu_notifier
 * invalidation does, and its next refresh fails on the private page.
 *
 * The pins live in a hash table keyed by pfn. Writers (pin, unpin) take
 * snp_rpins_lock; a converter walks a bucket under RCU and calls the
 * revoke callbacks there, so a callback never runs under the table's lock
 * (it takes the holder's lock, under which the holder pins) and a holder
 * frees its pin only after a grace period (snp_revocable_pin_destroy()).
 */

#define pr_fmt(fmt) "snp_page_lock: " fmt

#include <linux/hashtable.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/snp_page_lock.h>
#include <linux/spinlock.h>
#include <kunit/visibility.h>

#include "snp_page_lock_internal.h"

static DEFINE_HASHTABLE(snp_rpins, 8);
static DEFINE_SPINLOCK(snp_rpins_lock);

/*
 * A converter calling revoke callbacks holds the "snp_conversion" map for
 * write; a task about to wait for a conversion to end takes it for read
 * (snp_wait_conversion_annotate()). A callback that takes a lock held by
 * such a waiter would wait for a conversion that waits for it: lockdep
 * reports the cycle.
 */
#ifdef CONFIG_LOCKDEP
static struct lockdep_map snp_conversion_map = {
	.name = "snp_conversion",
};
#endif

int snp_pin_shared_revocable(struct snp_revocable_pin *rp, unsigned long pfn)
{
	unsigned long flags;
	int ret;

	if (!snp_page_lock_is_enabled())
		return 0;
	if (WARN_ON_ONCE(rp->pfn != ULONG_MAX || !rp->revoke))
		return -EINVAL;
	ret = snp_pin_shared(pfn, 1);
	if (ret)
		return ret;

	spin_lock_irqsave(&snp_rpins_lock, flags);
	WRITE_ONCE(rp->pfn, pfn);
	hash_add_rcu(snp_rpins, &rp->node, pfn);
	spin_unlock_irqrestore(&snp_rpins_lock, flags);
	return 0;
}
EXPORT_SYMBOL_GPL(snp_pin_shared_revocable);

void snp_unpin_shared_revocable(struct snp_revocable_pin *rp)
{
	unsigned long flags, pfn;

	if (!snp_page_lock_is_enabled())
		return;
	spin_lock_irqsave(&snp_rpins_lock, flags);
	pfn = rp->pfn;
	if (pfn != ULONG_MAX) {
		/*
		 * Not hash_del_rcu(), which clears ->pprev: the poisoned
		 * ->pprev tells snp_revocable_pin_destroy() that a converter
		 * may still be looking at the node.
		 */
		hlist_del_rcu(&rp->node);
		WRITE_ONCE(rp->pfn, ULONG_MAX);
	}
	spin_unlock_irqrestore(&snp_rpins_lock, flags);
	if (pfn != ULONG_MAX)
		snp_unpin_shared(pfn, 1);
}
EXPORT_SYMBOL_GPL(snp_unpin_shared_revocable);

void snp_revocable_pin_destroy(struct snp_revocable_pin *rp)
{
	if (!snp_page_lock_is_enabled())
		return;
	WARN_ON_ONCE(READ_ONCE(rp->pfn) != ULONG_MAX);
	/*
	 * Pinned once (->pprev is LIST_POISON2 after the unpin): a converter
	 * that found the node in its RCU walk may call the callback still.
	 * Never pinned: no converter can have seen it.
	 */
	if (rp->node.pprev)
		synchronize_rcu();
	rp->node.pprev = NULL;
}
EXPORT_SYMBOL_GPL(snp_revocable_pin_destroy);

void snp_wait_conversion_annotate(void)
{
#ifdef CONFIG_LOCKDEP
	lock_map_acquire_read(&snp_conversion_map);
	lock_map_release(&snp_conversion_map);
#endif
}
EXPORT_SYMBOL_GPL(snp_wait_conversion_annotate);

/**
 * snp_revoke_page() - ask every revocable pin holder of a page to let go
 * @pfn: a page a converter has marked converting (so no new pin appears)
 *
 * Return: the number of callbacks called.
 */
unsigned int snp_revoke_page(unsigned long pfn)
{
	struct snp_revocable_pin *rp;
	unsigned int n = 0;

	rcu_read_lock();
#ifdef CONFIG_LOCKDEP
	lock_map_acquire(&snp_conversion_map);
#endif
	hash_for_each_possible_rcu(snp_rpins, rp, node, pfn) {
		if (READ_ONCE(rp->pfn) != pfn)
			continue;
		rp->revoke(rp);
		n++;
	}
#ifdef CONFIG_LOCKDEP
	lock_map_release(&snp_conversion_map);
#endif
	rcu_read_unlock();
	if (n)
		snp_stat_add(SNP_STAT_REVOKES, n);
	return n;
}
