// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock accounting: a PIN is charged (pinned_vm, VmPin) to the
 * mm whose pages are pinned, the caller's, not the opener's, and the charge
 * goes back to that mm however the pin ends; test pool pages are charged
 * to the memory cgroup of the task that faults them in.
 */
#define _GNU_SOURCE

#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define NPIN	16

/* The child's side of the fork test; a byte on each pipe per step. */
struct pin_child {
	int fd;
	int ready[2];
	int go[2];
};

static int step(int rfd, int wfd)
{
	char c = 0;

	if (write(wfd, &c, 1) != 1)
		return -1;
	return read(rfd, &c, 1) == 1 ? 0 : -1;
}

/*
 * The child pins NPIN of its own pages through the parent's file: step 1,
 * pinned (the parent checks both VmPins); step 2, unpinned; step 3, pinned
 * again and left pinned when it exits.
 */
static int pin_child_fn(struct pin_child *pc)
{
	char *mem = mmap(NULL, NPIN * PS, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return 10;
	memset(mem, 1, NPIN * PS);
	if (pl_pin(pc->fd, mem, NPIN * PS))
		return 1;
	if (pl_vmpin_kb(0) != NPIN * PS / 1024)
		return 2;
	if (step(pc->go[0], pc->ready[1]))
		return 11;
	if (pl_unpin(pc->fd, mem, NPIN * PS))
		return 3;
	if (pl_vmpin_kb(0) != 0)
		return 4;
	if (step(pc->go[0], pc->ready[1]))
		return 12;
	if (pl_pin(pc->fd, mem, NPIN * PS))
		return 5;
	if (step(pc->go[0], pc->ready[1]))
		return 13;
	return 0;
}

TEST(pin_charges_the_caller)
{
	long pins = pl_stat("pins"), unpins = pl_stat("unpins");
	long parent_kb = pl_vmpin_kb(0);
	struct pin_child pc;
	int status;
	pid_t pid;
	char c;

	pc.fd = open(SNP_PL_DEV, O_RDWR);
	if (pc.fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	ASSERT_EQ(0, pipe(pc.ready));
	ASSERT_EQ(0, pipe(pc.go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pin_child_fn(&pc));

	/* Pinned: charged to the child, whose pages they are. */
	ASSERT_EQ(1, read(pc.ready[0], &c, 1));
	ASSERT_EQ(NPIN * PS / 1024, pl_vmpin_kb(pid));
	ASSERT_EQ(parent_kb, pl_vmpin_kb(0));
	ASSERT_EQ(1, write(pc.go[1], &c, 1));
	/* Unpinned: the child's charge is back to 0. */
	ASSERT_EQ(1, read(pc.ready[0], &c, 1));
	ASSERT_EQ(0, pl_vmpin_kb(pid));
	ASSERT_EQ(parent_kb, pl_vmpin_kb(0));
	ASSERT_EQ(1, write(pc.go[1], &c, 1));
	/* Pinned again, then the child exits with its pins in the file. */
	ASSERT_EQ(1, read(pc.ready[0], &c, 1));
	ASSERT_EQ(NPIN * PS / 1024, pl_vmpin_kb(pid));
	ASSERT_EQ(1, write(pc.go[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(parent_kb, pl_vmpin_kb(0));
	/* The parent's last close releases the child's pins, not its own. */
	ASSERT_EQ(0, close(pc.fd));
	ASSERT_EQ(parent_kb, pl_vmpin_kb(0));
	if (pins >= 0)
		ASSERT_EQ(pl_stat("pins") - pins, pl_stat("unpins") - unpins);
}

/* ------------------------------------------------------------------------
 * The test pool and the memory cgroup.
 */

#define CGROOT		"/sys/fs/cgroup"
#define CGTEST		CGROOT "/snp_pl_account"
#define POOL_PAGES	1024	/* 4 MiB */

static int cg_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), CGTEST "/%s", file);
	return pl_write_str(path, val);
}

static long cg_read(const char *file, const char *key)
{
	char path[128], line[128], k[64];
	long val, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), CGTEST "/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			ret = atol(line);
			break;
		}
		if (sscanf(line, "%63s %ld", k, &val) == 2 && !strcmp(k, key)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int cg_setup(void)
{
	int ret;

	mount("cgroup2", CGROOT, "cgroup2", 0, NULL);
	ret = pl_write_str(CGROOT "/cgroup.subtree_control", "+memory");
	if (ret)
		return ret;
	if (mkdir(CGTEST, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Move this process into the test cgroup. */
static int cg_enter(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return cg_write("cgroup.procs", pid);
}

/* Fault in @n pages of a fresh test pool: 0, or 1 if that failed. */
static int touch_pool(int n)
{
	int fd = open(SNP_PL_DEV, O_RDWR);
	char *p;
	int i;

	if (fd < 0)
		return 1;
	p = pl_pool_map(fd, n, 0);
	if (!p)
		return 1;
	for (i = 0; i < n; i++)
		pl_write(p + i * PS, 1);
	munmap(p, n * PS);
	close(fd);
	return 0;
}

static int charged_child(void *arg)
{
	long before, after;
	char *p;
	int fd, i;

	if (cg_enter())
		return 10;
	before = cg_read("memory.current", NULL);
	/* The pool (and its charge) lives as long as the file. */
	fd = open(SNP_PL_DEV, O_RDWR);
	p = fd < 0 ? NULL : pl_pool_map(fd, POOL_PAGES, 0);
	if (!p)
		return 11;
	for (i = 0; i < POOL_PAGES; i++)
		pl_write(p + i * PS, 1);
	after = cg_read("memory.current", NULL);
	return after - before >= POOL_PAGES * (long)PS ? 0 : 1;
}

static int limited_child(void *arg)
{
	if (cg_enter())
		return 10;
	/* 4 MiB of pool pages in a cgroup limited to 2 MiB: OOM-killed. */
	return touch_pool(POOL_PAGES) ? 11 : 12;
}

TEST(pool_charged_to_memcg)
{
	int fd = open(SNP_PL_DEV, O_RDWR);
	long kills;
	int ret;

	if (fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	if (!pl_pool_map(fd, 1, 0))
		SKIP(return, "no test pool (CONFIG_SNP_PAGE_LOCK_TEST)");
	close(fd);
	ret = cg_setup();
	if (ret)
		SKIP(return, "no memory cgroup: %s", strerror(-ret));

	/* The pages a task faults in are charged to its memory cgroup... */
	ASSERT_EQ(0, cg_write("memory.max", "max"));
	ASSERT_EQ(0, pl_in_child(charged_child, NULL));

	/* ... and memory.max holds: the task is OOM-killed, not served. */
	ASSERT_EQ(0, cg_write("memory.max", "2M"));
	kills = cg_read("memory.events", "oom_kill");
	ASSERT_LE(0, kills);
	ASSERT_EQ(128 + SIGKILL, pl_in_child(limited_child, NULL));
	ASSERT_LT(kills, cg_read("memory.events", "oom_kill"));
	rmdir(CGTEST);
}

TEST_HARNESS_MAIN
