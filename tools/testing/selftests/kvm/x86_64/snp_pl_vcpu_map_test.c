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

#include "snp_pl_kvm.h"
#include "svm_util.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		4
#define MAGIC		0x5a5a123456780000ull
#define HOLD_PARAM	SNP_PL_KVM_PARAMS "snp_test_map_hold_ms"

static void vmsave(uint64_t gpa)
{
	asm volatile("vmsave %%rax" : : "a"(gpa) : "memory");
}

static void vmload(uint64_t gpa)
{
	asm volatile("vmload %%rax" : : "a"(gpa) : "memory");
}

static void guest_code(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);

	/* 1: VMSAVE to page 0, private at first. */
	wrmsr(MSR_LSTAR, MAGIC);
	vmsave(POOL_GPA);
	GUEST_SYNC(1);

	/* 2: VMLOAD from page 0, private again at first. */
	wrmsr(MSR_LSTAR, 0);
	vmload(POOL_GPA);
	GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), MAGIC);
	GUEST_SYNC(2);

	/* 3: VMSAVE to page 1 while a converter wants it. */
	wrmsr(MSR_LSTAR, MAGIC + 1);
	vmsave(POOL_GPA + PAGE_SIZE);
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

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct vmcb *vmcb;
	struct runner r;
	struct ucall uc;
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
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 0, NULL), 0);
	snp_pl_expect_fault(vcpu, POOL_GPA, PAGE_SIZE, SNP_PL_GUEST_FLAGS);
	/* Again: the guest did not move on. */
	snp_pl_expect_fault(vcpu, POOL_GPA, PAGE_SIZE, SNP_PL_GUEST_FLAGS);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
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
	TEST_ASSERT_EQ(snp_pl_set_param(HOLD_PARAM, "1000"), 0);
	r.vcpu = vcpu;
	pthread_create(&th, NULL, run_vcpu, &r);
	usleep(200 * 1000);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_PRIVATE,
				      SNP_PL_CONVERT_NOWAIT, 0, &off), -EBUSY);
	TEST_ASSERT_EQ(off, 0);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_PRIVATE, 0, 10000, NULL), 0);
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
