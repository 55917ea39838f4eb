// SPDX-License-Identifier: GPL-2.0
/*
 * snp_pl_vm_demo: a VM whose memory is converted in place, and a host
 * access that meets a private page.
 *
 * The guest's memory is a guest_memfd converted in place
 * (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED; the VMM maps it
 * and the memslot's userspace_addr is that mapping). The guest writes a
 * byte into a page of it, the VMM makes that page private
 * (KVM_SET_MEMORY_ATTRIBUTES2: the same page, its content kept), its own
 * read of the page now gets SIGBUS, the guest sends the byte to a port
 * with "rep outsb" (KVM reads it from the page: a host access), KVM_RUN
 * stops with KVM_EXIT_MEMORY_FAULT naming the byte, the VMM makes the page
 * shared again, re-enters, and the port receives the guest's byte. Prints
 * the timeline; exit status 0 if all of it happened as described.
 */
#include <time.h>

#include "snp_pl_kvm.h"

#define GMEM_GPA	0xc0000000ul
#define GMEM_SLOT	10
#define PORT		0x80
#define OFFSET		0x40
#define BYTE		0x5a

static void guest_code(void)
{
	uint8_t *buf = (uint8_t *)GMEM_GPA + OFFSET;

	WRITE_ONCE(*buf, BYTE);
	GUEST_SYNC(1);
	asm volatile("rep outsb" : "+S"(buf) : "c"(1ul), "d"(PORT) : "memory");
	GUEST_DONE();
}

static struct timespec t0;
/* Does the VMM's read of @p get SIGBUS? */
static bool vmm_read_sigbus(const char *p)
{
	struct sigaction old;
	bool ret;

	snp_pl_catch_sigbus(&old);
	ret = snp_pl_read_sigbus(p, NULL);
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

static void say(const char *who, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("[%8.2f ms] %-5s %s\n", (ts.tv_sec - t0.tv_sec) * 1e3 +
	       (ts.tv_nsec - t0.tv_nsec) / 1e6, who, what);
	fflush(stdout);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct kvm_vm *vm;
	struct ucall uc;
	char line[160];
	char *mem;
	int fd, gmem, r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = snp_pl_gmem_require();
	vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &vcpu,
					   guest_code);
	gmem = snp_pl_gmem_region_add(vm, GMEM_GPA, GMEM_SLOT, 1,
				      GUEST_MEMFD_FLAG_INIT_SHARED, &mem);
	virt_map(vm, GMEM_GPA, GMEM_GPA, 1);
	run = vcpu->run;
	say("vmm", "SW_PROTECTED VM; gpa 0xc0000000 is a guest_memfd page the VMM maps");

	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	snprintf(line, sizeof(line), "wrote %#x at gpa %#lx", BYTE,
		 GMEM_GPA + OFFSET);
	say("guest", line);

	TEST_ASSERT_EQ(snp_pl_gmem_convert(gmem, 0, PAGE_SIZE, true, true,
					   NULL), 0);
	TEST_ASSERT_EQ(snp_pl_state(fd, mem), SNP_PL_STATE_PRIVATE);
	say("vmm", "KVM_SET_MEMORY_ATTRIBUTES2: the page is private now (in place)");
	TEST_ASSERT(vmm_read_sigbus(mem + OFFSET), "the VMM read a private page");
	say("vmm", "its own read of the page: SIGBUS");

	say("guest", "rep outsb from that byte to port 0x80 (KVM reads it)");
	r = _vcpu_run(vcpu);
	TEST_ASSERT(r == -1 && errno == EFAULT &&
		    run->exit_reason == KVM_EXIT_MEMORY_FAULT,
		    "expected a memory fault, got %d, exit %s", r,
		    exit_reason_str(run->exit_reason));
	snprintf(line, sizeof(line),
		 "KVM_RUN: -1 EFAULT, KVM_EXIT_MEMORY_FAULT gpa %#llx size %llu flags%s%s",
		 run->memory_fault.gpa, run->memory_fault.size,
		 run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_HOST_ACCESS ?
		 " HOST_ACCESS" : "",
		 run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE ?
		 " PRIVATE" : "");
	say("kvm", line);
	TEST_ASSERT_EQ(run->memory_fault.gpa, GMEM_GPA + OFFSET);
	TEST_ASSERT_EQ(run->memory_fault.flags, SNP_PL_GUEST_FLAGS);

	TEST_ASSERT_EQ(snp_pl_gmem_convert(gmem, 0, PAGE_SIZE, false, true,
					   NULL), 0);
	snprintf(line, sizeof(line),
		 "KVM_SET_MEMORY_ATTRIBUTES2: shared again, it reads %#x; re-enter the vCPU",
		 (uint8_t)mem[OFFSET]);
	say("vmm", line);
	TEST_ASSERT_EQ((uint8_t)mem[OFFSET], BYTE);

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO, "expected port I/O, got %s",
		    exit_reason_str(run->exit_reason));
	snprintf(line, sizeof(line), "KVM_EXIT_IO: port %#x received %#x",
		 run->io.port, *((uint8_t *)run + run->io.data_offset));
	say("kvm", line);
	TEST_ASSERT_EQ(*((uint8_t *)run + run->io.data_offset), BYTE);

	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &uc);
	say("guest", "done: the guest's data reached the device, nothing was lost");
	kvm_vm_free(vm);
	close(gmem);
	close(fd);
	return 0;
}
