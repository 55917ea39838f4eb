/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snp_page_lock types that other subsystems embed in their own structures
 * (struct gfn_to_pfn_cache), without the rest of <linux/snp_page_lock.h>.
 */
#ifndef _LINUX_SNP_PAGE_LOCK_TYPES_H
#define _LINUX_SNP_PAGE_LOCK_TYPES_H

#include <linux/types.h>

/**
 * struct snp_revocable_pin - a long-lived shared pin its holder gives up
 *	on demand
 * @pfn: the pinned page, or ULONG_MAX when nothing is pinned (the layer's)
 * @revoke: called by a converter that needs the page; see
 *	    snp_pin_shared_revocable() for the rules
 * @node: in the layer's table of revocable pins (the layer's)
 *
 * Embedded in the holder's own object (a gfn_to_pfn_cache, say), set up
 * with snp_revocable_pin_init() and torn down with
 * snp_revocable_pin_destroy().
 */
struct snp_revocable_pin {
	unsigned long pfn;
	void (*revoke)(struct snp_revocable_pin *rp);
	struct hlist_node node;
};

#endif /* _LINUX_SNP_PAGE_LOCK_TYPES_H */
