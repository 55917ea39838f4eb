/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim of <linux/mmzone.h>: x86_64's memory section size, which
 * is the word map's chunk size with SPARSEMEM.
 */
#ifndef _SHIM_LINUX_MMZONE_H
#define _SHIM_LINUX_MMZONE_H

#define PAGE_SHIFT		12
#define PFN_SECTION_SHIFT	(27 - PAGE_SHIFT)

#endif
