// SPDX-License-Identifier: GPL-2.0
/*
 * A memory-fault exit KVM has prepared is never overwritten: with the
 * test-only kvm.snp_test_reannotate (CONFIG_KVM_SNP_PAGE_LOCK_DEBUG),
 * every report of a host access to private memory is followed by a second
 * one for the next page, in the same KVM_RUN. Userspace must see the first
 * report intact, and the kernel warns about the second (the boot that runs
 * this test expects that WARNING).
 */
#include "snp_pl_kvm.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		2
#define REANNOTATE	SNP_PL_KVM_PARAMS "snp_test_reannotate"

static void guest_code(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	asm volatile("vmsave %%rax" : : "a"(POOL_GPA) : "memory");
	GUEST_DONE();
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	char *mem;
	int fd;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	fd = snp_pl_require();
	TEST_REQUIRE(!access(REANNOTATE, W_OK));

	vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &vcpu,
					   guest_code);
	mem = snp_pl_pool_region_add(vm, fd, POOL_GPA, POOL_SLOT, NPAGES, 0);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 0, NULL), 0);

	TEST_ASSERT_EQ(snp_pl_set_param(REANNOTATE, "1"), 0);
	/* The first report (POOL_GPA), not the second (the next page). */
	snp_pl_expect_fault(vcpu, POOL_GPA, PAGE_SIZE, SNP_PL_GUEST_FLAGS);
	TEST_ASSERT_EQ(snp_pl_set_param(REANNOTATE, "0"), 0);

	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &uc);
	kvm_vm_free(vm);
	close(fd);
	return 0;
}
