// SPDX-License-Identifier: GPL-2.0
/*
 * snp_pl_native: the single-page pin fast path of <linux/snp_page_lock.h>
 * and the block pin of a 2 MiB range (compiled from
 * include/linux/snp_page_lock_fast.h against the shims in include/ and
 * kernel_shim.c), measured natively against get_page() + put_page() and
 * folio_try_get() + folio_put() on the same CPU, in the
 * style of tools/testing/radix-tree. QEMU and UML cannot show native SMP
 * costs: atomics, cache-line transfers between cores, false sharing and
 * the code GCC generates. What this cannot show: jump labels, RCU,
 * mitigations, RMP checks.
 *
 *   snp_pl_native [-m MS] [-r RUNS] [-s]
 *
 * First checks the fast path's semantics (a failure exits 1), then times
 * each op RUNS times for about MS ms (median reported) and prints a CSV
 * in the format of <debugfs>/snp_page_lock_bench/results. -s: a smoke run
 * (a few ms per op), for make test; no timing is asserted anywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel_shim.h"

/*
 * The pfns the harness owns: section aligned; 256 sections (32 GiB) so
 * that a cold walk touches 32 MiB of struct pages and 32 MiB of state
 * words, more than the LLC of the machines here; 4 for a smoke run.
 */
#define FIRST_PFN	BIT(20)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
static unsigned long nr_pages = 256UL << PFN_SECTION_SHIFT;
/* Cold walks touch one new cache line per op in every array. */
#define COLD_STRIDE	16
#define COLD_MULT	40503UL

/* A struct page as far as get_page() and put_page() look at it. */
struct shim_page {
	unsigned long flags;
	unsigned long compound_head;
	unsigned long pad[4];
	unsigned int mapcount;
	atomic_t refcount;
};

static struct shim_page *pages;
static struct snp_page_word *words;
static atomic64_t *bwords;
static int ms = 20, runs = 5, ncpus;

static struct shim_page *page_of(unsigned long pfn)
{
	return &pages[pfn - FIRST_PFN];
}

/* page_folio(): a tail page points at its head with bit 0 set. */
static __always_inline struct shim_page *shim_folio(struct shim_page *page)
{
	unsigned long head = READ_ONCE(page->compound_head);

	if (unlikely(head & 1))
		return (struct shim_page *)(head - 1);
	return page;
}

/* get_page(): folio_ref_inc(), one lock inc. */
static __always_inline void shim_get_page(struct shim_page *page)
{
	atomic_inc(&shim_folio(page)->refcount);
}

/* put_page(): folio_put_testzero(), one lock dec and a test. */
static __always_inline void shim_put_page(struct shim_page *page)
{
	if (unlikely(atomic_dec_and_test(&shim_folio(page)->refcount)))
		abort();
}

/* folio_try_get(): atomic_add_unless(&refcount, 1, 0), a cmpxchg loop. */
static __always_inline bool shim_try_get(struct shim_page *page)
{
	struct shim_page *folio = shim_folio(page);
	int old = atomic_read(&folio->refcount);

	do {
		if (unlikely(!old))
			return false;
	} while (!atomic_try_cmpxchg(&folio->refcount, &old, old + 1));
	return true;
}

static unsigned long cold_pfn(unsigned long i)
{
	return FIRST_PFN + ((i * COLD_MULT * COLD_STRIDE) & (nr_pages - 1));
}

enum op_kind {
	OP_EMPTY, OP_GET_PUT, OP_TRY_GET_PUT, OP_PIN, OP_PIN_WORD, OP_LOOKUP,
	OP_PIN_BLOCK,
};

struct op {
	const char *name;
	enum op_kind kind;
	int threads;
	const char *pages;	/* distinct, same, adjacent, cold */
	unsigned long nr_pages;	/* pages per op, as the kernel's CSV */
};

static const struct op ops[] = {
	{ "empty", OP_EMPTY, 1, "distinct", 1 },
	{ "get_put", OP_GET_PUT, 1, "distinct", 1 },
	{ "try_get_put", OP_TRY_GET_PUT, 1, "distinct", 1 },
	{ "pin", OP_PIN, 1, "distinct", 1 },
	/* Where the time of pin goes. */
	{ "pin_word", OP_PIN_WORD, 1, "distinct", 1 },
	{ "lookup_x2", OP_LOOKUP, 1, "distinct", 1 },
	/* A 2 MiB aligned range: one block pin (the kernel's pin_2m). */
	{ "pin_2m", OP_PIN_BLOCK, 1, "distinct", SNP_BLOCK_PAGES },
	{ "get_put_cold", OP_GET_PUT, 1, "cold", 1 },
	{ "try_get_put_cold", OP_TRY_GET_PUT, 1, "cold", 1 },
	{ "pin_cold", OP_PIN, 1, "cold", 1 },
	{ "get_put_x2", OP_GET_PUT, 2, "distinct", 1 },
	{ "get_put_x2_same", OP_GET_PUT, 2, "same", 1 },
	{ "pin_x2", OP_PIN, 2, "distinct", 1 },
	{ "pin_x2_same", OP_PIN, 2, "same", 1 },
	{ "pin_x2_adjacent", OP_PIN, 2, "adjacent", 1 },
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The timed loop of one thread; returns its ns. */
static u64 run_loop(const struct op *op, int tid, unsigned long loops)
{
	bool cold = !strcmp(op->pages, "cold");
	unsigned long pfn = FIRST_PFN, i, p;
	atomic_t *word, *w;
	u64 t0;

	if (!strcmp(op->pages, "distinct"))
		pfn += tid * 4096UL;
	else if (!strcmp(op->pages, "adjacent"))
		pfn += tid;
	word = snp_state_word(pfn);

	t0 = now_ns();
	for (i = 0; i < loops; i++) {
		p = cold ? cold_pfn(i) : pfn;
		__asm__ ("" : "+r" (p));	/* the compiler cannot see p */
		switch (op->kind) {
		case OP_EMPTY:
			break;
		case OP_GET_PUT:
			shim_get_page(page_of(p));
			shim_put_page(page_of(p));
			break;
		case OP_TRY_GET_PUT:
			if (unlikely(!shim_try_get(page_of(p))))
				abort();
			shim_put_page(page_of(p));
			break;
		case OP_PIN:
			if (unlikely(snp_pin_page_inline(p)))
				abort();
			snp_unpin_page_inline(p);
			break;
		case OP_PIN_WORD:
			/* pin's atomics, flag tests and counters, no lookup */
			if (unlikely(snp_pin_word(p, word)))
				abort();
			snp_pin_counts.pins++;
			snp_unpin_word(p, word);
			snp_pin_counts.unpins++;
			break;
		case OP_LOOKUP:
			/* pin's two lookups of the word, nothing else */
			w = snp_state_word(p);
			__asm__ ("" : "+r" (w));
			w = snp_state_word(p);
			__asm__ ("" : "+r" (w));
			break;
		case OP_PIN_BLOCK:
			/*
			 * What snp_pin_shared(p, 512) + snp_unpin_shared(p,
			 * 512) do on an aligned p: a lookup and one atomic
			 * each, and their counters.
			 */
			if (unlikely(snp_pin_block(p, snp_block_word(p))))
				abort();
			this_cpu_inc(snp_pin_counts.pins);
			snp_unpin_block(p, snp_block_word(p));
			this_cpu_inc(snp_pin_counts.unpins);
			break;
		}
	}
	return now_ns() - t0;
}

static void bind_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % ncpus, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

struct thread_arg {
	const struct op *op;
	int tid;
	unsigned long loops;
	pthread_barrier_t *barrier;
	u64 start, end;
};

static void *thread_fn(void *data)
{
	struct thread_arg *a = data;

	bind_cpu(a->tid);
	pthread_barrier_wait(a->barrier);
	a->start = now_ns();
	run_loop(a->op, a->tid, a->loops);
	a->end = now_ns();
	return NULL;
}

/* One timed run of @op: mean per-thread ns/op and wall ns/op. */
static void run_once(const struct op *op, unsigned long loops, double *ns_op,
		     double *wall_op)
{
	struct thread_arg args[2];
	pthread_barrier_t barrier;
	pthread_t th[2];
	u64 first = ~0ULL, last = 0, sum = 0;
	int t;

	pthread_barrier_init(&barrier, NULL, op->threads);
	for (t = 0; t < op->threads; t++) {
		args[t] = (struct thread_arg){ .op = op, .tid = t,
					       .loops = loops,
					       .barrier = &barrier };
		if (pthread_create(&th[t], NULL, thread_fn, &args[t])) {
			perror("pthread_create");
			exit(2);
		}
	}
	for (t = 0; t < op->threads; t++) {
		pthread_join(th[t], NULL);
		sum += args[t].end - args[t].start;
		if (args[t].start < first)
			first = args[t].start;
		if (args[t].end > last)
			last = args[t].end;
	}
	pthread_barrier_destroy(&barrier);
	*ns_op = (double)sum / op->threads / loops;
	*wall_op = (double)(last - first) / ((double)loops * op->threads);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void measure(const struct op *op)
{
	double ns[64], wall[64];
	unsigned long loops = 1000;
	u64 t;
	int r;

	/* Calibrate: about ms milliseconds per run. */
	bind_cpu(0);
	for (;;) {
		t = run_loop(op, 0, loops);
		if (t >= 1000000ULL * ms / 4 || loops >= (1UL << 34))
			break;
		loops *= 2;
	}
	loops = loops * 4;
	for (r = 0; r < runs; r++)
		run_once(op, loops, &ns[r], &wall[r]);
	qsort(ns, runs, sizeof(ns[0]), cmp_double);
	qsort(wall, runs, sizeof(wall[0]), cmp_double);
	printf("%s,%d,%s,%lu,0,%lu,%d,%.3f,%.3f,%.3f,%.3f,0,0,0,0,ok\n",
	       op->name, op->threads, op->pages, op->nr_pages, loops, runs,
	       ns[runs / 2], ns[0], ns[runs - 1], wall[runs / 2]);
	fflush(stdout);
}

static int failures;

static void expect(bool cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "snp_pl_native: FAIL: %s\n", what);
		failures++;
	}
}

static bool block_pages_unpinned(unsigned long first)
{
	unsigned long i;

	for (i = 0; i < SNP_BLOCK_PAGES; i++)
		if (atomic_read(snp_state_word(first + i)))
			return false;
	return true;
}

/* Do [a, a + alen) and [b, b + blen) not overlap? */
static bool disjoint(const void *a, size_t alen, const void *b, size_t blen)
{
	const char *x = a, *y = b;

	return x + alen <= y || y + blen <= x;
}

/* The block words of 2 MiB ranges (issue 14). */
static void block_check(void)
{
	const size_t pbytes = SNP_MAP_PAGES * sizeof(struct snp_page_word);
	const size_t bbytes = SNP_MAP_BLOCKS * sizeof(atomic64_t);
	atomic64_t *bsink = snp_word_map.bsink;
	unsigned long pfn = FIRST_PFN, next = FIRST_PFN + SNP_MAP_PAGES;
	/* In a hole, a chunk other than 0: the bias of bsink matters. */
	unsigned long hole = 3 * SNP_MAP_PAGES + 2 * SNP_BLOCK_PAGES + 5;
	atomic64_t *bw = snp_block_word(pfn), *nbw = snp_block_word(next);
	u64 v;

	/* The lookup: the chunk's block words, one per aligned block. */
	expect(bw == bwords, "block word: the chunk's first block word");
	expect(((uintptr_t)bw & 7) == 0, "block word: 8-byte aligned");
	expect(snp_block_word(pfn + 1) == bw &&
	       snp_block_word(pfn + SNP_BLOCK_PAGES - 1) == bw,
	       "block word: same for the pages of one block");
	expect(snp_block_word(pfn + SNP_BLOCK_PAGES) == bw + 1,
	       "block word: the next block's is the next word");
	expect(snp_block_word(next - 1) == bw + SNP_MAP_BLOCKS - 1,
	       "block word: last block of the chunk");
	expect(nbw == bwords + SNP_MAP_BLOCKS &&
	       snp_block_word(next + SNP_MAP_PAGES - 1) ==
	       nbw + SNP_MAP_BLOCKS - 1,
	       "block word: the next chunk's, from its own bmap entry");
	expect(disjoint(bw, bbytes, nbw, bbytes),
	       "block words: no overlap between chunks");
	expect(disjoint(bw, bbytes, snp_state_word(pfn), pbytes) &&
	       disjoint(bw, bbytes, snp_state_word(next), pbytes) &&
	       disjoint(nbw, bbytes, snp_state_word(pfn), pbytes) &&
	       disjoint(nbw, bbytes, snp_state_word(next), pbytes),
	       "block words: no overlap with the page words");
	expect(disjoint(bw, 2 * bbytes, bsink, bbytes) &&
	       disjoint(bsink, bbytes, snp_word_map.sink, pbytes),
	       "sink block words: apart from the chunks' and the sink's");
	expect(snp_block_word(BIT(40)) == bsink &&
	       snp_block_word(BIT(40) + 3 * SNP_BLOCK_PAGES + 7) == bsink + 3,
	       "beyond the map: the sink's block words");
	expect(snp_block_word(5) == bsink &&
	       snp_block_word(SNP_BLOCK_PAGES) == bsink + 1,
	       "a hole: the sink's block words");
	expect(snp_block_word(hole) == bsink + 2 &&
	       snp_block_word(pfn - 1) == bsink + SNP_MAP_BLOCKS - 1,
	       "a hole past chunk 0: the sink's block words, same index");

	/* A block pin counts in the block word, not in the page words. */
	expect(!snp_pin_block(pfn, bw), "block pin of a shared block");
	expect(!snp_pin_block(pfn, bw), "block pin twice");
	v = atomic64_read(bw);
	expect(v == 2 * SNP_BS_PIN_BIAS && snp_bs_pins(v) == 2,
	       "two block pins counted in the block word");
	expect(block_pages_unpinned(pfn), "block pins: page words untouched");
	expect(!atomic64_read(bw + 1), "block pins: next block untouched");
	snp_unpin_block(pfn, bw);
	snp_unpin_block(pfn, bw);
	expect(atomic64_read(bw) == 0, "block unpinned");
	expect(!shim_block_slow_unpins, "block unpin: no slow path");

	/* An unshared page in the block: -EAGAIN, the count unchanged. */
	atomic64_set(bw, SNP_BS_UNSHARED_ONE);
	expect(snp_pin_block(pfn, bw) == -EAGAIN, "unshared page: -EAGAIN");
	expect(atomic64_read(bw) == (s64)SNP_BS_UNSHARED_ONE,
	       "unshared page: backed off");
	atomic64_set(bw, 3 * SNP_BS_UNSHARED_ONE + SNP_BS_PIN_BIAS);
	expect(snp_pin_block(pfn, bw) == -EAGAIN,
	       "unshared pages, block pinned: -EAGAIN");
	expect(atomic64_read(bw) ==
	       (s64)(3 * SNP_BS_UNSHARED_ONE + SNP_BS_PIN_BIAS),
	       "unshared pages, block pinned: count unchanged");
	expect(snp_bs_unshared(atomic64_read(bw)) == 3, "unshared count");
	expect(block_pages_unpinned(pfn), "back-off: page words untouched");

	/* Saturation and an unpin without a pin. */
	atomic64_set(bw, (s64)((SNP_BS_PINS_MAX - 1) * SNP_BS_PIN_BIAS));
	expect(!snp_pin_block(pfn, bw), "last block pin before saturation");
	expect(snp_pin_block(pfn, bw) == -EOVERFLOW,
	       "block saturated: -EOVERFLOW");
	expect((u64)atomic64_read(bw) == SNP_BS_PINS_MAX * SNP_BS_PIN_BIAS,
	       "block saturated: count kept");
	atomic64_set(bw, 0);
	snp_unpin_block(pfn, bw);
	expect(atomic64_read(bw) == 0, "block unpin without a pin is undone");
	expect(shim_block_slow_unpins == 1, "block underflow: slow path");

	/* WAITER: the last block unpin takes the slow path and clears it. */
	atomic64_set(bw, SNP_BS_WAITER | SNP_BS_UNSHARED_ONE | SNP_BS_PIN_BIAS);
	snp_unpin_block(pfn, bw);
	expect(shim_block_slow_unpins == 2,
	       "block unpin with WAITER: slow path");
	expect(atomic64_read(bw) == (s64)SNP_BS_UNSHARED_ONE,
	       "last block unpin clears WAITER");
	atomic64_set(bw, 0);
	expect(shim_block_backoffs == 3, "three block back-offs");

	/* Pfns without memory: block pins count in the sink's block words. */
	expect(!snp_pin_block(BIT(40), snp_block_word(BIT(40))),
	       "beyond the map: block pin succeeds");
	expect(atomic64_read(bsink) == (s64)SNP_BS_PIN_BIAS,
	       "beyond the map: counted in the sink's block word");
	expect(block_pages_unpinned(BIT(40)),
	       "beyond the map: sink page words untouched");
	snp_unpin_block(BIT(40), snp_block_word(BIT(40)));
	expect(atomic64_read(bsink) == 0, "beyond the map: block unpinned");
	hole &= ~(SNP_BLOCK_PAGES - 1);
	expect(!snp_pin_block(hole, snp_block_word(hole)),
	       "a hole: block pin succeeds");
	expect(atomic64_read(bsink + 2) == (s64)SNP_BS_PIN_BIAS &&
	       block_pages_unpinned(hole),
	       "a hole: counted in the sink's block word only");
	snp_unpin_block(hole, snp_block_word(hole));
	expect(atomic64_read(bsink + 2) == 0, "a hole: block unpinned");
}

/* The fast path's semantics, on the code the benchmark then times. */
static void self_check(void)
{
	unsigned long pfn = FIRST_PFN + 7;
	atomic_t *w = snp_state_word(pfn);

	expect(w == &words[7].state, "state word lookup");
	expect(snp_state_word(pfn + SNP_MAP_PAGES) ==
	       &words[SNP_MAP_PAGES + 7].state,
	       "state word lookup: the next chunk");
	expect(snp_state_word(BIT(40) + 3) == &snp_word_map.sink[3].state,
	       "beyond the map: the sink");
	expect(!snp_pin_page_inline(BIT(40)), "beyond the map: pin succeeds");
	snp_unpin_page_inline(BIT(40));
	expect(atomic_read(&snp_word_map.sink[0].state) == 0,
	       "beyond the map: unpinned");
	expect(!snp_pin_page_inline(5), "a hole: pin succeeds (sink)");
	expect(atomic_read(snp_state_word(5)) == SNP_PS_PIN_BIAS,
	       "a hole: pinned in the sink");
	expect(snp_state_word(3 * SNP_MAP_PAGES + 5) ==
	       &snp_word_map.sink[5].state,
	       "a hole past chunk 0: the sink's word, same index");
	snp_unpin_page_inline(5);

	expect(!snp_pin_page_inline(pfn), "pin a shared page");
	expect(!snp_pin_page_inline(pfn), "pin it twice");
	expect(atomic_read(w) == 2 * SNP_PS_PIN_BIAS, "two pins counted");
	snp_unpin_page_inline(pfn);
	snp_unpin_page_inline(pfn);
	expect(atomic_read(w) == 0, "unpinned");

	atomic_set(w, SNP_PS_PRIVATE);
	expect(snp_pin_page_inline(pfn) == -EPERM, "private: -EPERM");
	expect(atomic_read(w) == SNP_PS_PRIVATE, "private: backed off");
	atomic_set(w, SNP_PS_CONVERTING | SNP_PS_WAITER | SNP_PS_PIN_BIAS);
	expect(snp_pin_page_inline(pfn) == -EAGAIN, "converting: -EAGAIN");
	snp_unpin_page_inline(pfn);
	expect(shim_slow_unpins == 1, "unpin with WAITER takes the slow path");
	atomic_set(w, (int)(SNP_PS_PINS_MAX - 1) * SNP_PS_PIN_BIAS);
	expect(!snp_pin_page_inline(pfn), "last pin before saturation");
	expect(snp_pin_page_inline(pfn) == -EOVERFLOW, "saturated: -EOVERFLOW");
	expect((u32)atomic_read(w) == SNP_PS_PINS_MAX * SNP_PS_PIN_BIAS,
	       "saturated: count kept");
	atomic_set(w, 0);
	snp_unpin_page_inline(pfn);
	expect(atomic_read(w) == 0, "unpin without a pin is undone");
	expect(shim_backoffs == 3, "three back-offs");
	expect(snp_pin_counts.pins == 5, "per-CPU pin count");

	block_check();
}

int main(int argc, char **argv)
{
	unsigned long i;
	int c;

	while ((c = getopt(argc, argv, "m:r:s")) != -1) {
		switch (c) {
		case 'm':
			ms = atoi(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 's':
			ms = 2;
			runs = 1;
			nr_pages = 4UL << PFN_SECTION_SHIFT;
			break;
		default:
			fprintf(stderr, "usage: %s [-m MS] [-r RUNS] [-s]\n",
				argv[0]);
			return 2;
		}
	}
	if (ms < 1 || runs < 1 || runs > 64) {
		fprintf(stderr, "snp_pl_native: -m >= 1, 1 <= -r <= 64\n");
		return 2;
	}
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus < 1)
		ncpus = 1;

	words = shim_memory_init(FIRST_PFN, nr_pages, &bwords);
	pages = aligned_alloc(64, nr_pages * sizeof(*pages));
	if (!pages) {
		perror("aligned_alloc");
		return 2;
	}
	memset(pages, 0, nr_pages * sizeof(*pages));
	for (i = 0; i < nr_pages; i++)
		atomic_set(&pages[i].refcount, 1);

	self_check();
	if (failures)
		return 1;

	printf("# snp_page_lock_bench native harness cpus=%d ms=%d runs=%d",
	       ncpus, ms, runs);
	printf(" clock=CLOCK_MONOTONIC pages=%lu word_bytes=%zu\n", nr_pages,
	       sizeof(struct snp_page_word));
	printf("op,threads,pages,nr_pages,irqs_off,loops,runs,");
	printf("ns_op,ns_min,ns_max,wall_ns_op,");
	printf("dropped,conv_n,conv_p50_ns,conv_p99_ns,status\n");
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		measure(&ops[i]);
	return 0;
}
