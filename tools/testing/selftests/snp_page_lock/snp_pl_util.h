/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the /dev/snp_page_lock kselftests and the demo.
 */
#ifndef __SNP_PL_UTIL_H
#define __SNP_PL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/snp_page_lock.h>

#include "../kselftest.h"

#define SNP_PL_DEV	"/dev/snp_page_lock"
#define SNP_PL_STATS	"/sys/kernel/debug/snp_page_lock/stats"

static inline size_t pl_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

#define PS	pl_page_size()

/* The ioctls, returning 0 or -errno. */
static inline int pl_range(int fd, unsigned long req, void *addr, size_t len,
			   __u64 *error_offset)
{
	struct snp_pl_range r = {
		.size = sizeof(r),
		.addr = (__u64)(unsigned long)addr,
		.len = len,
		.error_offset = ~0ULL,
	};
	int ret = ioctl(fd, req, &r) ? -errno : 0;

	if (error_offset)
		*error_offset = r.error_offset;
	return ret;
}

static inline int pl_pin(int fd, void *addr, size_t len)
{
	return pl_range(fd, SNP_PL_IOC_PIN, addr, len, NULL);
}

static inline int pl_unpin(int fd, void *addr, size_t len)
{
	return pl_range(fd, SNP_PL_IOC_UNPIN, addr, len, NULL);
}

static inline int pl_query(int fd, void *addr, size_t len, __u8 *states)
{
	struct snp_pl_query q = {
		.size = sizeof(q),
		.addr = (__u64)(unsigned long)addr,
		.len = len,
		.states = (__u64)(unsigned long)states,
	};

	return ioctl(fd, SNP_PL_IOC_QUERY, &q) ? -errno : 0;
}

/* The state of one page, or -errno. */
static inline int pl_state(int fd, void *addr)
{
	__u8 s;
	int ret = pl_query(fd, addr, PS, &s);

	return ret ? ret : s;
}

static inline int pl_convert(int fd, void *addr, size_t len, __u32 to,
			     __u32 flags, __u32 timeout_ms,
			     __u64 *error_offset)
{
	struct snp_pl_convert c = {
		.size = sizeof(c),
		.flags = flags,
		.addr = (__u64)(unsigned long)addr,
		.len = len,
		.to = to,
		.timeout_ms = timeout_ms,
		.error_offset = ~0ULL,
	};
	int ret = ioctl(fd, SNP_PL_IOC_TEST_CONVERT, &c) ? -errno : 0;

	if (error_offset)
		*error_offset = c.error_offset;
	return ret;
}

/* Map @npages of the test pool of @fd at pool offset @pgoff. */
static inline void *pl_pool_map(int fd, size_t npages, off_t pgoff)
{
	void *p = mmap(NULL, npages * PS, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, pgoff * PS);

	return p == MAP_FAILED ? NULL : p;
}

/* A counter of <debugfs>/snp_page_lock/stats, or -1. */
static inline long pl_stat(const char *name)
{
	char line[128], key[64];
	long val, ret = -1;
	FILE *f = fopen(SNP_PL_STATS, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", key, &val) == 2 &&
		    !strcmp(key, name)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Drop capability @cap from the effective and permitted sets. */
static inline int pl_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	data[cap / 32].permitted &= ~(1U << (cap % 32));
	data[cap / 32].inheritable &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* Touch a page; the compiler may not drop the access. */
static inline char pl_read(const char *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void pl_write(char *p, char c)
{
	__atomic_store_n(p, c, __ATOMIC_RELAXED);
}

#endif /* __SNP_PL_UTIL_H */
