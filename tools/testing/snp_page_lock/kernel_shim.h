/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SNP_PL_KERNEL_SHIM_H
#define _SNP_PL_KERNEL_SHIM_H

#define CONFIG_SPARSEMEM 1

/* The code under test, as the kernel compiles it. */
#include "../../../include/linux/snp_page_lock_fast.h"

extern unsigned long shim_backoffs;
extern unsigned long shim_slow_unpins;
extern unsigned long shim_block_backoffs;
extern unsigned long shim_block_slow_unpins;

struct snp_page_word *shim_memory_init(unsigned long first_pfn,
				       unsigned long nr_pages,
				       atomic64_t **bwords);

#endif
