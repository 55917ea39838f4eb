// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock ABI: every ioctl's success path, pin counting, and
 * every bad input of the ABI, each followed by a QUERY that shows nothing
 * changed. Run on ordinary anonymous memory and on test pool memory.
 */
#include <stdint.h>

#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define NPAGES	4

#define PINNED	SNP_PL_STATE_PINNED
#define SHARED	SNP_PL_STATE_SHARED

FIXTURE(abi) {
	int fd;
	char *mem;
	size_t ps;
};

FIXTURE_VARIANT(abi) {
	bool pool;
};

FIXTURE_VARIANT_ADD(abi, anon) {
	.pool = false,
};

FIXTURE_VARIANT_ADD(abi, pool) {
	.pool = true,
};

FIXTURE_SETUP(abi)
{
	self->ps = PS;
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	if (variant->pool) {
		self->mem = pl_pool_map(self->fd, NPAGES, 0);
		if (!self->mem)
			SKIP(return, "no test pool (CONFIG_SNP_PAGE_LOCK_TEST)");
	} else {
		self->mem = mmap(NULL, NPAGES * self->ps, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->mem);
	}
	memset(self->mem, 0x5a, NPAGES * self->ps);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, NPAGES * self->ps);
	if (self->fd >= 0)
		close(self->fd);
}

/* QUERY the NPAGES of the fixture and compare with @want. */
static void check_states(struct __test_metadata *_metadata, int fd,
			 char *mem, const __u8 *want)
{
	__u8 got[NPAGES];
	int i;

	memset(got, 0xee, sizeof(got));
	ASSERT_EQ(0, pl_query(fd, mem, NPAGES * PS, got));
	for (i = 0; i < NPAGES; i++) {
		if (got[i] != want[i])
			TH_LOG("page %d: state %#x, expected %#x", i, got[i],
			       want[i]);
		ASSERT_EQ(want[i], got[i]);
	}
}

/* Page 0 pinned once through the fixture's fd: what a bad input must keep. */
static const __u8 baseline[NPAGES] = { PINNED, SHARED, SHARED, SHARED };

#define check_baseline() check_states(_metadata, self->fd, self->mem, baseline)

TEST_F(abi, pin_query_unpin)
{
	const __u8 all_pinned[NPAGES] = { PINNED, PINNED, PINNED, PINNED };
	const __u8 none[NPAGES] = { 0 };

	check_states(_metadata, self->fd, self->mem, none);
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, NPAGES * self->ps));
	check_states(_metadata, self->fd, self->mem, all_pinned);
	/* Pinned pages stay usable. */
	memset(self->mem, 0xa5, NPAGES * self->ps);
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, NPAGES * self->ps));
	check_states(_metadata, self->fd, self->mem, none);
}

TEST_F(abi, pin_twice_unpin_twice)
{
	char *p = self->mem + self->ps;
	__u64 off;

	ASSERT_EQ(0, pl_pin(self->fd, p, self->ps));
	ASSERT_EQ(0, pl_pin(self->fd, p, 2 * self->ps));
	ASSERT_EQ(PINNED, pl_state(self->fd, p));
	ASSERT_EQ(0, pl_unpin(self->fd, p, self->ps));
	ASSERT_EQ(PINNED, pl_state(self->fd, p));
	ASSERT_EQ(PINNED, pl_state(self->fd, p + self->ps));
	ASSERT_EQ(0, pl_unpin(self->fd, p, 2 * self->ps));
	ASSERT_EQ(SHARED, pl_state(self->fd, p));
	ASSERT_EQ(SHARED, pl_state(self->fd, p + self->ps));
	/* A third UNPIN finds nothing to drop. */
	ASSERT_EQ(-EINVAL, pl_range(self->fd, SNP_PL_IOC_UNPIN, p, self->ps,
				    &off));
	ASSERT_EQ(0, off);
}

TEST_F(abi, unpin_unpinned)
{
	__u64 off;

	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	check_baseline();
	/* Page 1 was never pinned: nothing is dropped, not even page 0's. */
	ASSERT_EQ(-EINVAL, pl_range(self->fd, SNP_PL_IOC_UNPIN, self->mem,
				    2 * self->ps, &off));
	ASSERT_EQ(self->ps, off);
	check_baseline();
	ASSERT_EQ(-EINVAL, pl_range(self->fd, SNP_PL_IOC_UNPIN,
				    self->mem + 2 * self->ps, self->ps, &off));
	ASSERT_EQ(0, off);
	check_baseline();
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, self->ps));
}

TEST_F(abi, two_fds_same_page)
{
	int fd2 = open(SNP_PL_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	ASSERT_EQ(0, pl_pin(fd2, self->mem, self->ps));
	ASSERT_EQ(PINNED, pl_state(self->fd, self->mem));
	ASSERT_EQ(PINNED, pl_state(fd2, self->mem));
	/* Pins belong to their file. */
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, self->ps));
	ASSERT_EQ(-EINVAL, pl_unpin(self->fd, self->mem, self->ps));
	ASSERT_EQ(SHARED, pl_state(self->fd, self->mem));
	ASSERT_EQ(PINNED, pl_state(fd2, self->mem));
	ASSERT_EQ(0, pl_unpin(fd2, self->mem, self->ps));
	ASSERT_EQ(SHARED, pl_state(fd2, self->mem));
	close(fd2);
}

TEST_F(abi, query_never_touched)
{
	size_t len = 8 * self->ps;
	__u8 st[8];
	char *p;
	int i;

	if (variant->pool)
		p = pl_pool_map(self->fd, 8, NPAGES);
	else
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(NULL, p);
	ASSERT_NE(MAP_FAILED, p);
	memset(st, 0xee, sizeof(st));
	ASSERT_EQ(0, pl_query(self->fd, p, len, st));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(SHARED, st[i]);
	munmap(p, len);
}

TEST_F(abi, unmapped_range)
{
	char *hole = mmap(NULL, 2 * self->ps, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u8 st[2];
	__u64 off;

	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole, 2 * self->ps));
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));

	ASSERT_EQ(-EFAULT, pl_range(self->fd, SNP_PL_IOC_PIN, hole,
				    2 * self->ps, &off));
	ASSERT_EQ(0, off);
	ASSERT_EQ(-EFAULT, pl_range(self->fd, SNP_PL_IOC_UNPIN, hole,
				    2 * self->ps, NULL));
	ASSERT_EQ(-EFAULT, pl_query(self->fd, hole, 2 * self->ps, st));
	check_baseline();

	/* Beyond the user address space. */
	ASSERT_EQ(-EFAULT, pl_pin(self->fd, (void *)(-16UL * self->ps),
				  self->ps));
	check_baseline();
}

TEST_F(abi, partial_failure_is_all_or_nothing)
{
	__u64 off;

	/* Make page 3 of the range unmapped. */
	ASSERT_EQ(0, munmap(self->mem + 3 * self->ps, self->ps));
	ASSERT_EQ(-EFAULT, pl_range(self->fd, SNP_PL_IOC_PIN, self->mem,
				    NPAGES * self->ps, &off));
	ASSERT_EQ(3 * self->ps, off);
	ASSERT_EQ(SHARED, pl_state(self->fd, self->mem));
	ASSERT_EQ(SHARED, pl_state(self->fd, self->mem + 2 * self->ps));

	/* UNPIN of page 0 (pinned) and page 1 (not): nothing dropped. */
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	ASSERT_EQ(-EINVAL, pl_range(self->fd, SNP_PL_IOC_UNPIN, self->mem,
				    2 * self->ps, &off));
	ASSERT_EQ(self->ps, off);
	ASSERT_EQ(PINNED, pl_state(self->fd, self->mem));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, self->ps));
	ASSERT_EQ(SHARED, pl_state(self->fd, self->mem));
}

/* Every malformed range, for PIN, UNPIN (@req) and QUERY (@req == 0). */
static int bad_range(int fd, unsigned long req, char *mem, __u64 addr,
		     __u64 len)
{
	__u8 st[NPAGES + 1];
	struct snp_pl_query q = {
		.size = sizeof(q),
		.addr = addr,
		.len = len,
		.states = (__u64)(unsigned long)st,
	};
	struct snp_pl_range r = {
		.size = sizeof(r),
		.addr = addr,
		.len = len,
	};

	(void)mem;
	if (!req)
		return ioctl(fd, SNP_PL_IOC_QUERY, &q) ? -errno : 0;
	return ioctl(fd, req, &r) ? -errno : 0;
}

TEST_F(abi, bad_ranges)
{
	static const unsigned long reqs[] = {
		SNP_PL_IOC_PIN, SNP_PL_IOC_UNPIN, 0,
	};
	__u64 a = (unsigned long)self->mem, ps = self->ps;
	unsigned int i;

	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		int fd = self->fd;
		unsigned long req = reqs[i];

		TH_LOG("ioctl %#lx", req);
		/* Misaligned address. */
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, a + 1, ps));
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, a + ps / 2,
					     ps));
		/* Misaligned length. */
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, a, ps - 1));
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, a, ps + 1));
		/* Zero length. */
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, a, 0));
		/* Wrap-around. */
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, a,
					     -(__u64)ps));
		EXPECT_EQ(-EINVAL, bad_range(fd, req, self->mem, -(__u64)ps,
					     2 * ps));
		check_baseline();
	}
}

TEST_F(abi, undefined_flags)
{
	struct snp_pl_range r = {
		.size = sizeof(r),
		.addr = (unsigned long)self->mem,
		.len = NPAGES * self->ps,
		.error_offset = ~0ULL,
	};
	__u8 st[NPAGES];
	struct snp_pl_query q = {
		.size = sizeof(q),
		.addr = (unsigned long)self->mem,
		.len = NPAGES * self->ps,
		.states = (unsigned long)st,
	};
	int bit;

	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	for (bit = 0; bit < 32; bit++) {
		r.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_PIN, &r));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_UNPIN, &r));
		EXPECT_EQ(EINVAL, errno);
		/* No single page caused the failure: left as it was. */
		EXPECT_EQ(~0ULL, r.error_offset);
		q.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_QUERY, &q));
		EXPECT_EQ(EINVAL, errno);
	}
	check_baseline();
}

/* A structure followed by a tail the kernel does not know. */
struct big_range {
	struct snp_pl_range r;
	__u8 tail[64];
};

struct big_query {
	struct snp_pl_query q;
	__u8 tail[64];
};

TEST_F(abi, struct_sizes)
{
	__u8 st[NPAGES];
	struct big_range br = {
		.r = {
			.addr = (unsigned long)self->mem + self->ps,
			.len = self->ps,
		},
	};
	struct big_query bq = {
		.q = {
			.addr = (unsigned long)self->mem,
			.len = NPAGES * self->ps,
			.states = (unsigned long)st,
		},
	};
	unsigned int size;

	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));

	/* Smaller than the first version: EINVAL. */
	for (size = 0; size < sizeof(struct snp_pl_range); size += 4) {
		br.r.size = size;
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_PIN, &br));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_UNPIN, &br));
		EXPECT_EQ(EINVAL, errno);
	}
	for (size = 0; size < sizeof(struct snp_pl_query); size += 4) {
		bq.q.size = size;
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_QUERY, &bq));
		EXPECT_EQ(EINVAL, errno);
	}
	check_baseline();

	/* Larger with a non-zero tail: E2BIG. */
	br.r.size = sizeof(br);
	br.tail[63] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_PIN, &br));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_UNPIN, &br));
	EXPECT_EQ(E2BIG, errno);
	bq.q.size = sizeof(bq);
	bq.tail[0] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_QUERY, &bq));
	EXPECT_EQ(E2BIG, errno);
	check_baseline();

	/* Larger with a zero tail: accepted. */
	br.tail[63] = 0;
	EXPECT_EQ(0, ioctl(self->fd, SNP_PL_IOC_PIN, &br));
	EXPECT_EQ(PINNED, pl_state(self->fd, self->mem + self->ps));
	EXPECT_EQ(0, ioctl(self->fd, SNP_PL_IOC_UNPIN, &br));
	bq.tail[0] = 0;
	memset(st, 0xee, sizeof(st));
	EXPECT_EQ(0, ioctl(self->fd, SNP_PL_IOC_QUERY, &bq));
	EXPECT_EQ(PINNED, st[0]);
	EXPECT_EQ(SHARED, st[1]);
	check_baseline();
}

TEST_F(abi, bad_pointers)
{
	char *ro = mmap(NULL, self->ps, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));

	/* The structure itself. */
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_PIN, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_UNPIN, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_QUERY, (void *)-4096L));
	EXPECT_EQ(EFAULT, errno);

	/* QUERY's output buffer. */
	EXPECT_EQ(-EFAULT, pl_query(self->fd, self->mem, NPAGES * self->ps,
				    NULL));
	EXPECT_EQ(-EFAULT, pl_query(self->fd, self->mem, NPAGES * self->ps,
				    (__u8 *)ro));
	/* A read-only mapping cannot be pinned for I/O. */
	EXPECT_EQ(-EFAULT, pl_pin(self->fd, ro, self->ps));
	check_baseline();
	munmap(ro, self->ps);
}

TEST_F(abi, unknown_ioctls)
{
	static const unsigned long bad[] = {
		_IO(SNP_PL_TYPE, 0x03),
		_IO(SNP_PL_TYPE, 0x0f),
		_IO(SNP_PL_TYPE, 0x11),
		_IO(SNP_PL_TYPE, 0xff),
		_IOW(SNP_PL_TYPE, 0x00, struct snp_pl_range),
		_IOWR(SNP_PL_TYPE, 0x01, struct snp_pl_range),
		_IOR(SNP_PL_TYPE, 0x02, struct snp_pl_query),
		_IO(SNP_PL_TYPE + 1, 0x00),
		_IO('x', 0x00),
	};
	struct snp_pl_range r = {
		.size = sizeof(r),
		.addr = (unsigned long)self->mem,
		.len = self->ps,
	};
	unsigned int i;

	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, bad[i], &r));
		EXPECT_EQ(ENOTTY, errno);
	}
	check_baseline();
}

TEST_F(abi, convert_outside_pool)
{
	__u64 off;
	int fd2;
	char *other;

	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));
	if (!variant->pool) {
		int ret = pl_convert(self->fd, self->mem, self->ps,
				     SNP_PL_STATE_PRIVATE, 0, 0, &off);

		if (ret == -ENOTTY)
			SKIP(return, "no TEST_CONVERT");
		/* Not test pool memory. */
		ASSERT_EQ(-EINVAL, ret);
		ASSERT_EQ(0, off);
		check_baseline();
		return;
	}
	/* The pool of another file. */
	fd2 = open(SNP_PL_DEV, O_RDWR);
	ASSERT_LE(0, fd2);
	other = pl_pool_map(fd2, 1, 0);
	ASSERT_NE(NULL, other);
	EXPECT_EQ(-EINVAL, pl_convert(self->fd, other, self->ps,
				      SNP_PL_STATE_PRIVATE, 0, 0, &off));
	EXPECT_EQ(0, off);
	munmap(other, self->ps);
	close(fd2);
	check_baseline();
}

TEST_F(abi, convert_bad_inputs)
{
	struct {
		struct snp_pl_convert c;
		__u8 tail[16];
	} bc = { 0 };
	unsigned long a = (unsigned long)self->mem + self->ps;
	const __u32 bad_to[] = { 2, 3, 0x80, 0x81, ~0U };
	unsigned int i, size;
	int bit;

	if (pl_convert(self->fd, NULL, 0, 0, 0, 0, NULL) == -ENOTTY)
		SKIP(return, "no TEST_CONVERT");
	/* The arguments are checked before the pages (anon: not pool). */
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, self->ps));

/* error_offset is only written when one page caused the failure. */
#define CONVERT_FAILS_AT(err, off) do {					\
		bc.c.error_offset = ~0ULL;				\
		EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_TEST_CONVERT, &bc)); \
		EXPECT_EQ(err, errno);					\
		EXPECT_EQ(off, bc.c.error_offset);			\
	} while (0)
#define CONVERT_FAILS(err)	CONVERT_FAILS_AT(err, ~0ULL)

	bc.c.size = sizeof(bc.c);
	bc.c.to = SNP_PL_STATE_PRIVATE;
	bc.c.addr = a;
	bc.c.len = self->ps;
	for (bit = 1; bit < 32; bit++) {
		bc.c.flags = 1U << bit;
		CONVERT_FAILS(EINVAL);
	}
	bc.c.flags = 0;
	/* A bad `to` taken for private would convert this shared page... */
	for (i = 0; i < ARRAY_SIZE(bad_to); i++) {
		bc.c.to = bad_to[i];
		CONVERT_FAILS(EINVAL);
		if (variant->pool)
			EXPECT_EQ(SHARED, pl_state(self->fd, (void *)a));
	}
	/* ... and one taken for shared would convert a private one. */
	if (variant->pool) {
		ASSERT_EQ(0, pl_convert(self->fd, (void *)a, self->ps,
					SNP_PL_STATE_PRIVATE, 0, 0, NULL));
		for (i = 0; i < ARRAY_SIZE(bad_to); i++) {
			bc.c.to = bad_to[i];
			CONVERT_FAILS(EINVAL);
			EXPECT_EQ(SNP_PL_STATE_PRIVATE,
				  pl_state(self->fd, (void *)a));
		}
		ASSERT_EQ(0, pl_convert(self->fd, (void *)a, self->ps,
					SNP_PL_STATE_SHARED, 0, 0, NULL));
	}
	bc.c.to = SNP_PL_STATE_PRIVATE;
	bc.c.addr = a + 1;
	CONVERT_FAILS(EINVAL);
	bc.c.addr = a;
	bc.c.len = 0;
	CONVERT_FAILS(EINVAL);
	bc.c.len = self->ps + 1;
	CONVERT_FAILS(EINVAL);
	bc.c.len = -(__u64)self->ps;
	CONVERT_FAILS(EINVAL);
	bc.c.len = self->ps;
	for (size = 0; size < sizeof(bc.c); size += 4) {
		bc.c.size = size;
		CONVERT_FAILS(EINVAL);
	}
	bc.c.size = sizeof(bc);
	bc.tail[15] = 0xff;
	CONVERT_FAILS(E2BIG);
	EXPECT_EQ(-1, ioctl(self->fd, SNP_PL_IOC_TEST_CONVERT, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* Shared to shared: not in the opposite state (anon: not pool). */
	bc.tail[15] = 0;
	bc.c.to = SNP_PL_STATE_SHARED;
	CONVERT_FAILS_AT(EINVAL, 0);
	check_baseline();
	if (!variant->pool)
		return;

	/* A zero tail is accepted; and back. */
	bc.c.to = SNP_PL_STATE_PRIVATE;
	EXPECT_EQ(0, ioctl(self->fd, SNP_PL_IOC_TEST_CONVERT, &bc));
	EXPECT_EQ(SNP_PL_STATE_PRIVATE, pl_state(self->fd, (void *)a));
	bc.c.to = SNP_PL_STATE_SHARED;
	EXPECT_EQ(0, ioctl(self->fd, SNP_PL_IOC_TEST_CONVERT, &bc));
	check_baseline();
#undef CONVERT_FAILS
#undef CONVERT_FAILS_AT
}

TEST_HARNESS_MAIN
