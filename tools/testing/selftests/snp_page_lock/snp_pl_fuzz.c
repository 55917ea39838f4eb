// SPDX-License-Identifier: GPL-2.0
/*
 * Random-ioctl fuzzer for /dev/snp_page_lock, bounded in time.
 *
 *   snp_pl_fuzz [seconds [threads [seed]]]
 *
 * Threads issue random PIN, UNPIN, QUERY, TEST_CONVERT and unknown ioctls
 * (valid and invalid sizes, flags, alignments, lengths, pointers) on the
 * test pool and on ordinary memory, through several fds, touch the pool
 * pages (a private one must give SIGBUS), and fork children that pin their
 * own pages through a shared fd and then exit or are SIGKILLed. They also
 * hold pages the way the rest of the kernel does (G7): vmsplice() them
 * into a pipe and splice them out later (the kernel copies from the page:
 * an oops if it had become private), read into them with O_DIRECT (from a
 * null_blk device whose completions are delayed, if there is one), and
 * MADV_DONTNEED them, so that UNPIN meets addresses whose page changed.
 * Every error must be one the ABI documents.
 * At the end, with every fd closed and every child reaped, the layer's
 * counters must be back where they started: no pin outstanding, no
 * page leaked, nothing left in VmPin.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/uio.h>

#include "snp_pl_util.h"

#define NFDS		4
#define POOL_PAGES	32
#define ANON_PAGES	32

static long page_size;
static int fds[NFDS];
static char *pool[NFDS];
static char *anon;
static atomic_int stop;
static int dio_fd = -1;		/* a block device for O_DIRECT, or -1 */

/* Pages a pipe may hold before a thread drains it. */
#define PIPE_MAX	8

struct counts {
	unsigned long ops, ok, errors, bad_errno, sigbus, children, killed;
	unsigned long spliced, dio, dontneed;
};

static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counts total;

static uint64_t rnd_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static unsigned long rnd(uint64_t *s, unsigned long n)
{
	return n ? rnd_next(s) % n : 0;
}

/* An address: mostly pool or anonymous pages, sometimes garbage. */
static uint64_t pick_addr(uint64_t *s)
{
	switch (rnd(s, 10)) {
	case 0:
		return rnd_next(s);			/* anything */
	case 1:
		return (uint64_t)(uintptr_t)anon + rnd(s, page_size);
	case 2:
	case 3:
		return (uint64_t)(uintptr_t)anon + rnd(s, ANON_PAGES) * page_size;
	default:
		return (uint64_t)(uintptr_t)pool[rnd(s, NFDS)] +
		       rnd(s, POOL_PAGES) * page_size;
	}
}

static uint64_t pick_len(uint64_t *s)
{
	switch (rnd(s, 12)) {
	case 0:
		return 0;
	case 1:
		return -(uint64_t)page_size;		/* wraps */
	case 2:
		return rnd(s, 3 * page_size);		/* maybe misaligned */
	default:
		return (1 + rnd(s, 8)) * page_size;
	}
}

static uint32_t pick_size(uint64_t *s, uint32_t real, char *buf, size_t bufsz)
{
	switch (rnd(s, 10)) {
	case 0:
		return rnd(s, real);			/* too small */
	case 1:
		/* larger, zero tail: accepted */
		memset(buf + real, 0, bufsz - real);
		return real + 8 * (1 + rnd(s, 4));
	case 2:
		/* larger, non-zero tail: E2BIG */
		memset(buf + real, 0, bufsz - real);
		buf[real + rnd(s, 8)] = 1;
		return real + 8;
	default:
		return real;
	}
}

static uint32_t pick_flags(uint64_t *s)
{
	return rnd(s, 8) ? 0 : 1u << rnd(s, 32);
}

static int errno_documented(int e)
{
	switch (e) {
	case EINVAL: case E2BIG: case EFAULT: case EPERM: case EAGAIN:
	case EBUSY: case EINTR: case ENOMEM: case ENOTTY: case EOVERFLOW:
		return 1;
	}
	return 0;
}

/* @fdi: index in fds[], or -fd - 1 for a file outside fds[]. */
static void do_ioctl(uint64_t *s, int fdi, struct counts *c)
{
	static __thread unsigned char states[64];
	int fd = fdi < 0 ? -fdi - 1 : fds[fdi];
	union {
		struct snp_pl_range r;
		struct snp_pl_query q;
		struct snp_pl_convert cv;
		char raw[128];
	} u;
	struct snp_pl_range *r = &u.r;
	struct snp_pl_query *q = &u.q;
	struct snp_pl_convert *cv = &u.cv;
	char *buf = u.raw;
	unsigned long req;
	int ret;

	memset(&u, 0, sizeof(u));
	switch (rnd(s, 9)) {
	case 0: case 1: case 2:
		req = SNP_PL_IOC_PIN;
		goto range;
	case 3: case 4:
		req = SNP_PL_IOC_UNPIN;
range:
		r->size = pick_size(s, sizeof(*r), buf, 64);
		r->flags = pick_flags(s);
		r->addr = pick_addr(s);
		r->len = pick_len(s);
		break;
	case 5:
		req = SNP_PL_IOC_QUERY;
		q->size = pick_size(s, sizeof(*q), buf, 64);
		q->flags = pick_flags(s);
		q->addr = pick_addr(s);
		q->len = (1 + rnd(s, 8)) * page_size;
		if (rnd(s, 6))
			q->len = rnd(s, 4) ? q->len : pick_len(s);
		q->states = rnd(s, 8) ? (uintptr_t)states : rnd_next(s);
		if (q->len / page_size > sizeof(states))
			q->len = sizeof(states) * page_size;
		break;
	case 6: case 7:
		req = SNP_PL_IOC_TEST_CONVERT;
		cv->size = pick_size(s, sizeof(*cv), buf, 64);
		cv->flags = rnd(s, 2) ? SNP_PL_CONVERT_NOWAIT : pick_flags(s);
		/* Mostly the pool of this very fd: the only one it converts. */
		cv->addr = fdi >= 0 && rnd(s, 10) < 7 ?
			   (uint64_t)(uintptr_t)pool[fdi] +
			   rnd(s, POOL_PAGES) * page_size : pick_addr(s);
		cv->len = rnd(s, 4) ? (1 + rnd(s, 4)) * page_size : pick_len(s);
		cv->to = rnd(s, 8) ? rnd(s, 2) : rnd_next(s);
		cv->timeout_ms = rnd(s, 20);
		break;
	default:
		req = _IO(SNP_PL_TYPE, rnd(s, 0x20));
		break;
	}
	c->ops++;
	ret = ioctl(fd, req, buf);
	if (!ret) {
		c->ok++;
		return;
	}
	c->errors++;
	if (!errno_documented(errno)) {
		c->bad_errno++;
		fprintf(stderr, "undocumented errno %d (%s) for ioctl %#lx\n",
			errno, strerror(errno), req);
	}
}

/* A private test pool page gives SIGBUS, any other touch must work. */
static void do_touch(uint64_t *s, struct counts *c)
{
	char *p = pool[rnd(s, NFDS)] + rnd(s, POOL_PAGES) * page_size;

	c->ops++;
	if (pl_touch(p + rnd(s, page_size), rnd(s, 2)))
		c->sigbus++;
	else
		c->ok++;
}

/*
 * A child pins through its own fd (and fds[0]), then either exits on its
 * own or is SIGKILLed at a random point, maybe in the middle of an ioctl.
 */
static void do_child(uint64_t *s, struct counts *c)
{
	uint64_t seed = rnd_next(s) | 1;
	bool kill_it = rnd(s, 2);
	pid_t pid;
	int st;

	c->ops++;
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		struct counts cc = { 0 };
		int fd = open(SNP_PL_DEV, O_RDWR);
		int i;

		for (i = 0; i < 20; i++)
			do_ioctl(&seed, rnd(&seed, 2) ? -fd - 1 : 0, &cc);
		if (kill_it)
			pause();		/* wait to be killed */
		_exit(cc.bad_errno ? 1 : 0);
	}
	c->children++;
	if (kill_it) {
		usleep(rnd(s, 2000));
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &st, 0) != pid)
		return;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		c->killed++;
	else if (!WIFEXITED(st) || WEXITSTATUS(st))
		c->bad_errno++;		/* an undocumented errno, or it crashed */
}

/* A pool or anonymous page, page aligned. */
static char *pick_page(uint64_t *s)
{
	if (rnd(s, 3))
		return pool[rnd(s, NFDS)] + rnd(s, POOL_PAGES) * page_size;
	return anon + rnd(s, ANON_PAGES) * page_size;
}

/* Copy what the pipe holds into a memfd: the kernel reads those pages. */
static void drain_pipe(int pipe_r, int sink, int *held)
{
	while (*held > 0) {
		if (splice(pipe_r, NULL, sink, NULL, page_size,
			   SPLICE_F_NONBLOCK) <= 0)
			break;
		(*held)--;
	}
	ftruncate(sink, 0);
}

/*
 * vmsplice() a page into the thread's pipe: the pipe keeps a reference on
 * it (no pin) until it is spliced out, maybe across conversions; drain the
 * pipe now and then. A pool page that is private cannot be vmspliced
 * (EFAULT): that is not an ioctl error.
 */
static void do_vmsplice(uint64_t *s, int *pipefd, int sink, int *held,
			struct counts *c)
{
	struct iovec iov = { .iov_base = pick_page(s), .iov_len = page_size };

	c->ops++;
	if (*held >= PIPE_MAX || !rnd(s, 4))
		drain_pipe(pipefd[0], sink, held);
	if (vmsplice(pipefd[1], &iov, 1, SPLICE_F_NONBLOCK) == page_size) {
		(*held)++;
		c->spliced++;
	}
}

/* An O_DIRECT read into a page: pinned for DMA while in flight. */
static void do_dio(uint64_t *s, struct counts *c)
{
	c->ops++;
	if (dio_fd < 0)
		return;
	if (pread(dio_fd, pick_page(s), page_size,
		  rnd(s, 64) * page_size) == page_size)
		c->dio++;
}

/* Zap a page: the next touch gets a new one at the same address. */
static void do_dontneed(uint64_t *s, struct counts *c)
{
	char *p = pick_page(s);

	c->ops++;
	if (!madvise(p, page_size, MADV_DONTNEED))
		c->dontneed++;
	if (rnd(s, 2))
		pl_touch(p, true);
}

static void *worker(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	struct counts c = { 0 };
	struct pollfd pfd;
	int pipefd[2], sink, held = 0;

	if (pipe(pipefd))
		return NULL;
	sink = memfd_create("snp_pl_fuzz", 0);
	while (!stop) {
		switch (rnd(&s, 24)) {
		case 0:
			do_child(&s, &c);
			break;
		case 1: case 2:
			do_touch(&s, &c);
			break;
		case 3:
			pfd.fd = fds[rnd(&s, NFDS)];
			pfd.events = POLLPRI;
			poll(&pfd, 1, 0);
			c.ops++;
			break;
		case 4: case 5:
			if (sink >= 0)
				do_vmsplice(&s, pipefd, sink, &held, &c);
			break;
		case 6:
			do_dio(&s, &c);
			break;
		case 7:
			do_dontneed(&s, &c);
			break;
		default:
			do_ioctl(&s, rnd(&s, NFDS), &c);
			break;
		}
	}
	if (sink >= 0) {
		drain_pipe(pipefd[0], sink, &held);
		close(sink);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	pthread_mutex_lock(&total_lock);
	total.ops += c.ops;
	total.ok += c.ok;
	total.errors += c.errors;
	total.bad_errno += c.bad_errno;
	total.sigbus += c.sigbus;
	total.children += c.children;
	total.killed += c.killed;
	total.spliced += c.spliced;
	total.dio += c.dio;
	total.dontneed += c.dontneed;
	pthread_mutex_unlock(&total_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 30;
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : time(NULL);
	long pins0, unpins0, leaks0, pins1, unpins1, leaks1, vmpin;
	char dio_dev[64];
	pthread_t tid[64];
	int i, failed = 0;

	page_size = sysconf(_SC_PAGESIZE);
	if (nthreads < 1 || nthreads > 64)
		nthreads = 4;
	pins0 = pl_stat("pins");
	unpins0 = pl_stat("unpins");
	leaks0 = pl_stat("leaked_pages");
	if (pins0 < 0 || unpins0 < 0 || leaks0 < 0) {
		fprintf(stderr, "cannot read %s\n", SNP_PL_STATS);
		return 1;
	}

	for (i = 0; i < NFDS; i++) {
		fds[i] = open(SNP_PL_DEV, O_RDWR);
		if (fds[i] < 0) {
			perror("open " SNP_PL_DEV);
			return 1;
		}
		pool[i] = mmap(NULL, POOL_PAGES * page_size,
			       PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		if (pool[i] == MAP_FAILED) {
			perror("mmap test pool");
			return 1;
		}
	}
	anon = mmap(NULL, ANON_PAGES * page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (anon == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* A null_blk device whose reads stay in flight for 2 ms. */
	if (!pl_nullb_create("snp_pl_fuzz", "2000000", dio_dev,
			     sizeof(dio_dev)))
		dio_fd = open(dio_dev, O_RDONLY | O_DIRECT);

	printf("snp_pl_fuzz: %d s, %d threads, seed %#llx\n", seconds,
	       nthreads, (unsigned long long)seed);
	for (i = 0; i < nthreads; i++)
		pthread_create(&tid[i], NULL, worker,
			       (void *)(uintptr_t)(seed * (i + 1) | 1));
	sleep(seconds);
	stop = 1;
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);

	for (i = 0; i < NFDS; i++) {
		munmap(pool[i], POOL_PAGES * page_size);
		close(fds[i]);
	}
	munmap(anon, ANON_PAGES * page_size);
	while (wait(NULL) > 0)
		;
	if (dio_fd >= 0) {
		close(dio_fd);
		pl_nullb_destroy("snp_pl_fuzz");
	}

	pins1 = pl_stat("pins");
	unpins1 = pl_stat("unpins");
	leaks1 = pl_stat("leaked_pages");
	vmpin = pl_vmpin_kb(0);
	printf("snp_pl_fuzz: ops=%lu ok=%lu errors=%lu undocumented_errno=%lu",
	       total.ops, total.ok, total.errors, total.bad_errno);
	printf(" sigbus=%lu children=%lu killed=%lu\n",
	       total.sigbus, total.children, total.killed);
	printf("snp_pl_fuzz: vmspliced=%lu o_direct=%lu%s dontneed=%lu\n",
	       total.spliced, total.dio, dio_fd < 0 ? " (no device)" : "",
	       total.dontneed);
	printf("snp_pl_fuzz: pins %ld unpins %ld (outstanding %ld),",
	       pins1 - pins0, unpins1 - unpins0,
	       (pins1 - pins0) - (unpins1 - unpins0));
	printf(" leaked_pages +%ld, VmPin %ld kB\n", leaks1 - leaks0, vmpin);

	if (total.bad_errno)
		failed = 1, printf("FAIL: undocumented errno\n");
	if ((pins1 - pins0) != (unpins1 - unpins0))
		failed = 1, printf("FAIL: pins outstanding after close\n");
	if (leaks1 != leaks0)
		failed = 1, printf("FAIL: pages leaked\n");
	if (vmpin != 0)
		failed = 1, printf("FAIL: VmPin not zero\n");
	if (!total.ok || total.ops < 1000)
		failed = 1, printf("FAIL: too few operations\n");
	printf("snp_pl_fuzz: %s\n", failed ? "FAILURE" : "SUCCESS");
	return failed;
}
