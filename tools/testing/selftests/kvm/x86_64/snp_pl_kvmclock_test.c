// SPDX-License-Identifier: GPL-2.0
/*
 * gfn_to_pfn_cache and the SNP page lock: kvmclock's cache (pv_time) maps
 * a page of the /dev/snp_page_lock test pool and holds a revocable pin on
 * it. A conversion of that page to private revokes the pin (the cache is
 * invalidated) instead of waiting for it until the timeout; kvmclock
 * updates then leave the page alone; once the page is shared again
 * kvmclock works again. The guest runs throughout.
 */
#include <asm/kvm_para.h>
#include <asm/pvclock.h>
#include <asm/pvclock-abi.h>

#include "snp_pl_kvm.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		2

static void guest_code(void)
{
	struct pvclock_vcpu_time_info *pvti =
		(struct pvclock_vcpu_time_info *)POOL_GPA;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, POOL_GPA | KVM_MSR_ENABLED);
	GUEST_SYNC(1);
	/* While the page is private the guest stays away from it. */
	GUEST_SYNC(2);
	/* Shared again: kvmclock was written. */
	GUEST_ASSERT(pvti->system_time || pvti->tsc_timestamp);
	GUEST_ASSERT(!(pvti->version & 1));
	GUEST_DONE();
}

static void set_clock(struct kvm_vm *vm)
{
	struct kvm_clock_data data = { 0 };

	vm_ioctl(vm, KVM_GET_CLOCK, &data);
	data.flags = 0;
	/* Requests a kvmclock update of every vCPU at its next entry. */
	vm_ioctl(vm, KVM_SET_CLOCK, &data);
}

int main(void)
{
	struct pvclock_vcpu_time_info *pvti;
	long revoked;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	char *mem;
	int fd;

	fd = snp_pl_require();
	vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &vcpu,
					   guest_code);
	mem = snp_pl_pool_region_add(vm, fd, POOL_GPA, POOL_SLOT, NPAGES, 0);
	virt_map(vm, POOL_GPA, POOL_GPA, NPAGES);
	pvti = (struct pvclock_vcpu_time_info *)mem;

	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[1], 1);
	TEST_ASSERT(pvti->system_time || pvti->tsc_timestamp,
		    "kvmclock did not write its page");

	/*
	 * The cache pins the page: a conversion revokes the pin. Without a
	 * revocable pin it would wait the whole timeout and fail.
	 */
	revoked = snp_pl_stat("revocations");
	TEST_ASSERT(revoked >= 0, "no %s", SNP_PL_STATS);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 3000, NULL), 0);
	TEST_ASSERT(snp_pl_stat("revocations") > revoked,
		    "the conversion did not revoke kvmclock's pin");

	/* Updates now fail to map the page; the guest goes on. */
	set_clock(vm);
	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[1], 2);

	/* Shared again, and cleared: the next update writes it anew. */
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
	memset(mem, 0, PAGE_SIZE);
	set_clock(vm);
	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &uc);
	TEST_ASSERT(pvti->system_time || pvti->tsc_timestamp,
		    "kvmclock does not work again");

	kvm_vm_free(vm);
	close(fd);
	return 0;
}
