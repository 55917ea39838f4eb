// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock on 1 GiB at once: PIN, UNPIN, TEST_CONVERT to private
 * and back, with the soft-lockup detector at a short threshold
 * (watchdog_thresh=3: a CPU that does not reschedule for 6 s is reported).
 * Every per-page loop of the layer must reschedule; a report in the
 * console fails the run (the host scans the log).
 */
#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define POOL_MAX	"/sys/module/snp_page_lock/parameters/test_pool_max_mb"
#define WD_THRESH	"/proc/sys/kernel/watchdog_thresh"
#define SIZE_MB		1024UL

/*
 * Not 1 (2 s): a TCG vCPU the host does not run for a while must not look
 * like a soft lockup. A per-page loop over 1 GiB without cond_resched()
 * still takes far longer than 6 s there, and is reported.
 */
#define WD_THRESH_TEST	"3"

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

FIXTURE(large) {
	char pool_max[32];
	char thresh[32];
	int fd;
	char *mem;
	size_t len;
};

FIXTURE_SETUP(large)
{
	self->fd = -1;
	self->mem = NULL;
	self->len = SIZE_MB << 20;
	if (read_file(POOL_MAX, self->pool_max, sizeof(self->pool_max)))
		SKIP(return, "no test pool (CONFIG_SNP_PAGE_LOCK_TEST)");
	ASSERT_EQ(0, read_file(WD_THRESH, self->thresh, sizeof(self->thresh)));
	ASSERT_EQ(0, pl_write_str(POOL_MAX, "1056"));
	ASSERT_EQ(0, pl_write_str(WD_THRESH, WD_THRESH_TEST));
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->mem = pl_pool_map(self->fd, self->len / PS, 0);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(large)
{
	if (self->mem)
		munmap(self->mem, self->len);
	if (self->fd >= 0)
		close(self->fd);
	pl_write_str(WD_THRESH, self->thresh);
	pl_write_str(POOL_MAX, self->pool_max);
}

TEST_F_TIMEOUT(large, pin_and_convert_1g, 900)
{
	long t0 = pl_now_ms();

	/* PIN faults the pool pages in. */
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->len));
	TH_LOG("PIN 1 GiB: %ld ms", pl_now_ms() - t0);
	t0 = pl_now_ms();
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, self->len));
	TH_LOG("UNPIN 1 GiB: %ld ms", pl_now_ms() - t0);

	t0 = pl_now_ms();
	ASSERT_EQ(0, pl_convert(self->fd, self->mem, self->len,
				SNP_PL_STATE_PRIVATE, 0, 600000, NULL));
	TH_LOG("TEST_CONVERT 1 GiB to private: %ld ms", pl_now_ms() - t0);
	ASSERT_EQ(SNP_PL_STATE_PRIVATE,
		  pl_state(self->fd, self->mem + self->len - PS));
	t0 = pl_now_ms();
	ASSERT_EQ(0, pl_convert(self->fd, self->mem, self->len,
				SNP_PL_STATE_SHARED, 0, 0, NULL));
	TH_LOG("TEST_CONVERT 1 GiB to shared: %ld ms", pl_now_ms() - t0);
	ASSERT_EQ(0, self->mem[self->len - PS]);
}

TEST_HARNESS_MAIN
