// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd converted in place through the SNP page lock, on a
 * KVM_X86_SW_PROTECTED_VM: one page per guest page, the VMM maps the
 * shared ones (GUEST_MEMFD_FLAG_MMAP), KVM_SET_MEMORY_ATTRIBUTES2 on the
 * guest_memfd converts, waiting (KVM_SET_MEMORY_ATTRIBUTES2_WAIT) or not.
 * Each case says what upstream's posted in-place rule (fail with -EAGAIN
 * as soon as any reference remains, no wait mode) would have done.
 *
 * - flags: KVM_CAP_GUEST_MEMFD_FLAGS, each flag alone, the struct's size,
 *   bad flags and arguments refused;
 * - content: the guest's data survives shared -> private -> shared, the
 *   guest reads it privately, the VMM gets SIGBUS on a private page;
 * - pin: the VMM pins a shared page for I/O through /dev/snp_page_lock:
 *   NOWAIT fails naming the page; a waiting conversion raises EPOLLPRI and
 *   completes when the VMM unpins (upstream: -EAGAIN, the VMM must unpin
 *   first and retry);
 * - transient: a pipe holds a page (vmsplice) and lets go after 50 ms:
 *   NOWAIT fails -EBUSY with error_offset, wait mode succeeds (upstream:
 *   -EAGAIN both times);
 * - fault: a VMM fault during a conversion waits, then sees the final
 *   state (SIGBUS);
 * - VM attributes: KVM_SET_MEMORY_ATTRIBUTES on the VM converts in place;
 * - free: a private page whose hole is punched is not leaked (G4);
 * - many memslots: more than 16 bound to one conversion fail with E2BIG.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "snp_pl_kvm.h"

#define GMEM_GPA	0xc0000000ul
#define GMEM_SLOT	10
#define NPAGES		16
#define PS		4096ul

/*
 * How long a waiting conversion may wait here (convert_timeout_ms): far
 * longer than any step of the test, which waits for conditions, not times.
 */
#define TIMEOUT_MS	"30000"
#define DEADLINE_S	30

#define SYNC_READ	1	/* guest: compare page @arg with its byte */
#define SYNC_WRITE	2	/* guest: fill page @arg with its byte */

/*
 * The guest reads or writes what the host asks, through its private or
 * shared view (the attributes decide), until told to stop.
 */
static void guest_code(void)
{
	for (;;) {
		uint64_t *cmd = (uint64_t *)(GMEM_GPA + (NPAGES - 1) * PS);
		uint64_t op, page, byte, i;
		uint8_t *p;

		GUEST_SYNC(0);
		op = READ_ONCE(cmd[0]);
		page = READ_ONCE(cmd[1]);
		byte = READ_ONCE(cmd[2]);
		if (!op)
			break;
		p = (uint8_t *)(GMEM_GPA + page * PS);
		for (i = 0; i < PS; i++) {
			if (op == SYNC_WRITE)
				WRITE_ONCE(p[i], byte);
			else
				__GUEST_ASSERT(READ_ONCE(p[i]) == byte,
					       "page %lu byte %lu: %#x, expected %#lx",
					       page, i, p[i], byte);
		}
	}
	GUEST_DONE();
}

struct env {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem, pl;
	char *mem;
	uint64_t *cmd;
};

/* Have the guest read or write page @page with @byte. */
static void guest_do(struct env *e, uint64_t op, uint64_t page, uint8_t byte)
{
	struct ucall uc;

	e->cmd[0] = op;
	e->cmd[1] = page;
	e->cmd[2] = byte;
	snp_pl_run_to_ucall(e->vcpu, UCALL_SYNC, &uc);
}

static void setup(struct env *e)
{
	struct ucall uc;

	e->pl = snp_pl_gmem_require();
	e->vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &e->vcpu,
					      guest_code);
	e->gmem = snp_pl_gmem_region_add(e->vm, GMEM_GPA, GMEM_SLOT, NPAGES,
					 GUEST_MEMFD_FLAG_INIT_SHARED, &e->mem);
	virt_map(e->vm, GMEM_GPA, GMEM_GPA, NPAGES);
	e->cmd = (uint64_t *)(e->mem + (NPAGES - 1) * PS);
	/* To the guest's first sync. */
	snp_pl_run_to_ucall(e->vcpu, UCALL_SYNC, &uc);
}

static void teardown(struct env *e)
{
	struct ucall uc;

	e->cmd[0] = 0;
	snp_pl_run_to_ucall(e->vcpu, UCALL_DONE, &uc);
	kvm_vm_free(e->vm);
	close(e->gmem);
	close(e->pl);
}

/* Read @p in this process: SIGBUS or 0. */
static int touch(const char *p)
{
	struct sigaction old;
	int ret;

	snp_pl_catch_sigbus(&old);
	ret = snp_pl_read_sigbus(p, NULL) ? SIGBUS : 0;
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

static void test_flags(struct env *e)
{
	struct kvm_memory_attributes2 a = { .size = PS };
	unsigned long long flag;
	int fd;

	TEST_ASSERT_EQ(vm_check_cap(e->vm, KVM_CAP_GUEST_MEMFD_FLAGS),
		       GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS),
		       GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	/* The posted series' layout, and so its ioctl number. */
	TEST_ASSERT_EQ(sizeof(a), 128);
	TEST_ASSERT_EQ(_IOC_SIZE(KVM_SET_MEMORY_ATTRIBUTES2), 128);
	/* As upstream's guest_memfd_test: each flag reported works alone. */
	for (flag = 1; flag; flag <<= 1) {
		fd = __vm_create_guest_memfd(e->vm, PS, flag);
		if (flag & (GUEST_MEMFD_FLAG_MMAP |
			    GUEST_MEMFD_FLAG_INIT_SHARED)) {
			TEST_ASSERT(fd >= 0, "flag %#llx alone: %s", flag,
				    strerror(errno));
			close(fd);
		} else {
			TEST_ASSERT(fd == -1 && errno == EINVAL,
				    "unknown flag %#llx accepted", flag);
		}
	}
	/* INIT_SHARED alone: converted in place, but not mappable. */
	fd = vm_create_guest_memfd(e->vm, PS, GUEST_MEMFD_FLAG_INIT_SHARED);
	TEST_ASSERT(mmap(NULL, PS, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
		    errno == ENODEV, "mmap without GUEST_MEMFD_FLAG_MMAP");
	TEST_ASSERT_EQ(snp_pl_gmem_convert(fd, 0, PS, true, false, NULL), 0);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(fd, 0, PS, false, false, NULL), 0);
	close(fd);
	/* Without MMAP: neither mmap() nor the conversion ioctl. */
	fd = vm_create_guest_memfd(e->vm, PS, 0);
	TEST_ASSERT(mmap(NULL, PS, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED,
		    "mmap of a guest_memfd without GUEST_MEMFD_FLAG_MMAP");
	TEST_ASSERT_EQ(ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES2, &a), -1);
	TEST_ASSERT_EQ(errno, ENOTTY);
	close(fd);
	/* MAP_PRIVATE is refused. */
	TEST_ASSERT(mmap(NULL, PS, PROT_READ, MAP_PRIVATE, e->gmem, 0) ==
		    MAP_FAILED, "MAP_PRIVATE of a guest_memfd");
	/* Bad arguments. */
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 1, PS, true, false, NULL),
		       -EINVAL);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 0, 0, true, false, NULL),
		       -EINVAL);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 0, (NPAGES + 1) * PS, true,
					   false, NULL), -EINVAL);
	a.flags = 1ull << 3;
	TEST_ASSERT_EQ(ioctl(e->gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a), -1);
	TEST_ASSERT_EQ(errno, EINVAL);
	a.flags = 0;
	a.reserved[1] = 1;
	TEST_ASSERT_EQ(ioctl(e->gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a), -1);
	TEST_ASSERT_EQ(errno, EINVAL);
	a.reserved[1] = 0;
	a.attributes = 1ull << 1;
	TEST_ASSERT_EQ(ioctl(e->gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a), -1);
	TEST_ASSERT_EQ(errno, EINVAL);
}

/* Shared -> private -> shared: the same page, its content kept. */
static void test_content(struct env *e)
{
	char *p = e->mem;
	int i;

	guest_do(e, SYNC_WRITE, 0, 0x5a);
	TEST_ASSERT_EQ((uint8_t)p[100], 0x5a);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 0, PS, true, false, NULL), 0);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, p), SNP_PL_STATE_PRIVATE);
	/* The VMM may not touch it; the guest reads its data privately. */
	TEST_ASSERT_EQ(touch(p), SIGBUS);
	guest_do(e, SYNC_READ, 0, 0x5a);
	guest_do(e, SYNC_WRITE, 0, 0xa5);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 0, PS, false, false, NULL),
		       0);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, p), SNP_PL_STATE_SHARED);
	for (i = 0; i < (int)PS; i++)
		TEST_ASSERT_EQ((uint8_t)p[i], 0xa5);
	guest_do(e, SYNC_READ, 0, 0xa5);
}

struct converter {
	pthread_t th;
	int gmem;
	uint64_t offset, size;
	int ret;
};

static void *converter_fn(void *arg)
{
	struct converter *c = arg;

	c->ret = snp_pl_gmem_convert(c->gmem, c->offset, c->size, true, true,
				     NULL);
	return NULL;
}

/* The VMM's I/O pin: NOWAIT names the page; wait mode waits for UNPIN. */
static void test_pin(struct env *e)
{
	struct pollfd pfd = { .fd = e->pl, .events = POLLPRI };
	struct converter c = { .gmem = e->gmem, .offset = PS, .size = 2 * PS };
	char *p = e->mem + 2 * PS;
	__u64 off;

	guest_do(e, SYNC_WRITE, 2, 0x22);
	TEST_ASSERT_EQ(snp_pl_range(e->pl, SNP_PL_IOC_PIN, p, PS), 0);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, PS, 2 * PS, true, false,
					   &off), -EBUSY);
	/* The pinned page's offset in the file, as the posted series. */
	TEST_ASSERT_EQ(off, 2 * PS);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, e->mem + PS), SNP_PL_STATE_SHARED);

	pthread_create(&c.th, NULL, converter_fn, &c);
	TEST_ASSERT_EQ(poll(&pfd, 1, DEADLINE_S * 1000), 1);
	TEST_ASSERT(pfd.revents & POLLPRI, "no EPOLLPRI");
	/* The holder still uses its page while the converter waits. */
	TEST_ASSERT_EQ((uint8_t)p[1], 0x22);
	TEST_ASSERT_EQ(snp_pl_range(e->pl, SNP_PL_IOC_UNPIN, p, PS), 0);
	pthread_join(c.th, NULL);
	TEST_ASSERT_EQ(c.ret, 0);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, p), SNP_PL_STATE_PRIVATE);
	guest_do(e, SYNC_READ, 2, 0x22);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, PS, 2 * PS, false, false,
					   NULL), 0);
}

struct drainer {
	pthread_t th;
	int pipe_r;
	long waits;
};

/* Let go of the page 50 ms after the converter started waiting for it. */
static void *drain_fn(void *arg)
{
	struct drainer *d = arg;
	time_t end = time(NULL) + DEADLINE_S;
	char buf[PS];

	while (snp_pl_stat("ref_waits") <= d->waits && time(NULL) < end)
		usleep(1000);
	usleep(50 * 1000);
	TEST_ASSERT_EQ(read(d->pipe_r, buf, PS), PS);
	return NULL;
}

/* A reference that is not a pin: waited for, or -EBUSY at once. */
static void test_transient(struct env *e)
{
	struct iovec iov = { .iov_base = e->mem + 3 * PS, .iov_len = PS };
	long waits = snp_pl_stat("ref_waits");
	struct drainer d;
	int pipefd[2];
	__u64 off;

	TEST_ASSERT_EQ(pipe(pipefd), 0);
	d.pipe_r = pipefd[0];
	guest_do(e, SYNC_WRITE, 3, 0x33);
	TEST_ASSERT_EQ(vmsplice(pipefd[1], &iov, 1, 0), PS);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 3 * PS, PS, true, false,
					   &off), -EBUSY);
	TEST_ASSERT_EQ(off, 3 * PS);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, e->mem + 3 * PS),
		       SNP_PL_STATE_SHARED);
	/* The failed conversion changed nothing: the VMM maps it again. */
	TEST_ASSERT_EQ((uint8_t)e->mem[3 * PS], 0x33);

	d.waits = waits;
	pthread_create(&d.th, NULL, drain_fn, &d);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 3 * PS, PS, true, true,
					   NULL), 0);
	pthread_join(d.th, NULL);
	TEST_ASSERT(snp_pl_stat("ref_waits") > waits, "no wait for the reference");
	guest_do(e, SYNC_READ, 3, 0x33);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 3 * PS, PS, false, false,
					   NULL), 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

static bool wait_state(struct env *e, void *addr, int state)
{
	time_t end = time(NULL) + DEADLINE_S;

	while (snp_pl_state(e->pl, addr) != state) {
		if (time(NULL) >= end)
			return false;
		usleep(1000);
	}
	return true;
}

/* A VMM fault during a conversion waits, then sees the final state. */
static void test_fault_waits(struct env *e)
{
	struct converter c = { .gmem = e->gmem, .offset = 4 * PS,
			       .size = 2 * PS };
	char *pinned = e->mem + 5 * PS, *p = e->mem + 4 * PS;
	int status;
	pid_t pid;

	TEST_ASSERT_EQ(snp_pl_range(e->pl, SNP_PL_IOC_PIN, pinned, PS), 0);
	/* Page 4 was never touched: the child's touch faults it in. */
	pthread_create(&c.th, NULL, converter_fn, &c);
	/* Fork once the converter has marked the range and waits. */
	TEST_ASSERT(wait_state(e, pinned, SNP_PL_STATE_CONVERTING),
		    "the conversion did not start waiting");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		(void)READ_ONCE(*p);
		_exit(0);
	}
	usleep(300 * 1000);
	TEST_ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0);
	TEST_ASSERT_EQ(snp_pl_range(e->pl, SNP_PL_IOC_UNPIN, pinned, PS), 0);
	pthread_join(c.th, NULL);
	TEST_ASSERT_EQ(c.ret, 0);
	TEST_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		    "the waiting fault did not end in SIGBUS (status %#x)",
		    status);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 4 * PS, 2 * PS, false,
					   false, NULL), 0);
}

/* KVM_SET_MEMORY_ATTRIBUTES on the VM converts in place too. */
static void test_vm_attributes(struct env *e)
{
	char *p = e->mem + 6 * PS;

	guest_do(e, SYNC_WRITE, 6, 0x66);
	vm_mem_set_private(e->vm, GMEM_GPA + 6 * PS, PS);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, p), SNP_PL_STATE_PRIVATE);
	TEST_ASSERT_EQ(touch(p), SIGBUS);
	guest_do(e, SYNC_READ, 6, 0x66);
	vm_mem_set_shared(e->vm, GMEM_GPA + 6 * PS, PS);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, p), SNP_PL_STATE_SHARED);
	TEST_ASSERT_EQ((uint8_t)p[7], 0x66);
}

/* G4: a private page freed by a punched hole goes back shared. */
static void test_free(struct env *e)
{
	long leaks = snp_pl_stat("leaked_pages");
	long shared = snp_pl_stat("converted_to_shared");

	guest_do(e, SYNC_WRITE, 7, 0x77);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 7 * PS, PS, true, false,
					   NULL), 0);
	TEST_ASSERT_EQ(fallocate(e->gmem, FALLOC_FL_KEEP_SIZE |
				 FALLOC_FL_PUNCH_HOLE, 7 * PS, PS), 0);
	TEST_ASSERT_EQ(snp_pl_stat("leaked_pages"), leaks);
	TEST_ASSERT(snp_pl_stat("converted_to_shared") > shared,
		    "the private page was not made shared before it was freed");
	TEST_ASSERT_EQ(snp_pl_gmem_convert(e->gmem, 7 * PS, PS, false, false,
					   NULL), 0);
	/* A new page, zeroed. */
	guest_do(e, SYNC_READ, 7, 0);
}

/*
 * A conversion whose range more than 16 memslots are bound to fails with
 * E2BIG before anything changes, through the guest_memfd and through the
 * VM; 16 memslots are fine.
 */
#define MANY_GPA	0xd0000000ul
#define MANY_SLOT	20
#define MANY		17

static void test_many_slots(struct env *e)
{
	struct kvm_memory_attributes attr = {
		.address = MANY_GPA,
		.size = MANY * PS,
		.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	__u64 off = 0;
	char *p;
	int fd, i;

	fd = vm_create_guest_memfd(e->vm, MANY * PS, GUEST_MEMFD_FLAG_MMAP |
				   GUEST_MEMFD_FLAG_INIT_SHARED);
	for (i = 0; i < MANY; i++)
		vm_mem_add(e->vm, VM_MEM_SRC_ANONYMOUS, MANY_GPA + i * PS,
			   MANY_SLOT + i, 1, KVM_MEM_GUEST_MEMFD, fd, i * PS);
	p = mmap(NULL, MANY * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap");
	memset(p, 0x5a, MANY * PS);

	TEST_ASSERT_EQ(snp_pl_gmem_convert(fd, 0, MANY * PS, true, false,
					   &off), -E2BIG);
	TEST_ASSERT_EQ(__vm_ioctl(e->vm, KVM_SET_MEMORY_ATTRIBUTES, &attr), -1);
	TEST_ASSERT_EQ(errno, E2BIG);
	for (i = 0; i < MANY; i++)
		TEST_ASSERT_EQ(snp_pl_state(e->pl, p + i * PS),
			       SNP_PL_STATE_SHARED);
	TEST_ASSERT_EQ((uint8_t)p[(MANY - 1) * PS], 0x5a);

	/* Sixteen: converted, and back. */
	TEST_ASSERT_EQ(snp_pl_gmem_convert(fd, 0, (MANY - 1) * PS, true, false,
					   NULL), 0);
	TEST_ASSERT_EQ(snp_pl_state(e->pl, p), SNP_PL_STATE_PRIVATE);
	TEST_ASSERT_EQ(snp_pl_gmem_convert(fd, 0, (MANY - 1) * PS, false,
					   false, NULL), 0);
	TEST_ASSERT_EQ((uint8_t)p[0], 0x5a);
	munmap(p, MANY * PS);
}

static char old_timeout[32];

static void restore_timeout(void)
{
	snp_pl_set_param(SNP_PL_PARAMS "convert_timeout_ms", old_timeout);
}

int main(void)
{
	struct env e;
	FILE *f;

	f = fopen(SNP_PL_PARAMS "convert_timeout_ms", "r");
	TEST_ASSERT(f && fgets(old_timeout, sizeof(old_timeout), f),
		    "no convert_timeout_ms");
	fclose(f);
	old_timeout[strcspn(old_timeout, "\n")] = 0;
	atexit(restore_timeout);
	TEST_ASSERT_EQ(snp_pl_set_param(SNP_PL_PARAMS "convert_timeout_ms",
					TIMEOUT_MS), 0);

	setup(&e);
	test_flags(&e);
	test_content(&e);
	test_pin(&e);
	test_transient(&e);
	test_fault_waits(&e);
	test_vm_attributes(&e);
	test_free(&e);
	test_many_slots(&e);
	teardown(&e);
	return 0;
}
