/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the KVM selftests of the SNP page lock: guest memory backed by
 * the /dev/snp_page_lock test pool, whose pages TEST_CONVERT makes private
 * or shared in place, as a guest's page-state change would.
 */
#ifndef SELFTEST_KVM_SNP_PL_KVM_H
#define SELFTEST_KVM_SNP_PL_KVM_H

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/snp_page_lock.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define SNP_PL_DEV		"/dev/snp_page_lock"
#define SNP_PL_PARAMS		"/sys/module/snp_page_lock/parameters/"
#define SNP_PL_KVM_PARAMS	"/sys/module/kvm/parameters/"
#define SNP_PL_STATS		"/sys/kernel/debug/snp_page_lock/stats"

#define SNP_PL_GUEST_FLAGS	(KVM_MEMORY_EXIT_FLAG_HOST_ACCESS | \
				 KVM_MEMORY_EXIT_FLAG_PRIVATE)

static const struct vm_shape snp_pl_protected_shape = {
	.mode = VM_MODE_DEFAULT,
	.type = KVM_X86_SW_PROTECTED_VM,
};

/* Skip unless the layer, its test pool and SW_PROTECTED VMs are there. */
static inline int snp_pl_require(void)
{
	int fd;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) &
		     BIT(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_SNP_PAGE_LOCK) == 1);
	fd = open(SNP_PL_DEV, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open %s: %s", SNP_PL_DEV, strerror(errno));
	return fd;
}

/* As snp_pl_require(), and guest_memfd converted in place is offered. */
static inline int snp_pl_gmem_require(void)
{
	int fd = snp_pl_require();

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_MMAP);
	return fd;
}

/*
 * The VMM's read of a private page gets SIGBUS: snp_pl_catch_sigbus()
 * installs a handler (process-wide; @old, if not NULL, receives the one it
 * replaces), then snp_pl_read_sigbus() reads the aligned 8 bytes at @p in
 * the calling thread and says whether that raised SIGBUS.
 */
static __thread sigjmp_buf snp_pl_sigbus_env;

static inline void snp_pl_on_sigbus(int sig)
{
	siglongjmp(snp_pl_sigbus_env, 1);
}

static inline void snp_pl_catch_sigbus(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = snp_pl_on_sigbus };

	TEST_ASSERT_EQ(sigaction(SIGBUS, &sa, old), 0);
}

static inline bool snp_pl_read_sigbus(const void *p, uint64_t *val)
{
	const uint64_t *q = (const uint64_t *)((uintptr_t)p & ~7ul);
	uint64_t v;

	if (sigsetjmp(snp_pl_sigbus_env, 1))
		return true;
	v = READ_ONCE(*q);
	if (val)
		*val = v;
	return false;
}

/*
 * Back guest pages [@gpa, @gpa + @npages pages) of a new memslot with the
 * test pool of @fd (at pool page @pgoff): the memslot's host memory is
 * replaced by a shared mapping of the pool, at the same address. Returns
 * that address.
 */
static inline char *snp_pl_pool_region_add(struct kvm_vm *vm, int fd,
					   uint64_t gpa, uint32_t slot,
					   uint64_t npages, off_t pgoff)
{
	struct userspace_mem_region *region;
	void *p;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot,
				    npages, 0);
	region = memslot2region(vm, slot);
	p = mmap(region->host_mem, npages * getpagesize(),
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 pgoff * getpagesize());
	TEST_ASSERT(p == region->host_mem, "mmap of the test pool: %s",
		    strerror(errno));
	memset(p, 0, npages * getpagesize());
	return p;
}

/*
 * A memslot backed by a new guest_memfd converted in place
 * (GUEST_MEMFD_FLAG_MMAP | @gmem_flags): the memslot's userspace_addr is a
 * shared mapping of the guest_memfd itself, so one page serves the guest
 * shared (through the hva) and private. Returns the guest_memfd; *@hva is
 * the mapping.
 */
static inline int snp_pl_gmem_region_add(struct kvm_vm *vm, uint64_t gpa,
					 uint32_t slot, uint64_t npages,
					 uint64_t gmem_flags, char **hva)
{
	struct userspace_mem_region *region;
	size_t size = npages * getpagesize();
	int gmem;
	void *p;

	gmem = vm_create_guest_memfd(vm, size,
				     GUEST_MEMFD_FLAG_MMAP | gmem_flags);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot, npages,
		   KVM_MEM_GUEST_MEMFD, gmem, 0);
	region = memslot2region(vm, slot);
	p = mmap(region->host_mem, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, gmem, 0);
	TEST_ASSERT(p == region->host_mem, "mmap of the guest_memfd: %s",
		    strerror(errno));
	*hva = p;
	return gmem;
}

/* KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd; returns 0 or -errno. */
static inline int snp_pl_gmem_convert(int gmem, uint64_t offset, uint64_t size,
				      bool private, bool wait, __u64 *off)
{
	struct kvm_memory_attributes2 a = {
		.offset = offset,
		.size = size,
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
		.flags = wait ? KVM_SET_MEMORY_ATTRIBUTES2_WAIT : 0,
		.error_offset = ~0ULL,
	};
	int ret = ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a) ? -errno : 0;

	if (off)
		*off = a.error_offset;
	return ret;
}

/* The QUERY state (without PINNED) of the page at @addr, through @fd. */
static inline int snp_pl_state(int fd, void *addr)
{
	__u8 s;
	struct snp_pl_query q = {
		.size = sizeof(q),
		.addr = (__u64)(unsigned long)addr,
		.len = getpagesize(),
		.states = (__u64)(unsigned long)&s,
	};

	if (ioctl(fd, SNP_PL_IOC_QUERY, &q))
		return -errno;
	return s & ~SNP_PL_STATE_PINNED;
}

/* TEST_CONVERT; returns 0 or -errno. */
static inline int snp_pl_convert(int fd, void *addr, size_t len, __u32 to,
				 __u32 flags, __u32 timeout_ms, __u64 *off)
{
	struct snp_pl_convert c = {
		.size = sizeof(c),
		.flags = flags,
		.addr = (__u64)(unsigned long)addr,
		.len = len,
		.to = to,
		.timeout_ms = timeout_ms,
		.error_offset = ~0ULL,
	};
	int ret = ioctl(fd, SNP_PL_IOC_TEST_CONVERT, &c) ? -errno : 0;

	if (off)
		*off = c.error_offset;
	return ret;
}

static inline int snp_pl_range(int fd, unsigned long req, void *addr,
			       size_t len)
{
	struct snp_pl_range r = {
		.size = sizeof(r),
		.addr = (__u64)(unsigned long)addr,
		.len = len,
	};

	return ioctl(fd, req, &r) ? -errno : 0;
}

/* Write a module parameter; returns 0 or -errno. */
static inline int snp_pl_set_param(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

/* A counter of <debugfs>/snp_page_lock/stats, or -1. */
static inline long snp_pl_stat(const char *name)
{
	char line[128], key[64];
	long val, ret = -1;
	FILE *f = fopen(SNP_PL_STATS, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", key, &val) == 2 &&
		    !strcmp(key, name)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * Run the vCPU once; it must stop with a memory-fault exit for
 * [@gpa, @gpa + @size) with @flags.
 */
static inline void snp_pl_expect_fault(struct kvm_vcpu *vcpu, uint64_t gpa,
				       uint64_t size, uint64_t flags)
{
	int r = _vcpu_run(vcpu);

	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "KVM_RUN: expected -EFAULT, got %d (errno %d), exit %s",
		    r, errno, exit_reason_str(vcpu->run->exit_reason));
	TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	TEST_ASSERT_EQ(vcpu->run->memory_fault.gpa, gpa);
	TEST_ASSERT_EQ(vcpu->run->memory_fault.size, size);
	TEST_ASSERT_EQ(vcpu->run->memory_fault.flags, flags);
}

/*
 * Make the pool page at @hva private; the vCPU, run twice, must stop each
 * time with a memory-fault exit for the page at @gpa (HOST_ACCESS |
 * PRIVATE): the guest does not move on. Then make the page shared again.
 */
static inline void snp_pl_expect_fault_while_private(int fd,
						     struct kvm_vcpu *vcpu,
						     void *hva, uint64_t gpa)
{
	TEST_ASSERT_EQ(snp_pl_convert(fd, hva, getpagesize(),
				      SNP_PL_STATE_PRIVATE, 0, 0, NULL), 0);
	snp_pl_expect_fault(vcpu, gpa, getpagesize(), SNP_PL_GUEST_FLAGS);
	snp_pl_expect_fault(vcpu, gpa, getpagesize(), SNP_PL_GUEST_FLAGS);
	TEST_ASSERT_EQ(snp_pl_convert(fd, hva, getpagesize(),
				      SNP_PL_STATE_SHARED, 0, 0, NULL), 0);
}

/* Run the vCPU until its next ucall, which must be @cmd; return it. */
static inline uint64_t snp_pl_run_to_ucall(struct kvm_vcpu *vcpu,
					   uint64_t cmd, struct ucall *uc)
{
	uint64_t got;

	vcpu_run(vcpu);
	got = get_ucall(vcpu, uc);
	if (got == UCALL_ABORT)
		REPORT_GUEST_ASSERT(*uc);
	TEST_ASSERT(got == cmd, "expected ucall %lu, got %lu (exit %s)",
		    cmd, got, exit_reason_str(vcpu->run->exit_reason));
	return got;
}

/*
 * One KVM_RUN of a torture vCPU whose guest loops on GUEST_SYNC, against
 * conversions of [@lo, @lo + @size): false after a GUEST_SYNC, true after
 * a memory-fault exit for a gpa in that range, whose flags (HOST_ACCESS
 * and/or PRIVATE, at least @required) go to *@flags; the vCPU then just
 * runs again. Any other outcome fails the test.
 */
static inline bool snp_pl_torture_run(struct kvm_vcpu *vcpu, uint64_t lo,
				      uint64_t size, uint64_t required,
				      uint64_t *flags)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int r = _vcpu_run(vcpu);

	if (r) {
		TEST_ASSERT(errno == EFAULT &&
			    run->exit_reason == KVM_EXIT_MEMORY_FAULT,
			    "KVM_RUN: %d errno %d exit %s", r, errno,
			    exit_reason_str(run->exit_reason));
		TEST_ASSERT(run->memory_fault.gpa >= lo &&
			    run->memory_fault.gpa < lo + size,
			    "fault on gpa %llx", run->memory_fault.gpa);
		TEST_ASSERT(!(run->memory_fault.flags & ~SNP_PL_GUEST_FLAGS) &&
			    (run->memory_fault.flags & required) == required,
			    "flags %llx", run->memory_fault.flags);
		*flags = run->memory_fault.flags;
		return true;
	}
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return false;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("unexpected exit %s", exit_reason_str(run->exit_reason));
	}
	return false;
}

#endif /* SELFTEST_KVM_SNP_PL_KVM_H */
