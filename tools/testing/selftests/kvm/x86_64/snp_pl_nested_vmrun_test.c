// SPDX-License-Identifier: GPL-2.0
/*
 * A nested VMRUN and the SNP page lock: KVM maps the L1 guest's vmcb12
 * through kvm_vcpu_map(), here on a page of the /dev/snp_page_lock test
 * pool made private in place. The VMRUN ends KVM_RUN with -EFAULT and a
 * memory-fault exit naming the page (HOST_ACCESS | PRIVATE) instead of a
 * #GP for L1; once the page is shared again the VMRUN runs, L2 runs to its
 * VMMCALL, and L1 finds that exit in its vmcb12.
 */
#include "snp_pl_kvm.h"
#include "svm_util.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		1
#define L2_STACK_SIZE	64

static void l2_guest_code(void)
{
	vmmcall();
}

/*
 * VMRUN alone: run_guest() does a VMLOAD of vmcb12 first, which would meet
 * the private page before the VMRUN does. L2 keeps L1's FS, GS and TR.
 */
static void l1_vmrun(uint64_t vmcb_gpa)
{
	asm volatile("vmrun %%rax"
		     : "+a"(vmcb_gpa)
		     :
		     : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
		       "r11", "r12", "r13", "r14", "r15", "cc", "memory");
}

static void l1_guest_code(struct svm_test_data *svm)
{
	unsigned long l2_stack[L2_STACK_SIZE];
	struct vmcb *vmcb = svm->vmcb;

	generic_svm_setup(svm, l2_guest_code, &l2_stack[L2_STACK_SIZE]);
	vmcb->save.rflags = X86_EFLAGS_FIXED;
	GUEST_SYNC(1);
	l1_vmrun(svm->vmcb_gpa);
	GUEST_ASSERT_EQ(vmcb->control.exit_code, SVM_EXIT_VMMCALL);
	GUEST_DONE();
}

int main(void)
{
	struct svm_test_data *svm;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t svm_gva;
	struct kvm_vm *vm;
	struct ucall uc;
	char *mem;
	int fd;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	fd = snp_pl_require();

	vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &vcpu,
					   l1_guest_code);
	mem = snp_pl_pool_region_add(vm, fd, POOL_GPA, POOL_SLOT, NPAGES, 0);
	virt_map(vm, POOL_GPA, POOL_GPA, NPAGES);

	/* vmcb12 on the pool page (identity-mapped for L1). */
	svm = vcpu_alloc_svm(vm, &svm_gva);
	svm->vmcb = (struct vmcb *)POOL_GPA;
	svm->vmcb_hva = mem;
	svm->vmcb_gpa = POOL_GPA;
	vcpu_args_set(vcpu, 1, svm_gva);

	/* L1 has written its vmcb12. */
	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[1], 1);

	/*
	 * The VMRUN meets a private vmcb12: the VMM is told, not L1; shared
	 * again, the VMRUN runs with the vmcb12 L1 wrote.
	 */
	snp_pl_expect_fault_while_private(fd, vcpu, mem, POOL_GPA);
	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &uc);

	kvm_vm_free(vm);
	close(fd);
	return 0;
}
