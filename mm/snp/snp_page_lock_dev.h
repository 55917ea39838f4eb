/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the /dev/snp_page_lock character device
 * (snp_page_lock_dev.c) and its test pool (snp_page_lock_test_pool.c).
 */
#ifndef _MM_SNP_PAGE_LOCK_DEV_H
#define _MM_SNP_PAGE_LOCK_DEV_H

#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/snp_page_lock.h>
#include <linux/types.h>

struct snp_pl_convert;
struct snp_pl_pool;

#ifdef CONFIG_SNP_PAGE_LOCK_TEST

struct snp_pl_pool *snp_pl_pool_create(struct file *file);
void snp_pl_pool_destroy(struct snp_pl_pool *pool, struct file *file);
int snp_pl_pool_mmap(struct snp_pl_pool *pool, struct vm_area_struct *vma);
int snp_pl_pool_convert(struct snp_pl_pool *pool, struct file *file,
			unsigned long addr, unsigned long nr,
			enum snp_page_state to, unsigned int flags,
			unsigned int timeout_ms, unsigned long *bad);

#else /* !CONFIG_SNP_PAGE_LOCK_TEST */

static inline struct snp_pl_pool *snp_pl_pool_create(struct file *file)
{
	return NULL;
}

static inline void snp_pl_pool_destroy(struct snp_pl_pool *pool,
				       struct file *file)
{
}

static inline int snp_pl_pool_mmap(struct snp_pl_pool *pool,
				   struct vm_area_struct *vma)
{
	return -ENODEV;
}

static inline int snp_pl_pool_convert(struct snp_pl_pool *pool,
				      struct file *file, unsigned long addr,
				      unsigned long nr, enum snp_page_state to,
				      unsigned int flags,
				      unsigned int timeout_ms,
				      unsigned long *bad)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_SNP_PAGE_LOCK_TEST */

#endif /* _MM_SNP_PAGE_LOCK_DEV_H */
