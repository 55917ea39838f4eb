// SPDX-License-Identifier: GPL-2.0
/*
 * snp-page-lock: what /dev/snp_page_lock costs a VMM.
 *
 * A VMM that does I/O on guest-shared pages holds them with SNP_PL_IOC_PIN,
 * learns through poll() (EPOLLPRI) that the guest wants one of them back and
 * lets go with SNP_PL_IOC_UNPIN. These benchmarks time that from user space.
 * The device's test pool (mmap() of the device, CONFIG_SNP_PAGE_LOCK_TEST)
 * plays guest memory and SNP_PL_IOC_TEST_CONVERT plays the guest asking for a
 * page state change. See Documentation/userspace-api/snp_page_lock.rst.
 *
 * Exported (declared in bench.h, listed in builtin-bench.c):
 *   bench_snp_page_lock_pin()      "perf bench snp-page-lock pin"
 *   bench_snp_page_lock_convert()  "perf bench snp-page-lock convert"
 *   bench_snp_page_lock_handoff()  "perf bench snp-page-lock handoff"
 *   bench_snp_page_lock_fault()    "perf bench snp-page-lock fault"
 *
 * pin: PIN then UNPIN of one range per loop, first on anonymous memory
 *   (2 MiB aligned, MADV_HUGEPAGE, THP checked in /proc/self/smaps), then on
 *   test pool pages, both touched before. One untimed warm-up loop per row.
 *   -l N   loops of a range of up to 64 pages (default 10000); a larger range
 *          of P pages runs N * 64 / P loops, but at least min(N, 4), so that
 *          no row pins much more than 64 * N pages in all
 *   -p L   comma-separated range sizes in pages (default 1,512,262144)
 *   -m M   anon, pool or all (default all)
 *   -t N   N threads pin their own range each at the same time (default 1);
 *          the numbers are per-thread averages
 *   -s     the threads pin through one open file (default: one file each;
 *          PIN and UNPIN of one file are serialised by a mutex)
 *   A pool range beyond snp_page_lock.test_pool_max_mb (64 MiB: 262144 pages
 *   need 1024) is run by raising the parameter for the files the row opens
 *   and restoring it at once; if that is not allowed, the row is skipped
 *   ("pool limit"), as it is without the test pool ("no test pool") or when
 *   MemAvailable is too small ("memory"). Anonymous memory that cannot be
 *   mapped, is too large for MemAvailable or gets no THP at all is an error.
 *
 * convert: TEST_CONVERT of pool pages to private and back to shared, nobody
 *   pinning. Before each round trip the pages are touched (untimed), so the
 *   conversion to private also removes the VMM's mappings, as with a VMM
 *   that uses its guest memory. One untimed warm-up round trip per row.
 *   -l N   round trips of a range of up to 16 pages (default 1000); P > 16
 *          pages run N * 16 / P, but at least min(N, 4)
 *   -p L   range sizes in pages (default 1,512)
 *
 * handoff: a VMM thread pins a pool page and sleeps in poll(POLLPRI); the
 *   converter (the main thread) takes t0 once the VMM sleeps there (state 'S'
 *   after it said it was about to poll; at most 1 s is waited for that, as
 *   EPOLLPRI is level-triggered anyway) and asks for the page
 *   (TEST_CONVERT to private); the VMM takes t_pri when poll()
 *   returns EPOLLPRI, unpins and takes t_unpin after UNPIN returns; the
 *   converter takes t_done when its ioctl returns. Untimed: back to shared,
 *   pin again. Reports p50, p99, min and max of t_pri - t0, t_unpin - t0 and
 *   t_done - t0 over the rounds.
 *   -l N   rounds (default 200)
 *
 * fault: (a) the first write touch of pages whose PTEs are gone, K pages a
 *   round, one fault per touch (faults/touch, from getrusage(), shows it):
 *   "anon": anonymous memory (MADV_NOHUGEPAGE) after MADV_DONTNEED, which
 *   frees the pages: every touch allocates and zeroes a page; "pool-new": a
 *   new pool file every round, every touch allocates a pool page; "pool-zap":
 *   a pool mapping after MADV_DONTNEED, which only zaps the PTEs: every touch
 *   maps the page the pool keeps. (b) "wait": pool pages A and B; the VMM
 *   (main thread) pins B; a converter thread converts [A, B] to private and
 *   waits for B's pin; A was zapped with MADV_DONTNEED before, so a toucher
 *   thread's write to A faults and waits in the fault ('D' in
 *   /proc/self/task/<tid>/stat). Then the VMM takes t_unpin and unpins B; the
 *   conversion ends, the fault retries and gets SIGBUS, and the toucher takes
 *   t_resume in its SIGBUS handler's landing point. Reports t_resume - t_unpin
 *   (the wake-up of a waiting fault, which includes the end of the
 *   conversion) and t_resume - t_touch (the whole wait).
 *   -l N   rounds of (a) and of (b) (default 100)
 *   -p K   pages touched per round in (a) (default 512)
 *
 * Output: the default format prints, per row, a "# ..." line saying what ran,
 * the total time and the numbers with their units. The simple format prints
 * one line per row, a label then numbers only (ns, or usecs for latencies):
 *   pin anon|pool PAGES PIN_NS/PAGE UNPIN_NS/PAGE PIN+UNPIN_NS/PAGE PIN_NS/CALL UNPIN_NS/CALL
 *   pin pool PAGES skipped: REASON
 *   convert PAGES TO_PRIVATE_US TO_SHARED_US ROUND_TRIP_US
 *   convert PAGES skipped: REASON
 *   handoff epollpri|unpin|done P50_US P99_US MIN_US MAX_US
 *   fault anon|pool-new|pool-zap PAGES NS/TOUCH FAULTS/TOUCH
 *   fault pool-new|pool-zap PAGES skipped: REASON
 *   fault wait-resume|wait-total P50_US P99_US MIN_US MAX_US
 *
 * perf bench's -r (bench_repeat, default 10) is not used: the rows already
 * loop (-l) and the latency benchmarks report distributions; repeating the
 * 1 GiB rows ten times would only take longer.
 *
 * Needs: /dev/snp_page_lock; the test pool for everything but "pin anon";
 * CAP_SYS_ADMIN for TEST_CONVERT and for the module parameter; RLIMIT_MEMLOCK
 * is raised to infinity while a benchmark runs (and restored) so that PIN is
 * not refused with ENOMEM. The 262144-page rows need 1 GiB per thread.
 * A failing system call stops the benchmark with its error and a non-zero
 * return; everything mapped, opened, started or changed is undone first.
 */

#include <errno.h>
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/kernel.h>
#include <linux/time64.h>
#include <linux/types.h>
#include <linux/snp_page_lock.h>
#include <subcmd/parse-options.h>

#include "bench.h"

#define SNP_PL_DEV		"/dev/snp_page_lock"
#define POOL_MAX_PARAM		"/sys/module/snp_page_lock/parameters/test_pool_max_mb"
#define THP_SIZE		(2UL << 20)
#define MAX_ROWS		16
#define MAX_RANGE_PAGES		(16UL << 20)	/* 64 GiB of 4 KiB pages */
#define MAX_THREADS		1024
#define MIN_LOOPS		4U
#define PIN_FULL_PAGES		64UL
#define CONVERT_FULL_PAGES	16UL
/* A conversion that waits for a pin the benchmark drops. */
#define CONVERT_TIMEOUT_MS	30000
/* How long to wait for another thread to get where it should. */
#define WAIT_MS			10000

static size_t page_size;

static void bench_init(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	page_size = ps > 0 ? (size_t)ps : 4096;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * NSEC_PER_USEC };

	nanosleep(&ts, NULL);
}

static pid_t thread_id(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ------------------------------------------------------------------------
 * The ioctls, returning 0 or -errno.
 */

static int pl_range(int fd, unsigned long req, void *addr, size_t len)
{
	struct snp_pl_range r = {
		.size = sizeof(r),
		.addr = (unsigned long)addr,
		.len = len,
	};

	return ioctl(fd, req, &r) ? -errno : 0;
}

static int pl_pin(int fd, void *addr, size_t len)
{
	return pl_range(fd, SNP_PL_IOC_PIN, addr, len);
}

static int pl_unpin(int fd, void *addr, size_t len)
{
	return pl_range(fd, SNP_PL_IOC_UNPIN, addr, len);
}

static int pl_convert(int fd, void *addr, size_t len, __u32 to, __u32 timeout_ms)
{
	struct snp_pl_convert c = {
		.size = sizeof(c),
		.addr = (unsigned long)addr,
		.len = len,
		.to = to,
		.timeout_ms = timeout_ms,
	};

	return ioctl(fd, SNP_PL_IOC_TEST_CONVERT, &c) ? -errno : 0;
}

/* The QUERY state of the page at @addr, or -errno. */
static int pl_state(int fd, void *addr)
{
	__u8 state = 0;
	struct snp_pl_query q = {
		.size = sizeof(q),
		.addr = (unsigned long)addr,
		.len = page_size,
		.states = (unsigned long)&state,
	};

	return ioctl(fd, SNP_PL_IOC_QUERY, &q) ? -errno : state;
}

static const char *pin_hint(int ret)
{
	return ret == -ENOMEM ? " (RLIMIT_MEMLOCK, or out of memory)" : "";
}

static const char *convert_hint(int ret)
{
	if (ret == -EPERM)
		return " (TEST_CONVERT needs CAP_SYS_ADMIN)";
	if (ret == -ENOTTY)
		return " (TEST_CONVERT needs CONFIG_SNP_PAGE_LOCK_TEST)";
	return "";
}

static const char *pool_hint(int errnum)
{
	if (errnum == ENODEV)
		return " (the test pool needs CONFIG_SNP_PAGE_LOCK_TEST)";
	if (errnum == EINVAL)
		return " (beyond " POOL_MAX_PARAM "?)";
	return "";
}

static int open_dev(void)
{
	int fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		warnx("open %s: %s", SNP_PL_DEV, strerror(errno));
	return fd;
}

/* Before anything is set up or printed: is the device there? */
static bool have_dev(void)
{
	int fd = open_dev();

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Map @pages pages of the test pool of @fd from its start; NULL, *@errnum. */
static char *pool_map(int fd, unsigned long pages, int *errnum)
{
	void *p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	*errnum = p == MAP_FAILED ? errno : 0;
	return p == MAP_FAILED ? NULL : p;
}

/*
 * @len bytes (a multiple of THP_SIZE if @huge) of anonymous memory: 2 MiB
 * aligned and MADV_HUGEPAGE if @huge, else MADV_NOHUGEPAGE (4 KiB faults).
 */
static char *anon_map(size_t len, bool huge)
{
	size_t extra = huge ? THP_SIZE : 0, head;
	char *raw, *mem;

	raw = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (raw == MAP_FAILED) {
		warnx("mmap of %zu KiB of anonymous memory: %s", len >> 10, strerror(errno));
		return NULL;
	}
	if (!huge) {
		/* Fails only without THP support, where it is what we want. */
		madvise(raw, len, MADV_NOHUGEPAGE);
		return raw;
	}
	mem = (char *)(((unsigned long)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	head = mem - raw;
	if (head)
		munmap(raw, head);
	munmap(mem + len, extra - head);
	if (madvise(mem, len, MADV_HUGEPAGE)) {
		warnx("madvise(MADV_HUGEPAGE): %s (no transparent huge pages?)", strerror(errno));
		munmap(mem, len);
		return NULL;
	}
	return mem;
}

/* AnonHugePages of the mapping holding @addr, in KiB, or -1. */
static long anon_huge_kb(void *addr)
{
	unsigned long start, end, target = (unsigned long)addr;
	char line[4096];
	bool inside = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (inside)
				break;
			inside = target >= start && target < end;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* MemAvailable in bytes, or 0 if unknown. */
static unsigned long long mem_available(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/* Write one byte to each of @pages pages from @mem. */
static void touch_pages(char *mem, size_t pages)
{
	size_t i;

	for (i = 0; i < pages; i++)
		__atomic_store_n(mem + i * page_size, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * The module parameter, RLIMIT_MEMLOCK, thread states, statistics, output.
 */

struct pool_limit {
	bool changed;
	char saved[32];
};

static int read_str(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_str(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/*
 * Let the files opened from now on have a test pool of @pages pages: raise
 * snp_page_lock.test_pool_max_mb (read at open) if needed and allowed. False
 * if the pool cannot be that large. pool_limit_restore() undoes it.
 */
static bool pool_limit_raise(struct pool_limit *pl, unsigned long pages)
{
	unsigned long need = DIV_ROUND_UP(pages * page_size, 1UL << 20), cur;
	char val[32], *end;

	pl->changed = false;
	if (read_str(POOL_MAX_PARAM, pl->saved, sizeof(pl->saved)))
		return true;	/* unknown: mmap() will tell */
	cur = strtoul(pl->saved, &end, 10);
	if (end == pl->saved || cur >= need)
		return true;
	if (need > UINT_MAX)
		return false;
	snprintf(val, sizeof(val), "%lu", need);
	if (write_str(POOL_MAX_PARAM, val))
		return false;
	pl->changed = true;
	return true;
}

static void pool_limit_restore(struct pool_limit *pl)
{
	if (pl->changed && write_str(POOL_MAX_PARAM, pl->saved))
		warnx("could not restore %s to %s", POOL_MAX_PARAM, pl->saved);
	pl->changed = false;
}

/* Lift RLIMIT_MEMLOCK (as far as allowed); true if @old must be restored. */
static bool memlock_raise(struct rlimit *old)
{
	struct rlimit lim = { .rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY };

	if (getrlimit(RLIMIT_MEMLOCK, old) || old->rlim_cur == RLIM_INFINITY)
		return false;
	if (!setrlimit(RLIMIT_MEMLOCK, &lim))
		return true;
	lim.rlim_cur = old->rlim_max;
	lim.rlim_max = old->rlim_max;
	return !setrlimit(RLIMIT_MEMLOCK, &lim);
}

static void memlock_restore(const struct rlimit *old, bool raised)
{
	if (raised)
		setrlimit(RLIMIT_MEMLOCK, old);
}

/* The state letter of thread @tid of this process, or -1. */
static int task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* "tid (comm) S ...": comm may hold anything but ends at the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -1;
	return p[2];
}

/* Wait up to @ms for thread @tid to be in @state; false early if *@gone. */
static bool wait_task_state(pid_t tid, int state, unsigned int ms, const int *gone)
{
	u64 end = now_ns() + (u64)ms * NSEC_PER_MSEC;

	do {
		if (gone && __atomic_load_n(gone, __ATOMIC_ACQUIRE))
			return false;
		if (task_state(tid) == state)
			return true;
		sleep_us(20);
	} while (now_ns() < end);
	return false;
}

/* Wait up to @ms for *@flag to be set. */
static bool wait_flag(const int *flag, unsigned int ms)
{
	u64 end = now_ns() + (u64)ms * NSEC_PER_MSEC;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (now_ns() >= end)
			return false;
		sleep_us(10);
	}
	return true;
}

static unsigned int scale_loops(unsigned int loops, unsigned long pages, unsigned long full)
{
	unsigned long n;

	if (pages <= full)
		return loops;
	n = (unsigned long)loops * full / pages;
	return n > MIN_LOOPS ? (unsigned int)n : min_t(unsigned int, loops, MIN_LOOPS);
}

static bool parse_pages(const char *str, unsigned long *pages, unsigned int *nr)
{
	const char *p = str;
	unsigned long v;
	char *end;

	*nr = 0;
	if (!p)
		return false;
	for (;;) {
		if (*p < '0' || *p > '9' || *nr >= MAX_ROWS)
			return false;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || !v || v > MAX_RANGE_PAGES)
			return false;
		pages[(*nr)++] = v;
		if (!*end)
			return true;
		if (*end != ',')
			return false;
		p = end + 1;
	}
}

static bool positive(double v)
{
	return v > 0 && isfinite(v);
}

static const char *size_str(size_t bytes, char *buf, size_t size)
{
	if (bytes >= (1UL << 30) && !(bytes & ((1UL << 30) - 1)))
		snprintf(buf, size, "%zu GiB", bytes >> 30);
	else if (bytes >= (1UL << 20) && !(bytes & ((1UL << 20) - 1)))
		snprintf(buf, size, "%zu MiB", bytes >> 20);
	else
		snprintf(buf, size, "%zu KiB", bytes >> 10);
	return buf;
}

static void print_total(u64 ns)
{
	printf(" %14s: %llu.%03llu [sec]\n\n", "Total time",
	       (unsigned long long)(ns / NSEC_PER_SEC),
	       (unsigned long long)(ns % NSEC_PER_SEC / NSEC_PER_MSEC));
}

struct lat {
	double p50, p99, min, max;	/* usecs */
};

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile @pct of the sorted @v, in usecs. */
static double percentile_us(const u64 *v, unsigned int n, unsigned int pct)
{
	unsigned long rank = ((unsigned long)n * pct + 99) / 100;

	return (double)v[rank ? rank - 1 : 0] / NSEC_PER_USEC;
}

static void lat_compute(u64 *v, unsigned int n, struct lat *l)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	l->p50 = percentile_us(v, n, 50);
	l->p99 = percentile_us(v, n, 99);
	l->min = (double)v[0] / NSEC_PER_USEC;
	l->max = (double)v[n - 1] / NSEC_PER_USEC;
}

static void lat_header(void)
{
	if (bench_format != BENCH_FORMAT_SIMPLE)
		printf(" %-36s %10s %10s %10s %10s\n", "[usecs]", "p50", "p99", "min", "max");
}

static void lat_print(const char *label, const char *what, const struct lat *l)
{
	if (bench_format == BENCH_FORMAT_SIMPLE)
		printf("%s %.3f %.3f %.3f %.3f\n", label, l->p50, l->p99, l->min, l->max);
	else
		printf(" %-36s %10.3f %10.3f %10.3f %10.3f\n", what, l->p50, l->p99, l->min,
		       l->max);
}

/* ------------------------------------------------------------------------
 * pin: PIN + UNPIN of ranges of anonymous and pool memory.
 */

static unsigned int pin_loops = 10000;
static const char *pin_pages_str = "1,512,262144";
static const char *pin_memory_str = "all";
static unsigned int pin_threads = 1;
static bool pin_one_file;

static const struct option pin_options[] = {
	OPT_UINTEGER('l', "loops", &pin_loops,
		     "PIN+UNPIN loops of ranges up to 64 pages (larger: fewer)"),
	OPT_STRING('p', "pages", &pin_pages_str, "n,n,...", "Range sizes in pages"),
	OPT_STRING('m', "memory", &pin_memory_str, "anon|pool|all", "Memory to pin"),
	OPT_UINTEGER('t', "threads", &pin_threads,
		     "Threads pinning their own range at the same time"),
	OPT_BOOLEAN('s', "shared-file", &pin_one_file, "All threads pin through one open file"),
	OPT_END()
};

static const char * const pin_usage[] = {
	"perf bench snp-page-lock pin <options>",
	NULL
};

struct pin_row;

struct pin_worker {
	struct pin_row *row;
	pthread_t thread;
	int pin_fd;		/* the file the pins go through */
	int pool_fd;		/* pool memory: the file whose pool is mapped */
	char *mem;		/* the range, at the start of the mapping */
	size_t map_len;
	u64 pin_ns;
	u64 unpin_ns;
	u64 wall_ns;
	int ret;
	const char *op;		/* the ioctl that failed */
};

struct pin_row {
	bool pool;
	unsigned long pages;
	size_t len;
	unsigned int loops;
	unsigned int nr;
	int one_fd;		/* -s: the file of every thread, else -1 */
	struct pin_worker *workers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int ready;
	bool go;
	bool stop;
};

static void *pin_worker_fn(void *arg)
{
	struct pin_worker *w = arg;
	struct pin_row *row = w->row;
	u64 start, t0, t1, t2;
	unsigned int i;
	bool stop;
	int ret;

	/* The untimed warm-up, which also checks that the range can be pinned. */
	w->op = "PIN";
	ret = pl_pin(w->pin_fd, w->mem, row->len);
	if (!ret) {
		w->op = "UNPIN";
		ret = pl_unpin(w->pin_fd, w->mem, row->len);
	}
	w->ret = ret;

	/* Start together. */
	pthread_mutex_lock(&row->lock);
	row->ready++;
	if (ret)
		row->stop = true;
	pthread_cond_broadcast(&row->cond);
	while (!row->go)
		pthread_cond_wait(&row->cond, &row->lock);
	stop = row->stop;
	pthread_mutex_unlock(&row->lock);
	if (stop)
		return NULL;

	start = now_ns();
	t0 = start;
	for (i = 0; i < row->loops; i++) {
		ret = pl_pin(w->pin_fd, w->mem, row->len);
		t1 = now_ns();
		if (ret) {
			w->op = "PIN";
			break;
		}
		ret = pl_unpin(w->pin_fd, w->mem, row->len);
		t2 = now_ns();
		if (ret) {
			w->op = "UNPIN";
			break;
		}
		w->pin_ns += t1 - t0;
		w->unpin_ns += t2 - t1;
		t0 = t2;
	}
	w->wall_ns = now_ns() - start;
	w->ret = ret;
	return NULL;
}

static void pin_print_skip(bool pool, unsigned long pages, const char *why)
{
	if (bench_format == BENCH_FORMAT_SIMPLE)
		printf("pin %s %lu skipped: %s\n", pool ? "pool" : "anon", pages, why);
	else
		printf("# %s memory, %lu pages per range: skipped: %s\n\n",
		       pool ? "pool" : "anon", pages, why);
}

static int pin_row_print(struct pin_row *row)
{
	double pin_call = 0, unpin_call = 0, pin, unpin;
	char sz[32];
	u64 wall = 0;
	unsigned int i;

	for (i = 0; i < row->nr; i++) {
		pin_call += (double)row->workers[i].pin_ns / row->loops;
		unpin_call += (double)row->workers[i].unpin_ns / row->loops;
		wall = max_t(u64, wall, row->workers[i].wall_ns);
	}
	pin_call /= row->nr;
	unpin_call /= row->nr;
	pin = pin_call / row->pages;
	unpin = unpin_call / row->pages;
	if (!positive(pin) || !positive(unpin)) {
		warnx("pin: no time measured (clock resolution?)");
		return -1;
	}

	if (bench_format == BENCH_FORMAT_SIMPLE) {
		printf("pin %s %lu %.3f %.3f %.3f %.3f %.3f\n", row->pool ? "pool" : "anon",
		       row->pages, pin, unpin, pin + unpin, pin_call, unpin_call);
		return 0;
	}
	printf("# Executed %u PIN + UNPIN loops of %lu page%s (%s) of %s, %u thread%s%s\n",
	       row->loops, row->pages, row->pages > 1 ? "s" : "",
	       size_str(row->len, sz, sizeof(sz)),
	       row->pool ? "test pool memory" : "anonymous THP memory", row->nr,
	       row->nr > 1 ? "s" : "",
	       row->nr == 1 ? "" : row->one_fd >= 0 ? " (one file)" : " (a file each)");
	print_total(wall);
	printf(" %14.3f ns/page PIN\n", pin);
	printf(" %14.3f ns/page UNPIN\n", unpin);
	printf(" %14.3f ns/page PIN + UNPIN\n", pin + unpin);
	printf(" %14.3f ns/call PIN\n", pin_call);
	printf(" %14.3f ns/call UNPIN\n\n", unpin_call);
	return 0;
}

/* Map and touch the memory of every worker; 0, 1 to skip the row, -1. */
static int pin_row_memory(struct pin_row *row, const char **skip)
{
	unsigned long long avail = mem_available(), need;
	struct pin_worker *w;
	unsigned int i;
	long kb;
	int e = 0;

	need = (unsigned long long)row->nr *
	       (row->pool ? row->len : (row->len + THP_SIZE - 1) & ~(THP_SIZE - 1));
	if (avail && need > avail) {
		if (row->pool) {
			*skip = "memory";
			return 1;
		}
		warnx("%llu MiB of anonymous memory needed, %llu MiB available",
		      need >> 20, avail >> 20);
		return -1;
	}
	for (i = 0; i < row->nr; i++) {
		w = &row->workers[i];
		if (row->pool) {
			w->mem = pool_map(w->pool_fd, row->pages, &e);
			if (!w->mem) {
				if (e == EINVAL) {
					*skip = "pool limit";
					return 1;
				}
				if (e == ENODEV) {
					*skip = "no test pool";
					return 1;
				}
				warnx("mmap of %lu pages of the test pool: %s", row->pages,
				      strerror(e));
				return -1;
			}
			w->map_len = row->len;
		} else {
			w->map_len = (row->len + THP_SIZE - 1) & ~(THP_SIZE - 1);
			w->mem = anon_map(w->map_len, true);
			if (!w->mem)
				return -1;
		}
		touch_pages(w->mem, w->map_len / page_size);
		if (row->pool)
			continue;
		kb = anon_huge_kb(w->mem);
		if (!kb) {
			warnx("the anonymous memory got no transparent huge page: see %s",
			      "/sys/kernel/mm/transparent_hugepage/enabled");
			return -1;
		}
		if (kb > 0 && (size_t)kb < w->map_len >> 10 && bench_format != BENCH_FORMAT_SIMPLE)
			printf("# note: only %ld of %zu KiB of the range are huge pages\n", kb,
			       w->map_len >> 10);
	}
	return 0;
}

/* One (memory, pages) row: 0 (also when skipped) or -1. */
static int pin_row_run(bool pool, unsigned long pages)
{
	struct pin_row row = {
		.pool = pool,
		.pages = pages,
		.len = pages * page_size,
		.loops = scale_loops(pin_loops, pages, PIN_FULL_PAGES),
		.nr = pin_threads,
		.one_fd = -1,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	struct pool_limit limit = { .changed = false };
	unsigned int i, created = 0;
	const char *skip = NULL;
	struct pin_worker *w;
	int ret = -1, e = 0;

	row.workers = calloc(row.nr, sizeof(*row.workers));
	if (!row.workers) {
		warnx("calloc: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < row.nr; i++) {
		row.workers[i].row = &row;
		row.workers[i].pin_fd = -1;
		row.workers[i].pool_fd = -1;
	}

	if (pool) {
		if (!pool_limit_raise(&limit, pages)) {
			skip = "pool limit";
			goto out;
		}
		for (i = 0; i < row.nr; i++) {
			row.workers[i].pool_fd = open_dev();
			if (row.workers[i].pool_fd < 0)
				break;
		}
		/* Read at open: the files have their pool size now. */
		pool_limit_restore(&limit);
		if (i < row.nr)
			goto out;
	}
	if (pin_one_file) {
		row.one_fd = open_dev();
		if (row.one_fd < 0)
			goto out;
	}
	for (i = 0; i < row.nr; i++) {
		w = &row.workers[i];
		w->pin_fd = pin_one_file ? row.one_fd : open_dev();
		if (w->pin_fd < 0)
			goto out;
	}
	e = pin_row_memory(&row, &skip);
	if (e)
		goto out;

	for (i = 0; i < row.nr; i++) {
		e = pthread_create(&row.workers[i].thread, NULL, pin_worker_fn, &row.workers[i]);
		if (e) {
			warnx("pthread_create: %s", strerror(e));
			break;
		}
		created++;
	}
	pthread_mutex_lock(&row.lock);
	while (row.ready < created)
		pthread_cond_wait(&row.cond, &row.lock);
	if (created < row.nr)
		row.stop = true;
	row.go = true;
	pthread_cond_broadcast(&row.cond);
	pthread_mutex_unlock(&row.lock);
	for (i = 0; i < created; i++)
		pthread_join(row.workers[i].thread, NULL);
	if (created < row.nr)
		goto out;

	for (i = 0; i < row.nr; i++) {
		w = &row.workers[i];
		if (w->ret) {
			warnx("%s of %lu pages of %s memory: %s%s", w->op, pages,
			      pool ? "pool" : "anonymous", strerror(-w->ret), pin_hint(w->ret));
			goto out;
		}
	}
	ret = pin_row_print(&row);
out:
	pool_limit_restore(&limit);
	if (skip) {
		pin_print_skip(pool, pages, skip);
		ret = 0;
	}
	for (i = 0; i < row.nr; i++) {
		w = &row.workers[i];
		if (w->mem)
			munmap(w->mem, w->map_len);
		if (w->pin_fd >= 0 && w->pin_fd != row.one_fd)
			close(w->pin_fd);
		if (w->pool_fd >= 0)
			close(w->pool_fd);
	}
	if (row.one_fd >= 0)
		close(row.one_fd);
	free(row.workers);
	return ret;
}

int bench_snp_page_lock_pin(int argc, const char **argv)
{
	unsigned long pages[MAX_ROWS];
	bool memory[2] = { true, true };	/* anon, pool */
	unsigned int nr_pages, m, i;
	struct rlimit memlock;
	bool raised;
	int ret = 0;

	argc = parse_options(argc, argv, pin_options, pin_usage, 0);
	if (argc)
		usage_with_options(pin_usage, pin_options);
	if (!pin_loops)
		usage_with_options_msg(pin_usage, pin_options, "--loops must be at least 1");
	if (!pin_threads || pin_threads > MAX_THREADS)
		usage_with_options_msg(pin_usage, pin_options, "--threads must be 1 to %d",
				       MAX_THREADS);
	if (!parse_pages(pin_pages_str, pages, &nr_pages))
		usage_with_options_msg(pin_usage, pin_options,
				       "--pages: up to %d sizes of 1 to %lu pages, comma-separated",
				       MAX_ROWS, MAX_RANGE_PAGES);
	if (!pin_memory_str)		/* --no-memory */
		usage_with_options_msg(pin_usage, pin_options,
				       "--memory must be anon, pool or all");
	if (!strcmp(pin_memory_str, "anon"))
		memory[1] = false;
	else if (!strcmp(pin_memory_str, "pool"))
		memory[0] = false;
	else if (strcmp(pin_memory_str, "all"))
		usage_with_options_msg(pin_usage, pin_options,
				       "--memory must be anon, pool or all");

	bench_init();
	if (!have_dev())
		return EXIT_FAILURE;
	raised = memlock_raise(&memlock);
	for (m = 0; m < 2 && !ret; m++) {
		if (!memory[m])
			continue;
		for (i = 0; i < nr_pages && !ret; i++)
			ret = pin_row_run(m == 1, pages[i]);
	}
	memlock_restore(&memlock, raised);
	return ret ? EXIT_FAILURE : 0;
}

/* ------------------------------------------------------------------------
 * convert: TEST_CONVERT to private and back, nobody pinning.
 */

static unsigned int convert_loops = 1000;
static const char *convert_pages_str = "1,512";

static const struct option convert_options[] = {
	OPT_UINTEGER('l', "loops", &convert_loops,
		     "Round trips of ranges up to 16 pages (larger: fewer)"),
	OPT_STRING('p', "pages", &convert_pages_str, "n,n,...", "Range sizes in pages"),
	OPT_END()
};

static const char * const convert_usage[] = {
	"perf bench snp-page-lock convert <options>",
	NULL
};

static void convert_print_skip(unsigned long pages, const char *why)
{
	if (bench_format == BENCH_FORMAT_SIMPLE)
		printf("convert %lu skipped: %s\n", pages, why);
	else
		printf("# %lu pool pages: skipped: %s\n\n", pages, why);
}

/* One row: 0 (also when skipped) or -1. */
static int convert_row_run(unsigned long pages)
{
	unsigned int loops = scale_loops(convert_loops, pages, CONVERT_FULL_PAGES);
	u64 i;
	struct pool_limit limit = { .changed = false };
	u64 t0, t1, t2, to_private = 0, to_shared = 0;
	double priv_us, shared_us;
	size_t len = pages * page_size;
	const char *skip = NULL;
	char *mem = NULL, sz[32];
	int fd, ret = -1, e = 0;

	if (!pool_limit_raise(&limit, pages)) {
		convert_print_skip(pages, "pool limit");
		return 0;
	}
	fd = open_dev();
	pool_limit_restore(&limit);
	if (fd < 0)
		return -1;
	mem = pool_map(fd, pages, &e);
	if (!mem) {
		if (e == EINVAL)
			skip = "pool limit";
		else
			warnx("mmap of %lu pages of the test pool: %s%s", pages, strerror(e),
			      pool_hint(e));
		goto out;
	}

	/* Round trip 0 is the untimed warm-up. */
	for (i = 0; i <= loops; i++) {
		touch_pages(mem, pages);
		t0 = now_ns();
		e = pl_convert(fd, mem, len, SNP_PL_STATE_PRIVATE, CONVERT_TIMEOUT_MS);
		t1 = now_ns();
		if (e) {
			warnx("TEST_CONVERT of %lu pages to private: %s%s", pages, strerror(-e),
			      convert_hint(e));
			goto out;
		}
		e = pl_convert(fd, mem, len, SNP_PL_STATE_SHARED, CONVERT_TIMEOUT_MS);
		t2 = now_ns();
		if (e) {
			warnx("TEST_CONVERT of %lu pages to shared: %s", pages, strerror(-e));
			goto out;
		}
		if (!i)
			continue;
		to_private += t1 - t0;
		to_shared += t2 - t1;
	}
	priv_us = (double)to_private / loops / NSEC_PER_USEC;
	shared_us = (double)to_shared / loops / NSEC_PER_USEC;
	if (!positive(priv_us) || !positive(shared_us)) {
		warnx("convert: no time measured (clock resolution?)");
		goto out;
	}

	if (bench_format == BENCH_FORMAT_SIMPLE) {
		printf("convert %lu %.3f %.3f %.3f\n", pages, priv_us, shared_us,
		       priv_us + shared_us);
	} else {
		printf("# Executed %u TEST_CONVERT round trips of %lu pool page%s (%s),",
		       loops, pages, pages > 1 ? "s" : "", size_str(len, sz, sizeof(sz)));
		printf(" nobody pinning\n");
		print_total(to_private + to_shared);
		printf(" %14.3f usecs/op to private\n", priv_us);
		printf(" %14.3f usecs/op to shared\n", shared_us);
		printf(" %14.3f usecs/op round trip\n\n", priv_us + shared_us);
	}
	ret = 0;
out:
	if (skip) {
		convert_print_skip(pages, skip);
		ret = 0;
	}
	if (mem)
		munmap(mem, len);
	/* The last close makes pages left private shared again. */
	close(fd);
	return ret;
}

int bench_snp_page_lock_convert(int argc, const char **argv)
{
	unsigned long pages[MAX_ROWS];
	unsigned int nr_pages, i;
	int ret = 0;

	argc = parse_options(argc, argv, convert_options, convert_usage, 0);
	if (argc)
		usage_with_options(convert_usage, convert_options);
	if (!convert_loops)
		usage_with_options_msg(convert_usage, convert_options,
				       "--loops must be at least 1");
	if (!parse_pages(convert_pages_str, pages, &nr_pages))
		usage_with_options_msg(convert_usage, convert_options,
				       "--pages: up to %d sizes of 1 to %lu pages, comma-separated",
				       MAX_ROWS, MAX_RANGE_PAGES);

	bench_init();
	if (!have_dev())
		return EXIT_FAILURE;
	for (i = 0; i < nr_pages && !ret; i++)
		ret = convert_row_run(pages[i]);
	return ret ? EXIT_FAILURE : 0;
}

/* ------------------------------------------------------------------------
 * handoff: a conversion that waits for a VMM's pin.
 */

static unsigned int handoff_loops = 200;

static const struct option handoff_options[] = {
	OPT_UINTEGER('l', "loops", &handoff_loops, "Rounds"),
	OPT_END()
};

static const char * const handoff_usage[] = {
	"perf bench snp-page-lock handoff <options>",
	NULL
};

struct handoff {
	int gfd;		/* the "guest": owns the pool, converts */
	int vfd;		/* the VMM's pins */
	char *page;
	int abort_pipe[2];	/* the converter failed: stop polling */
	unsigned int rounds;
	pthread_barrier_t ready;	/* the VMM holds its pin */
	pthread_barrier_t done;		/* the round is over */
	pid_t vmm_tid;
	int polling;		/* the VMM is about to sleep in poll() */
	int vmm_ret;
	const char *vmm_op;
	int conv_ret;
	int back_ret;		/* the untimed conversion back to shared */
	bool stop;		/* set by the converter before "ready" */
	u64 t_pri;
	u64 t_unpin;
};

static void *handoff_vmm_fn(void *arg)
{
	struct handoff *h = arg;
	struct pollfd pfd[2];
	unsigned int r;
	int ret, n;

	__atomic_store_n(&h->vmm_tid, thread_id(), __ATOMIC_RELEASE);
	for (r = 0; r < h->rounds; r++) {
		ret = pl_pin(h->vfd, h->page, page_size);
		if (ret) {
			h->vmm_ret = ret;
			h->vmm_op = "PIN";
		}
		pthread_barrier_wait(&h->ready);
		if (h->vmm_ret || h->stop)
			break;

		pfd[0].fd = h->vfd;
		pfd[0].events = POLLPRI;
		pfd[1].fd = h->abort_pipe[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].revents = 0;
		__atomic_store_n(&h->polling, 1, __ATOMIC_RELEASE);
		n = poll(pfd, 2, CONVERT_TIMEOUT_MS + WAIT_MS);
		h->t_pri = now_ns();
		__atomic_store_n(&h->polling, 0, __ATOMIC_RELEASE);
		if (n < 0) {
			h->vmm_ret = -errno;
			h->vmm_op = "poll";
		} else if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			h->vmm_ret = -EIO;
			h->vmm_op = "poll(POLLPRI): error on the file";
		} else if (!pfd[1].revents && !(pfd[0].revents & POLLPRI)) {
			h->vmm_ret = -ETIMEDOUT;
			h->vmm_op = "poll(POLLPRI)";
		}
		/* Let go in any case, so that the converter never waits in vain. */
		ret = pl_unpin(h->vfd, h->page, page_size);
		h->t_unpin = now_ns();
		if (ret && !h->vmm_ret) {
			h->vmm_ret = ret;
			h->vmm_op = "UNPIN";
		}
		pthread_barrier_wait(&h->done);
		if (h->vmm_ret || h->conv_ret)
			break;
	}
	return NULL;
}

/* Stop the VMM waiting at "ready" for round @r + 1, if there is one. */
static void handoff_stop(struct handoff *h, unsigned int r)
{
	h->stop = true;
	if (r + 1 < h->rounds)
		pthread_barrier_wait(&h->ready);
}

/* The rounds, main being the converter: 0 or -1. */
static int handoff_rounds(struct handoff *h, u64 *pri, u64 *unpin, u64 *done, u64 *wall)
{
	u64 start = now_ns(), t0, t_done;
	unsigned int r;
	int ret;

	for (r = 0; r < h->rounds; r++) {
		pthread_barrier_wait(&h->ready);
		if (h->vmm_ret)
			break;
		/* Start once the VMM sleeps in poll() (EPOLLPRI is level-triggered). */
		if (wait_flag(&h->polling, WAIT_MS))
			wait_task_state(h->vmm_tid, 'S', 1000, NULL);
		t0 = now_ns();
		ret = pl_convert(h->gfd, h->page, page_size, SNP_PL_STATE_PRIVATE,
				 CONVERT_TIMEOUT_MS);
		t_done = now_ns();
		if (ret) {
			h->conv_ret = ret;
			if (write(h->abort_pipe[1], "x", 1) != 1)
				warnx("handoff: write to the abort pipe failed");
		} else {
			/*
			 * Untimed: shared again before the VMM, which has
			 * unpinned and waits at "done", pins it again.
			 */
			ret = pl_convert(h->gfd, h->page, page_size, SNP_PL_STATE_SHARED,
					 CONVERT_TIMEOUT_MS);
			if (ret)
				h->back_ret = ret;
		}
		pthread_barrier_wait(&h->done);
		if (h->vmm_ret || h->conv_ret)
			break;
		if (h->back_ret) {
			warnx("TEST_CONVERT to shared: %s", strerror(-h->back_ret));
			handoff_stop(h, r);
			return -1;
		}
		if (h->t_pri <= t0 || h->t_unpin <= t0 || t_done <= t0) {
			warnx("handoff: CLOCK_MONOTONIC went backwards");
			handoff_stop(h, r);
			return -1;
		}
		pri[r] = h->t_pri - t0;
		unpin[r] = h->t_unpin - t0;
		done[r] = t_done - t0;
	}
	*wall = now_ns() - start;
	if (h->conv_ret) {
		warnx("TEST_CONVERT to private: %s%s", strerror(-h->conv_ret),
		      convert_hint(h->conv_ret));
		return -1;
	}
	if (h->vmm_ret) {
		warnx("VMM thread: %s: %s%s", h->vmm_op, strerror(-h->vmm_ret),
		      pin_hint(h->vmm_ret));
		return -1;
	}
	return 0;
}

static int handoff_run(void)
{
	struct handoff h = {
		.gfd = -1,
		.vfd = -1,
		.abort_pipe = { -1, -1 },
		.rounds = handoff_loops,
	};
	u64 *samples, wall = 0;
	struct lat pri, unpin, done;
	pthread_t vmm;
	int ret = -1, e = 0;

	samples = calloc(3 * (size_t)h.rounds, sizeof(*samples));
	if (!samples) {
		warnx("calloc: %s", strerror(errno));
		return -1;
	}
	h.gfd = open_dev();
	if (h.gfd < 0)
		goto out;
	h.vfd = open_dev();
	if (h.vfd < 0)
		goto out;
	h.page = pool_map(h.gfd, 1, &e);
	if (!h.page) {
		warnx("mmap of the test pool: %s%s", strerror(e), pool_hint(e));
		goto out;
	}
	touch_pages(h.page, 1);
	if (pipe2(h.abort_pipe, O_CLOEXEC)) {
		warnx("pipe: %s", strerror(errno));
		goto out;
	}
	pthread_barrier_init(&h.ready, NULL, 2);
	pthread_barrier_init(&h.done, NULL, 2);
	e = pthread_create(&vmm, NULL, handoff_vmm_fn, &h);
	if (e) {
		warnx("pthread_create: %s", strerror(e));
	} else {
		ret = handoff_rounds(&h, samples, samples + h.rounds, samples + 2 * h.rounds,
				     &wall);
		pthread_join(vmm, NULL);
	}
	pthread_barrier_destroy(&h.ready);
	pthread_barrier_destroy(&h.done);
	if (ret)
		goto out;

	lat_compute(samples, h.rounds, &pri);
	lat_compute(samples + h.rounds, h.rounds, &unpin);
	lat_compute(samples + 2 * h.rounds, h.rounds, &done);
	if (bench_format != BENCH_FORMAT_SIMPLE) {
		printf("# Executed %u handoff rounds: the converter asks for a page that a VMM\n",
		       h.rounds);
		printf("# thread holds pinned while it sleeps in poll(POLLPRI)\n");
		print_total(wall);
	}
	lat_header();
	lat_print("handoff epollpri", "start -> VMM has EPOLLPRI", &pri);
	lat_print("handoff unpin", "start -> VMM's UNPIN returned", &unpin);
	lat_print("handoff done", "start -> conversion done", &done);
	if (bench_format != BENCH_FORMAT_SIMPLE)
		printf("\n");
	ret = 0;
out:
	if (h.abort_pipe[0] >= 0)
		close(h.abort_pipe[0]);
	if (h.abort_pipe[1] >= 0)
		close(h.abort_pipe[1]);
	if (h.page)
		munmap(h.page, page_size);
	/* Closing drops any pin left and makes a private page shared again. */
	if (h.vfd >= 0)
		close(h.vfd);
	if (h.gfd >= 0)
		close(h.gfd);
	free(samples);
	return ret;
}

int bench_snp_page_lock_handoff(int argc, const char **argv)
{
	struct rlimit memlock;
	bool raised;
	int ret;

	argc = parse_options(argc, argv, handoff_options, handoff_usage, 0);
	if (argc)
		usage_with_options(handoff_usage, handoff_options);
	if (!handoff_loops)
		usage_with_options_msg(handoff_usage, handoff_options,
				       "--loops must be at least 1");

	bench_init();
	if (!have_dev())
		return EXIT_FAILURE;
	raised = memlock_raise(&memlock);
	ret = handoff_run();
	memlock_restore(&memlock, raised);
	return ret ? EXIT_FAILURE : 0;
}

/* ------------------------------------------------------------------------
 * fault: first touches, and a touch that waits for a conversion.
 */

static unsigned int fault_loops = 100;
static unsigned int fault_pages = 512;

static const struct option fault_options[] = {
	OPT_UINTEGER('l', "loops", &fault_loops, "Rounds of each part"),
	OPT_UINTEGER('p', "pages", &fault_pages, "Pages touched per round (first touch)"),
	OPT_END()
};

static const char * const fault_usage[] = {
	"perf bench snp-page-lock fault <options>",
	NULL
};

enum first_touch {
	FIRST_ANON,
	FIRST_POOL_NEW,
	FIRST_POOL_ZAP,
};

static const char * const first_touch_label[] = {
	[FIRST_ANON]		= "anon",
	[FIRST_POOL_NEW]	= "pool-new",
	[FIRST_POOL_ZAP]	= "pool-zap",
};

static const char * const first_touch_what[] = {
	[FIRST_ANON]		= "anonymous, after MADV_DONTNEED (allocates)",
	[FIRST_POOL_NEW]	= "pool, a new file each round (allocates)",
	[FIRST_POOL_ZAP]	= "pool, after MADV_DONTNEED (page kept)",
};

static u64 minor_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return (u64)ru.ru_minflt + (u64)ru.ru_majflt;
}

/* One first-touch row: 0 (also when skipped) or -1. */
static int fault_first_row(enum first_touch kind, unsigned long pages, unsigned int rounds)
{
	struct pool_limit limit = { .changed = false };
	size_t len = pages * page_size;
	u64 t0, t1, f0, ns = 0, faults = 0;
	double per_touch, faults_per_touch;
	const char *skip = NULL;
	char *mem = NULL;
	unsigned int r;
	int fd = -1, ret = -1, e = 0;
	bool pool;

	switch (kind) {
	case FIRST_ANON:
		pool = false;
		break;
	case FIRST_POOL_NEW:
	case FIRST_POOL_ZAP:
		pool = true;
		break;
	default:
		return -1;
	}
	if (pool && !pool_limit_raise(&limit, pages)) {
		skip = "pool limit";
		goto out;
	}
	if (kind == FIRST_ANON) {
		mem = anon_map(len, false);
		if (!mem)
			goto out;
		touch_pages(mem, pages);
	} else if (kind == FIRST_POOL_ZAP) {
		fd = open_dev();
		pool_limit_restore(&limit);
		if (fd < 0)
			goto out;
		mem = pool_map(fd, pages, &e);
		if (!mem)
			goto map_failed;
		touch_pages(mem, pages);
	}

	for (r = 0; r < rounds; r++) {
		if (kind == FIRST_POOL_NEW) {
			/* The parameter stays raised for this row: a file per round. */
			fd = open_dev();
			if (fd < 0)
				goto out;
			mem = pool_map(fd, pages, &e);
			if (!mem)
				goto map_failed;
		} else if (madvise(mem, len, MADV_DONTNEED)) {
			warnx("madvise(MADV_DONTNEED): %s", strerror(errno));
			goto out;
		}
		f0 = minor_faults();
		t0 = now_ns();
		touch_pages(mem, pages);
		t1 = now_ns();
		faults += minor_faults() - f0;
		ns += t1 - t0;
		if (kind == FIRST_POOL_NEW) {
			munmap(mem, len);
			mem = NULL;
			close(fd);
			fd = -1;
		}
	}
	per_touch = (double)ns / rounds / pages;
	faults_per_touch = (double)faults / rounds / pages;
	if (!positive(per_touch)) {
		warnx("fault: no time measured (clock resolution?)");
		goto out;
	}
	if (!positive(faults_per_touch)) {
		warnx("fault %s: the touches did not fault", first_touch_label[kind]);
		goto out;
	}
	if (bench_format == BENCH_FORMAT_SIMPLE)
		printf("fault %s %lu %.3f %.3f\n", first_touch_label[kind], pages, per_touch,
		       faults_per_touch);
	else
		printf(" %-44s %12.3f %12.3f\n", first_touch_what[kind], per_touch,
		       faults_per_touch);
	ret = 0;
	goto out;

map_failed:
	if (e == EINVAL)
		skip = "pool limit";
	else
		warnx("mmap of %lu pages of the test pool: %s%s", pages, strerror(e),
		      pool_hint(e));
out:
	pool_limit_restore(&limit);
	if (skip) {
		if (bench_format == BENCH_FORMAT_SIMPLE)
			printf("fault %s %lu skipped: %s\n", first_touch_label[kind], pages, skip);
		else
			printf(" %-44s skipped: %s\n", first_touch_what[kind], skip);
		ret = 0;
	}
	if (mem)
		munmap(mem, len);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The toucher's way back from a SIGBUS, per thread. */
static __thread sigjmp_buf touch_env;
static __thread int touch_armed;

static void sigbus_handler(int sig)
{
	if (__atomic_load_n(&touch_armed, __ATOMIC_RELAXED)) {
		__atomic_store_n(&touch_armed, 0, __ATOMIC_RELAXED);
		siglongjmp(touch_env, 1);
	}
	/* Not a touch of ours: die of it as usual. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Write to @addr; true if that got SIGBUS. */
static bool touch_sigbus(char *addr)
{
	if (sigsetjmp(touch_env, 1))
		return true;
	__atomic_store_n(&touch_armed, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(addr, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&touch_armed, 0, __ATOMIC_RELAXED);
	return false;
}

struct wait_conv {
	int fd;
	char *addr;
	size_t len;
	int ret;
	int finished;
};

static void *wait_conv_fn(void *arg)
{
	struct wait_conv *c = arg;

	c->ret = pl_convert(c->fd, c->addr, c->len, SNP_PL_STATE_PRIVATE, CONVERT_TIMEOUT_MS);
	__atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct toucher {
	char *addr;
	pid_t tid;
	int finished;
	bool sigbus;
	u64 t_touch;
	u64 t_resume;
};

static void *toucher_fn(void *arg)
{
	struct toucher *t = arg;

	__atomic_store_n(&t->tid, thread_id(), __ATOMIC_RELEASE);
	t->t_touch = now_ns();
	t->sigbus = touch_sigbus(t->addr);
	t->t_resume = now_ns();
	__atomic_store_n(&t->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Wait for EPOLLPRI on @fd, or for @c to end; true on EPOLLPRI. */
static bool wait_epollpri(int fd, const struct wait_conv *c)
{
	struct pollfd pfd = { .fd = fd, .events = POLLPRI };
	u64 end = now_ns() + (u64)WAIT_MS * NSEC_PER_MSEC;
	int n;

	do {
		n = poll(&pfd, 1, 10);
		if (n > 0 && (pfd.revents & POLLPRI))
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	} while (!__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) && now_ns() < end);
	return false;
}

/* Wait until the page at @addr is converting, as @fd sees it. */
static bool wait_converting(int fd, char *addr)
{
	u64 end = now_ns() + (u64)WAIT_MS * NSEC_PER_MSEC;
	int state;

	do {
		state = pl_state(fd, addr);
		if (state >= 0 && (state & ~SNP_PL_STATE_PINNED) == SNP_PL_STATE_CONVERTING)
			return true;
		sleep_us(10);
	} while (now_ns() < end);
	return false;
}

/* One round of the waiting touch on pages @a and @a + 1: 0 or -1. */
static int fault_wait_round(int gfd, int vfd, char *a, u64 *resume, u64 *total)
{
	struct wait_conv conv = { .fd = gfd, .addr = a, .len = 2 * page_size };
	struct toucher touch = { .addr = a };
	bool pinned, conv_started = false, touch_started = false;
	pthread_t conv_thread = 0, touch_thread = 0;
	char *b = a + page_size;
	u64 t_unpin = 0;
	int ret, rc = -1;

	ret = pl_pin(vfd, b, page_size);
	if (ret) {
		warnx("PIN: %s%s", strerror(-ret), pin_hint(ret));
		return -1;
	}
	pinned = true;
	/* A's PTE goes, so that the touch faults once A is converting. */
	if (madvise(a, page_size, MADV_DONTNEED)) {
		warnx("madvise(MADV_DONTNEED) of a pool page: %s", strerror(errno));
		goto out;
	}
	ret = pthread_create(&conv_thread, NULL, wait_conv_fn, &conv);
	if (ret) {
		warnx("pthread_create: %s", strerror(ret));
		goto out;
	}
	conv_started = true;
	if (!wait_epollpri(vfd, &conv)) {
		/* A conversion that failed is reported below. */
		if (!__atomic_load_n(&conv.finished, __ATOMIC_ACQUIRE) || !conv.ret)
			warnx("no EPOLLPRI while a conversion waits for the pin");
		goto out;
	}
	if (!wait_converting(gfd, a)) {
		warnx("the page to touch is not converting");
		goto out;
	}
	ret = pthread_create(&touch_thread, NULL, toucher_fn, &touch);
	if (ret) {
		warnx("pthread_create: %s", strerror(ret));
		goto out;
	}
	touch_started = true;
	if (!wait_flag(&touch.tid, WAIT_MS) ||
	    !wait_task_state(touch.tid, 'D', WAIT_MS, &touch.finished)) {
		warnx("the touch of a converting page did not wait in the fault");
		goto out;
	}
	t_unpin = now_ns();
	ret = pl_unpin(vfd, b, page_size);
	if (ret) {
		warnx("UNPIN: %s", strerror(-ret));
		goto out;
	}
	pinned = false;
	rc = 0;
out:
	/* Let the conversion go on whatever happened, then wait for both. */
	if (pinned)
		pl_unpin(vfd, b, page_size);
	if (conv_started)
		pthread_join(conv_thread, NULL);
	if (touch_started)
		pthread_join(touch_thread, NULL);
	if (conv_started && conv.ret) {
		warnx("TEST_CONVERT to private: %s%s", strerror(-conv.ret),
		      convert_hint(conv.ret));
		rc = -1;
	} else if (!rc && !touch.sigbus) {
		warnx("the touch of a page made private did not get SIGBUS");
		rc = -1;
	} else if (!rc && (touch.t_resume <= t_unpin || touch.t_resume <= touch.t_touch)) {
		warnx("fault: CLOCK_MONOTONIC went backwards");
		rc = -1;
	}
	/* Shared again for the next round. */
	if (conv_started && !conv.ret) {
		ret = pl_convert(gfd, a, 2 * page_size, SNP_PL_STATE_SHARED, CONVERT_TIMEOUT_MS);
		if (ret) {
			warnx("TEST_CONVERT to shared: %s", strerror(-ret));
			rc = -1;
		}
	}
	if (!rc) {
		*resume = touch.t_resume - t_unpin;
		*total = touch.t_resume - touch.t_touch;
	}
	return rc;
}

static int fault_wait_row(unsigned int rounds)
{
	struct sigaction sa = { .sa_handler = sigbus_handler }, old_sa;
	struct lat resume, total;
	int gfd, vfd = -1, ret = -1, e = 0;
	char *mem = NULL;
	u64 *samples;
	unsigned int r;

	samples = calloc(2 * (size_t)rounds, sizeof(*samples));
	if (!samples) {
		warnx("calloc: %s", strerror(errno));
		return -1;
	}
	gfd = open_dev();
	if (gfd < 0)
		goto out_free;
	vfd = open_dev();
	if (vfd < 0)
		goto out_close;
	mem = pool_map(gfd, 2, &e);
	if (!mem) {
		warnx("mmap of the test pool: %s%s", strerror(e), pool_hint(e));
		goto out_close;
	}
	touch_pages(mem, 2);

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old_sa)) {
		warnx("sigaction: %s", strerror(errno));
		goto out_close;
	}
	for (r = 0; r < rounds; r++)
		if (fault_wait_round(gfd, vfd, mem, &samples[r], &samples[rounds + r]))
			break;
	sigaction(SIGBUS, &old_sa, NULL);
	if (r < rounds)
		goto out_close;

	lat_compute(samples, rounds, &resume);
	lat_compute(samples + rounds, rounds, &total);
	if (bench_format != BENCH_FORMAT_SIMPLE)
		printf("# %u touches of a converting pool page: the fault waits until the VMM\n"
		       "# unpins the other page of the conversion, then gets SIGBUS\n", rounds);
	lat_header();
	lat_print("fault wait-resume", "UNPIN -> the touch resumes (SIGBUS)", &resume);
	lat_print("fault wait-total", "touch -> the touch resumes (SIGBUS)", &total);
	if (bench_format != BENCH_FORMAT_SIMPLE)
		printf("\n");
	ret = 0;
out_close:
	if (mem)
		munmap(mem, 2 * page_size);
	if (vfd >= 0)
		close(vfd);
	if (gfd >= 0)
		close(gfd);
out_free:
	free(samples);
	return ret;
}

int bench_snp_page_lock_fault(int argc, const char **argv)
{
	static const enum first_touch kinds[] = { FIRST_ANON, FIRST_POOL_NEW, FIRST_POOL_ZAP };
	struct rlimit memlock;
	unsigned int i;
	bool raised;
	int ret = 0;

	argc = parse_options(argc, argv, fault_options, fault_usage, 0);
	if (argc)
		usage_with_options(fault_usage, fault_options);
	if (!fault_loops)
		usage_with_options_msg(fault_usage, fault_options, "--loops must be at least 1");
	if (!fault_pages || fault_pages > MAX_RANGE_PAGES)
		usage_with_options_msg(fault_usage, fault_options, "--pages must be 1 to %lu",
				       MAX_RANGE_PAGES);

	bench_init();
	if ((unsigned long long)fault_pages * page_size > mem_available()) {
		warnx("fault: %u pages are more than MemAvailable", fault_pages);
		return EXIT_FAILURE;
	}
	if (!have_dev())
		return EXIT_FAILURE;
	raised = memlock_raise(&memlock);
	if (bench_format != BENCH_FORMAT_SIMPLE) {
		printf("# First write touch of a page without PTE: %u pages x %u rounds\n",
		       fault_pages, fault_loops);
		printf(" %-44s %12s %12s\n", "", "ns/touch", "faults/touch");
	}
	for (i = 0; i < ARRAY_SIZE(kinds) && !ret; i++)
		ret = fault_first_row(kinds[i], fault_pages, fault_loops);
	if (!ret && bench_format != BENCH_FORMAT_SIMPLE)
		printf("\n");
	if (!ret)
		ret = fault_wait_row(fault_loops);
	memlock_restore(&memlock, raised);
	return ret ? EXIT_FAILURE : 0;
}
