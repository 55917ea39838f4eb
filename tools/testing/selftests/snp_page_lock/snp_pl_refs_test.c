// SPDX-License-Identifier: GPL-2.0
/*
 * G7 through /dev/snp_page_lock: a page the host holds by a reference that
 * is not a shared pin (a pipe buffer from vmsplice(), an O_DIRECT read in
 * flight) never becomes private under it. TEST_CONVERT to private waits
 * for such references (wait mode) or fails with EBUSY and error_offset
 * (NOWAIT, the timeout, or at once for a DMA pin), and changes nothing
 * when it fails: the pages stay shared and fault back in.
 *
 * Without the check the host would copy from a private page: splice() out
 * of the pipe after the conversion oopses in memcpy (an RMP fault on SNP
 * hardware, a direct-map fault with the software backend).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define NPAGES		4

#define SHARED		SNP_PL_STATE_SHARED
#define PRIVATE		SNP_PL_STATE_PRIVATE

FIXTURE(refs) {
	int fd;
	char *mem;
	size_t ps;
	int pipe[2];
};

FIXTURE_SETUP(refs)
{
	self->ps = PS;
	self->pipe[0] = -1;
	self->pipe[1] = -1;
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	self->mem = pl_pool_map(self->fd, NPAGES, 0);
	if (!self->mem)
		SKIP(return, "no test pool (CONFIG_SNP_PAGE_LOCK_TEST)");
	memset(self->mem, 0x5a, NPAGES * self->ps);
	ASSERT_EQ(0, pipe(self->pipe));
}

FIXTURE_TEARDOWN(refs)
{
	if (self->pipe[0] >= 0)
		close(self->pipe[0]);
	if (self->pipe[1] >= 0)
		close(self->pipe[1]);
	if (self->mem)
		munmap(self->mem, NPAGES * self->ps);
	if (self->fd >= 0)
		close(self->fd);
}

/* Put a reference on the page at @addr into the pipe, without copying. */
static int splice_in(int pipe_w, char *addr, size_t len)
{
	struct iovec iov = { .iov_base = addr, .iov_len = len };

	return vmsplice(pipe_w, &iov, 1, 0) == (ssize_t)len ? 0 : -errno;
}

/*
 * Let the kernel copy the pipe's page into a memfd (no uaccess fixup: a
 * private page there is a host oops) and return the first byte, or -errno.
 */
static int splice_out(int pipe_r, size_t len)
{
	int mfd = memfd_create("snp_pl_refs", 0);
	char c;
	int ret;

	if (mfd < 0)
		return -errno;
	ret = splice(pipe_r, NULL, mfd, NULL, len, 0) == (ssize_t)len ? 0 :
	      -errno;
	if (!ret)
		ret = pread(mfd, &c, 1, 0) == 1 ? (unsigned char)c : -errno;
	close(mfd);
	return ret;
}

TEST_F(refs, vmsplice_nowait_busy)
{
	long erefs = pl_stat("convert_fail_refs");
	char *p = self->mem;
	__u64 off;

	ASSERT_EQ(0, splice_in(self->pipe[1], p + self->ps, self->ps));
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, 2 * self->ps, PRIVATE,
				     SNP_PL_CONVERT_NOWAIT, 0, &off));
	ASSERT_EQ(self->ps, off);
	if (erefs >= 0)
		ASSERT_LT(erefs, pl_stat("convert_fail_refs"));
	/* Nothing changed: shared, and the zapped mappings fault back in. */
	ASSERT_EQ(SHARED, pl_state(self->fd, p));
	ASSERT_EQ(SHARED, pl_state(self->fd, p + self->ps));
	ASSERT_EQ(0, pl_touch(p, true));
	ASSERT_EQ(0x5a, (unsigned char)p[self->ps + 1]);

	/* The kernel copies from the page: it must still be the host's. */
	ASSERT_EQ(0x5a, splice_out(self->pipe[0], self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, PRIVATE,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, SHARED, 0, 0,
				NULL));
}

TEST_F(refs, vmsplice_wait_times_out)
{
	long timeouts = pl_stat("wait_timeouts");
	char *p = self->mem;
	__u64 off;

	ASSERT_EQ(0, splice_in(self->pipe[1], p, self->ps));
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, self->ps, PRIVATE, 0, 200,
				     &off));
	ASSERT_EQ(0, off);
	if (timeouts >= 0)
		ASSERT_LT(timeouts, pl_stat("wait_timeouts"));
	ASSERT_EQ(SHARED, pl_state(self->fd, p));
	ASSERT_EQ(0x5a, splice_out(self->pipe[0], self->ps));
}

struct drainer {
	int pipe_r;
	size_t len;
	long ref_waits;
	int ret;
};

/*
 * Drain the pipe once the converter waits for its reference (ref_waits
 * above @ref_waits, for 20 s at most), or after 50 ms without the debugfs
 * stats: the reference goes away while the converter waits for it.
 */
static void *drainer_fn(void *arg)
{
	struct drainer *d = arg;
	long deadline = pl_now_ms() + 20000;

	if (d->ref_waits < 0)
		pl_sleep_ms(50);
	else
		while (pl_stat("ref_waits") <= d->ref_waits &&
		       pl_now_ms() < deadline)
			pl_sleep_ms(1);
	d->ret = splice_out(d->pipe_r, d->len);
	return NULL;
}

TEST_F(refs, vmsplice_wait_succeeds)
{
	long waits = pl_stat("ref_waits");
	struct drainer d = {
		.pipe_r = self->pipe[0], .len = self->ps, .ref_waits = waits,
	};
	char *p = self->mem;
	pthread_t th;

	ASSERT_EQ(0, splice_in(self->pipe[1], p, self->ps));
	ASSERT_EQ(0, pthread_create(&th, NULL, drainer_fn, &d));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, PRIVATE, 0, 30000,
				NULL));
	ASSERT_EQ(0, pthread_join(th, NULL));
	/* The drainer copied the data before the page became private. */
	ASSERT_EQ(0x5a, d.ret);
	ASSERT_EQ(PRIVATE, pl_state(self->fd, p));
	if (waits >= 0)
		ASSERT_LT(waits, pl_stat("ref_waits"));
	ASSERT_EQ(SIGBUS, pl_touch(p, false));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, SHARED, 0, 0, NULL));
	ASSERT_EQ(0x5a, (unsigned char)p[7]);
}

/* ------------------------------------------------------------------------
 * An O_DIRECT read in flight: null_blk, completions delayed by 3 seconds.
 */

/*
 * Completions delayed by 3 s: the read is in flight meanwhile, long enough
 * for both conversions of the test even on a slow (TCG) guest.
 */
#define DIO_DELAY_NS	"3000000000"

struct dio {
	int fd;
	char *buf;
	size_t len;
	int done;
	ssize_t ret;
};

static void *dio_fn(void *arg)
{
	struct dio *d = arg;

	d->ret = pread(d->fd, d->buf, d->len, 0);
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Reads in flight on the block device @dev (/dev/<disk>), or -errno. */
static long dio_reads_in_flight(const char *dev)
{
	const char *disk = strrchr(dev, '/');
	char path[128];
	long reads;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/inflight",
		 disk ? disk + 1 : dev);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &reads) != 1)
		reads = -EIO;
	fclose(f);
	return reads;
}

TEST_F(refs, odirect_in_flight)
{
	long dma = pl_stat("convert_fail_dma_pinned");
	char *p = self->mem;
	struct dio d = { .buf = p + self->ps, .len = self->ps };
	long inflight, deadline;
	char dev[64];
	pthread_t th;
	__u64 off;
	int ret;

	ret = pl_nullb_create("snp_pl_refs", DIO_DELAY_NS, dev, sizeof(dev));
	if (ret)
		SKIP(return, "null_blk through configfs: %s", strerror(-ret));
	d.fd = open(dev, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, d.fd) TH_LOG("open %s: %s", dev, strerror(errno));

	ASSERT_EQ(0, pthread_create(&th, NULL, dio_fn, &d));
	/* Wait until the read is submitted (10 s at most); it completes 3 s later. */
	deadline = pl_now_ms() + 10000;
	while ((inflight = dio_reads_in_flight(dev)) < 1 &&
	       !__atomic_load_n(&d.done, __ATOMIC_ACQUIRE) &&
	       pl_now_ms() < deadline)
		pl_sleep_ms(1);
	ASSERT_LE(1, inflight) TH_LOG("reads in flight on %s: %ld", dev,
				      inflight);
	ASSERT_EQ(0, __atomic_load_n(&d.done, __ATOMIC_ACQUIRE));
	/* The read pins the page for DMA: no wait, not even in wait mode. */
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, 2 * self->ps, PRIVATE,
				     SNP_PL_CONVERT_NOWAIT, 0, &off));
	ASSERT_EQ(self->ps, off);
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, 2 * self->ps, PRIVATE, 0,
				     5000, &off));
	ASSERT_EQ(self->ps, off);
	ASSERT_EQ(0, __atomic_load_n(&d.done, __ATOMIC_ACQUIRE));
	if (dma >= 0)
		ASSERT_LE(dma + 2, pl_stat("convert_fail_dma_pinned"));
	ASSERT_EQ(SHARED, pl_state(self->fd, p + self->ps));

	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ((ssize_t)self->ps, d.ret);
	/* The read is over: nothing holds the page any more. */
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, PRIVATE,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, SHARED, 0, 0,
				NULL));
	close(d.fd);
	pl_nullb_destroy("snp_pl_refs");
}

TEST_HARNESS_MAIN
