// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_vcpu_map() and the SNP page lock (G8): VMSAVE/VMLOAD, which KVM
 * emulates through kvm_vcpu_map() when it intercepts them, on guest memory
 * that the test pool of /dev/snp_page_lock makes private in place.
 *
 * - A VMSAVE or VMLOAD to a private page ends KVM_RUN with -EFAULT and a
 *   memory-fault exit naming the page (HOST_ACCESS | PRIVATE), instead of
 *   a #GP for the guest; once the page is shared again the instruction
 *   runs and the guest goes on.
 * - A converter meets a vCPU inside a kvm_vcpu_map() section (held there
 *   by the test-only kvm.snp_test_map_hold_ms): NOWAIT fails with EBUSY
 *   and names the page, wait mode waits until the vCPU unmaps, then
 *   succeeds.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "snp_pl_kvm.h"
#include "svm_util.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		4
/* Canonical: WRMSR to LSTAR #GPs on anything else. */
#define MAGIC		0x00005a5a12345000ull
#define HOLD_PARAM	SNP_PL_KVM_PARAMS "snp_test_map_hold_ms"
/* Long enough for both conversions of stage 3, even on a slow (TCG) host. */
#define HOLD_MS		"5000"

static void guest_vmsave(uint64_t gpa)
{
	asm volatile("vmsave %%rax" : : "a"(gpa) : "memory");
}

static void guest_vmload(uint64_t gpa)
{
	asm volatile("vmload %%rax" : : "a"(gpa) : "memory");
}

static void guest_code(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);

	/* 1: VMSAVE to page 0, private at first. */
	wrmsr(MSR_LSTAR, MAGIC);
	guest_vmsave(POOL_GPA);
	GUEST_SYNC(1);

	/* 2: VMLOAD from page 0, private again at first. */
	wrmsr(MSR_LSTAR, 0);
	guest_vmload(POOL_GPA);
	GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), MAGIC);
	GUEST_SYNC(2);

	/* 3: VMSAVE to page 1 while a converter wants it. */
	wrmsr(MSR_LSTAR, MAGIC + 1);
	guest_vmsave(POOL_GPA + PAGE_SIZE);
	GUEST_SYNC(3);
	GUEST_DONE();
}

struct runner {
	struct kvm_vcpu *vcpu;
	uint64_t ucall;
};

static void *run_vcpu(void *arg)
{
	struct runner *r = arg;
	struct ucall uc;

	vcpu_run(r->vcpu);
	r->ucall = get_ucall(r->vcpu, &uc);
	return NULL;
}

/* A failed assertion must not leave every kvm_vcpu_map() sleeping. */
static void restore_hold(void)
{
	snp_pl_set_param(HOLD_PARAM, "0");
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A lower bound of the pages pinned layer-wide now (the debugfs stats, pins
 * read before unpins), or -1: a pin taken and dropped between the two reads
 * never counts.
 */
static long pinned_pages(void)
{
	long pins = snp_pl_stat("pins");
	long unpins = snp_pl_stat("unpins");

	return pins < 0 || unpins < 0 ? -1 : pins - unpins;
}

/*
 * Wait until a page more than @base is pinned, 30 s at most: the vCPU is
 * held inside its kvm_vcpu_map() section with the page pinned.
 */
static void wait_vcpu_pinned(long base)
{
	long deadline = now_ms() + 30000;
	long pinned;

	while ((pinned = pinned_pages()) <= base && now_ms() < deadline)
		usleep(1000);
	TEST_ASSERT(pinned > base,
		    "the vCPU did not pin the page: %ld pinned, %ld before",
		    pinned, base);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct vmcb *vmcb;
	struct runner r;
	struct ucall uc;
	long pinned;
	pthread_t th;
	__u64 off;
	char *mem;
	int fd;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	fd = snp_pl_require();

	vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &vcpu,
					   guest_code);
	mem = snp_pl_pool_region_add(vm, fd, POOL_GPA, POOL_SLOT, NPAGES, 0);
	vmcb = (struct vmcb *)mem;

	/* 1: the VMSAVE meets a private page: the VMM is told, not the guest. */
	snp_pl_expect_fault_while_private(fd, vcpu, mem, POOL_GPA);
	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[1], 1);
	TEST_ASSERT_EQ(vmcb->save.lstar, MAGIC);

	/* 2: VMLOAD likewise. */
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 0, NULL), 0);
	snp_pl_expect_fault(vcpu, POOL_GPA, PAGE_SIZE, SNP_PL_GUEST_FLAGS);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[1], 2);

	/* 3: a converter against a vCPU inside a kvm_vcpu_map() section. */
	pinned = pinned_pages();
	TEST_ASSERT(pinned >= 0, "no pins/unpins in %s", SNP_PL_STATS);
	TEST_ASSERT_EQ(atexit(restore_hold), 0);
	TEST_ASSERT_EQ(snp_pl_set_param(HOLD_PARAM, HOLD_MS), 0);
	r.vcpu = vcpu;
	TEST_ASSERT_EQ(pthread_create(&th, NULL, run_vcpu, &r), 0);
	wait_vcpu_pinned(pinned);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_PRIVATE,
				      SNP_PL_CONVERT_NOWAIT, 0, &off), -EBUSY);
	TEST_ASSERT_EQ(off, 0);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_PRIVATE, 0, 30000, NULL), 0);
	pthread_join(th, NULL);
	TEST_ASSERT_EQ(snp_pl_set_param(HOLD_PARAM, "0"), 0);
	TEST_ASSERT_EQ(r.ucall, UCALL_SYNC);
	/* The VMSAVE finished before the page became private. */
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_SHARED, 0, 0, NULL), 0);
	TEST_ASSERT_EQ(((struct vmcb *)(mem + PAGE_SIZE))->save.lstar,
		       MAGIC + 1);

	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &uc);
	kvm_vm_free(vm);
	close(fd);
	return 0;
}
