/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface of the snp_page_lock layer: the state word, the
 * two-phase conversion used by the wrappers and by the ABI test pool
 * (begin -> zap mappings -> end), the backends, counters and the
 * "converter waits on a pfn" notifier.
 */
#ifndef _MM_SNP_PAGE_LOCK_INTERNAL_H
#define _MM_SNP_PAGE_LOCK_INTERNAL_H

#include <linux/bits.h>
#include <linux/mmzone.h>
#include <linux/notifier.h>
#include <linux/snp_page_lock.h>
#include <linux/types.h>

/* The state word layout is in <linux/snp_page_lock.h> (the inline fast path). */

/*
 * SNP_MAP_BOUNDARY: a boundary the tests make a range cross (where the
 * word map switches from one chunk's array to the next).
 */
#define SNP_MAP_BOUNDARY	SNP_MAP_PAGES

/* The word map (snp_word_map.c). */
int snp_word_map_init(void);
struct snp_page_word *snp_word(unsigned long pfn);

/**
 * struct snp_backend_ops - makes pages private or shared for real
 * @name: shown in debugfs
 * @make_private: make one page private; on error the page is unchanged.
 *		  The page may stay reachable through stale TLB entries
 *		  until @flush_private is called.
 * @make_shared: make one private page shared; on error the page is unchanged
 * @flush_private: optional; called once after @make_private has been called
 *		   on every page of a conversion and before it commits, with
 *		   the lowest and highest pfn converted, so a conversion of
 *		   many pages costs one TLB flush, not one per page
 *
 * Called with the pages CONVERTING and unpinned, in process context (may
 * sleep).
 */
struct snp_backend_ops {
	const char *name;
	int (*make_private)(unsigned long pfn);
	int (*make_shared)(unsigned long pfn);
	void (*flush_private)(unsigned long first_pfn, unsigned long last_pfn);
};

extern const struct snp_backend_ops snp_backend_sw;
extern const struct snp_backend_ops snp_backend_rmp;	/* CONFIG_KVM_AMD_SEV */

bool snp_backend_sw_unmaps_direct_map(void);

#ifdef CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM
void snp_page_lock_set_csum(unsigned long pfn, u32 csum);
u32 snp_page_lock_get_csum(unsigned long pfn);
#endif

/* Counters, shown in <debugfs>/snp_page_lock/stats. */
enum snp_stat {
	SNP_STAT_PINS,			/* pages pinned */
	SNP_STAT_UNPINS,		/* pages unpinned */
	SNP_STAT_PIN_EPERM,		/* pin failures: private page */
	SNP_STAT_PIN_EAGAIN,		/* pin failures: converting page */
	SNP_STAT_PIN_EOVERFLOW,		/* pin failures: saturated count */
	SNP_STAT_PIN_EINVAL,		/* pin failures: bad range */
	SNP_STAT_TO_PRIVATE,		/* pages made private */
	SNP_STAT_TO_SHARED,		/* pages made shared */
	SNP_STAT_CONVERT_EAGAIN,	/* conversions refused: converting */
	SNP_STAT_CONVERT_EINVAL,	/* conversions refused: bad state */
	SNP_STAT_CONVERT_EBUSY,		/* conversions refused: NOWAIT */
	SNP_STAT_ABORTS,		/* conversions aborted (ranges) */
	SNP_STAT_BACKEND_ERRORS,	/* backend refused a page */
	SNP_STAT_WAITS,			/* converter slept on a page */
	SNP_STAT_TIMEOUTS,		/* waits that timed out (-EBUSY) */
	SNP_STAT_INTERRUPTED,		/* waits ended by a fatal signal */
	SNP_STAT_REVOKES,		/* revocable pins revoked by converters */
	SNP_STAT_REF_WAITS,		/* converter waited for extra references */
	SNP_STAT_CONVERT_EREFS,		/* conversions refused: extra references */
	SNP_STAT_CONVERT_DMA_PINNED,	/* conversions refused: DMA-pinned page */
	SNP_STAT_ROLLBACK_FAILURES,	/* pages the backend could not restore */
	SNP_STAT_LEAKS,			/* private pages caught on free */
	SNP_STAT_FREED_PINNED,		/* pinned pages caught on free (leaked) */
	SNP_STAT_CSUM_MISMATCH,		/* private pages written by the host */
	SNP_STAT_BLOCK_PINS,		/* 2 MiB blocks pinned with one atomic */
	SNP_STAT_BLOCK_WAITS,		/* converter slept on a block's pins */
	SNP_NR_STATS
};

void snp_stat_add(enum snp_stat item, unsigned long n);
unsigned long snp_stat_read(enum snp_stat item);

/*
 * A pin of @nr_pages from @pfn was refused with @err because of @bad_pfn:
 * count it (pin_fail_*) and trace it (snp_pin_fail), so that the counters
 * and the trace agree whoever refused it.
 */
void snp_pin_failed(unsigned long pfn, unsigned long nr_pages,
		    unsigned long bad_pfn, int err);

/*
 * Conversion notifier: called (atomic notifier chain, callbacks must not
 * sleep) for every pinned page of a conversion to private as soon as all
 * pages are marked, before the converter waits for the first one
 * (SNP_CONVERT_WAIT_START), and for each of them again when it stops
 * waiting (SNP_CONVERT_WAIT_END), with a struct snp_convert_wait_info as
 * data. The ABI uses it to raise EPOLLPRI on the files that pin the page.
 */
enum snp_convert_event {
	SNP_CONVERT_WAIT_START,
	SNP_CONVERT_WAIT_END,
};

/**
 * struct snp_convert_wait_info - what a waiting converter waits for
 * @pfn: the page whose pins must drain
 * @ret: SNP_CONVERT_WAIT_END only: 0 drained, -EBUSY timeout, -EINTR signal
 */
struct snp_convert_wait_info {
	unsigned long pfn;
	int ret;
};

/*
 * snp_split_block_pin() - trade one block pin of the aligned 2 MiB block
 * at @pfn, which the caller holds, for one 4 KiB pin on each of its pages,
 * so that the caller can drop its pins page by page. Never fails.
 */
void snp_split_block_pin(unsigned long pfn);

int snp_convert_notifier_register(struct notifier_block *nb);
int snp_convert_notifier_unregister(struct notifier_block *nb);

/*
 * Two-phase conversion, for callers with work between the phases: see the
 * kernel-doc in snp_page_lock.c.
 */
int snp_convert_begin(unsigned long pfn, unsigned long nr_pages,
		      enum snp_page_state to, unsigned int flags,
		      unsigned int timeout_ms, unsigned long *bad_pfn);
int snp_convert_end(unsigned long pfn, unsigned long nr_pages,
		    enum snp_page_state to, bool commit);

unsigned int snp_revoke_page(unsigned long pfn);

/* No page at that index of an owner's file (never allocated). */
#define SNP_USER_NO_PFN	ULONG_MAX

/*
 * The page an in-place owner has behind @addr of @vma (mmap lock held):
 * true if @vma maps such an owner's memory, with *@pfn set to the page or
 * SNP_USER_NO_PFN if none is allocated. A page comes with a reference,
 * which the caller drops with snp_user_put_pfn().
 */
bool snp_user_owner_lookup(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long *pfn);
void snp_user_put_pfn(unsigned long pfn);

/* For the KUnit tests only. */
u32 snp_page_lock_test_state_word(unsigned long pfn);
int snp_page_lock_test_add_pins(unsigned long pfn, int delta);
int snp_page_lock_test_backoff(unsigned long pfn, u32 seen);
long snp_page_lock_test_nr_unshared(void);
u64 snp_page_lock_test_block_word(unsigned long pfn);
int snp_page_lock_test_add_block_pins(unsigned long pfn, long delta);
const char *snp_page_lock_backend_name(void);
extern unsigned int snp_page_lock_lockdep_selftest;

#endif /* _MM_SNP_PAGE_LOCK_INTERNAL_H */
