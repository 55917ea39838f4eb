// SPDX-License-Identifier: GPL-2.0
/*
 * snp_pl_demo: a VMM and a guest on the /dev/snp_page_lock test pool.
 *
 * The VMM pins guest pages for I/O. The guest (a converter thread) asks for
 * some of them to become private; the conversion blocks new pins and waits
 * for the VMM's. The VMM sees EPOLLPRI, finishes its I/O and unpins; the
 * conversion completes; a host touch of a private page gets SIGBUS. Prints
 * a timeline and the layer's counters. Exit status 0 if everything
 * happened as expected.
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>

#include "snp_pl_util.h"

#define NPAGES		8
#define CONV_FIRST	2	/* the guest converts pages 2..5 */
#define CONV_PAGES	4
#define IO_PAGES	4	/* the VMM pins pages 0..3 */

static struct timespec t0;
static int failures;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static double elapsed_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec - t0.tv_sec) * 1e3 + (ts.tv_nsec - t0.tv_nsec) / 1e6;
}

static void say(const char *who, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	printf("[%8.2f ms] %-6s ", elapsed_ms(), who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

#define expect(cond, fmt, ...) do {					\
		if (!(cond)) {						\
			say("FAIL", "%s:%d: " fmt, __FILE__, __LINE__,	\
			    ##__VA_ARGS__);				\
			failures++;					\
		}							\
	} while (0)

/* "S S C* ..." for the pages of the pool, as QUERY shows them to @fd. */
static const char *states(int fd, char *mem)
{
	static char buf[NPAGES * 4 + 1];
	__u8 st[NPAGES];
	char *b = buf;
	int i;

	if (pl_query(fd, mem, NPAGES * PS, st))
		return "(query failed)";
	for (i = 0; i < NPAGES; i++) {
		switch (st[i] & ~SNP_PL_STATE_PINNED) {
		case SNP_PL_STATE_SHARED:
			*b++ = 'S';
			break;
		case SNP_PL_STATE_PRIVATE:
			*b++ = 'P';
			break;
		case SNP_PL_STATE_CONVERTING:
			*b++ = 'C';
			break;
		default:
			*b++ = '?';
		}
		*b++ = st[i] & SNP_PL_STATE_PINNED ? '*' : ' ';
		*b++ = ' ';
	}
	*b = 0;
	return buf;
}

static const char * const counter_names[] = {
	"pins", "unpins", "pin_fail_eperm", "pin_fail_eagain",
	"converted_to_private", "converted_to_shared", "waits",
	"wait_timeouts", "leaked_pages",
};

#define NR_COUNTERS ARRAY_SIZE(counter_names)
static long counters0[NR_COUNTERS];

static void show_counters(const char *when)
{
	unsigned int i;

	pthread_mutex_lock(&out_lock);
	printf("             counters (%s, change since start):\n", when);
	for (i = 0; i < NR_COUNTERS; i++)
		printf("               %-22s %+ld\n", counter_names[i],
		       pl_stat(counter_names[i]) - counters0[i]);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

struct guest {
	int fd;
	char *mem;
	int ret;
	__u64 error_offset;
};

static void *guest_fn(void *arg)
{
	struct guest *g = arg;
	double start;

	say("guest", "asks for pages %d-%d to become private (TEST_CONVERT, up to 5 s)",
	    CONV_FIRST, CONV_FIRST + CONV_PAGES - 1);
	start = elapsed_ms();
	g->ret = pl_convert(g->fd, g->mem + CONV_FIRST * PS, CONV_PAGES * PS,
			    SNP_PL_STATE_PRIVATE, 0, 5000, &g->error_offset);
	say("guest", "conversion %s after %.1f ms: %s",
	    g->ret ? "FAILED" : "done", elapsed_ms() - start,
	    g->ret ? strerror(-g->ret) : "pages are private");
	return NULL;
}

int main(void)
{
	struct pollfd pfd;
	struct guest g;
	pthread_t thread;
	int gfd, vmm, ret, i;
	char *vp;
	char *mem;

	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < (int)NR_COUNTERS; i++)
		counters0[i] = pl_stat(counter_names[i]);

	gfd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	vmm = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	if (gfd < 0 || vmm < 0) {
		perror(SNP_PL_DEV);
		return 1;
	}
	mem = pl_pool_map(gfd, NPAGES, 0);
	if (!mem) {
		perror("mmap of the test pool (CONFIG_SNP_PAGE_LOCK_TEST?)");
		return 1;
	}
	memset(mem, 0, NPAGES * PS);
	say("setup", "%d pages of guest memory from the test pool at %p", NPAGES,
	    mem);
	say("setup", "legend: S shared, P private, C converting, * pinned by the VMM");
	say("vmm", "states: %s", states(vmm, mem));

	/* The VMM starts virtio I/O on pages 0..3. */
	ret = pl_pin(vmm, mem, IO_PAGES * PS);
	expect(!ret, "PIN: %s", strerror(-ret));
	say("vmm", "PIN pages 0-%d for virtio I/O: %s", IO_PAGES - 1,
	    ret ? strerror(-ret) : "ok");
	say("vmm", "states: %s", states(vmm, mem));

	/* The guest asks for pages 2..5. */
	g.fd = gfd;
	g.mem = mem;
	if (pthread_create(&thread, NULL, guest_fn, &g)) {
		perror("pthread_create");
		return 1;
	}

	pfd.fd = vmm;
	pfd.events = POLLPRI;
	ret = poll(&pfd, 1, 5000);
	expect(ret == 1 && (pfd.revents & POLLPRI), "no EPOLLPRI (poll %d)",
	       ret);
	say("vmm", "EPOLLPRI: a converter waits on pages this VMM pins");
	say("vmm", "states: %s", states(vmm, mem));

	ret = pl_pin(vmm, mem + 4 * PS, PS);
	expect(ret == -EAGAIN, "PIN of a converting page: %d", ret);
	say("vmm", "PIN page 4 (converting): %s (new pins are refused)",
	    ret ? strerror(-ret) : "ok?!");

	/* Finish the I/O in flight: the pinned pages stay usable. */
	for (i = 0; i < IO_PAGES; i++)
		memset(mem + i * PS, 0x40 + i, PS);
	pl_sleep_ms(50);
	say("vmm", "I/O finished (wrote pages 0-%d while the guest waited)",
	    IO_PAGES - 1);
	ret = pl_unpin(vmm, mem, IO_PAGES * PS);
	expect(!ret, "UNPIN: %s", strerror(-ret));
	say("vmm", "UNPIN pages 0-%d: %s", IO_PAGES - 1,
	    ret ? strerror(-ret) : "ok");
	pfd.revents = 0;
	ret = poll(&pfd, 1, 0);
	expect(ret == 0, "EPOLLPRI still raised");
	say("vmm", "EPOLLPRI cleared");

	pthread_join(thread, NULL);
	expect(!g.ret, "conversion failed: %s", strerror(-g.ret));
	say("vmm", "states: %s", states(vmm, mem));

	ret = pl_pin(vmm, mem + CONV_FIRST * PS, PS);
	expect(ret == -EPERM, "PIN of a private page: %d", ret);
	say("vmm", "PIN page %d (private): %s", CONV_FIRST,
	    ret ? strerror(-ret) : "ok?!");

	vp = mem + CONV_FIRST * PS;
	say("vmm", "touching private page %d ...", CONV_FIRST);
	if (pl_touch(vp, false) == SIGBUS)
		say("vmm", "... SIGBUS: the host cannot access a private page");
	else
		expect(0, "a private page was readable");

	ret = pl_convert(gfd, mem + CONV_FIRST * PS, CONV_PAGES * PS,
			 SNP_PL_STATE_SHARED, 0, 0, NULL);
	expect(!ret, "conversion back to shared: %s", strerror(-ret));
	say("guest", "pages %d-%d back to shared: %s", CONV_FIRST,
	    CONV_FIRST + CONV_PAGES - 1, ret ? strerror(-ret) : "ok");
	expect(pl_read(vp) == 0x40 + CONV_FIRST, "page %d lost its data",
	       CONV_FIRST);
	say("vmm", "states: %s (page %d still holds the VMM's data: %#x)",
	    states(vmm, mem), CONV_FIRST, pl_read(vp));

	show_counters("end");
	munmap(mem, NPAGES * PS);
	close(vmm);
	close(gfd);
	say("demo", "%s", failures ? "FAILED" : "everything happened as expected");
	return failures ? 1 : 0;
}
