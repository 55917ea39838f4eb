// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock test pool and TEST_CONVERT: conversions blocked by
 * pins (EBUSY with NOWAIT or on timeout, success once the pins are gone),
 * EPOLLPRI while a converter waits, EPERM/EAGAIN for PIN of private and
 * converting pages, SIGBUS on a private page (through the mappings the
 * host had before the conversion and through new faults), faults that wait
 * for a conversion to end, pins of one page through several files, a
 * converter killed while it waits, private pages made shared on close.
 */
#include <poll.h>
#include <pthread.h>

#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define NPAGES		8

#define SHARED		SNP_PL_STATE_SHARED
#define PRIVATE		SNP_PL_STATE_PRIVATE
#define CONVERTING	SNP_PL_STATE_CONVERTING
#define PINNED		SNP_PL_STATE_PINNED

/* A TEST_CONVERT run in its own thread. */
struct converter {
	pthread_t thread;
	int fd;
	void *addr;
	size_t len;
	__u32 to;
	__u32 flags;
	__u32 timeout_ms;
	int ret;
	__u64 error_offset;
	long elapsed_ms;
};

static void *converter_fn(void *arg)
{
	struct converter *c = arg;
	long t0 = pl_now_ms();

	c->ret = pl_convert(c->fd, c->addr, c->len, c->to, c->flags,
			    c->timeout_ms, &c->error_offset);
	c->elapsed_ms = pl_now_ms() - t0;
	return NULL;
}

static int converter_start(struct converter *c, int fd, void *addr,
			   size_t len, __u32 to, __u32 timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->addr = addr;
	c->len = len;
	c->to = to;
	c->timeout_ms = timeout_ms;
	return pthread_create(&c->thread, NULL, converter_fn, c);
}

/* Wait until the page at @addr is converting, as seen through @fd. */
static bool wait_converting(int fd, void *addr)
{
	long t0 = pl_now_ms();
	int s;

	while (pl_now_ms() - t0 < 5000) {
		s = pl_state(fd, addr);
		if (s >= 0 && (s & ~PINNED) == CONVERTING)
			return true;
		pl_sleep_ms(5);
	}
	return false;
}

FIXTURE(conv) {
	int fd;		/* owns the pool: the "guest" / TEST_CONVERT */
	int vmm;	/* a second file: the VMM's pins */
	char *mem;
	size_t ps;
};

FIXTURE_SETUP(conv)
{
	self->ps = PS;
	self->vmm = -1;
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	self->mem = pl_pool_map(self->fd, NPAGES, 0);
	if (!self->mem)
		SKIP(return, "no test pool (CONFIG_SNP_PAGE_LOCK_TEST)");
	memset(self->mem, 0x3c, NPAGES * self->ps);
	self->vmm = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->vmm);
}

FIXTURE_TEARDOWN(conv)
{
	if (self->mem)
		munmap(self->mem, NPAGES * self->ps);
	if (self->vmm >= 0)
		close(self->vmm);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(conv, private_and_back)
{
	char *p = self->mem;
	__u8 st[NPAGES];
	int i;

	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, PRIVATE, 0, 0,
				NULL));
	ASSERT_EQ(0, pl_query(self->vmm, p, NPAGES * self->ps, st));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(i < 2 ? PRIVATE : SHARED, st[i]);

	/*
	 * The host (this process) may not touch a private page: not through
	 * the mappings it had (written in the fixture: the conversion must
	 * have zapped them), nor through a new fault.
	 */
	ASSERT_EQ(SIGBUS, pl_touch(p, false));
	ASSERT_EQ(SIGBUS, pl_touch(p + self->ps, true));
	ASSERT_EQ(0, pl_touch(p + 2 * self->ps, true));
	ASSERT_EQ(SIGBUS, pl_touch_in_child(p, false));
	ASSERT_EQ(SIGBUS, pl_touch_in_child(p + self->ps, true));
	ASSERT_EQ(0, pl_touch_in_child(p + 2 * self->ps, true));

	/* Private to private: not in the opposite state. */
	ASSERT_EQ(-EINVAL, pl_convert(self->fd, p, self->ps, PRIVATE, 0, 0,
				      NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, SHARED, 0, 0,
				NULL));
	ASSERT_EQ(SHARED, pl_state(self->fd, p));
	ASSERT_EQ(0, pl_touch_in_child(p, true));
	ASSERT_EQ(0, pl_touch(p + self->ps, false));
	p[0] = 7;
	ASSERT_EQ(7, p[0]);
	ASSERT_EQ(-EINVAL, pl_convert(self->fd, p, self->ps, SHARED, 0, 0,
				      NULL));
}

TEST_F(conv, pin_private_fails)
{
	char *p = self->mem;
	__u64 off;

	ASSERT_EQ(0, pl_convert(self->fd, p + self->ps, self->ps, PRIVATE, 0,
				0, NULL));
	ASSERT_EQ(-EPERM, pl_range(self->vmm, SNP_PL_IOC_PIN, p,
				   2 * self->ps, &off));
	ASSERT_EQ(self->ps, off);
	ASSERT_EQ(SHARED, pl_state(self->vmm, p));
	ASSERT_EQ(PRIVATE, pl_state(self->vmm, p + self->ps));
	/* A private page holds no pin to drop. */
	ASSERT_EQ(-EINVAL, pl_unpin(self->vmm, p + self->ps, self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p + self->ps, self->ps, SHARED, 0,
				0, NULL));
	ASSERT_EQ(0, pl_pin(self->vmm, p, 2 * self->ps));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, 2 * self->ps));
}

TEST_F(conv, nowait_busy)
{
	char *p = self->mem;
	long fails = pl_stat("convert_fail_nowait");
	__u8 st[NPAGES];
	__u64 off;
	int i;

	ASSERT_EQ(0, pl_pin(self->vmm, p + 2 * self->ps, self->ps));
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, 4 * self->ps, PRIVATE,
				     SNP_PL_CONVERT_NOWAIT, 0, &off));
	ASSERT_EQ(2 * self->ps, off);
	/* All or nothing: pages 0 and 1 are shared again. */
	ASSERT_EQ(0, pl_query(self->vmm, p, NPAGES * self->ps, st));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(i == 2 ? (SHARED | PINNED) : SHARED, st[i]);
	ASSERT_EQ(0, pl_touch_in_child(p, true));
	if (fails >= 0)
		ASSERT_LT(fails, pl_stat("convert_fail_nowait"));

	ASSERT_EQ(0, pl_unpin(self->vmm, p + 2 * self->ps, self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p, 4 * self->ps, PRIVATE,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, 4 * self->ps, SHARED,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
}

TEST_F(conv, timeout_busy)
{
	char *p = self->mem;
	long timeouts = pl_stat("wait_timeouts");
	long t0;
	__u64 off;

	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	t0 = pl_now_ms();
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, self->ps, PRIVATE, 0, 200,
				     &off));
	ASSERT_LE(150, pl_now_ms() - t0);
	ASSERT_EQ(0, off);
	ASSERT_EQ(SHARED | PINNED, pl_state(self->vmm, p));
	if (timeouts >= 0)
		ASSERT_LT(timeouts, pl_stat("wait_timeouts"));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
}

TEST_F(conv, wait_then_succeed)
{
	char *p = self->mem;
	struct converter c;

	ASSERT_EQ(0, pl_pin(self->vmm, p, 2 * self->ps));
	ASSERT_EQ(0, converter_start(&c, self->fd, p, 2 * self->ps, PRIVATE,
				     10000));
	ASSERT_TRUE(wait_converting(self->vmm, p));
	ASSERT_EQ(CONVERTING | PINNED, pl_state(self->vmm, p));
	/* New pins fail while converting. */
	ASSERT_EQ(-EAGAIN, pl_pin(self->vmm, p, self->ps));
	/* The pin holder still uses its pages. */
	pl_sleep_ms(100);
	memset(p, 0x11, 2 * self->ps);
	ASSERT_EQ(0x11, p[self->ps]);
	ASSERT_EQ(0, pl_unpin(self->vmm, p, 2 * self->ps));
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(0, c.ret);
	ASSERT_LE(80, c.elapsed_ms);
	ASSERT_EQ(PRIVATE, pl_state(self->vmm, p));
	ASSERT_EQ(PRIVATE, pl_state(self->vmm, p + self->ps));
	/* The pin holder's mappings (written above) are gone. */
	ASSERT_EQ(SIGBUS, pl_touch(p, true));
	ASSERT_EQ(SIGBUS, pl_touch(p + self->ps, false));
	ASSERT_EQ(SIGBUS, pl_touch_in_child(p + self->ps, false));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, SHARED, 0, 0,
				NULL));
}

TEST_F(conv, epollpri)
{
	struct pollfd pfd = { .fd = self->vmm, .events = POLLPRI };
	struct pollfd other = { .fd = self->fd, .events = POLLPRI };
	char *p = self->mem + self->ps;
	struct converter c;

	ASSERT_EQ(0, pl_pin(self->vmm, p, 2 * self->ps));
	/* Nobody waits: no event. */
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	/* A converter that gives up: EPOLLPRI while it waits, then cleared. */
	ASSERT_EQ(0, converter_start(&c, self->fd, p, self->ps, PRIVATE, 3000));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_TRUE(pfd.revents & POLLPRI);
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(-EBUSY, c.ret);
	ASSERT_LE(2900, c.elapsed_ms);
	pfd.revents = 0;
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(SHARED | PINNED, pl_state(self->vmm, p));

	/* A converter that succeeds once the VMM has unpinned. */
	ASSERT_EQ(0, converter_start(&c, self->fd, p, 2 * self->ps, PRIVATE,
				     10000));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_TRUE(pfd.revents & POLLPRI);
	/* The other file (the converter's) pins nothing: no event. */
	ASSERT_EQ(0, poll(&other, 1, 0));
	ASSERT_EQ(CONVERTING | PINNED, pl_state(self->vmm, p));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, 2 * self->ps));
	pfd.revents = 0;
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(0, c.ret);
	ASSERT_EQ(PRIVATE, pl_state(self->vmm, p));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, SHARED, 0, 0,
				NULL));
}

/*
 * Every holder is told as soon as the converter has marked the range, not
 * when its wait reaches the holder's page: the holder of page 1 learns it
 * while page 0 is still pinned by another file.
 */
TEST_F(conv, epollpri_every_holder_at_once)
{
	struct pollfd pfd2 = { .events = POLLPRI };
	char *p = self->mem;
	struct converter c;
	int fd2 = open(SNP_PL_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	pfd2.fd = fd2;
	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pl_pin(fd2, p + self->ps, self->ps));
	ASSERT_EQ(0, converter_start(&c, self->fd, p, 2 * self->ps, PRIVATE,
				     30000));
	ASSERT_EQ(1, poll(&pfd2, 1, 10000));
	ASSERT_TRUE(pfd2.revents & POLLPRI);
	ASSERT_EQ(CONVERTING | PINNED, pl_state(fd2, p + self->ps));
	ASSERT_EQ(CONVERTING | PINNED, pl_state(self->vmm, p));

	/* The second holder lets go first; the converter still waits. */
	ASSERT_EQ(0, pl_unpin(fd2, p + self->ps, self->ps));
	pfd2.revents = 0;
	ASSERT_EQ(0, poll(&pfd2, 1, 0));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(0, c.ret);
	ASSERT_EQ(PRIVATE, pl_state(fd2, p + self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p, 2 * self->ps, SHARED, 0, 0,
				NULL));
	close(fd2);
}

/* A converter killed while it waits: -EINTR inside, nothing changed. */
TEST_F(conv, converter_killed)
{
	struct pollfd pfd = { .fd = self->vmm, .events = POLLPRI };
	long intr = pl_stat("wait_interrupted");
	char *p = self->mem;
	int status;
	pid_t pid;

	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Killed long before the timeout; exits 1 if not. */
		pl_convert(self->fd, p, self->ps, PRIVATE, 0, 10000, NULL);
		_exit(1);
	}
	ASSERT_TRUE(wait_converting(self->vmm, p));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_TRUE(pfd.revents & POLLPRI);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));

	/* The conversion was aborted: the page is shared and still pinned. */
	ASSERT_EQ(SHARED | PINNED, pl_state(self->vmm, p));
	pfd.revents = 0;
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	if (intr >= 0)
		ASSERT_LT(intr, pl_stat("wait_interrupted"));
	ASSERT_EQ(0, pl_touch(p, true));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, PRIVATE,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, SHARED, 0, 0, NULL));
}

TEST_F(conv, pin_converting_fails)
{
	char *p = self->mem;
	struct converter c;
	__u64 off;
	int fd3 = open(SNP_PL_DEV, O_RDWR);

	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, pl_pin(self->vmm, p + self->ps, self->ps));
	ASSERT_EQ(0, converter_start(&c, self->fd, p + self->ps, self->ps,
				     PRIVATE, 10000));
	ASSERT_TRUE(wait_converting(self->vmm, p + self->ps));
	ASSERT_EQ(-EAGAIN, pl_range(fd3, SNP_PL_IOC_PIN, p, 2 * self->ps,
				    &off));
	ASSERT_EQ(self->ps, off);
	ASSERT_EQ(SHARED, pl_state(fd3, p));
	ASSERT_EQ(CONVERTING, pl_state(fd3, p + self->ps));
	/* A second conversion of a converting page. */
	ASSERT_EQ(-EAGAIN, pl_convert(self->fd, p + self->ps, self->ps,
				      PRIVATE, SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_unpin(self->vmm, p + self->ps, self->ps));
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(0, c.ret);
	ASSERT_EQ(0, pl_convert(self->fd, p + self->ps, self->ps, SHARED, 0,
				0, NULL));
	close(fd3);
}

TEST_F(conv, fault_waits_for_conversion)
{
	char *p = self->mem;
	char *alias = pl_pool_map(self->fd, 1, 0);	/* page 0 again */
	struct converter c;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, alias);
	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	ASSERT_EQ(0, converter_start(&c, self->fd, p, self->ps, PRIVATE,
				     10000));
	ASSERT_TRUE(wait_converting(self->vmm, p));

	/* A fault on the converting page (alias is not mapped yet) waits. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pl_read(alias);
		_exit(0);
	}
	pl_sleep_ms(300);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(0, c.ret);
	/* ... and ends in SIGBUS: the page became private. */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGBUS, WTERMSIG(status));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, SHARED, 0, 0, NULL));
	ASSERT_EQ(0, pl_touch_in_child(alias, true));
	munmap(alias, self->ps);
}

TEST_F(conv, fault_waits_then_maps)
{
	char *p = self->mem;
	char *alias = pl_pool_map(self->fd, 1, 0);
	struct converter c;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, alias);
	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	ASSERT_EQ(0, converter_start(&c, self->fd, p, self->ps, PRIVATE, 3000));
	ASSERT_TRUE(wait_converting(self->vmm, p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pl_write(alias, 9);
		_exit(0);
	}
	/* The converter gives up: the page stays shared, the fault maps it. */
	ASSERT_EQ(0, pthread_join(c.thread, NULL));
	ASSERT_EQ(-EBUSY, c.ret);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(9, p[0]);
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	munmap(alias, self->ps);
}

TEST_F(conv, two_fds_block_conversion)
{
	char *p = self->mem;
	int fd3 = open(SNP_PL_DEV, O_RDWR);

	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pl_pin(fd3, p, self->ps));
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, self->ps, PRIVATE,
				     SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(SHARED, pl_state(self->vmm, p));
	ASSERT_EQ(SHARED | PINNED, pl_state(fd3, p));
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, self->ps, PRIVATE,
				     SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_unpin(fd3, p, self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, PRIVATE,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, SHARED, 0, 0, NULL));
	close(fd3);
}

TEST_F(conv, pin_twice_blocks_until_both_unpinned)
{
	char *p = self->mem;

	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pl_pin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(-EBUSY, pl_convert(self->fd, p, self->ps, PRIVATE,
				     SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(-EINVAL, pl_unpin(self->vmm, p, self->ps));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, PRIVATE,
				SNP_PL_CONVERT_NOWAIT, 0, NULL));
	ASSERT_EQ(0, pl_convert(self->fd, p, self->ps, SHARED, 0, 0, NULL));
}

TEST_F(conv, pool_limits)
{
	/* Only shared mappings; not beyond test_pool_max_mb (64 MiB). */
	void *q = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       self->fd, 0);

	ASSERT_EQ(MAP_FAILED, q);
	ASSERT_EQ(EINVAL, errno);
	q = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)1 << 40);
	ASSERT_EQ(MAP_FAILED, q);
	/* A never touched page can be converted. */
	q = pl_pool_map(self->fd, 1, 100);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, pl_convert(self->fd, q, self->ps, PRIVATE, 0, 0, NULL));
	ASSERT_EQ(PRIVATE, pl_state(self->fd, q));
	munmap(q, self->ps);
	/* ... and is freed (shared again) when the file goes. */
}

/* The last close makes the pool's private pages shared before freeing them. */
TEST_F(conv, close_makes_private_shared)
{
	long leaks = pl_stat("leaked_pages");
	long shared = pl_stat("converted_to_shared");
	int fd2;
	char *q;

	if (leaks < 0 || shared < 0)
		SKIP(return, "no %s", SNP_PL_STATS);
	fd2 = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	q = pl_pool_map(fd2, 3, 0);
	ASSERT_NE(NULL, q);
	memset(q, 0x42, 3 * self->ps);
	ASSERT_EQ(0, pl_convert(fd2, q, 2 * self->ps, PRIVATE, 0, 0, NULL));
	ASSERT_EQ(0, munmap(q, 3 * self->ps));
	ASSERT_EQ(0, close(fd2));
	/* A private page freed as such would be caught and leaked (G4). */
	ASSERT_EQ(leaks, pl_stat("leaked_pages"));
	ASSERT_LE(shared + 2, pl_stat("converted_to_shared"));
}

/* Pins and conversions racing on the same pages: only documented errors. */
struct racer {
	int fd;
	char *mem;
	int *stop;
	long ops, bad;
	int last_bad;
};

static void *pin_racer(void *arg)
{
	struct racer *r = arg;
	int ret;

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		ret = pl_pin(r->fd, r->mem, 2 * PS);
		if (!ret) {
			ret = pl_unpin(r->fd, r->mem, 2 * PS);
			if (ret) {
				r->bad++;
				r->last_bad = 1000 - ret;
			}
		} else if (ret != -EAGAIN && ret != -EPERM) {
			r->bad++;
			r->last_bad = -ret;
		}
		r->ops++;
	}
	return NULL;
}

TEST_F(conv, race_pin_and_convert)
{
	long pins = pl_stat("pins"), unpins = pl_stat("unpins");
	int stop = 0;
	struct racer r[2] = {
		{ .fd = self->vmm, .mem = self->mem, .stop = &stop },
		{ .fd = self->vmm, .mem = self->mem + self->ps, .stop = &stop },
	};
	pthread_t th[2];
	long t0 = pl_now_ms(), converts = 0;
	__u8 st[NPAGES];
	int i, ret;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, pin_racer, &r[i]));
	while (pl_now_ms() - t0 < 1500) {
		ret = pl_convert(self->fd, self->mem, 3 * self->ps, PRIVATE,
				 0, 20, NULL);
		EXPECT_TRUE(ret == 0 || ret == -EBUSY);
		if (!ret) {
			EXPECT_EQ(0, pl_convert(self->fd, self->mem,
						3 * self->ps, SHARED, 0, 0,
						NULL));
			converts++;
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	TH_LOG("%ld conversions, %ld + %ld pin/unpin rounds", converts,
	       r[0].ops, r[1].ops);
	TH_LOG("errors: %ld (last %d), %ld (last %d) (1000+: UNPIN)",
	       r[0].bad, r[0].last_bad, r[1].bad, r[1].last_bad);
	ASSERT_EQ(0, r[0].bad);
	ASSERT_EQ(0, r[1].bad);
	ASSERT_EQ(0, pl_query(self->vmm, self->mem, NPAGES * self->ps, st));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(SHARED, st[i]);
	if (pins >= 0)
		ASSERT_EQ(pl_stat("pins") - pins, pl_stat("unpins") - unpins);
}

TEST_HARNESS_MAIN
