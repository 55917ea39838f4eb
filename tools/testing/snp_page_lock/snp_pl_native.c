// SPDX-License-Identifier: GPL-2.0
/*
 * snp_pl_native: the single-page pin fast path of <linux/snp_page_lock.h>
 * (compiled from include/linux/snp_page_lock_fast.h against the shims in
 * include/ and kernel_shim.c), measured natively against get_page() +
 * put_page() and folio_try_get() + folio_put() on the same CPU, in the
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
};

struct op {
	const char *name;
	enum op_kind kind;
	int threads;
	const char *pages;	/* distinct, same, adjacent, cold */
};

static const struct op ops[] = {
	{ "empty", OP_EMPTY, 1, "distinct" },
	{ "get_put", OP_GET_PUT, 1, "distinct" },
	{ "try_get_put", OP_TRY_GET_PUT, 1, "distinct" },
	{ "pin", OP_PIN, 1, "distinct" },
	/* Where the time of pin goes. */
	{ "pin_word", OP_PIN_WORD, 1, "distinct" },
	{ "lookup_x2", OP_LOOKUP, 1, "distinct" },
	{ "get_put_cold", OP_GET_PUT, 1, "cold" },
	{ "try_get_put_cold", OP_TRY_GET_PUT, 1, "cold" },
	{ "pin_cold", OP_PIN, 1, "cold" },
	{ "get_put_x2", OP_GET_PUT, 2, "distinct" },
	{ "get_put_x2_same", OP_GET_PUT, 2, "same" },
	{ "pin_x2", OP_PIN, 2, "distinct" },
	{ "pin_x2_same", OP_PIN, 2, "same" },
	{ "pin_x2_adjacent", OP_PIN, 2, "adjacent" },
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
		OPTIMIZER_HIDE_VAR(p);
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
			OPTIMIZER_HIDE_VAR(w);
			w = snp_state_word(p);
			OPTIMIZER_HIDE_VAR(w);
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
	printf("%s,%d,%s,1,0,%lu,%d,%.3f,%.3f,%.3f,%.3f,0,0,0,0,ok\n", op->name,
	       op->threads, op->pages, loops, runs, ns[runs / 2], ns[0],
	       ns[runs - 1], wall[runs / 2]);
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

/* The fast path's semantics, on the code the benchmark then times. */
static void self_check(void)
{
	unsigned long pfn = FIRST_PFN + 7;
	atomic_t *w = snp_state_word(pfn);

	expect(w == &words[7].state, "state word lookup");
	expect(snp_state_word(BIT(40) + 3) == &snp_word_map.sink[3].state,
	       "beyond the map: the sink");
	expect(!snp_pin_page_inline(BIT(40)), "beyond the map: pin succeeds");
	snp_unpin_page_inline(BIT(40));
	expect(atomic_read(&snp_word_map.sink[0].state) == 0,
	       "beyond the map: unpinned");
	expect(!snp_pin_page_inline(5), "a hole: pin succeeds (sink)");
	expect(atomic_read(snp_state_word(5)) == SNP_PS_PIN_BIAS,
	       "a hole: pinned in the sink");
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

	words = shim_memory_init(FIRST_PFN, nr_pages);
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
