// SPDX-License-Identifier: GPL-2.0
/*
 * gfn_to_pfn_cache and the SNP page lock: kvmclock's cache (pv_time) maps
 * a page of the /dev/snp_page_lock test pool and holds a revocable pin on
 * it. A conversion of that page to private revokes the pin (the cache is
 * invalidated) instead of waiting for it until the timeout; kvmclock
 * updates then leave the page alone; once the page is shared again
 * kvmclock works again. The guest runs throughout.
 *
 * Then a process exits with kvmclock live on a page of its own memory:
 * exit_mmap() frees that page, and the cache must have dropped its pin by
 * then (the layer counts a page freed pinned in "freed_pinned").
 */
#include <asm/kvm_para.h>
#include <asm/pvclock.h>
#include <asm/pvclock-abi.h>

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>

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

static void guest_clock_on(uint64_t gpa)
{
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, gpa | KVM_MSR_ENABLED);
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* In a child: a VM whose kvmclock is live when the process exits. */
static void exit_with_clock_live(void)
{
	struct pvclock_vcpu_time_info *pvti;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	vm_vaddr_t gva;
	uint64_t gpa;

	cpu_set_t cpu0;
	void *dummy;

	/* The page joins this CPU's LRU batch; it is drained below. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(cpu0), &cpu0), "affinity");

	vm = vm_create_with_one_vcpu(&vcpu, guest_clock_on);
	gva = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, gva);
	pvti = addr_gpa2hva(vm, gpa);
	vcpu_args_set(vcpu, 1, gpa);
	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(pvti->system_time || pvti->tsc_timestamp,
		    "kvmclock did not write its page");
	/*
	 * MADV_COLD drains this CPU's LRU batch, whose reference would keep
	 * the page alive past the exit.
	 */
	dummy = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(dummy != MAP_FAILED, "mmap");
	TEST_ASSERT(!madvise(dummy, PAGE_SIZE, MADV_COLD), "MADV_COLD");
	/* No kvm_vm_free(): the mm goes first, the VM after it. */
	_exit(0);
}

static void test_exit_with_clock_live(void)
{
	long before = snp_pl_stat("freed_pinned");
	int status;
	pid_t pid;

	TEST_ASSERT(before >= 0, "no %s", SNP_PL_STATS);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid)
		exit_with_clock_live();
	TEST_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "child status %#x", status);
	TEST_ASSERT_EQ(snp_pl_stat("freed_pinned"), before);
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

	test_exit_with_clock_live();
	return 0;
}
