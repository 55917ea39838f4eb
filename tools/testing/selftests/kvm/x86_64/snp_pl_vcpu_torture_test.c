// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs inside kvm_vcpu_map() against a converter flipping the same pages:
 * two vCPUs VMSAVE to and VMLOAD from pages of the /dev/snp_page_lock test
 * pool (KVM emulates both through kvm_vcpu_map()) while a thread converts
 * those pages to private and back, waiting or with NOWAIT. A vCPU that
 * meets a private or converting page exits with a memory fault for that
 * page and runs the instruction again once it is shared; what VMSAVE wrote
 * survives every conversion (VMLOAD reads it back). Any other outcome, or
 * a splat in the console, fails the test.
 *
 *   snp_pl_vcpu_torture_test [seconds]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "snp_pl_kvm.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NR_VCPUS	2
#define PAGES_PER_VCPU	4
#define NPAGES		(NR_VCPUS * PAGES_PER_VCPU)

static void guest_code(uint64_t id)
{
	uint64_t first = POOL_GPA + id * PAGES_PER_VCPU * PAGE_SIZE;
	uint64_t gpa, magic, i;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	for (i = 0;; i++) {
		gpa = first + (i % PAGES_PER_VCPU) * PAGE_SIZE;
		/* Canonical: WRMSR to LSTAR #GPs on anything else. */
		magic = (id << 40) | (i << 12) | 0xabc;
		wrmsr(MSR_LSTAR, magic);
		asm volatile("vmsave %%rax" : : "a"(gpa) : "memory");
		wrmsr(MSR_LSTAR, 0);
		asm volatile("vmload %%rax" : : "a"(gpa) : "memory");
		GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), magic);
		GUEST_SYNC(i);
	}
}

static atomic_int stop;
static char *mem;
static int fd;

struct vcpu_stats {
	struct kvm_vcpu *vcpu;
	unsigned long id, syncs, faults;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_stats *st = arg;
	uint64_t lo = POOL_GPA + st->id * PAGES_PER_VCPU * PAGE_SIZE;
	uint64_t flags;

	while (!atomic_load(&stop)) {
		/* A fault is a page of this vCPU, private or converting. */
		if (snp_pl_torture_run(st->vcpu, lo, PAGES_PER_VCPU * PAGE_SIZE,
				       KVM_MEMORY_EXIT_FLAG_HOST_ACCESS,
				       &flags)) {
			st->faults++;
			usleep(200);
		} else {
			st->syncs++;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	unsigned long to_private = 0, busy = 0, i;
	struct vcpu_stats st[NR_VCPUS];
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct kvm_vm *vm;
	time_t end;
	char *page;
	int ret;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	fd = snp_pl_require();
	vm = __vm_create_with_vcpus(snp_pl_protected_shape, NR_VCPUS, 0,
				    guest_code, vcpus);
	mem = snp_pl_pool_region_add(vm, fd, POOL_GPA, POOL_SLOT, NPAGES, 0);

	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		st[i] = (struct vcpu_stats){ .vcpu = vcpus[i], .id = i };
		pthread_create(&th[i], NULL, vcpu_thread, &st[i]);
	}

	srand(getpid());
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		page = mem + (rand() % NPAGES) * PAGE_SIZE;
		ret = snp_pl_convert(fd, page, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				     rand() & 1 ? SNP_PL_CONVERT_NOWAIT : 0,
				     100, NULL);
		if (ret == -EBUSY) {
			busy++;
			continue;
		}
		TEST_ASSERT(!ret, "to private: %d", ret);
		to_private++;
		usleep(rand() % 2000);
		TEST_ASSERT_EQ(snp_pl_convert(fd, page, PAGE_SIZE,
					      SNP_PL_STATE_SHARED, 0, 0, NULL),
			       0);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(th[i], NULL);

	pr_info("%lu conversions to private (%lu EBUSY)", to_private, busy);
	for (i = 0; i < NR_VCPUS; i++) {
		pr_info(", vCPU %lu: %lu rounds, %lu memory faults", i,
			st[i].syncs, st[i].faults);
		TEST_ASSERT(st[i].syncs > 0, "vCPU %lu made no progress", i);
	}
	pr_info("\n");
	TEST_ASSERT(to_private > 0, "no conversion succeeded");

	kvm_vm_free(vm);
	close(fd);
	return 0;
}
