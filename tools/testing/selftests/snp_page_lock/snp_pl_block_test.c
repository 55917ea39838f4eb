// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/snp_page_lock on transparent huge pages: a PIN that covers a whole
 * naturally aligned 2 MiB block of contiguous pages takes one block pin
 * for it (the "block_pins" counter), and every way of letting go of it
 * drops exactly what was taken: UNPIN of the same range, UNPIN of part of
 * the block (the block pin is traded for 4 KiB pins of its other pages),
 * UNPIN across two blocks, and close(). The pin and unpin counters of the
 * layer must balance, and the kernel warns (failing the run) on an unpin
 * of a page without a pin.
 */
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "snp_pl_util.h"

#define BLOCK		(2UL << 20)
#define PINNED		SNP_PL_STATE_PINNED
#define SHARED		SNP_PL_STATE_SHARED

/* @size bytes of anonymous memory, 2 MiB aligned, backed by THPs. */
static char *thp_alloc(size_t size, bool huge)
{
	char *raw, *mem;

	raw = mmap(NULL, size + BLOCK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	mem = (char *)(((unsigned long)raw + BLOCK - 1) & ~(BLOCK - 1));
	if (madvise(mem, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return NULL;
	memset(mem, 0x5a, size);
	return mem;
}

/* Pins taken minus pins dropped, as the layer counts them. */
static long pins_held(void)
{
	return pl_stat("pins") - pl_stat("unpins");
}

/* Every page of [@addr, @addr + @len) is shared, pinned or not. */
static int states_are(int fd, char *addr, size_t len, __u8 want)
{
	size_t i, n = len / PS;
	__u8 *states = calloc(n, 1);
	int ret = 0;

	if (!states || pl_query(fd, addr, len, states))
		ret = -1;
	for (i = 0; !ret && i < n; i++)
		if (states[i] != want)
			ret = -1 - (int)i;
	free(states);
	return ret;
}

FIXTURE(block) {
	int fd;
	char *mem;
	long held;
	long blocks;
};

FIXTURE_SETUP(block)
{
	self->fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	ASSERT_LE(0, pl_stat("block_pins")) TH_LOG("no debugfs counters");
	self->mem = thp_alloc(2 * BLOCK, true);
	ASSERT_NE(NULL, self->mem);
	self->held = pins_held();
	self->blocks = pl_stat("block_pins");
}

FIXTURE_TEARDOWN(block)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Two whole blocks: two block pins; UNPIN of the same range drops them. */
TEST_F(block, pin_two_blocks)
{
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, 2 * BLOCK));
	ASSERT_EQ(self->blocks + 2, pl_stat("block_pins"))
		TH_LOG("no THP here? the PIN took no block pin");
	EXPECT_EQ(0, states_are(self->fd, self->mem, 2 * BLOCK,
				SHARED | PINNED));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, 2 * BLOCK));
	EXPECT_EQ(0, states_are(self->fd, self->mem, 2 * BLOCK, SHARED));
	EXPECT_EQ(self->held, pins_held());
}

/* UNPIN of one page of a pinned block: the other pages stay pinned. */
TEST_F(block, unpin_part_of_block)
{
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, 2 * BLOCK));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem + 5 * PS, PS));
	EXPECT_EQ(SHARED, pl_state(self->fd, self->mem + 5 * PS));
	EXPECT_EQ(0, states_are(self->fd, self->mem, 5 * PS, SHARED | PINNED));
	EXPECT_EQ(0, states_are(self->fd, self->mem + 6 * PS,
				2 * BLOCK - 6 * PS, SHARED | PINNED));
	/* Pinned again as a 4 KiB pin, dropped with the rest page by page. */
	ASSERT_EQ(0, pl_pin(self->fd, self->mem + 5 * PS, PS));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, BLOCK));
	EXPECT_EQ(0, states_are(self->fd, self->mem, BLOCK, SHARED));
	EXPECT_EQ(0, states_are(self->fd, self->mem + BLOCK, BLOCK,
				SHARED | PINNED));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem + BLOCK, BLOCK));
	EXPECT_EQ(0, states_are(self->fd, self->mem, 2 * BLOCK, SHARED));
	EXPECT_EQ(self->held, pins_held());
}

/* UNPIN of a range that ends in the middle of both blocks. */
TEST_F(block, unpin_across_blocks)
{
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, 2 * BLOCK));
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, 2 * BLOCK));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem + BLOCK / 2, BLOCK));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, 2 * BLOCK));
	EXPECT_EQ(0, states_are(self->fd, self->mem, BLOCK / 2,
				SHARED | PINNED));
	EXPECT_EQ(0, states_are(self->fd, self->mem + BLOCK / 2, BLOCK,
				SHARED));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem, BLOCK / 2));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem + 3 * BLOCK / 2, BLOCK / 2));
	EXPECT_EQ(0, states_are(self->fd, self->mem, 2 * BLOCK, SHARED));
	/* Nothing left to unpin. */
	EXPECT_EQ(-EINVAL, pl_unpin(self->fd, self->mem, PS));
	EXPECT_EQ(self->held, pins_held());
}

/* close() drops block pins, split ones and 4 KiB ones alike. */
TEST_F(block, close_drops_all)
{
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, 2 * BLOCK));
	ASSERT_EQ(0, pl_pin(self->fd, self->mem, 2 * BLOCK));
	ASSERT_EQ(0, pl_pin(self->fd, self->mem + 7 * PS, 3 * PS));
	ASSERT_EQ(0, pl_unpin(self->fd, self->mem + BLOCK + PS, PS));
	EXPECT_NE(self->held, pins_held());
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(self->held, pins_held());
}

/*
 * What a block pin saves through the ABI: PIN+UNPIN of 64 MiB of THPs
 * against the same of 4 KiB pages, in the same boot. Reported, not
 * asserted: the per-page GUP and bookkeeping of the ABI dominate both.
 */
TEST(block_pin_cost)
{
	size_t size = 64UL << 20;
	long t0, pin[2], unpin[2];
	int fd, huge;
	char *mem;

	fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "%s: %s", SNP_PL_DEV, strerror(errno));
	for (huge = 0; huge < 2; huge++) {
		mem = thp_alloc(size, huge);
		ASSERT_NE(NULL, mem);
		t0 = pl_now_ms();
		ASSERT_EQ(0, pl_pin(fd, mem, size));
		pin[huge] = pl_now_ms() - t0;
		t0 = pl_now_ms();
		ASSERT_EQ(0, pl_unpin(fd, mem, size));
		unpin[huge] = pl_now_ms() - t0;
		munmap(mem, size);
	}
	close(fd);
	TH_LOG("PIN+UNPIN 64 MiB: 4 KiB pages %ld+%ld ms, THP (block pins) %ld+%ld ms",
	       pin[0], unpin[0], pin[1], unpin[1]);
}

TEST_HARNESS_MAIN
