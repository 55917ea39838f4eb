// SPDX-License-Identifier: GPL-2.0
/*
 * Guest faults on memory converted in place, and kvm.snp_npf_policy.
 *
 * Guest memory is a page of the /dev/snp_page_lock test pool; the guest's
 * access is shared or private by the gfn's attributes
 * (KVM_SET_MEMORY_ATTRIBUTES), the page is shared or private in the layer.
 * When they disagree:
 *
 * - policy "exit": KVM_RUN fails with EFAULT and KVM_EXIT_MEMORY_FAULT for
 *   the page, flags PRIVATE for a private access (as upstream reports a
 *   mismatch), and no HOST_ACCESS; once userspace makes the page match,
 *   the guest goes on;
 * - policy "convert": KVM converts the page itself (a shared access to a
 *   private page, a private access to a shared page, which is then mapped
 *   privately in place) and the guest goes on without an exit;
 * - "convert" that cannot convert (the VMM holds the page pinned through
 *   /dev/snp_page_lock, the conversion times out) falls back to the exit.
 */
#include <stdlib.h>

#include "snp_pl_kvm.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		4
#define POLICY		SNP_PL_KVM_PARAMS "snp_npf_policy"
#define TIMEOUT		SNP_PL_PARAMS "convert_timeout_ms"

/* The guest writes and reads back page @i, then reports. */
static void guest_code(void)
{
	uint64_t *p;
	int i;

	for (i = 0; i < NPAGES; i++) {
		p = (uint64_t *)(POOL_GPA + i * PAGE_SIZE);
		WRITE_ONCE(*p, 0x1000 + i);
		GUEST_ASSERT_EQ(READ_ONCE(*p), 0x1000 + i);
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

static void expect_sync(struct kvm_vcpu *vcpu, int stage)
{
	struct ucall uc;

	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[1], stage);
}

/* The parameters as they were before the test. */
static char saved_policy[32], saved_timeout[32];

static void read_param(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(fgets(buf, size, f), "read %s", path);
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

/* A failed assertion must not leave the parameters set for other tests. */
static void restore_params(void)
{
	snp_pl_set_param(POLICY, saved_policy);
	snp_pl_set_param(TIMEOUT, saved_timeout);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	char *mem, *p;
	int fd;

	fd = snp_pl_require();
	read_param(POLICY, saved_policy, sizeof(saved_policy));
	read_param(TIMEOUT, saved_timeout, sizeof(saved_timeout));
	TEST_ASSERT_EQ(atexit(restore_params), 0);
	vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &vcpu,
					   guest_code);
	mem = snp_pl_pool_region_add(vm, fd, POOL_GPA, POOL_SLOT, NPAGES, 0);
	virt_map(vm, POOL_GPA, POOL_GPA, NPAGES);

	/* Page 0, "exit": a shared access to a private page. */
	TEST_ASSERT_EQ(snp_pl_set_param(POLICY, "exit"), 0);
	p = mem;
	TEST_ASSERT_EQ(snp_pl_convert(fd, p, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 0, NULL), 0);
	snp_pl_expect_fault(vcpu, POOL_GPA, PAGE_SIZE, 0);
	TEST_ASSERT_EQ(snp_pl_state(fd, p), SNP_PL_STATE_PRIVATE);
	TEST_ASSERT_EQ(snp_pl_convert(fd, p, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
	expect_sync(vcpu, 0);

	/* Page 1, "convert": KVM makes the private page shared itself. */
	TEST_ASSERT_EQ(snp_pl_set_param(POLICY, "convert"), 0);
	p = mem + PAGE_SIZE;
	TEST_ASSERT_EQ(snp_pl_convert(fd, p, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 0, NULL), 0);
	expect_sync(vcpu, 1);
	TEST_ASSERT_EQ(snp_pl_state(fd, p), SNP_PL_STATE_SHARED);
	TEST_ASSERT_EQ(*(uint64_t *)p, 0x1001);

	/*
	 * Page 2, a private access (attributes) to a shared page. "exit":
	 * the upstream report; "convert": KVM makes the page private in place
	 * and maps it; the guest's data stays in the same page.
	 */
	TEST_ASSERT_EQ(snp_pl_set_param(POLICY, "exit"), 0);
	p = mem + 2 * PAGE_SIZE;
	vm_mem_set_private(vm, POOL_GPA + 2 * PAGE_SIZE, PAGE_SIZE);
	snp_pl_expect_fault(vcpu, POOL_GPA + 2 * PAGE_SIZE, PAGE_SIZE,
			    KVM_MEMORY_EXIT_FLAG_PRIVATE);
	TEST_ASSERT_EQ(snp_pl_state(fd, p), SNP_PL_STATE_SHARED);
	TEST_ASSERT_EQ(snp_pl_set_param(POLICY, "convert"), 0);
	expect_sync(vcpu, 2);
	TEST_ASSERT_EQ(snp_pl_state(fd, p), SNP_PL_STATE_PRIVATE);
	TEST_ASSERT_EQ(snp_pl_convert(fd, p, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
	TEST_ASSERT_EQ(*(uint64_t *)p, 0x1002);

	/*
	 * Page 3, "convert" but the VMM holds the page pinned: the
	 * conversion times out, KVM reports the fault as "exit" would; once
	 * the VMM lets go, the conversion works (with the default timeout
	 * again: it must not fail on a slow host).
	 */
	p = mem + 3 * PAGE_SIZE;
	TEST_ASSERT_EQ(snp_pl_range(fd, SNP_PL_IOC_PIN, p, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(snp_pl_set_param(TIMEOUT, "100"), 0);
	vm_mem_set_private(vm, POOL_GPA + 3 * PAGE_SIZE, PAGE_SIZE);
	snp_pl_expect_fault(vcpu, POOL_GPA + 3 * PAGE_SIZE, PAGE_SIZE,
			    KVM_MEMORY_EXIT_FLAG_PRIVATE);
	TEST_ASSERT_EQ(snp_pl_set_param(TIMEOUT, "1000"), 0);
	TEST_ASSERT_EQ(snp_pl_state(fd, p), SNP_PL_STATE_SHARED);
	TEST_ASSERT_EQ(snp_pl_range(fd, SNP_PL_IOC_UNPIN, p, PAGE_SIZE), 0);
	expect_sync(vcpu, 3);
	TEST_ASSERT_EQ(snp_pl_state(fd, p), SNP_PL_STATE_PRIVATE);

	TEST_ASSERT_EQ(snp_pl_set_param(POLICY, "exit"), 0);
	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &(struct ucall){ 0 });
	kvm_vm_free(vm);
	close(fd);
	return 0;
}
