// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the SNP page lock.
 *
 * Suite snp_page_lock runs when the layer is on, snp_page_lock_off when the
 * kernel was booted with snp_page_lock=off, and snp_page_lock_lockdep only
 * with snp_page_lock.lockdep_selftest=1 or 2 (it is meant to produce a
 * lockdep report). Every wait in these tests is bounded.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/rcupdate.h>
#include <linux/sched/task.h>
#include <linux/snp_page_lock.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "snp_page_lock_internal.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

/* Long enough never to expire on a slow emulator unless a wakeup is lost. */
#define SNP_TEST_LONG_MS	10000
/* How long a helper thread may take to reach a state we poll for. */
#define SNP_TEST_POLL_MS	5000

/* ------------------------------------------------------------------------
 * Helpers: pages that are put back to shared and freed at test exit.
 */

struct snp_test_block {
	struct page *page;
	unsigned int order;
};

static void snp_test_reset_page(unsigned long pfn)
{
	unsigned int pins;

	if (snp_page_state(pfn) == SNP_PAGE_CONVERTING)
		snp_convert_end(pfn, 1, SNP_PAGE_PRIVATE, false);
	pins = snp_page_pins(pfn);
	if (pins)
		snp_page_lock_test_add_pins(pfn, -(int)pins);
	if (snp_page_state(pfn) == SNP_PAGE_PRIVATE)
		snp_make_shared(pfn, 1, 0);
}

static void snp_test_release(void *data)
{
	struct snp_test_block *b = data;
	unsigned long pfn = page_to_pfn(b->page);
	unsigned long i;

	u32 bpins;

	for (i = 0; i < (1UL << b->order); i++) {
		snp_test_reset_page(pfn + i);
		if (i && !IS_ALIGNED(pfn + i, SNP_BLOCK_PAGES))
			continue;
		bpins = snp_bs_pins(snp_page_lock_test_block_word(pfn + i));
		if (bpins)
			snp_page_lock_test_add_block_pins(pfn + i, -(long)bpins);
	}
	__free_pages(b->page, b->order);
}

static unsigned long snp_test_alloc(struct kunit *test, unsigned int order)
{
	struct snp_test_block *b;

	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	b->page = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	KUNIT_ASSERT_NOT_NULL(test, b->page);
	b->order = order;
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, snp_test_release, b));
	return page_to_pfn(b->page);
}

static u32 snp_test_word(unsigned long pfn)
{
	return snp_page_lock_test_state_word(pfn);
}

/* Poll until a converter has marked @pfn as waited on, or give up. */
static bool snp_test_wait_for_waiter(unsigned long pfn)
{
	unsigned long end = jiffies + msecs_to_jiffies(SNP_TEST_POLL_MS);

	while (!(snp_test_word(pfn) & SNP_PS_WAITER)) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}

/*
 * Map @pfn with snp_kmap_local_pfn(), write through the mapping while it
 * holds @pins pins (1 with the layer on, 0 off), and check the write
 * through the mapping and, after the unmap, through the direct map.
 */
static void snp_test_kmap_write(struct kunit *test, unsigned long pfn,
				unsigned int pins)
{
	u32 *addr;

	addr = snp_kmap_local_pfn(pfn);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(addr));
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), pins);
	WRITE_ONCE(addr[3], 0x5a5a5a5a);
	KUNIT_EXPECT_EQ(test, READ_ONCE(addr[3]), 0x5a5a5a5aU);
	snp_kunmap_local(addr, pfn);
	addr = page_address(pfn_to_page(pfn));
	KUNIT_EXPECT_EQ(test, READ_ONCE(addr[3]), 0x5a5a5a5aU);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
}

/* G1: snp_kmap_local_pfn() of @pfn must fail with @err and map nothing. */
static void snp_test_expect_kmap_err(struct kunit *test, unsigned long pfn,
				     int err)
{
	void *addr = snp_kmap_local_pfn(pfn);

	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(addr), err);
	if (!IS_ERR(addr))
		snp_kunmap_local(addr, pfn);
}

/* ------------------------------------------------------------------------
 * Helpers: kernel threads that end on their own within bounded time.
 */

struct snp_test_thread {
	struct task_struct *task;
	int (*fn)(struct snp_test_thread *t);
	struct completion done;
	bool joined;
	/* Arguments and result. */
	unsigned long pfn;
	unsigned long nr_pages;
	unsigned int timeout_ms;
	void *arg;
	int ret;
};

static int snp_test_thread_fn(void *data)
{
	struct snp_test_thread *t = data;

	t->ret = t->fn(t);
	complete(&t->done);
	return 0;
}

/* Returns false if the thread did not finish within @ms. */
static bool snp_test_thread_join(struct snp_test_thread *t, unsigned int ms)
{
	bool done;

	if (t->joined)
		return true;
	done = wait_for_completion_timeout(&t->done, msecs_to_jiffies(ms));
	/* Every thread function ends on its own; this wait is bounded too. */
	kthread_stop(t->task);
	put_task_struct(t->task);
	t->joined = true;
	return done;
}

static void snp_test_thread_cleanup(void *data)
{
	snp_test_thread_join(data, SNP_TEST_LONG_MS);
}

static struct snp_test_thread *
snp_test_thread_start(struct kunit *test, int (*fn)(struct snp_test_thread *t),
		      unsigned long pfn, unsigned long nr_pages, void *arg)
{
	struct snp_test_thread *t;
	struct task_struct *task;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->fn = fn;
	t->pfn = pfn;
	t->nr_pages = nr_pages;
	t->arg = arg;
	t->timeout_ms = SNP_TEST_LONG_MS;
	init_completion(&t->done);

	task = kthread_create(snp_test_thread_fn, t, "snp_pl_test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	/* Keep the task around even if it exits before we stop it. */
	get_task_struct(task);
	t->task = task;
	wake_up_process(task);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, snp_test_thread_cleanup,
						  t));
	return t;
}

/* Thread body: convert to private (begin + backend + end). */
static int snp_test_convert_fn(struct snp_test_thread *t)
{
	int ret;

	ret = snp_convert_begin(t->pfn, t->nr_pages, SNP_PAGE_PRIVATE, 0,
				t->timeout_ms, NULL);
	if (ret)
		return ret;
	return snp_convert_end(t->pfn, t->nr_pages, SNP_PAGE_PRIVATE, true);
}

/* Thread body: like snp_test_convert_fn(), but can be killed. */
static int snp_test_convert_killable_fn(struct snp_test_thread *t)
{
	allow_signal(SIGKILL);
	return snp_test_convert_fn(t);
}

/* Thread body: wait until a converter waits on the page, then unpin it. */
static int snp_test_unpin_fn(struct snp_test_thread *t)
{
	if (!snp_test_wait_for_waiter(t->pfn))
		return -ETIMEDOUT;
	/* Make sure the converter is asleep, not just about to sleep. */
	msleep(50);
	snp_unpin_shared(t->pfn, t->nr_pages);
	return 0;
}

/* ------------------------------------------------------------------------
 * Suite snp_page_lock: the layer is on.
 */

static int snp_test_init(struct kunit *test)
{
	if (!snp_page_lock_is_enabled())
		kunit_skip(test, "snp_page_lock is off in this boot");
	return 0;
}

/* G3: pins are counted exactly; bad ranges are refused. */
static void snp_test_pin_unpin_counts(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);
	unsigned long pins0 = snp_stat_read(SNP_STAT_PINS);
	unsigned long bad;

	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 2), 0);
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 2), 0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 2U);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 1), 2U);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	KUNIT_EXPECT_GE(test, snp_stat_read(SNP_STAT_PINS), pins0 + 4);

	snp_unpin_shared(pfn, 2);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 1U);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 1), 1U);
	snp_unpin_shared(pfn, 1);
	snp_unpin_shared(pfn + 1, 1);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 1), 0U);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);

	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(ULONG_MAX, 2), -EINVAL);

	/* A pfn without a state word is always shared: nothing is counted. */
	bad = ULONG_MAX >> PAGE_SHIFT;
	KUNIT_ASSERT_FALSE(test, pfn_valid(bad));
	KUNIT_EXPECT_EQ(test, snp_pin_shared(bad, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(bad), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_state(bad), SNP_PAGE_SHARED);
	snp_unpin_shared(bad, 1);
	KUNIT_EXPECT_EQ(test, snp_make_private(bad, 1, 0), -EINVAL);
}

/* G2: a private page cannot be pinned. */
static void snp_test_pin_private_eperm(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long fails = snp_stat_read(SNP_STAT_PIN_EPERM);

	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), -EPERM);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_PIN_EPERM), fails + 1);

	KUNIT_ASSERT_EQ(test, snp_make_shared(pfn, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), 0);
	snp_unpin_shared(pfn, 1);
}

/* G2: a converting page cannot be pinned. */
static void snp_test_pin_converting_eagain(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);

	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						0, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_CONVERTING);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), -EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	/* A second converter is refused too. */
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, 0), -EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 1, SNP_PAGE_PRIVATE, false),
			0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
}

/* G1: the mapping helper never maps a private or converting page. */
static void snp_test_kmap_refuses(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);

	snp_test_kmap_write(test, pfn, 1);

	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						0, NULL), 0);
	snp_test_expect_kmap_err(test, pfn, -EAGAIN);
	KUNIT_ASSERT_EQ(test, snp_convert_end(pfn, 1, SNP_PAGE_PRIVATE, true),
			0);

	snp_test_expect_kmap_err(test, pfn, -EPERM);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
}

/* G3: a range pin that fails on its last page leaves no pin behind. */
static void snp_test_range_all_or_nothing(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 2);
	unsigned long bad = 0;
	int i;

	KUNIT_ASSERT_EQ(test, snp_make_private(pfn + 3, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 4), -EPERM);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, snp_test_word(pfn + i),
				i == 3 ? (u32)SNP_PS_PRIVATE : 0U);

	/* Conversions are all-or-nothing too. */
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 4, SNP_PAGE_PRIVATE, 0, 0,
						&bad), -EINVAL);
	KUNIT_EXPECT_EQ(test, bad, pfn + 3);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, snp_page_state(pfn + i), SNP_PAGE_SHARED);

	KUNIT_ASSERT_EQ(test, snp_make_shared(pfn + 3, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn + 3, 1, SNP_PAGE_PRIVATE,
						0, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 4), -EAGAIN);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + i), 0U);
	snp_convert_end(pfn + 3, 1, SNP_PAGE_PRIVATE, false);

	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 4), 0);
	snp_unpin_shared(pfn, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, snp_test_word(pfn + i), 0U);
}

/* -EINVAL for conversions that make no sense. */
static void snp_test_convert_bad_state(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);

	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, 0x2), -EINVAL);
	KUNIT_EXPECT_EQ(test, snp_make_private(ULONG_MAX, 2, 0), -EINVAL);
	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 1, SNP_CONVERT_NOWAIT), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
}

/* G2: NOWAIT with a pin held fails -EBUSY and changes nothing. */
static void snp_test_nowait_busy(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn + 1, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 2, SNP_CONVERT_NOWAIT),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), (u32)SNP_PS_PIN_BIAS);
	snp_unpin_shared(pfn + 1, 1);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 2, SNP_CONVERT_NOWAIT), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 1), SNP_PAGE_PRIVATE);
}

/* G2, G3: the converter sleeps until a kthread unpins; no lost wakeup. */
static void snp_test_convert_waits_for_unpin(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long waits = snp_stat_read(SNP_STAT_WAITS);
	struct snp_test_thread *t;
	unsigned long start;
	int ret;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	t = snp_test_thread_start(test, snp_test_unpin_fn, pfn, 1, NULL);

	start = jiffies;
	ret = snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0, SNP_TEST_LONG_MS,
				NULL);
	KUNIT_ASSERT_EQ(test, ret, 0);
	/* A lost wakeup would only end with the (long) timeout. */
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - start),
			SNP_TEST_LONG_MS / 2);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_CONVERTING);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 1, SNP_PAGE_PRIVATE, true),
			0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PRIVATE);
	KUNIT_EXPECT_GE(test, snp_stat_read(SNP_STAT_WAITS), waits + 1);

	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
}

/* G2: pins that do not drain make the conversion fail -EBUSY, unchanged. */
static void snp_test_convert_timeout(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long timeouts = snp_stat_read(SNP_STAT_TIMEOUTS);
	unsigned long bad = 0;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						50, &bad), -EBUSY);
	KUNIT_EXPECT_EQ(test, bad, pfn);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PIN_BIAS);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_TIMEOUTS), timeouts + 1);
	snp_unpin_shared(pfn, 1);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
}

/* Aborting a conversion restores the old state, both ways. */
static void snp_test_abort_restores(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);

	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn, 2, SNP_PAGE_PRIVATE, 0,
						0, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 1), SNP_PAGE_CONVERTING);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 2, SNP_PAGE_PRIVATE, false),
			0);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), 0U);

	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 2, 0), 0);
	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn, 2, SNP_PAGE_SHARED, 0,
						0, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_CONVERTING);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), -EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 2, SNP_PAGE_SHARED, false),
			0);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), (u32)SNP_PS_PRIVATE);
}

/* G2: while a conversion waits, new pins and mappings are refused. */
static void snp_test_converting_blocks_new_pins(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	struct snp_test_thread *t;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	t = snp_test_thread_start(test, snp_test_convert_fn, pfn, 1, NULL);
	KUNIT_ASSERT_TRUE(test, snp_test_wait_for_waiter(pfn));

	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_CONVERTING);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), -EAGAIN);
	snp_test_expect_kmap_err(test, pfn, -EAGAIN);
	/* The converter is still waiting for our pin. */
	KUNIT_EXPECT_FALSE(test, completion_done(&t->done));
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 1U);

	snp_unpin_shared(pfn, 1);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_PRIVATE);
}

/* Thread body: convert the scattered pages in t->arg to private. */
static int snp_test_convert_pfns_fn(struct snp_test_thread *t)
{
	const unsigned long *pfns = t->arg;
	int ret;

	ret = snp_convert_begin_pfns(pfns, t->nr_pages, SNP_PAGE_PRIVATE, 0,
				     t->timeout_ms, NULL, NULL);
	if (ret)
		return ret;
	return snp_convert_end_pfns(pfns, t->nr_pages, SNP_PAGE_PRIVATE, true);
}

/*
 * G2/G3 for scattered pages: every page is marked before the first wait,
 * so a page the converter is not waiting on yet cannot gain a pin; NOWAIT
 * and errors are all-or-nothing and name the failing page.
 */
static void snp_test_convert_pfns(struct kunit *test)
{
	unsigned long *pfns = kunit_kcalloc(test, 3, sizeof(*pfns), GFP_KERNEL);
	unsigned long base = snp_test_alloc(test, 3);
	struct snp_test_thread *t;
	unsigned long idx = ~0UL;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, pfns);
	/* Not contiguous, not ascending; the last two pages are pinned. */
	pfns[0] = base + 6;
	pfns[1] = base + 1;
	pfns[2] = base + 3;
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfns[1], 1), 0);
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfns[2], 1), 0);

	KUNIT_EXPECT_EQ(test, snp_convert_begin_pfns(pfns, 3, SNP_PAGE_PRIVATE,
						     SNP_CONVERT_NOWAIT, 0,
						     NULL, &idx), -EBUSY);
	KUNIT_EXPECT_EQ(test, idx, 1UL);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, snp_test_word(pfns[i]),
				i ? (u32)SNP_PS_PIN_BIAS : 0U);
	KUNIT_EXPECT_EQ(test, snp_convert_begin_pfns(pfns, 0, SNP_PAGE_PRIVATE,
						     0, 0, NULL, NULL),
			-EINVAL);

	t = snp_test_thread_start(test, snp_test_convert_pfns_fn, 0, 3, pfns);
	KUNIT_ASSERT_TRUE(test, snp_test_wait_for_waiter(pfns[1]));
	/*
	 * Waiting on pfns[1]: pfns[2], pinned too and waited on only later,
	 * must not gain pins meanwhile (the 2021 design's flaw).
	 */
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfns[2], 1), -EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfns[2]), 1U);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfns[0], 1), -EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_page_state(base + 2), SNP_PAGE_SHARED);

	snp_unpin_shared(pfns[1], 1);
	/* The converter moves on to pfns[2] and keeps waiting. */
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&t->done));
	snp_unpin_shared(pfns[2], 1);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, snp_test_word(pfns[i]), (u32)SNP_PS_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_test_word(base), 0U);

	KUNIT_ASSERT_EQ(test, snp_convert_begin_pfns(pfns, 3, SNP_PAGE_SHARED,
						     0, 0, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_end_pfns(pfns, 3, SNP_PAGE_SHARED,
						   true), 0);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, snp_test_word(pfns[i]), 0U);
}

static unsigned long snp_test_fail_pfn;

/* The software backend, failing on snp_test_fail_pfn. */
static int snp_test_failing_make_private(unsigned long pfn)
{
	struct kunit *test = kunit_get_current_test();
	int ret;

	if (pfn == snp_test_fail_pfn)
		return -EIO;
	kunit_deactivate_static_stub(test, snp_backend_sw.make_private);
	ret = snp_backend_sw.make_private(pfn);
	kunit_activate_static_stub(test, snp_backend_sw.make_private,
				   snp_test_failing_make_private);
	return ret;
}

/*
 * G3: when the backend fails on a page of a range, the pages it already
 * converted are converted back and the whole range is as before.
 */
static void snp_test_backend_error_rolls_back(struct kunit *test)
{
	unsigned long errors = snp_stat_read(SNP_STAT_BACKEND_ERRORS);
	unsigned long pfn = snp_test_alloc(test, 2);
	u64 val;
	int i;

	if (strcmp(snp_page_lock_backend_name(), snp_backend_sw.name))
		kunit_skip(test, "the software backend is not in use");

	snp_test_fail_pfn = pfn + 2;
	kunit_activate_static_stub(test, snp_backend_sw.make_private,
				   snp_test_failing_make_private);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 4, 0), -EIO);
	kunit_deactivate_static_stub(test, snp_backend_sw.make_private);

	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_BACKEND_ERRORS),
			errors + 1);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, snp_test_word(pfn + i), 0U);
		/* Pages 0 and 1 were unmapped, then mapped again. */
		KUNIT_EXPECT_EQ(test,
				copy_from_kernel_nofault(&val,
							 page_address(pfn_to_page(pfn + i)),
							 sizeof(val)), 0L);
	}
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 4, 0), 0);
}

static unsigned long snp_test_fail_shared_pfn;

/* The software backend, failing make_shared on snp_test_fail_shared_pfn. */
static int snp_test_failing_make_shared(unsigned long pfn)
{
	struct kunit *test = kunit_get_current_test();
	int ret;

	if (pfn == snp_test_fail_shared_pfn)
		return -EIO;
	kunit_deactivate_static_stub(test, snp_backend_sw.make_shared);
	ret = snp_backend_sw.make_shared(pfn);
	kunit_activate_static_stub(test, snp_backend_sw.make_shared,
				   snp_test_failing_make_shared);
	return ret;
}

/*
 * A page the backend converted but cannot convert back when a later page
 * fails keeps the new state (the state word follows the hardware): it is
 * counted and stays private for the caller to find; every other page is
 * restored, and the call returns the backend's error.
 */
static void snp_test_rollback_failure_reported(struct kunit *test)
{
	unsigned long stuck = snp_stat_read(SNP_STAT_ROLLBACK_FAILURES);
	unsigned long pfn = snp_test_alloc(test, 2);
	u64 val;
	int i;

	if (strcmp(snp_page_lock_backend_name(), snp_backend_sw.name))
		kunit_skip(test, "the software backend is not in use");

	snp_test_fail_pfn = pfn + 2;
	snp_test_fail_shared_pfn = pfn + 1;
	kunit_activate_static_stub(test, snp_backend_sw.make_private,
				   snp_test_failing_make_private);
	kunit_activate_static_stub(test, snp_backend_sw.make_shared,
				   snp_test_failing_make_shared);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 4, 0), -EIO);
	kunit_deactivate_static_stub(test, snp_backend_sw.make_shared);
	kunit_deactivate_static_stub(test, snp_backend_sw.make_private);

	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_ROLLBACK_FAILURES),
			stuck + 1);
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		KUNIT_EXPECT_EQ(test, snp_test_word(pfn + i), 0U);
		KUNIT_EXPECT_EQ(test,
				copy_from_kernel_nofault(&val,
							 page_address(pfn_to_page(pfn + i)),
							 sizeof(val)), 0L);
	}
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), (u32)SNP_PS_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn + 1, 1), -EPERM);
	if (snp_backend_sw_unmaps_direct_map())
		KUNIT_EXPECT_NE(test,
				copy_from_kernel_nofault(&val,
							 page_address(pfn_to_page(pfn + 1)),
							 sizeof(val)), 0L);
	/* The caller can convert it back once the backend works again. */
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn + 1, 1, 0), 0);
}

/* The backend is chosen, after the host's SNP support is final. */
static void snp_test_backend_chosen(struct kunit *test)
{
	const char *name = snp_page_lock_backend_name();
	bool known = !strcmp(name, snp_backend_sw.name) ||
		     !strcmp(name, "sev-snp");

	KUNIT_EXPECT_TRUE(test, known);
}

/* A fatal signal ends the wait with -EINTR and nothing changed. */
static void snp_test_convert_killed(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long intr = snp_stat_read(SNP_STAT_INTERRUPTED);
	struct snp_test_thread *t;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	t = snp_test_thread_start(test, snp_test_convert_killable_fn, pfn, 1,
				  NULL);
	KUNIT_ASSERT_TRUE(test, snp_test_wait_for_waiter(pfn));
	msleep(20);
	send_sig(SIGKILL, t->task, 1);

	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, -EINTR);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PIN_BIAS);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_INTERRUPTED), intr + 1);
	snp_unpin_shared(pfn, 1);
}

struct snp_test_notify {
	struct notifier_block nb;
	unsigned long pfn;
	int starts;
	int ends;
	int end_ret;
};

static int snp_test_notify_fn(struct notifier_block *nb, unsigned long event,
			      void *data)
{
	struct snp_test_notify *n = container_of(nb, struct snp_test_notify,
						 nb);
	struct snp_convert_wait_info *info = data;

	if (info->pfn != n->pfn)
		return NOTIFY_DONE;
	if (event == SNP_CONVERT_WAIT_START) {
		n->starts++;
	} else if (event == SNP_CONVERT_WAIT_END) {
		n->ends++;
		n->end_ret = info->ret;
	}
	return NOTIFY_OK;
}

static void snp_test_notifier_unregister(void *data)
{
	snp_convert_notifier_unregister(data);
}

/* Count the conversion notifier's events for @pfn until the test ends. */
static struct snp_test_notify *snp_test_notify_register(struct kunit *test,
							unsigned long pfn)
{
	struct snp_test_notify *n;

	n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, n);
	n->nb.notifier_call = snp_test_notify_fn;
	n->pfn = pfn;
	KUNIT_ASSERT_EQ(test, snp_convert_notifier_register(&n->nb), 0);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test,
						  snp_test_notifier_unregister,
						  &n->nb), 0);
	return n;
}

/* The ABI learns which pinned page a converter waits on. */
static void snp_test_wait_notifier(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	struct snp_test_notify *n;

	n = snp_test_notify_register(test, pfn);

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						20, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, n->starts, 1);
	KUNIT_EXPECT_EQ(test, n->ends, 1);
	KUNIT_EXPECT_EQ(test, n->end_ret, -EBUSY);
	snp_unpin_shared(pfn, 1);
}

/* ------------------------------------------------------------------------
 * G7: no reference but the owner's when a page becomes private.
 */

/* Thread body: drop the extra reference on t->arg (a page) after 50 ms. */
static int snp_test_put_later_fn(struct snp_test_thread *t)
{
	msleep(50);
	put_page(t->arg);
	return 0;
}

/* An extra reference fails NOWAIT at once and names the page. */
static void snp_test_extra_ref_nowait_busy(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);
	unsigned long erefs = snp_stat_read(SNP_STAT_CONVERT_EREFS);
	struct page *page = pfn_to_page(pfn);
	unsigned long bad = 0;

	/* A second reference on the first page, as a pipe buffer holds. */
	get_page(page);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 2, SNP_CONVERT_NOWAIT),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 2, SNP_PAGE_PRIVATE,
						SNP_CONVERT_NOWAIT, 0, &bad),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, bad, pfn);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_CONVERT_EREFS), erefs + 2);
	/* Nothing changed, and new pins work again. */
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), 0U);
	snp_test_kmap_write(test, pfn, 1);

	put_page(page);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 2, SNP_CONVERT_NOWAIT), 0);
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 2, 0), 0);
}

/* Wait mode waits for an extra reference that is dropped in time. */
static void snp_test_extra_ref_waits(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long waits = snp_stat_read(SNP_STAT_REF_WAITS);
	struct page *page = pfn_to_page(pfn);
	struct snp_test_thread *t;

	get_page(page);
	t = snp_test_thread_start(test, snp_test_put_later_fn, pfn, 1, page);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						SNP_TEST_LONG_MS, NULL), 0);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 1, SNP_PAGE_PRIVATE, true),
			0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_REF_WAITS), waits + 1);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
}

/* ... and gives up at the timeout, with nothing changed. */
static void snp_test_extra_ref_timeout(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long timeouts = snp_stat_read(SNP_STAT_TIMEOUTS);
	struct page *page = pfn_to_page(pfn);
	unsigned long bad = 0;

	get_page(page);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						30, &bad), -EBUSY);
	KUNIT_EXPECT_EQ(test, bad, pfn);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_TIMEOUTS), timeouts + 1);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	put_page(page);
}

/* A DMA pin is never waited for: the conversion fails at once. */
static void snp_test_dma_pinned_fails(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long dma = snp_stat_read(SNP_STAT_CONVERT_DMA_PINNED);
	unsigned long waits = snp_stat_read(SNP_STAT_REF_WAITS);
	struct page *page = pfn_to_page(pfn);
	unsigned long bad = 0;

	/* What pin_user_pages() adds to an order-0 folio. */
	page_ref_add(page, GUP_PIN_COUNTING_BIAS);
	KUNIT_ASSERT_TRUE(test, folio_maybe_dma_pinned(page_folio(page)));
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						SNP_TEST_LONG_MS, &bad),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, bad, pfn);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_CONVERT_DMA_PINNED),
			dma + 1);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_REF_WAITS), waits);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	page_ref_sub(page, GUP_PIN_COUNTING_BIAS);
}

struct snp_test_owner {
	struct snp_convert_owner owner;
	struct kunit *test;
	unsigned long pfn;
	int calls;
};

/*
 * The owner unmaps once the pins have drained and before the references
 * are checked: here "unmapping" drops the reference a user mapping held.
 */
static void snp_test_owner_unmap(const struct snp_convert_owner *owner)
{
	struct snp_test_owner *o = container_of(owner, struct snp_test_owner,
						owner);

	o->calls++;
	KUNIT_EXPECT_EQ(o->test, snp_page_pins(o->pfn), 0U);
	KUNIT_EXPECT_EQ(o->test, snp_page_state(o->pfn), SNP_PAGE_CONVERTING);
	put_page(pfn_to_page(o->pfn));
}

static void snp_test_owner_unmaps_first(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	struct snp_test_owner o = {
		.owner = { .unmap = snp_test_owner_unmap, .refs = 1 },
		.test = test,
		.pfn = pfn,
	};
	struct snp_test_thread *t;

	/* Mapped (one more reference) and pinned. */
	get_page(pfn_to_page(pfn));
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	t = snp_test_thread_start(test, snp_test_unpin_fn, pfn, 1, NULL);
	KUNIT_EXPECT_EQ(test, snp_convert_begin_pfns(&pfn, 1, SNP_PAGE_PRIVATE,
						     0, SNP_TEST_LONG_MS,
						     &o.owner, NULL), 0);
	KUNIT_EXPECT_EQ(test, o.calls, 1);
	KUNIT_EXPECT_EQ(test, snp_convert_end_pfns(&pfn, 1, SNP_PAGE_PRIVATE,
						   true), 0);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);

	/* To shared: no unmap, no reference check. */
	get_page(pfn_to_page(pfn));
	KUNIT_EXPECT_EQ(test, snp_convert_begin_pfns(&pfn, 1, SNP_PAGE_SHARED,
						     0, 0, &o.owner, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_end_pfns(&pfn, 1, SNP_PAGE_SHARED,
						   true), 0);
	KUNIT_EXPECT_EQ(test, o.calls, 1);
	put_page(pfn_to_page(pfn));
}

/*
 * Every pin holder of a conversion is told before the converter waits for
 * the first one: the holder of the second page learns it while the first
 * page is still pinned.
 */
static void snp_test_notify_all_at_once(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);
	unsigned long end = jiffies + msecs_to_jiffies(SNP_TEST_POLL_MS);
	struct snp_test_thread *t;
	struct snp_test_notify *n;

	n = snp_test_notify_register(test, pfn + 1);

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 2), 0);
	t = snp_test_thread_start(test, snp_test_convert_fn, pfn, 2, NULL);
	while (!READ_ONCE(n->starts) && time_before(jiffies, end))
		usleep_range(1000, 2000);
	KUNIT_EXPECT_EQ(test, READ_ONCE(n->starts), 1);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 1U);
	KUNIT_EXPECT_FALSE(test, completion_done(&t->done));

	snp_unpin_shared(pfn, 2);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
	KUNIT_EXPECT_EQ(test, n->ends, 1);
	KUNIT_EXPECT_EQ(test, n->end_ret, 0);
}

/* ------------------------------------------------------------------------
 * Revocable pins.
 */

struct snp_test_rpin {
	struct snp_revocable_pin rp;
	spinlock_t lock;	/* the holder's own lock */
	bool give_up;		/* the callback drops the pin */
	int calls;
};

static void snp_test_revoke(struct snp_revocable_pin *rp)
{
	struct snp_test_rpin *t = container_of(rp, struct snp_test_rpin, rp);
	unsigned long flags;

	/* Must not sleep: we are in an RCU read-side section. */
	WARN_ON_ONCE(!rcu_read_lock_held());
	spin_lock_irqsave(&t->lock, flags);
	t->calls++;
	if (t->give_up)
		snp_unpin_shared_revocable(rp);
	spin_unlock_irqrestore(&t->lock, flags);
}

static void snp_test_rpin_setup(struct snp_test_rpin *t, bool give_up)
{
	snp_revocable_pin_init(&t->rp, snp_test_revoke);
	spin_lock_init(&t->lock);
	t->give_up = give_up;
	t->calls = 0;
}

/*
 * A converter does not wait for a revocable pin: it asks its holder, who
 * gives it up; even a NOWAIT conversion goes through. A holder that does
 * not give it up is waited for like any pin.
 */
static void snp_test_revocable_pin(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);
	unsigned long revokes = snp_stat_read(SNP_STAT_REVOKES);
	struct snp_test_rpin t;

	snp_test_rpin_setup(&t, true);
	KUNIT_ASSERT_EQ(test, snp_pin_shared_revocable(&t.rp, pfn + 1), 0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 1), 1U);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 2, SNP_CONVERT_NOWAIT), 0);
	KUNIT_EXPECT_EQ(test, t.calls, 1);
	KUNIT_EXPECT_EQ(test, t.rp.pfn, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_REVOKES), revokes + 1);
	/* No revocable pin on a private page. */
	KUNIT_EXPECT_EQ(test, snp_pin_shared_revocable(&t.rp, pfn + 1), -EPERM);
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 2, 0), 0);

	/* A holder that keeps its pin: NOWAIT fails, wait mode times out. */
	snp_test_rpin_setup(&t, false);
	KUNIT_ASSERT_EQ(test, snp_pin_shared_revocable(&t.rp, pfn), 0);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, SNP_CONVERT_NOWAIT),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						30, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, t.calls, 2);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PIN_BIAS);
	snp_unpin_shared_revocable(&t.rp);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	/* Unpinning what is not pinned does nothing. */
	snp_unpin_shared_revocable(&t.rp);
	snp_revocable_pin_destroy(&t.rp);
}

/*
 * A holder frees its revocable pin only after snp_revocable_pin_destroy():
 * once pinned, that waits for a grace period, so that a converter still in
 * its RCU walk over the table never calls back into freed memory. A pin
 * never taken needs no wait.
 */
static void snp_test_revocable_pin_destroy_waits(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 1);
	struct rcu_gp_oldstate gp;
	struct snp_test_rpin t;

	/* The _full cookies: at boot grace periods are expedited ones. */
	snp_test_rpin_setup(&t, true);
	KUNIT_ASSERT_EQ(test, snp_pin_shared_revocable(&t.rp, pfn), 0);
	snp_unpin_shared_revocable(&t.rp);
	get_state_synchronize_rcu_full(&gp);
	snp_revocable_pin_destroy(&t.rp);
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_rcu_full(&gp));

	/* Revoked by a converter rather than unpinned: the same. */
	snp_test_rpin_setup(&t, true);
	KUNIT_ASSERT_EQ(test, snp_pin_shared_revocable(&t.rp, pfn), 0);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, SNP_CONVERT_NOWAIT), 0);
	KUNIT_EXPECT_EQ(test, t.calls, 1);
	get_state_synchronize_rcu_full(&gp);
	snp_revocable_pin_destroy(&t.rp);
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_rcu_full(&gp));
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 1, 0), 0);

	/* Never pinned: destroyed at once, and ready to be set up again. */
	snp_test_rpin_setup(&t, true);
	snp_revocable_pin_destroy(&t.rp);
	KUNIT_EXPECT_NULL(test, t.rp.node.pprev);
}

/* Thread body: once a converter waits on the page, back off a pin. */
static int snp_test_backoff_fn(struct snp_test_thread *t)
{
	if (!snp_test_wait_for_waiter(t->pfn))
		return -ETIMEDOUT;
	msleep(50);
	return snp_page_lock_test_backoff(t->pfn, SNP_PS_CONVERTING);
}

/*
 * G3 with transient pins: a pin that found the page converting counts in
 * the word until it backs off. A converter that starts in between counts
 * it and waits; the back-off must wake it, or it sleeps to its timeout.
 */
static void snp_test_backoff_wakes_converter(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	struct snp_test_thread *t;
	unsigned long start;

	/* The pinner's fetch_add, which found another conversion's flag. */
	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_pins(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 1U);
	t = snp_test_thread_start(test, snp_test_backoff_fn, pfn, 1, NULL);

	start = jiffies;
	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						SNP_TEST_LONG_MS, NULL), 0);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - start),
			SNP_TEST_LONG_MS / 2);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_POLL_MS));
	KUNIT_EXPECT_EQ(test, t->ret, -EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 1, SNP_PAGE_PRIVATE, true),
			0);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PRIVATE);
}

/*
 * G3 with transient pins on a page nobody pinned when the conversion
 * marked it: a pin that finds the page converting is in its count until
 * it backs off, and that back-off wakes nobody (the page has no WAITER).
 * The converter must not wait for it, or it sleeps to its timeout.
 */
static void snp_test_transient_pin_not_waited(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 2);
	struct snp_test_thread *t;
	unsigned long start;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn + 2, 1), 0);
	t = snp_test_thread_start(test, snp_test_convert_fn, pfn, 3, NULL);
	KUNIT_ASSERT_TRUE(test, snp_test_wait_for_waiter(pfn));
	KUNIT_EXPECT_FALSE(test, snp_test_word(pfn + 1) & SNP_PS_WAITER);
	/* A pin of the middle page, between its fetch_add and back-off. */
	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_pins(pfn + 1, 1), 0);
	start = jiffies;
	snp_unpin_shared(pfn, 1);
	msleep(50);
	snp_unpin_shared(pfn + 2, 1);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_LONG_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - start),
			SNP_TEST_LONG_MS / 2);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 1), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_backoff(pfn + 1,
							 SNP_PS_CONVERTING),
			-EAGAIN);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), (u32)SNP_PS_PRIVATE);
}

/*
 * A pin on a private page adds to the count for an instant: the end of a
 * conversion keeps what it finds there, so the count is exact at rest.
 */
static void snp_test_transient_pin_kept(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);

	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 1, 0), 0);
	/* A pinner between its fetch_add and its back-off... */
	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_pins(pfn, 1), 0);
	/* ...while the page goes back to shared (no wait: it is private). */
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 1, SNP_CONVERT_NOWAIT), 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 1U);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_backoff(pfn, SNP_PS_PRIVATE),
			-EPERM);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
	/* And a real pin after it is one pin, as it should be. */
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), (u32)SNP_PS_PIN_BIAS);
	snp_unpin_shared(pfn, 1);
}

/*
 * G4's free check skips its scan while no page is private or converting:
 * the count it relies on follows every conversion, committed or not.
 */
static void snp_test_unshared_count(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 2);
	long base = snp_page_lock_test_nr_unshared();
	unsigned long pfns[3] = { pfn + 2, pfn + 3, pfn };
	unsigned long bad;

	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 4, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 4);
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn + 2, 2, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 2);
	/* Fails on the private page after two shared pages were marked. */
	KUNIT_EXPECT_EQ(test, snp_convert_begin_pfns(pfns, 3, SNP_PAGE_PRIVATE,
						     0, 0, NULL, &bad),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, bad, 2UL);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 2);
	/* Aborted after phase 1 (a pin), and aborted by the caller. */
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn + 3, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn + 2, 2, SNP_PAGE_PRIVATE,
						SNP_CONVERT_NOWAIT, 0, &bad),
			-EBUSY);
	snp_unpin_shared(pfn + 3, 1);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 2);
	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn + 2, 2, SNP_PAGE_PRIVATE,
						0, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 4);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn + 2, 2, SNP_PAGE_PRIVATE,
					      false), 0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 2);
	/* To shared, aborted: the pages stay private and counted. */
	KUNIT_ASSERT_EQ(test, snp_convert_begin(pfn, 2, SNP_PAGE_SHARED, 0, 0,
						NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_end(pfn, 2, SNP_PAGE_SHARED, false),
			0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base + 2);
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 2, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_nr_unshared(), base);
}

/* Saturating the pin count fails -EOVERFLOW and does not wrap. */
static void snp_test_pin_saturation(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long fails = snp_stat_read(SNP_STAT_PIN_EOVERFLOW);

	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_pins(pfn,
							  SNP_PS_PINS_MAX - 1),
			0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), (unsigned int)SNP_PS_PINS_MAX);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), -EOVERFLOW);
	snp_test_expect_kmap_err(test, pfn, -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), (unsigned int)SNP_PS_PINS_MAX);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_PIN_EOVERFLOW), fails + 2);

	snp_unpin_shared(pfn, 1);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_add_pins(pfn,
							  1 - (int)SNP_PS_PINS_MAX),
			0);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn), 0U);
}

/* G4: a private page freed to the allocator is caught, leaked, counted. */
static void snp_test_free_private_leaks(struct kunit *test)
{
	unsigned long leaks = snp_stat_read(SNP_STAT_LEAKS);
	struct page *page;
	unsigned long pfn;

	/* A shared page is freed normally. */
	page = alloc_pages(GFP_KERNEL, 1);
	KUNIT_ASSERT_NOT_NULL(test, page);
	__free_pages(page, 1);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_LEAKS), leaks);

	/* Any private page of the block keeps the whole block out. */
	page = alloc_pages(GFP_KERNEL, 1);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pfn = page_to_pfn(page);
	if (snp_make_private(pfn + 1, 1, 0)) {
		__free_pages(page, 1);
		KUNIT_FAIL(test, "make_private failed");
		return;
	}
	/* free_pages_prepare() clears ->private only after the hook. */
	set_page_private(page, 0x5a);
	__free_pages(page, 1);
	KUNIT_EXPECT_EQ(test, page_private(page), 0x5aUL);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_LEAKS), leaks + 2);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 1), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	/* The block stays leaked: never touch it again. */
}

/*
 * Without DEBUG_VM freed blocks are scanned only while some page is private
 * or converting: keep one private for the rest of the test.
 */
static void snp_test_scan_frees(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_DEBUG_VM))
		KUNIT_ASSERT_EQ(test, snp_make_private(snp_test_alloc(test, 0),
						       1, 0), 0);
}

/*
 * G4: a page freed while it still holds a shared pin (a caller bug) is not
 * handed out again with its pin: the block is leaked and counted.
 */
static void snp_test_free_pinned_leaks(struct kunit *test)
{
	unsigned long leaks = snp_stat_read(SNP_STAT_LEAKS);
	unsigned long pinned = snp_stat_read(SNP_STAT_FREED_PINNED);
	struct page *page;
	unsigned long pfn;

	snp_test_scan_frees(test);
	page = alloc_pages(GFP_KERNEL, 1);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pfn = page_to_pfn(page);
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn + 1, 1), 0);
	set_page_private(page, 0x5a);
	__free_pages(page, 1);
	KUNIT_EXPECT_EQ(test, page_private(page), 0x5aUL);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_LEAKS), leaks + 2);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_FREED_PINNED), pinned + 1);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 1), 1U);
	/* The late unpin lands on a page nobody else will own. */
	snp_unpin_shared(pfn + 1, 1);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 1), 0U);
}

/* G4: a 2 MiB block freed while its block word holds a pin is leaked. */
static void snp_test_free_block_pinned_leaks(struct kunit *test)
{
	unsigned long leaks = snp_stat_read(SNP_STAT_LEAKS);
	unsigned long pinned = snp_stat_read(SNP_STAT_FREED_PINNED);
	struct page *page;
	unsigned long pfn;

	snp_test_scan_frees(test);
	page = alloc_pages(GFP_KERNEL, SNP_BLOCK_SHIFT);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pfn = page_to_pfn(page);
	KUNIT_ASSERT_TRUE(test, IS_ALIGNED(pfn, SNP_BLOCK_PAGES));
	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	/* The page words are clean: only the block word holds the pin. */
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 7), 0U);
	__free_pages(page, SNP_BLOCK_SHIFT);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_LEAKS),
			leaks + SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_FREED_PINNED), pinned + 1);
	/* The late unpin lands on a block nobody else will own. */
	snp_unpin_shared(pfn, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn), 0ULL);
}

/* G1 (x86): a private page is gone from the direct map. */
static void snp_test_direct_map_faults(struct kunit *test)
{
	unsigned long pfn;
	u64 *addr, val = 0;

	if (strcmp(snp_page_lock_backend_name(), "software") ||
	    !snp_backend_sw_unmaps_direct_map())
		kunit_skip(test, "the backend does not unmap private pages");

	pfn = snp_test_alloc(test, 0);
	addr = page_address(pfn_to_page(pfn));
	WRITE_ONCE(*addr, 0x1122334455667788ULL);

	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 1, 0), 0);
	KUNIT_EXPECT_NE(test, copy_from_kernel_nofault(&val, addr, sizeof(val)),
			0L);
	KUNIT_ASSERT_EQ(test, snp_make_shared(pfn, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, copy_from_kernel_nofault(&val, addr, sizeof(val)),
			0L);
	KUNIT_EXPECT_EQ(test, val, 0x1122334455667788ULL);
}

/* Debug checksum: a host write to a private page is detected. */
static void snp_test_checksum_catches_write(struct kunit *test)
{
	unsigned long mismatches = snp_stat_read(SNP_STAT_CSUM_MISMATCH);
	unsigned long pfn;
	u32 *addr;

	if (!IS_ENABLED(CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM))
		kunit_skip(test, "CONFIG_SNP_PAGE_LOCK_DEBUG_CHECKSUM=n");
	if (strcmp(snp_page_lock_backend_name(), "software") ||
	    snp_backend_sw_unmaps_direct_map())
		kunit_skip(test, "private pages are unmapped, not checksummed");

	pfn = snp_test_alloc(test, 0);
	addr = page_address(pfn_to_page(pfn));

	/* No false positive. */
	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, snp_make_shared(pfn, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_CSUM_MISMATCH),
			mismatches);

	/* A stray host write, bypassing the page lock. */
	KUNIT_ASSERT_EQ(test, snp_make_private(pfn, 1, 0), 0);
	WRITE_ONCE(addr[7], READ_ONCE(addr[7]) ^ 1);
	KUNIT_ASSERT_EQ(test, snp_make_shared(pfn, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_CSUM_MISMATCH),
			mismatches + 1);
}

/*
 * G3: a range across two arrays of the word map (a memory section) is pinned
 * and unwound correctly. These pfns are not ours: only pin counts are
 * touched, which neither the owner nor the allocator look at.
 */
static void snp_test_range_across_section(struct kunit *test)
{
	unsigned int base[4];
	unsigned long b, c;
	int i;

	/* The first boundary between two chunks of memory. */
	for (c = 1; c < READ_ONCE(snp_word_map.nr); c++) {
		b = c * SNP_MAP_BOUNDARY;
		if (pfn_valid(b - 2) && pfn_valid(b + 1) &&
		    !snp_page_lock_test_add_pins(b - 2, 0) &&
		    !snp_page_lock_test_add_pins(b + 1, 0))
			break;
	}
	if (c == READ_ONCE(snp_word_map.nr))
		kunit_skip(test, "no two neighbouring chunks with memory");

	for (i = 0; i < 4; i++)
		base[i] = snp_page_pins(b - 2 + i);

	KUNIT_ASSERT_EQ(test, snp_pin_shared(b - 2, 4), 0);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, snp_page_pins(b - 2 + i), base[i] + 1);
	snp_unpin_shared(b - 2, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, snp_page_pins(b - 2 + i), base[i]);

	/* Fail on the last page, beyond the boundary: all unwound. */
	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_pins(b + 1,
							  (int)SNP_PS_PINS_MAX - (int)base[3]),
			0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(b - 2, 4), -EOVERFLOW);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, snp_page_pins(b - 2 + i), base[i]);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_add_pins(b + 1,
							  (int)base[3] - (int)SNP_PS_PINS_MAX),
			0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(b + 1), base[3]);
}

/*
 * A pfn of a chunk without memory (a hole, MMIO) is backed by the shared
 * sink: it pins and unpins as a shared page that counts nothing, and
 * never converts, so the sink's words never change state.
 */
static void snp_test_hole_uses_sink(struct kunit *test)
{
	unsigned long c, pfn = 0, far = ULONG_MAX >> PAGE_SHIFT;
	atomic_t *sink;
	int base;

	for (c = 0; c < READ_ONCE(snp_word_map.nr); c++) {
		pfn = (c << SNP_MAP_SHIFT) + 5;
		if (!snp_word(pfn))
			break;
	}
	if (c == READ_ONCE(snp_word_map.nr))
		kunit_skip(test, "no chunk without memory below the highest pfn");

	sink = snp_state_word(pfn);
	KUNIT_ASSERT_TRUE(test, sink >= &snp_word_map.sink[0].state &&
			  sink <= &snp_word_map.sink[SNP_MAP_PAGES - 1].state);
	base = atomic_read(sink);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 3), 0);
	/* Counted in the sink, shown to nobody, never converted. */
	KUNIT_EXPECT_EQ(test, atomic_read(sink), base + 2 * SNP_PS_PIN_BIAS);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, 0), -EINVAL);
	snp_unpin_shared(pfn, 3);
	snp_unpin_shared(pfn, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(sink), base);

	/* Beyond the table: the sink too, so growing it changes nothing. */
	KUNIT_EXPECT_TRUE(test, snp_state_word(far) >= &snp_word_map.sink[0].state &&
			  snp_state_word(far) <= &snp_word_map.sink[SNP_MAP_PAGES - 1].state);
	KUNIT_EXPECT_EQ(test, snp_make_private(far, 1, 0), -EINVAL);
}

/* Concurrent pinners against a converter (kcsan_test.c style). */

/*
 * Spin or sleep a little: on one CPU without preemption, sleeping is what
 * lets the other side run while a pin or a conversion is in progress.
 */
static void snp_test_dawdle(void)
{
	if (get_random_u32_below(4))
		udelay(get_random_u32_below(10));
	else
		usleep_range(5, 20);
}

struct snp_stress {
	unsigned long pfn;
	unsigned int nr_pages;
	unsigned long deadline;
	atomic_t violations;
	/* Pins the pinners hold, per page; the word also counts back-offs. */
	atomic_t held[4];
	atomic_long_t pins;
	atomic_long_t refused;
};

static int snp_stress_pinner(struct snp_test_thread *t)
{
	struct snp_stress *s = t->arg;
	unsigned long first, len, i;
	u64 val;
	int ret;

	while (time_before(jiffies, s->deadline)) {
		first = get_random_u32_below(s->nr_pages);
		len = 1 + get_random_u32_below(s->nr_pages - first);
		ret = snp_pin_shared(s->pfn + first, len);
		if (ret == -EPERM || ret == -EAGAIN) {
			atomic_long_inc(&s->refused);
			snp_test_dawdle();
			continue;
		}
		if (ret) {
			atomic_inc(&s->violations);
			continue;
		}
		atomic_long_inc(&s->pins);
		for (i = first; i < first + len; i++)
			atomic_inc(&s->held[i]);
		/* The invariant: a pinned page is never private. */
		for (i = first; i < first + len; i++) {
			void *addr = page_address(pfn_to_page(s->pfn + i));

			if (snp_page_state(s->pfn + i) == SNP_PAGE_PRIVATE ||
			    copy_from_kernel_nofault(&val, addr, sizeof(val)))
				atomic_inc(&s->violations);
		}
		snp_test_dawdle();
		for (i = first; i < first + len; i++)
			atomic_dec(&s->held[i]);
		snp_unpin_shared(s->pfn + first, len);
		cond_resched();
	}
	return 0;
}

static const int snp_stress_threads[] = { 2, 4, 8 };

static void snp_stress_desc(const int *nthreads, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "threads=%d", *nthreads);
}

KUNIT_ARRAY_PARAM(snp_stress, snp_stress_threads, snp_stress_desc);

static void snp_test_stress(struct kunit *test)
{
	const int nthreads = *(const int *)test->param_value;
	unsigned long waits = snp_stat_read(SNP_STAT_WAITS);
	unsigned long conversions = 0, failures = 0, i;
	struct snp_test_thread *t[8];
	struct snp_stress *s;
	int n, ret;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->nr_pages = ARRAY_SIZE(s->held);
	s->pfn = snp_test_alloc(test, 2);
	s->deadline = jiffies + msecs_to_jiffies(300);

	for (n = 0; n < nthreads; n++)
		t[n] = snp_test_thread_start(test, snp_stress_pinner, 0, 0, s);

	while (time_before(jiffies, s->deadline)) {
		ret = snp_convert_begin(s->pfn, s->nr_pages, SNP_PAGE_PRIVATE,
					0, SNP_TEST_LONG_MS, NULL);
		if (ret) {
			/* Pins drain fast: -EBUSY means a lost wakeup. */
			failures++;
			break;
		}
		/* The count may still hold pins backing off; none is held. */
		for (i = 0; i < s->nr_pages; i++)
			if (atomic_read(&s->held[i]))
				atomic_inc(&s->violations);
		snp_test_dawdle();
		ret = snp_convert_end(s->pfn, s->nr_pages, SNP_PAGE_PRIVATE,
				      true);
		for (i = 0; i < s->nr_pages; i++)
			if (snp_page_state(s->pfn + i) != SNP_PAGE_PRIVATE)
				atomic_inc(&s->violations);
		snp_test_dawdle();
		ret |= snp_make_shared(s->pfn, s->nr_pages, 0);
		if (ret) {
			failures++;
			break;
		}
		conversions++;
		/* Leave the pages shared for a while too. */
		snp_test_dawdle();
	}

	for (n = 0; n < nthreads; n++)
		KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t[n],
							     SNP_TEST_LONG_MS));

	kunit_info(test, "%lu conversions, %lu waits, %ld pins, %ld refused\n",
		   conversions, snp_stat_read(SNP_STAT_WAITS) - waits,
		   atomic_long_read(&s->pins), atomic_long_read(&s->refused));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->violations), 0);
	KUNIT_EXPECT_EQ(test, failures, 0UL);
	KUNIT_EXPECT_GT(test, conversions, 0UL);
	KUNIT_EXPECT_GT(test, atomic_long_read(&s->pins), 0L);
	/* Both sides must really have met, or this proved nothing. */
	KUNIT_EXPECT_GT(test, atomic_long_read(&s->refused), 0L);
	for (i = 0; i < s->nr_pages; i++)
		KUNIT_EXPECT_EQ(test, snp_test_word(s->pfn + i), 0U);
}

/* ------------------------------------------------------------------------
 * Huge ranges: the block words.
 */

/* Two aligned 2 MiB blocks of our own. */
static unsigned long snp_test_alloc_blocks(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, SNP_BLOCK_SHIFT + 1);

	KUNIT_ASSERT_TRUE(test, IS_ALIGNED(pfn, SNP_BLOCK_PAGES));
	return pfn;
}

static u32 snp_test_bpins(unsigned long pfn)
{
	return snp_bs_pins(snp_page_lock_test_block_word(pfn));
}

static u32 snp_test_unshared(unsigned long pfn)
{
	return snp_bs_unshared(snp_page_lock_test_block_word(pfn));
}

/*
 * G3: a range pin takes one block pin per whole aligned block and 4 KiB
 * pins for the rest, whatever the range's ends; the unpin of the same
 * range drops exactly those; snp_page_pins() counts both.
 */
static void snp_test_block_range_pieces(struct kunit *test)
{
	static const struct { unsigned long first, nr, blocks; } r[] = {
		{ 0, SNP_BLOCK_PAGES, 1 },			/* one block */
		{ 0, 2 * SNP_BLOCK_PAGES, 2 },			/* two */
		{ 100, 2 * SNP_BLOCK_PAGES - 100, 1 },		/* head + block */
		{ 0, SNP_BLOCK_PAGES + 188, 1 },		/* block + tail */
		{ 100, SNP_BLOCK_PAGES, 0 },			/* mid to mid */
		{ 1, SNP_BLOCK_PAGES - 1, 0 },			/* ends at one */
		{ SNP_BLOCK_PAGES - 1, 2, 0 },			/* across */
	};
	unsigned long pfn = snp_test_alloc_blocks(test);
	unsigned long blocks, i, k, page_pins;
	bool in;

	for (k = 0; k < ARRAY_SIZE(r); k++) {
		blocks = snp_stat_read(SNP_STAT_BLOCK_PINS);
		KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn + r[k].first, r[k].nr),
				0);
		KUNIT_EXPECT_EQ_MSG(test, snp_stat_read(SNP_STAT_BLOCK_PINS) -
				    blocks, r[k].blocks, "range %lu", k);
		KUNIT_EXPECT_EQ(test, snp_test_bpins(pfn) + snp_test_bpins(pfn + SNP_BLOCK_PAGES),
				(u32)r[k].blocks);
		page_pins = 0;
		for (i = 0; i < 2 * SNP_BLOCK_PAGES; i++) {
			in = i >= r[k].first && i < r[k].first + r[k].nr;
			page_pins += snp_ps_pins(snp_test_word(pfn + i));
			if (snp_page_pins(pfn + i) != in) {
				KUNIT_FAIL(test, "range %lu: page %lu has %u pins",
					   k, i, snp_page_pins(pfn + i));
				break;
			}
		}
		KUNIT_EXPECT_EQ(test, page_pins,
				r[k].nr - r[k].blocks * SNP_BLOCK_PAGES);
		snp_unpin_shared(pfn + r[k].first, r[k].nr);
		for (i = 0; i < 2 * SNP_BLOCK_PAGES; i++)
			if (snp_test_word(pfn + i))
				break;
		KUNIT_EXPECT_EQ_MSG(test, i, 2 * SNP_BLOCK_PAGES,
				    "range %lu left a page pin", k);
		KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn), 0ULL);
		KUNIT_EXPECT_EQ(test,
				snp_page_lock_test_block_word(pfn + SNP_BLOCK_PAGES),
				0ULL);
	}
}

/*
 * G2, G3: a block pin fails while a page of the block is private (-EPERM)
 * or converting (-EAGAIN), and a range that fails on its block piece
 * leaves no pin; 4 KiB pins of the other pages go on working. The block
 * word counts exactly the pages not shared.
 */
static void snp_test_block_refused(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);
	unsigned long blk = pfn + SNP_BLOCK_PAGES, i;

	KUNIT_ASSERT_EQ(test, snp_make_private(blk + 88, 3, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_test_unshared(blk), 3U);
	KUNIT_EXPECT_EQ(test, snp_test_unshared(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(blk, SNP_BLOCK_PAGES), -EPERM);
	/* Head pins taken before the block piece failed are dropped. */
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn + 7, 2 * SNP_BLOCK_PAGES - 7),
			-EPERM);
	for (i = 7; i < SNP_BLOCK_PAGES; i++)
		if (snp_test_word(pfn + i))
			break;
	KUNIT_EXPECT_EQ(test, i, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_test_bpins(blk), 0U);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(blk + 5, 1), 0);
	snp_unpin_shared(blk + 5, 1);

	/* Back to shared one by one: the count follows. */
	KUNIT_ASSERT_EQ(test, snp_make_shared(blk + 89, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_test_unshared(blk), 2U);
	/* Refused and aborted conversions leave it alone. */
	KUNIT_EXPECT_EQ(test, snp_make_private(blk + 88, 2, 0), -EINVAL);
	KUNIT_ASSERT_EQ(test, snp_convert_begin(blk + 89, 1, SNP_PAGE_PRIVATE,
						0, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, snp_test_unshared(blk), 3U);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(blk, SNP_BLOCK_PAGES), -EPERM);
	KUNIT_ASSERT_EQ(test, snp_make_shared(blk + 88, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, snp_make_shared(blk + 90, 1, 0), 0);
	/* Only the converting page is left: -EAGAIN. */
	KUNIT_EXPECT_EQ(test, snp_pin_shared(blk, SNP_BLOCK_PAGES), -EAGAIN);
	snp_convert_end(blk + 89, 1, SNP_PAGE_PRIVATE, false);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(blk), 0ULL);

	KUNIT_EXPECT_EQ(test, snp_pin_shared(blk, SNP_BLOCK_PAGES), 0);
	snp_unpin_shared(blk, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(blk), 0ULL);
}

/* G2: NOWAIT fails on a block pin, naming the page, and changes nothing. */
static void snp_test_block_nowait_busy(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);
	unsigned long bad = 0;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn + 500, 20,
						SNP_PAGE_PRIVATE,
						SNP_CONVERT_NOWAIT, 0, &bad),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, bad, pfn + 500);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn),
			SNP_BS_PIN_BIAS);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn + SNP_BLOCK_PAGES),
			0ULL);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 500), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 519), SNP_PAGE_SHARED);
	/* A page outside the pinned block converts. */
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn + SNP_BLOCK_PAGES, 1,
					       SNP_CONVERT_NOWAIT), 0);
	snp_unpin_shared(pfn, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn + 500, 12,
					       SNP_CONVERT_NOWAIT), 0);
}

/* G2: the wait for a block pin times out with -EBUSY, nothing changed. */
static void snp_test_block_timeout(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);
	unsigned long timeouts = snp_stat_read(SNP_STAT_TIMEOUTS);
	unsigned long waits = snp_stat_read(SNP_STAT_BLOCK_WAITS);
	unsigned long bad = 0;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn + 3, 1, SNP_PAGE_PRIVATE, 0,
						100, &bad), -EBUSY);
	KUNIT_EXPECT_EQ(test, bad, pfn + 3);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_TIMEOUTS), timeouts + 1);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_BLOCK_WAITS), waits + 1);
	/* Unpinned, uncounted; WAITER may stay set with the pin. */
	KUNIT_EXPECT_EQ(test, snp_test_unshared(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_test_bpins(pfn), 1U);
	KUNIT_EXPECT_EQ(test, snp_test_word(pfn + 3), 0U);
	snp_unpin_shared(pfn, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn), 0ULL);
}

/*
 * Thread body: once the converter waits on the block, check that new
 * block pins fail and that the pages still take 4 KiB pins; trade the
 * block pin for a 4 KiB pin of the converted page, and drop that once the
 * converter waits on the page.
 */
static int snp_test_block_trade_fn(struct snp_test_thread *t)
{
	unsigned long end = jiffies + msecs_to_jiffies(SNP_TEST_POLL_MS);
	unsigned long page = (unsigned long)t->arg;
	int ret = 0;

	while (!(snp_page_lock_test_block_word(t->pfn) & SNP_BS_WAITER)) {
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
	msleep(50);
	if (snp_pin_shared(t->pfn, SNP_BLOCK_PAGES) != -EAGAIN)
		ret = -EPROTO;
	if (snp_page_state(page) != SNP_PAGE_SHARED)
		ret = -EPROTO;
	/* Counted, not marked: a 4 KiB pin of the page still succeeds. */
	if (snp_pin_shared(page, 1)) {
		snp_unpin_shared(t->pfn, SNP_BLOCK_PAGES);
		return -EPROTO;
	}
	snp_unpin_shared(t->pfn, SNP_BLOCK_PAGES);
	if (!snp_test_wait_for_waiter(page))
		ret = -ETIMEDOUT;
	msleep(50);
	if (snp_page_state(page) != SNP_PAGE_CONVERTING)
		ret = -EPROTO;
	snp_unpin_shared(page, 1);
	return ret;
}

/*
 * G2, G3: a conversion of a page waits for the pin of its block, blocks
 * new block pins meanwhile, then waits for the 4 KiB pin the holder took
 * instead; no wake-up is lost and WAITER is not left set.
 */
static void snp_test_block_convert_waits(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);
	unsigned long waits = snp_stat_read(SNP_STAT_BLOCK_WAITS);
	struct snp_test_thread *t;
	int ret;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	t = snp_test_thread_start(test, snp_test_block_trade_fn, pfn,
				  SNP_BLOCK_PAGES, (void *)(pfn + 77));
	ret = snp_convert_begin(pfn + 77, 1, SNP_PAGE_PRIVATE, 0,
				SNP_TEST_LONG_MS, NULL);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_LONG_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
	if (!ret)
		KUNIT_EXPECT_EQ(test, snp_convert_end(pfn + 77, 1,
						      SNP_PAGE_PRIVATE, true),
				0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 77), SNP_PAGE_PRIVATE);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_BLOCK_WAITS), waits + 1);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 77), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn),
			SNP_BS_UNSHARED_ONE);
}

/*
 * G2, G3: a block pin traded for 4 KiB pins (the ABI's partial UNPIN)
 * keeps every page pinned, moves the count from the block word to the
 * page words, and lets the pages be unpinned one by one.
 */
static void snp_test_block_split(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);
	unsigned long pins = snp_stat_read(SNP_STAT_PINS), i;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	snp_split_block_pin(pfn);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn), 0ULL);
	for (i = 0; i < SNP_BLOCK_PAGES; i++)
		if (snp_test_word(pfn + i) != SNP_PS_PIN_BIAS)
			break;
	KUNIT_EXPECT_EQ(test, i, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn + 300), 1U);
	/* Still pinned: a conversion of any of them is refused. */
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn + 300, 1,
					       SNP_CONVERT_NOWAIT), -EBUSY);
	for (i = 0; i < SNP_BLOCK_PAGES; i++)
		snp_unpin_shared(pfn + i, 1);
	for (i = 0; i < SNP_BLOCK_PAGES; i++)
		if (snp_test_word(pfn + i))
			break;
	KUNIT_EXPECT_EQ(test, i, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_PINS),
			pins + SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_make_private(pfn + 300, 1,
					       SNP_CONVERT_NOWAIT), 0);
}

/*
 * The ABI learns that a converter waits for the pin of a block (EPOLLPRI
 * for a VMM that pinned the block whole): the page being converted is
 * announced as for a 4 KiB pin, and again when the wait ends.
 */
static void snp_test_block_wait_notifier(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);
	struct snp_test_notify *n;

	n = snp_test_notify_register(test, pfn + 9);

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn + 9, 1, SNP_PAGE_PRIVATE,
						0, 20, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, n->starts, 1);
	KUNIT_EXPECT_EQ(test, n->ends, 1);
	KUNIT_EXPECT_EQ(test, n->end_ret, -EBUSY);
	snp_unpin_shared(pfn, SNP_BLOCK_PAGES);
}

/* Thread body: snp_test_convert_fn(), and no more than 2 s of waiting. */
static int snp_test_convert_short_fn(struct snp_test_thread *t)
{
	t->timeout_ms = 2000;
	return snp_test_convert_fn(t);
}

/*
 * G3: a converter that waits for a page's 4 KiB pin (phase 2) is woken by
 * its unpin even while a block pin of the page's block is backing off: it
 * does not wait for that pin, whose back-off wakes only the block's queue.
 */
static void snp_test_block_backoff_not_waited(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test), end;
	struct snp_test_thread *t;
	bool done;

	KUNIT_ASSERT_EQ(test, snp_pin_shared(pfn + 3, 1), 0);
	t = snp_test_thread_start(test, snp_test_convert_short_fn, pfn + 3, 1,
				  NULL);
	KUNIT_ASSERT_TRUE(test, snp_test_wait_for_waiter(pfn + 3));
	msleep(50);
	/* A block pin in flight, as one that found the page converting. */
	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_block_pins(pfn, 1), 0);
	snp_unpin_shared(pfn + 3, 1);
	end = jiffies + msecs_to_jiffies(1000);
	while (!completion_done(&t->done) && time_before(jiffies, end))
		usleep_range(5000, 10000);
	done = completion_done(&t->done);
	/* Its back-off, which wakes nobody waiting on the page. */
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_add_block_pins(pfn, -1), 0);
	KUNIT_EXPECT_TRUE(test, done);
	KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t, SNP_TEST_LONG_MS));
	KUNIT_EXPECT_EQ(test, t->ret, 0);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn + 3), SNP_PAGE_PRIVATE);
}

/* G3: a saturated block count refuses block pins, -EOVERFLOW. */
static void snp_test_block_saturation(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc_blocks(test);

	KUNIT_ASSERT_EQ(test, snp_page_lock_test_add_block_pins(pfn,
								SNP_BS_PINS_MAX - 1),
			0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 2 * SNP_BLOCK_PAGES),
			-EOVERFLOW);
	KUNIT_EXPECT_EQ(test, snp_test_bpins(pfn), (u32)SNP_BS_PINS_MAX);
	KUNIT_EXPECT_EQ(test, snp_test_bpins(pfn + SNP_BLOCK_PAGES), 0U);
	/* 4 KiB pins do not touch the block word. */
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn + 1, 1), 0);
	snp_unpin_shared(pfn + 1, 1);
	snp_unpin_shared(pfn, SNP_BLOCK_PAGES);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_add_block_pins(pfn,
								1 - (long)SNP_BS_PINS_MAX),
			0);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(pfn), 0ULL);
	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, SNP_BLOCK_PAGES), 0);
	snp_unpin_shared(pfn, SNP_BLOCK_PAGES);
}

/* Block pinners and a 4 KiB pinner against a converter of pages inside. */
struct snp_block_stress {
	unsigned long pfn;
	unsigned long deadline;
	atomic_t violations;
	atomic_t bheld;
	atomic_long_t pins;
	atomic_long_t refused;
};

static int snp_block_stress_pinner(struct snp_test_thread *t)
{
	struct snp_block_stress *s = t->arg;
	bool block = t->nr_pages;
	unsigned long i, p;
	int ret;

	while (time_before(jiffies, s->deadline)) {
		p = s->pfn + get_random_u32_below(SNP_BLOCK_PAGES);
		ret = block ? snp_pin_shared(s->pfn, SNP_BLOCK_PAGES) :
			      snp_pin_shared(p, 1);
		if (ret == -EPERM || ret == -EAGAIN) {
			atomic_long_inc(&s->refused);
			snp_test_dawdle();
			continue;
		}
		if (ret) {
			atomic_inc(&s->violations);
			continue;
		}
		atomic_long_inc(&s->pins);
		if (block) {
			atomic_inc(&s->bheld);
			/* No page of a pinned block is private. */
			for (i = 0; i < SNP_BLOCK_PAGES; i++)
				if (snp_page_state(s->pfn + i) ==
				    SNP_PAGE_PRIVATE)
					atomic_inc(&s->violations);
		} else if (snp_page_state(p) == SNP_PAGE_PRIVATE) {
			atomic_inc(&s->violations);
		}
		snp_test_dawdle();
		if (block) {
			atomic_dec(&s->bheld);
			snp_unpin_shared(s->pfn, SNP_BLOCK_PAGES);
		} else {
			snp_unpin_shared(p, 1);
		}
		cond_resched();
	}
	return 0;
}

/* G2, G3 under concurrency: block pins against page conversions. */
static void snp_test_block_stress(struct kunit *test)
{
	unsigned long waits = snp_stat_read(SNP_STAT_BLOCK_WAITS);
	unsigned long conversions = 0, failures = 0, p, n;
	struct snp_test_thread *t[3];
	struct snp_block_stress *s;
	int i, ret;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->pfn = snp_test_alloc_blocks(test);
	s->deadline = jiffies + msecs_to_jiffies(500);

	/* Two block pinners (nr_pages != 0) and a 4 KiB pinner. */
	for (i = 0; i < 3; i++)
		t[i] = snp_test_thread_start(test, snp_block_stress_pinner, 0,
					     i < 2, s);

	while (time_before(jiffies, s->deadline)) {
		p = s->pfn + get_random_u32_below(SNP_BLOCK_PAGES - 4);
		n = 1 + get_random_u32_below(4);
		ret = snp_convert_begin(p, n, SNP_PAGE_PRIVATE, 0,
					SNP_TEST_LONG_MS, NULL);
		if (ret) {
			/* Pins drain fast: -EBUSY means a lost wake-up. */
			failures++;
			break;
		}
		if (atomic_read(&s->bheld))
			atomic_inc(&s->violations);
		ret = snp_convert_end(p, n, SNP_PAGE_PRIVATE, true);
		snp_test_dawdle();
		ret |= snp_make_shared(p, n, 0);
		if (ret) {
			failures++;
			break;
		}
		conversions++;
		snp_test_dawdle();
	}

	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_TRUE(test, snp_test_thread_join(t[i],
							     SNP_TEST_LONG_MS));
	kunit_info(test, "%lu conversions, %lu block waits, %ld pins, %ld refused\n",
		   conversions, snp_stat_read(SNP_STAT_BLOCK_WAITS) - waits,
		   atomic_long_read(&s->pins), atomic_long_read(&s->refused));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->violations), 0);
	KUNIT_EXPECT_EQ(test, failures, 0UL);
	KUNIT_EXPECT_GT(test, conversions, 0UL);
	KUNIT_EXPECT_GT(test, atomic_long_read(&s->refused), 0L);
	KUNIT_EXPECT_EQ(test, snp_page_lock_test_block_word(s->pfn), 0ULL);
	for (p = 0; p < SNP_BLOCK_PAGES; p++)
		if (snp_test_word(s->pfn + p))
			break;
	KUNIT_EXPECT_EQ(test, p, SNP_BLOCK_PAGES);
}

static struct kunit_case snp_page_lock_cases[] = {
	KUNIT_CASE(snp_test_pin_unpin_counts),
	KUNIT_CASE(snp_test_pin_private_eperm),
	KUNIT_CASE(snp_test_pin_converting_eagain),
	KUNIT_CASE(snp_test_kmap_refuses),
	KUNIT_CASE(snp_test_range_all_or_nothing),
	KUNIT_CASE(snp_test_convert_bad_state),
	KUNIT_CASE(snp_test_nowait_busy),
	KUNIT_CASE(snp_test_convert_waits_for_unpin),
	KUNIT_CASE(snp_test_convert_timeout),
	KUNIT_CASE(snp_test_abort_restores),
	KUNIT_CASE(snp_test_converting_blocks_new_pins),
	KUNIT_CASE(snp_test_convert_pfns),
	KUNIT_CASE(snp_test_backend_error_rolls_back),
	KUNIT_CASE(snp_test_rollback_failure_reported),
	KUNIT_CASE(snp_test_backend_chosen),
	KUNIT_CASE(snp_test_extra_ref_nowait_busy),
	KUNIT_CASE(snp_test_extra_ref_waits),
	KUNIT_CASE(snp_test_extra_ref_timeout),
	KUNIT_CASE(snp_test_dma_pinned_fails),
	KUNIT_CASE(snp_test_owner_unmaps_first),
	KUNIT_CASE(snp_test_notify_all_at_once),
	KUNIT_CASE(snp_test_free_pinned_leaks),
	KUNIT_CASE(snp_test_free_block_pinned_leaks),
	KUNIT_CASE(snp_test_revocable_pin),
	KUNIT_CASE(snp_test_revocable_pin_destroy_waits),
	KUNIT_CASE(snp_test_convert_killed),
	KUNIT_CASE(snp_test_wait_notifier),
	KUNIT_CASE(snp_test_backoff_wakes_converter),
	KUNIT_CASE(snp_test_transient_pin_kept),
	KUNIT_CASE(snp_test_transient_pin_not_waited),
	KUNIT_CASE(snp_test_unshared_count),
	KUNIT_CASE(snp_test_pin_saturation),
	KUNIT_CASE(snp_test_free_private_leaks),
	KUNIT_CASE(snp_test_direct_map_faults),
	KUNIT_CASE(snp_test_checksum_catches_write),
	KUNIT_CASE(snp_test_range_across_section),
	KUNIT_CASE(snp_test_hole_uses_sink),
	KUNIT_CASE_PARAM(snp_test_stress, snp_stress_gen_params),
	KUNIT_CASE(snp_test_block_range_pieces),
	KUNIT_CASE(snp_test_block_refused),
	KUNIT_CASE(snp_test_block_nowait_busy),
	KUNIT_CASE(snp_test_block_timeout),
	KUNIT_CASE(snp_test_block_convert_waits),
	KUNIT_CASE(snp_test_block_split),
	KUNIT_CASE(snp_test_block_backoff_not_waited),
	KUNIT_CASE(snp_test_block_wait_notifier),
	KUNIT_CASE(snp_test_block_saturation),
	KUNIT_CASE(snp_test_block_stress),
	{}
};

static struct kunit_suite snp_page_lock_suite = {
	.name = "snp_page_lock",
	.init = snp_test_init,
	.test_cases = snp_page_lock_cases,
};

/* ------------------------------------------------------------------------
 * Suite snp_page_lock_off: booted with snp_page_lock=off (G6).
 */

static int snp_test_off_init(struct kunit *test)
{
	if (snp_page_lock_is_enabled())
		kunit_skip(test, "snp_page_lock is on in this boot");
	return 0;
}

static void snp_test_off_pins_not_counted(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);
	unsigned long pins = snp_stat_read(SNP_STAT_PINS);

	KUNIT_EXPECT_EQ(test, snp_pin_shared(pfn, 1), 0);
	KUNIT_EXPECT_EQ(test, snp_page_pins(pfn), 0U);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
	snp_unpin_shared(pfn, 1);
	KUNIT_EXPECT_EQ(test, snp_stat_read(SNP_STAT_PINS), pins);
}

static void snp_test_off_convert_unsupported(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);

	KUNIT_EXPECT_EQ(test, snp_make_private(pfn, 1, 0), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, snp_make_shared(pfn, 1, 0), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						0, NULL), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, snp_page_state(pfn), SNP_PAGE_SHARED);
}

static void snp_test_off_kmap_works(struct kunit *test)
{
	unsigned long pfn = snp_test_alloc(test, 0);

	snp_test_kmap_write(test, pfn, 0);
}

static struct kunit_case snp_page_lock_off_cases[] = {
	KUNIT_CASE(snp_test_off_pins_not_counted),
	KUNIT_CASE(snp_test_off_convert_unsupported),
	KUNIT_CASE(snp_test_off_kmap_works),
	{}
};

static struct kunit_suite snp_page_lock_off_suite = {
	.name = "snp_page_lock_off",
	.init = snp_test_off_init,
	.test_cases = snp_page_lock_off_cases,
};

/* ------------------------------------------------------------------------
 * Suite snp_page_lock_lockdep (G5): each case breaks a rule on purpose and
 * must produce a lockdep report. Only run with
 * snp_page_lock.lockdep_selftest=N, in a boot that expects the splat.
 */

static int snp_test_lockdep_init(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_PROVE_LOCKING))
		kunit_skip(test, "CONFIG_PROVE_LOCKING=n");
	if (!snp_page_lock_is_enabled())
		kunit_skip(test, "snp_page_lock is off in this boot");
	if (!snp_page_lock_lockdep_selftest)
		kunit_skip(test, "needs snp_page_lock.lockdep_selftest=1 or 2");
	return 0;
}

/* 1: converting while holding a pin could wait forever on itself. */
static void snp_test_lockdep_convert_while_pinned(struct kunit *test)
{
	unsigned long pfn;
	void *addr;

	if (snp_page_lock_lockdep_selftest != 1)
		kunit_skip(test, "lockdep_selftest != 1");
	/* The report must be the one this case provokes. */
	KUNIT_ASSERT_TRUE(test, debug_locks);

	pfn = snp_test_alloc(test, 0);
	addr = snp_kmap_local_pfn(pfn);
	KUNIT_ASSERT_FALSE(test, IS_ERR(addr));
	/* Expected: "possible recursive locking detected" (snp_page_pin). */
	KUNIT_EXPECT_EQ(test, snp_convert_begin(pfn, 1, SNP_PAGE_PRIVATE, 0,
						100, NULL), -EBUSY);
	/* Lockdep turns itself off at its first report. */
	KUNIT_EXPECT_FALSE(test, debug_locks);
	snp_kunmap_local(addr, pfn);
}

static DEFINE_MUTEX(snp_test_lockdep_mutex);

/* 2: waiting for pins while holding a lock that a pin holder takes. */
static void snp_test_lockdep_wait_under_lock(struct kunit *test)
{
	unsigned long pfn, pfn2;
	void *addr;
	int ret;

	if (snp_page_lock_lockdep_selftest != 2)
		kunit_skip(test, "lockdep_selftest != 2");
	KUNIT_ASSERT_TRUE(test, debug_locks);

	pfn = snp_test_alloc(test, 0);
	pfn2 = snp_test_alloc(test, 0);

	/* A pin holder takes the mutex: snp_page_pin -> mutex. */
	addr = snp_kmap_local_pfn(pfn);
	KUNIT_ASSERT_FALSE(test, IS_ERR(addr));
	mutex_lock(&snp_test_lockdep_mutex);
	mutex_unlock(&snp_test_lockdep_mutex);
	snp_kunmap_local(addr, pfn);

	/* Expected: "possible circular locking dependency detected". */
	mutex_lock(&snp_test_lockdep_mutex);
	ret = snp_make_private(pfn2, 1, 0);
	mutex_unlock(&snp_test_lockdep_mutex);
	KUNIT_EXPECT_FALSE(test, debug_locks);
	KUNIT_EXPECT_EQ(test, ret, 0);
}

static struct kunit_case snp_page_lock_lockdep_cases[] = {
	KUNIT_CASE(snp_test_lockdep_convert_while_pinned),
	KUNIT_CASE(snp_test_lockdep_wait_under_lock),
	{}
};

static struct kunit_suite snp_page_lock_lockdep_suite = {
	.name = "snp_page_lock_lockdep",
	.init = snp_test_lockdep_init,
	.test_cases = snp_page_lock_lockdep_cases,
};

kunit_test_suites(&snp_page_lock_suite, &snp_page_lock_off_suite,
		  &snp_page_lock_lockdep_suite);

MODULE_DESCRIPTION("KUnit tests for the SNP page lock");
MODULE_LICENSE("GPL");
