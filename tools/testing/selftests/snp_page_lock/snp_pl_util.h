/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the /dev/snp_page_lock kselftests and the demo.
 */
#ifndef __SNP_PL_UTIL_H
#define __SNP_PL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

static inline long pl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void pl_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

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

/* VmPin of process @pid (0: this one) in kB, or -1. */
static inline long pl_vmpin_kb(pid_t pid)
{
	char path[64], line[128];
	long kb = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static inline int pl_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

#define PL_CONFIGFS	"/sys/kernel/config"
#define PL_NULLB	PL_CONFIGFS "/nullb/"

/*
 * Create a 16 MiB null_blk device @name through configfs whose I/O
 * completes after @delay_ns (a timer, irqmode 2), and put its /dev path
 * in @dev: an O_DIRECT read from it keeps its buffer pinned that long.
 */
static inline int pl_nullb_create(const char *name, const char *delay_ns,
				  char *dev, size_t size)
{
	const char *attrs[][2] = {
		{ "irqmode", "2" },
		{ "completion_nsec", delay_ns },
		{ "size", "16" },
		{ "power", "1" },
	};
	char dir[128], path[160], buf[32];
	unsigned int i;
	int fd, n;

	mkdir(PL_CONFIGFS, 0755);
	mount("configfs", PL_CONFIGFS, "configfs", 0, NULL);
	snprintf(dir, sizeof(dir), PL_NULLB "%s", name);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, attrs[i][0]);
		if (pl_write_str(path, attrs[i][1]))
			return -EIO;
	}
	snprintf(path, sizeof(path), "%s/index", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/*
	 * The disk is named after the configfs item (6.12) or nullb<index>;
	 * devtmpfs creates its node asynchronously.
	 */
	for (n = 0; n < 200; n++) {
		snprintf(dev, size, "/dev/%s", name);
		if (!access(dev, F_OK))
			return 0;
		snprintf(dev, size, "/dev/nullb%d", atoi(buf));
		if (!access(dev, F_OK))
			return 0;
		pl_sleep_ms(10);
	}
	return -ENODEV;
}

static inline void pl_nullb_destroy(const char *name)
{
	char dir[128], path[160];

	snprintf(dir, sizeof(dir), PL_NULLB "%s", name);
	snprintf(path, sizeof(path), "%s/power", dir);
	pl_write_str(path, "0");
	rmdir(dir);
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

/* Set around the access of pl_touch(), ordered by signal fences. */
static __thread sigjmp_buf pl_touch_env;
static __thread int pl_touch_armed;

/* SIGBUS: back into pl_touch(), or, outside it, die of it as usual. */
static void pl_touch_sigbus(int sig)
{
	if (pl_touch_armed)
		siglongjmp(pl_touch_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Read (or write 1 to) @addr in this process, through the mappings it
 * already has; return SIGBUS if the access got one, else 0. Thread-safe:
 * the handler stays installed and only catches the accesses of pl_touch().
 */
static inline int pl_touch(char *addr, bool write)
{
	struct sigaction sa = { .sa_handler = pl_touch_sigbus };

	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(pl_touch_env, 1)) {
		pl_touch_armed = 0;
		return SIGBUS;
	}
	pl_touch_armed = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (write)
		pl_write(addr, 1);
	else
		pl_read(addr);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pl_touch_armed = 0;
	return 0;
}

/*
 * Run @fn in a child; return its exit status (@fn's return value), or
 * 128 + the signal that killed it, or -1 if it could not be run.
 */
static inline int pl_in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int pl_read_fn(void *addr)
{
	pl_read(addr);
	return 0;
}

static inline int pl_write_fn(void *addr)
{
	pl_write(addr, 1);
	return 0;
}

/*
 * Touch @addr in a fresh child, which faults the page in anew (a MAP_SHARED
 * mapping of the test pool is not copied at fork); return the signal that
 * killed it, or 0. pl_touch() checks the mappings this process has.
 */
static inline int pl_touch_in_child(char *addr, bool write)
{
	int ret = pl_in_child(write ? pl_write_fn : pl_read_fn, addr);

	return ret >= 128 ? ret - 128 : ret;
}

#endif /* __SNP_PL_UTIL_H */
