// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 emulator and the SNP page lock: a guest "rep outsb" whose buffer
 * is a page that the /dev/snp_page_lock test pool made private. KVM
 * emulates the string I/O and reads the buffer: that read must end
 * KVM_RUN with a memory-fault exit naming the byte (HOST_ACCESS | PRIVATE),
 * not fall back to MMIO (a KVM_EXIT_MMIO read of the buffer's gpa, after
 * which the device got a zero byte) nor fail emulation. Once the page is
 * shared again the instruction runs again and the device gets the guest's
 * data.
 *
 * Then a "rep insb" into a page made private while the VMM answers the
 * port read: writing the byte, as KVM completes the I/O at the next
 * KVM_RUN, meets the private page. The run ends with the memory-fault
 * exit, nothing written and the instruction not retired; once the page is
 * shared the guest reads the port again and gets the byte.
 */
#include "snp_pl_kvm.h"

#define POOL_GPA	0xc0000000ul
#define POOL_SLOT	10
#define NPAGES		2
#define PORT		0x80
#define OFFSET		0x123
#define BYTE		0xa7
#define IN_OFFSET	0x456
#define IN_BYTE		0x3c

static void guest_code(void)
{
	uint8_t *buf = (uint8_t *)POOL_GPA + PAGE_SIZE + OFFSET;
	uint8_t *dst = (uint8_t *)POOL_GPA + IN_OFFSET;
	unsigned long count = 1;

	WRITE_ONCE(*buf, BYTE);
	GUEST_SYNC(1);
	/* RCX counts down: an output of each. */
	asm volatile("rep outsb" : "+S"(buf), "+c"(count) : "d"(PORT)
		     : "memory");
	count = 1;
	asm volatile("rep insb" : "+D"(dst), "+c"(count) : "d"(PORT)
		     : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(*((uint8_t *)POOL_GPA + IN_OFFSET)), IN_BYTE);
	GUEST_DONE();
}

/*
 * Run to the guest's next one-byte access to PORT in @direction; returns
 * the byte's place in the run structure.
 */
static uint8_t *run_to_port(struct kvm_vcpu *vcpu, uint8_t direction)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
		    "expected KVM_EXIT_IO, got %s",
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT_EQ(run->io.port, PORT);
	TEST_ASSERT_EQ(run->io.direction, direction);
	TEST_ASSERT_EQ(run->io.size, 1);
	TEST_ASSERT_EQ(run->io.count, 1);
	return (uint8_t *)run + run->io.data_offset;
}

int main(void)
{
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

	snp_pl_run_to_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ((uint8_t)mem[PAGE_SIZE + OFFSET], BYTE);

	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_PRIVATE, 0, 0, NULL), 0);
	snp_pl_expect_fault(vcpu, POOL_GPA + PAGE_SIZE + OFFSET, 1,
			    SNP_PL_GUEST_FLAGS);

	TEST_ASSERT_EQ(snp_pl_convert(fd, mem + PAGE_SIZE, PAGE_SIZE,
				      SNP_PL_STATE_SHARED, 0, 0, NULL), 0);
	TEST_ASSERT_EQ(*run_to_port(vcpu, KVM_EXIT_IO_OUT), BYTE);

	/* rep insb: the page goes private while the VMM answers. */
	*run_to_port(vcpu, KVM_EXIT_IO_IN) = IN_BYTE;
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_PRIVATE,
				      0, 0, NULL), 0);
	snp_pl_expect_fault(vcpu, POOL_GPA + IN_OFFSET, 1, SNP_PL_GUEST_FLAGS);
	TEST_ASSERT_EQ(snp_pl_convert(fd, mem, PAGE_SIZE, SNP_PL_STATE_SHARED,
				      0, 0, NULL), 0);
	TEST_ASSERT_EQ((uint8_t)mem[IN_OFFSET], 0);
	/* Not retired: the guest reads the port again. */
	*run_to_port(vcpu, KVM_EXIT_IO_IN) = IN_BYTE;

	snp_pl_run_to_ucall(vcpu, UCALL_DONE, &uc);
	TEST_ASSERT_EQ((uint8_t)mem[IN_OFFSET], IN_BYTE);
	kvm_vm_free(vm);
	close(fd);
	return 0;
}
