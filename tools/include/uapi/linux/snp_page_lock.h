/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/snp_page_lock: the VMM interface of the SNP page lock.
 *
 * A VMM that does I/O on guest-shared pages (virtio, vhost-user, migration)
 * holds them shared with PIN while it works, learns through poll() that the
 * guest wants one of them back, and releases them with UNPIN. See
 * Documentation/userspace-api/snp_page_lock.rst.
 */
#ifndef _UAPI_LINUX_SNP_PAGE_LOCK_H
#define _UAPI_LINUX_SNP_PAGE_LOCK_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: General ioctl format
 *
 * The ioctl interface follows the iommufd pattern: every ioctl takes a
 * pointer to a structure whose first member, @size, holds the size of the
 * structure as userspace knows it. The size is not encoded in the ioctl
 * number. The kernel accepts a smaller structure than its own as long as it
 * contains every member of the first version (older kernels never shrink),
 * and a larger one as long as the members it does not know are zero.
 *
 * Errors common to every ioctl:
 *
 * - ENOTTY: unknown ioctl.
 * - EINVAL: @size smaller than the first version of the structure, a
 *   non-zero undefined flag, an address or length not page aligned, a zero
 *   length or a range that wraps around.
 * - E2BIG: @size larger than the kernel's structure and the bytes the
 *   kernel does not know are not all zero.
 * - EFAULT: the structure, the range or an output buffer is not (fully)
 *   mapped.
 *
 * Errors of PIN, UNPIN, QUERY and TEST_CONVERT on the pages of a range:
 *
 * - EPERM: a page is private (PIN).
 * - EAGAIN: a page is being converted (PIN, TEST_CONVERT).
 * - EINVAL: UNPIN of an address where this process has no pin through
 *   this file, TEST_CONVERT of a page outside the test pool of this file,
 *   or of a page not in the opposite state of @to.
 * - ENOMEM: PIN beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK, or out of
 *   memory (any of them).
 * - EOVERFLOW: a page holds the maximum number of shared pins (PIN).
 * - EBUSY: TEST_CONVERT found pins or other references (a pipe buffer, an
 *   I/O in flight) that did not drain (SNP_PL_CONVERT_NOWAIT or the
 *   timeout), or a page pinned for DMA.
 * - EINTR: a fatal signal arrived while the ioctl waited (any of them: for
 *   the mmap lock; PIN: for a page to be faulted in; TEST_CONVERT: for
 *   pins or references to drain).
 * - EPERM: TEST_CONVERT without CAP_SYS_ADMIN (checked before anything
 *   else).
 *
 * A failing ioctl changes nothing. Where one page of the range caused the
 * failure, @error_offset (PIN, UNPIN, TEST_CONVERT) is set to its offset
 * from @addr in bytes; otherwise @error_offset is left as it was.
 */

#define SNP_PL_TYPE	0xB9

/**
 * struct snp_pl_range - ioctl(SNP_PL_IOC_PIN) and ioctl(SNP_PL_IOC_UNPIN)
 * @size: in: sizeof(struct snp_pl_range)
 * @flags: in: must be 0
 * @addr: in: page aligned user address of the first page
 * @len: in: length in bytes: page aligned, not zero, @addr + @len must not
 *	 wrap around
 * @error_offset: out: on a failure caused by one page, the offset of that
 *		  page from @addr in bytes
 *
 * PIN takes a long-term pin (the pages stay resident; charged to the
 * caller's pinned_vm and limited by its RLIMIT_MEMLOCK unless
 * CAP_IPC_LOCK) and a shared pin on every page of the range: while pinned,
 * a page never becomes private. Pins belong to the open file and are
 * counted: a page pinned twice needs two UNPINs. The last close of the file
 * drops every pin it holds.
 *
 * UNPIN drops, at every address of the range, the most recent pin the
 * caller took there through this file, whatever is mapped there now (as
 * iommufd unmaps by IOVA); the range need not be mapped any more.
 */
struct snp_pl_range {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 error_offset;
};

/* Page states returned by SNP_PL_IOC_QUERY, and targets of TEST_CONVERT. */
#define SNP_PL_STATE_SHARED		0
#define SNP_PL_STATE_PRIVATE		1
#define SNP_PL_STATE_CONVERTING		2
/* Or-ed into a QUERY state: the page holds a pin taken through this file. */
#define SNP_PL_STATE_PINNED		0x80

/**
 * struct snp_pl_query - ioctl(SNP_PL_IOC_QUERY)
 * @size: in: sizeof(struct snp_pl_query)
 * @flags: in: must be 0
 * @addr: in: page aligned user address of the first page
 * @len: in: length in bytes: page aligned, not zero, no wrap-around
 * @states: in: user pointer to an array of @len / page size bytes; out: one
 *	    byte per page, %SNP_PL_STATE_SHARED, %SNP_PL_STATE_PRIVATE or
 *	    %SNP_PL_STATE_CONVERTING, or-ed with %SNP_PL_STATE_PINNED if the
 *	    page holds a pin taken through this file
 *
 * Reports the state of every page of the range without changing anything:
 * a page that was never faulted in is reported shared, a page of a test
 * pool is looked up in the pool (its mapping is gone while it is private).
 * Every page of the range must be covered by a mapping (EFAULT otherwise).
 * The states are a snapshot. On error the contents of @states are undefined.
 */
struct snp_pl_query {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 states;
};

/* Fail with EBUSY instead of waiting for pins to drain. */
#define SNP_PL_CONVERT_NOWAIT		0x1

/**
 * struct snp_pl_convert - ioctl(SNP_PL_IOC_TEST_CONVERT)
 * @size: in: sizeof(struct snp_pl_convert)
 * @flags: in: 0 or %SNP_PL_CONVERT_NOWAIT
 * @addr: in: page aligned user address of the first page, in a test pool
 *	  mapping of this file
 * @len: in: length in bytes: page aligned, not zero, no wrap-around
 * @to: in: %SNP_PL_STATE_PRIVATE or %SNP_PL_STATE_SHARED
 * @timeout_ms: in: how long to wait for pins and other references to
 *		drain, in milliseconds; 0 uses the module parameter
 *		snp_page_lock.convert_timeout_ms
 * @error_offset: out: on a failure caused by one page, the offset of that
 *		  page from @addr in bytes
 *
 * For tests only (CAP_SYS_ADMIN; CONFIG_SNP_PAGE_LOCK_TEST, without which
 * this ioctl fails with ENOTTY and mmap() of the device, which maps the
 * test pool, with ENODEV): plays the guest asking for a page state change.
 * A conversion to private marks the pages converting (new pins fail with
 * EAGAIN, user faults wait), waits until they hold no pin (a pinned page
 * stays mapped and usable by its holder), removes them from every user
 * mapping, waits until nothing else holds them (a pipe buffer, an I/O in
 * flight; a DMA pin fails at once) and makes them private; a user access
 * then gets SIGBUS. A
 * conversion to shared makes private pages shared again; they are mapped
 * again on the next fault.
 */
struct snp_pl_convert {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 to;
	__u32 timeout_ms;
	__aligned_u64 error_offset;
};

/* As iommufd: the size lives in the structure, not in the ioctl number. */
#define SNP_PL_IOC_PIN			_IO(SNP_PL_TYPE, 0x00)
#define SNP_PL_IOC_UNPIN		_IO(SNP_PL_TYPE, 0x01)
#define SNP_PL_IOC_QUERY		_IO(SNP_PL_TYPE, 0x02)
#define SNP_PL_IOC_TEST_CONVERT		_IO(SNP_PL_TYPE, 0x10)

#endif /* _UAPI_LINUX_SNP_PAGE_LOCK_H */
