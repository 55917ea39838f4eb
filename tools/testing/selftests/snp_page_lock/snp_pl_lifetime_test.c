// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock: pins are released on the last close, when a process
 * exits or is killed; UNPIN releases by user address whatever is mapped
 * there now (after MADV_DONTNEED, munmap, mremap); RLIMIT_MEMLOCK is
 * enforced without CAP_IPC_LOCK; TEST_CONVERT needs CAP_SYS_ADMIN.
 *
 * Whether a page still holds a pin through some other file is probed with a
 * NOWAIT conversion of the page (EBUSY while pinned), and the debugfs
 * counters must balance.
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define NPAGES	4

FIXTURE(life) {
	int fd;
	char *mem;
	size_t ps;
};

FIXTURE_SETUP(life)
{
	self->ps = PS;
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	self->mem = pl_pool_map(self->fd, NPAGES, 0);
	if (!self->mem)
		SKIP(return, "no test pool (CONFIG_SNP_PAGE_LOCK_TEST)");
	memset(self->mem, 0x77, NPAGES * self->ps);
}

FIXTURE_TEARDOWN(life)
{
	if (self->mem)
		munmap(self->mem, NPAGES * self->ps);
	if (self->fd >= 0)
		close(self->fd);
}

/* 0 if nothing pins the page at @p, -EBUSY if something does. */
static int probe_pins(int pool_fd, char *p)
{
	int ret = pl_convert(pool_fd, p, PS, SNP_PL_STATE_PRIVATE,
			     SNP_PL_CONVERT_NOWAIT, 0, NULL);

	if (ret)
		return ret;
	return pl_convert(pool_fd, p, PS, SNP_PL_STATE_SHARED, 0, 0, NULL);
}

TEST_F(life, released_on_close)
{
	long pins = pl_stat("pins"), unpins = pl_stat("unpins");
	int fd2 = open(SNP_PL_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, probe_pins(self->fd, self->mem));
	ASSERT_EQ(0, pl_pin(fd2, self->mem, NPAGES * self->ps));
	ASSERT_EQ(0, pl_pin(fd2, self->mem, self->ps));
	ASSERT_EQ(-EBUSY, probe_pins(self->fd, self->mem));
	ASSERT_EQ(-EBUSY, probe_pins(self->fd, self->mem + 3 * self->ps));
	close(fd2);
	ASSERT_EQ(0, probe_pins(self->fd, self->mem));
	ASSERT_EQ(0, probe_pins(self->fd, self->mem + 3 * self->ps));
	if (pins >= 0) {
		ASSERT_EQ(pl_stat("pins") - pins, pl_stat("unpins") - unpins);
		ASSERT_LE(NPAGES + 1, pl_stat("unpins") - unpins);
	}
}

TEST_F(life, shared_file_released_on_last_close)
{
	int fd2 = open(SNP_PL_DEV, O_RDWR);
	int status;
	pid_t pid;

	ASSERT_LE(0, fd2);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pl_pin(fd2, self->mem, self->ps) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* The child's exit was not the last close of the file. */
	ASSERT_EQ(-EBUSY, probe_pins(self->fd, self->mem));
	ASSERT_EQ(SNP_PL_STATE_SHARED | SNP_PL_STATE_PINNED,
		  pl_state(fd2, self->mem));
	close(fd2);
	ASSERT_EQ(0, probe_pins(self->fd, self->mem));
}

/*
 * A child opens its own file, pins pages 0 and 1 of @mem (the pool mapping
 * is inherited), page 0 twice, and says so on the ready pipe. Then it waits
 * for a byte on the go pipe, and exits; or is SIGKILLed (@kill_it). Either
 * way its pins must be gone once it is reaped.
 */
static void child_pins_released(struct __test_metadata *_metadata,
				int pool_fd, char *mem, bool kill_it)
{
	int ready[2], go[2], status, ret;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		close(ready[0]);
		close(go[1]);
		fd = open(SNP_PL_DEV, O_RDWR);
		if (fd < 0 || pl_pin(fd, mem, 2 * PS) || pl_pin(fd, mem, PS))
			_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		/* EOF if the test dies: never left behind. */
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(-EBUSY, probe_pins(pool_fd, mem));
	ASSERT_EQ(-EBUSY, probe_pins(pool_fd, mem + PS));
	if (kill_it)
		ret = kill(pid, SIGKILL);
	else
		ret = write(go[1], &c, 1) == 1 ? 0 : -1;
	ASSERT_EQ(0, ret);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(ready[0]);
	close(go[1]);
	if (kill_it) {
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(0, probe_pins(pool_fd, mem));
	ASSERT_EQ(0, probe_pins(pool_fd, mem + PS));
}

TEST_F(life, released_on_exit)
{
	child_pins_released(_metadata, self->fd, self->mem, false);
}

TEST_F(life, released_on_sigkill)
{
	child_pins_released(_metadata, self->fd, self->mem, true);
}

/*
 * UNPIN goes by the address a pin was taken at (as iommufd unmaps by
 * IOVA), not by what is mapped there now: the pin and its memlock charge
 * are released even after the mapping changed.
 */
FIXTURE(anon) {
	int fd;
	char *mem;
	size_t ps;
};

FIXTURE_SETUP(anon)
{
	self->ps = PS;
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	self->mem = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	memset(self->mem, 0x21, 4 * self->ps);
}

FIXTURE_TEARDOWN(anon)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, 4 * self->ps);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(anon, unpin_after_dontneed)
{
	long pins = pl_stat("pins"), unpins = pl_stat("unpins");
	long pinned = pl_vmpin_kb(0);
	char *p = self->mem;

	ASSERT_EQ(0, pl_pin(self->fd, p, self->ps));
	ASSERT_EQ(pinned + 4, pl_vmpin_kb(0));
	ASSERT_EQ(SNP_PL_STATE_SHARED | SNP_PL_STATE_PINNED,
		  pl_state(self->fd, p));
	ASSERT_EQ(0, madvise(p, self->ps, MADV_DONTNEED));
	p[0] = 1;	/* a new page at the same address */
	ASSERT_EQ(SNP_PL_STATE_SHARED, pl_state(self->fd, p));

	/* Pinned again at the same address: a second, different page. */
	ASSERT_EQ(0, pl_pin(self->fd, p, self->ps));
	ASSERT_EQ(pinned + 8, pl_vmpin_kb(0));
	ASSERT_EQ(0, pl_unpin(self->fd, p, self->ps));
	ASSERT_EQ(pinned + 4, pl_vmpin_kb(0));
	ASSERT_EQ(SNP_PL_STATE_SHARED, pl_state(self->fd, p));
	ASSERT_EQ(0, pl_unpin(self->fd, p, self->ps));
	ASSERT_EQ(pinned, pl_vmpin_kb(0));
	ASSERT_EQ(-EINVAL, pl_unpin(self->fd, p, self->ps));
	if (pins >= 0)
		ASSERT_EQ(pl_stat("pins") - pins, pl_stat("unpins") - unpins);
}

TEST_F(anon, unpin_after_munmap)
{
	long pinned = pl_vmpin_kb(0);
	char *p = self->mem + 2 * self->ps;

	ASSERT_EQ(0, pl_pin(self->fd, p, 2 * self->ps));
	ASSERT_EQ(pinned + 8, pl_vmpin_kb(0));
	ASSERT_EQ(0, munmap(p, 2 * self->ps));
	/* QUERY needs a mapping; UNPIN does not. */
	ASSERT_EQ(-EFAULT, pl_state(self->fd, p));
	ASSERT_EQ(0, pl_unpin(self->fd, p, 2 * self->ps));
	ASSERT_EQ(pinned, pl_vmpin_kb(0));
	/* Nothing pinned, nothing mapped. */
	ASSERT_EQ(-EFAULT, pl_unpin(self->fd, p, self->ps));
}

TEST_F(anon, unpin_after_mremap)
{
	long pinned = pl_vmpin_kb(0);
	char *p = self->mem, *q;
	__u64 off;

	q = mmap(NULL, 2 * self->ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, pl_pin(self->fd, p, 2 * self->ps));
	ASSERT_EQ(q, mremap(p, 2 * self->ps, 2 * self->ps,
			    MREMAP_MAYMOVE | MREMAP_FIXED, q));
	/* The pages moved, the pins stay where they were taken. */
	ASSERT_EQ(SNP_PL_STATE_SHARED | SNP_PL_STATE_PINNED,
		  pl_state(self->fd, q + self->ps));
	ASSERT_EQ(-EINVAL, pl_range(self->fd, SNP_PL_IOC_UNPIN, q,
				    2 * self->ps, &off));
	ASSERT_EQ(0, off);
	ASSERT_EQ(pinned + 8, pl_vmpin_kb(0));
	ASSERT_EQ(0, pl_unpin(self->fd, p, 2 * self->ps));
	ASSERT_EQ(pinned, pl_vmpin_kb(0));
	ASSERT_EQ(SNP_PL_STATE_SHARED, pl_state(self->fd, q));
	munmap(q, 2 * self->ps);
}

/* All or nothing: one address without a pin fails the UNPIN of a range. */
TEST_F(anon, unpin_range_all_or_nothing)
{
	long pinned = pl_vmpin_kb(0);
	char *p = self->mem;
	__u64 off;

	ASSERT_EQ(0, pl_pin(self->fd, p, self->ps));
	ASSERT_EQ(0, pl_pin(self->fd, p + 2 * self->ps, self->ps));
	ASSERT_EQ(-EINVAL, pl_range(self->fd, SNP_PL_IOC_UNPIN, p,
				    3 * self->ps, &off));
	ASSERT_EQ(self->ps, off);
	ASSERT_EQ(pinned + 8, pl_vmpin_kb(0));
	ASSERT_EQ(SNP_PL_STATE_SHARED | SNP_PL_STATE_PINNED,
		  pl_state(self->fd, p));
	ASSERT_EQ(0, pl_unpin(self->fd, p, self->ps));
	ASSERT_EQ(0, pl_unpin(self->fd, p + 2 * self->ps, self->ps));
	ASSERT_EQ(pinned, pl_vmpin_kb(0));
}

static int memlock_child(void *arg)
{
	struct rlimit rl = { 4 * PS, 4 * PS };
	bool keep_cap = *(bool *)arg;
	__u64 off;
	char *mem;
	int fd;

	if (!keep_cap && pl_drop_cap(CAP_IPC_LOCK))
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 11;
	mem = mmap(NULL, 16 * PS, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open(SNP_PL_DEV, O_RDWR);
	if (mem == MAP_FAILED || fd < 0)
		return 12;
	if (keep_cap)
		return pl_pin(fd, mem, 16 * PS) ? 13 : 0;

	/* No single page is to blame: error_offset is left alone. */
	if (pl_range(fd, SNP_PL_IOC_PIN, mem, 8 * PS, &off) != -ENOMEM ||
	    off != ~0ULL)
		return 1;
	if (pl_state(fd, mem) != SNP_PL_STATE_SHARED)
		return 2;
	if (pl_pin(fd, mem, 4 * PS))
		return 3;
	if (pl_pin(fd, mem + 4 * PS, PS) != -ENOMEM)
		return 4;
	/* UNPIN returns the charge... */
	if (pl_unpin(fd, mem, 2 * PS) || pl_pin(fd, mem + 8 * PS, 2 * PS))
		return 5;
	/* ... and so does the last close. */
	close(fd);
	fd = open(SNP_PL_DEV, O_RDWR);
	if (fd < 0 || pl_pin(fd, mem + 12 * PS, 4 * PS))
		return 6;
	return 0;
}

TEST(memlock_limit)
{
	bool keep_cap = false;
	int fd = open(SNP_PL_DEV, O_RDWR);

	if (fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	close(fd);
	ASSERT_EQ(0, pl_in_child(memlock_child, &keep_cap));
	/* CAP_IPC_LOCK lifts the limit. */
	keep_cap = true;
	ASSERT_EQ(0, pl_in_child(memlock_child, &keep_cap));
}

static int no_admin_child(void *arg)
{
	char *mem = arg;
	int fd;

	if (pl_drop_cap(CAP_SYS_ADMIN))
		return 10;
	fd = open(SNP_PL_DEV, O_RDWR);
	if (fd < 0)
		return 11;
	/* Checked before anything else, even the structure. */
	if (ioctl(fd, SNP_PL_IOC_TEST_CONVERT, NULL) != -1 || errno != EPERM)
		return 1;
	if (pl_convert(fd, mem, PS, SNP_PL_STATE_PRIVATE, 0, 0, NULL) !=
	    -EPERM)
		return 2;
	/* The VMM part of the ABI needs no privilege. */
	if (pl_pin(fd, mem, PS) || pl_unpin(fd, mem, PS))
		return 3;
	return 0;
}

TEST_F(life, test_convert_needs_cap_sys_admin)
{
	ASSERT_EQ(0, pl_in_child(no_admin_child, self->mem));
	ASSERT_EQ(SNP_PL_STATE_SHARED, pl_state(self->fd, self->mem));
	ASSERT_EQ(0, probe_pins(self->fd, self->mem));
}

TEST_HARNESS_MAIN
