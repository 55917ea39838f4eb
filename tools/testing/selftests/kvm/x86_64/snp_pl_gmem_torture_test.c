// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs, VMM threads and conversions on the same in-place guest_memfd
 * pages (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED):
 *
 * - two vCPUs each stamp their own pages and read the stamp back, then
 *   VMSAVE to and VMLOAD from them (KVM emulates both through
 *   kvm_vcpu_map(), a host access); a private or converting page makes
 *   the host access a memory-fault exit, as does a guest access that
 *   races a change of the attributes, and the vCPU thread runs the
 *   instruction again;
 * - a VMM reader reads random pages through its mapping: a shared page
 *   holds 0 or its vCPU's stamp, a private one gets SIGBUS;
 * - a VMM pinner pins random pages through /dev/snp_page_lock (its I/O),
 *   checks them, and unpins; a private or converting page is refused;
 * - the main thread converts random ranges to private and back, through
 *   KVM_SET_MEMORY_ATTRIBUTES2 (waiting, or NOWAIT) or the VM's
 *   KVM_SET_MEMORY_ATTRIBUTES.
 *
 * A host access to a private page is a splat in the console (the software
 * backend unmaps private pages; the debug build checks every KVM map),
 * which fails the run, as does a lost stamp, an unexpected errno or a
 * thread that made no progress.
 *
 *   snp_pl_gmem_torture_test [seconds]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "snp_pl_kvm.h"

#define GMEM_GPA	0xc0000000ul
#define GMEM_SLOT	10
#define NR_VCPUS	2
#define PAGES_PER_VCPU	4
#define NPAGES		(NR_VCPUS * PAGES_PER_VCPU)
/* Stamps are canonical addresses: they go through WRMSR LSTAR too. */
#define STAMP_ID(s)	((s) >> 40)

static void guest_code(uint64_t id)
{
	uint64_t first = GMEM_GPA + id * PAGES_PER_VCPU * PAGE_SIZE;
	uint64_t *p, gpa, stamp, i;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	for (i = 0;; i++) {
		gpa = first + (i % PAGES_PER_VCPU) * PAGE_SIZE;
		p = (uint64_t *)gpa;
		stamp = (id + 1) << 40 | i;
		WRITE_ONCE(*p, stamp);
		GUEST_ASSERT_EQ(READ_ONCE(*p), stamp);
		wrmsr(MSR_LSTAR, stamp);
		asm volatile("vmsave %%rax" : : "a"(gpa) : "memory");
		wrmsr(MSR_LSTAR, 0);
		asm volatile("vmload %%rax" : : "a"(gpa) : "memory");
		GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), stamp);
		/* VMSAVE does not touch the first bytes of the page. */
		GUEST_ASSERT_EQ(READ_ONCE(*p), stamp);
		GUEST_SYNC(i);
	}
}

static atomic_int stop;
static struct kvm_vm *vm;
static char *mem;
static int gmem, pl;

struct vcpu_stats {
	struct kvm_vcpu *vcpu;
	unsigned long id, syncs, faults, guest_faults;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_stats *st = arg;
	uint64_t lo = GMEM_GPA + st->id * PAGES_PER_VCPU * PAGE_SIZE;
	uint64_t flags;

	while (!atomic_load(&stop)) {
		if (!snp_pl_torture_run(st->vcpu, lo, PAGES_PER_VCPU * PAGE_SIZE,
					0, &flags)) {
			st->syncs++;
			continue;
		}
		/*
		 * A host access (VMSAVE/VMLOAD), or the guest's own access
		 * racing a change of the attributes (as upstream reports it):
		 * run it again.
		 */
		if (flags & KVM_MEMORY_EXIT_FLAG_HOST_ACCESS)
			st->faults++;
		else
			st->guest_faults++;
		usleep(100);
	}
	return NULL;
}

/* A shared page holds 0 or a stamp of the vCPU that owns it. */
static void check_stamp(int page, uint64_t v)
{
	TEST_ASSERT(!v || STAMP_ID(v) == (uint64_t)page / PAGES_PER_VCPU + 1,
		    "page %d holds %#lx", page, v);
}

static unsigned long reads, read_sigbus;

static void *reader_thread(void *arg)
{
	unsigned int seed = 1;

	while (!atomic_load(&stop)) {
		int page = rand_r(&seed) % NPAGES;
		uint64_t v;

		if (snp_pl_read_sigbus(mem + page * PAGE_SIZE, &v)) {
			read_sigbus++;
			continue;
		}
		check_stamp(page, v);
		reads++;
	}
	return NULL;
}

static unsigned long pins, pin_refused;

static void *pinner_thread(void *arg)
{
	unsigned int seed = 2;
	int r;

	while (!atomic_load(&stop)) {
		int page = rand_r(&seed) % NPAGES;
		char *p = mem + page * PAGE_SIZE;

		r = snp_pl_range(pl, SNP_PL_IOC_PIN, p, PAGE_SIZE);
		if (r) {
			/* Private (EFAULT: the fault gets SIGBUS), converting. */
			TEST_ASSERT(r == -EFAULT || r == -EAGAIN || r == -EPERM,
				    "PIN: %d", r);
			pin_refused++;
			usleep(50);
			continue;
		}
		/*
		 * Pinned: never private (a converter may have marked it
		 * converting and be waiting for this pin); the VMM may use it.
		 */
		r = snp_pl_state(pl, p);
		TEST_ASSERT(r == SNP_PL_STATE_SHARED ||
			    r == SNP_PL_STATE_CONVERTING,
			    "pinned page %d in state %d", page, r);
		check_stamp(page, READ_ONCE(*(uint64_t *)p));
		usleep(rand_r(&seed) % 500);
		TEST_ASSERT_EQ(snp_pl_range(pl, SNP_PL_IOC_UNPIN, p, PAGE_SIZE),
			       0);
		pins++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	unsigned long to_private = 0, busy = 0, i;
	struct vcpu_stats st[NR_VCPUS];
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t th[NR_VCPUS], rd, pn;
	long leaked;
	time_t end;
	int ret;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	pl = snp_pl_gmem_require();
	leaked = snp_pl_stat("leaked_pages");
	snp_pl_catch_sigbus(NULL);

	vm = __vm_create_with_vcpus(snp_pl_protected_shape, NR_VCPUS, 0,
				    guest_code, vcpus);
	gmem = snp_pl_gmem_region_add(vm, GMEM_GPA, GMEM_SLOT, NPAGES,
				      GUEST_MEMFD_FLAG_INIT_SHARED, &mem);
	virt_map(vm, GMEM_GPA, GMEM_GPA, NPAGES);

	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		st[i] = (struct vcpu_stats){ .vcpu = vcpus[i], .id = i };
		pthread_create(&th[i], NULL, vcpu_thread, &st[i]);
	}
	pthread_create(&rd, NULL, reader_thread, NULL);
	pthread_create(&pn, NULL, pinner_thread, NULL);

	srand(getpid());
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		uint64_t page = rand() % NPAGES;
		uint64_t n = 1 + (page + 1 < NPAGES ? rand() % 2 : 0);
		int how = rand() % 3;

		if (how == 2) {
			struct kvm_memory_attributes a = {
				.address = GMEM_GPA + page * PAGE_SIZE,
				.size = n * PAGE_SIZE,
				.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
			};

			ret = __vm_ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a) ?
			      -errno : 0;
		} else {
			ret = snp_pl_gmem_convert(gmem, page * PAGE_SIZE,
						  n * PAGE_SIZE, true, how, NULL);
		}
		/*
		 * NOWAIT met a pin or a reference; or a PIN raced the
		 * conversion: its long-term GUP pin, taken before the zap and
		 * dropped once the shared pin is refused, fails the
		 * conversion at once, as any DMA pin does.
		 */
		if (ret == -EBUSY) {
			busy++;
			continue;
		}
		TEST_ASSERT(!ret, "to private: %d", ret);
		to_private++;
		usleep(rand() % 2000);
		TEST_ASSERT_EQ(snp_pl_gmem_convert(gmem, page * PAGE_SIZE,
						   n * PAGE_SIZE, false, true,
						   NULL), 0);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(th[i], NULL);
	pthread_join(rd, NULL);
	pthread_join(pn, NULL);

	pr_info("%lu conversions to private (%lu EBUSY); VMM: %lu reads (%lu SIGBUS), %lu pins (%lu refused)",
		to_private, busy, reads, read_sigbus, pins, pin_refused);
	for (i = 0; i < NR_VCPUS; i++) {
		pr_info("; vCPU %lu: %lu rounds, %lu host-access faults, %lu guest faults",
			i, st[i].syncs, st[i].faults, st[i].guest_faults);
		TEST_ASSERT(st[i].syncs > 0, "vCPU %lu made no progress", i);
	}
	pr_info("\n");
	TEST_ASSERT(to_private > 0, "no conversion succeeded");
	TEST_ASSERT(reads > 0 && pins > 0, "the VMM threads made no progress");

	kvm_vm_free(vm);
	close(gmem);
	close(pl);
	TEST_ASSERT_EQ(snp_pl_stat("leaked_pages"), leaked);
	return 0;
}
