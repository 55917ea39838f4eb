// SPDX-License-Identifier: GPL-2.0
/*
 * private_mem_conversions_test, in place: each vCPU converts its own chunk
 * of a guest_memfd (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)
 * between shared and private with the KVM_HC_MAP_GPA_RANGE hypercall, and
 * the VMM carries the conversion out on the guest_memfd
 * (KVM_SET_MEMORY_ATTRIBUTES2, wait mode) or, in the second pass, on the
 * VM (KVM_SET_MEMORY_ATTRIBUTES). Shared and private are the same page, so
 * where upstream's test checks that the host keeps seeing the shared copy,
 * this one checks that the guest's data survives every conversion, both
 * ways, and that the host cannot touch a private page (SIGBUS) while it
 * still reads the shared pages around it. The last part punches holes in
 * private memory: the pages are freed (made shared first, G4) and come
 * back zeroed.
 *
 *   snp_pl_gmem_conversions_test [-n nr_vcpus]
 */
#define _GNU_SOURCE
#include <pthread.h>

#include <linux/kvm_para.h>
#include <linux/sizes.h>

#include "snp_pl_kvm.h"

#define BASE_DATA_SLOT		10
#define BASE_DATA_GPA		((uint64_t)(1ull << 32))
#define PER_CPU_DATA_SIZE	((uint64_t)(SZ_2M + PAGE_SIZE))
#define PER_CPU_SIZE		((uint64_t)(2 * SZ_2M))

static void guest_check(uint64_t gpa, uint8_t pattern, uint64_t size)
{
	uint8_t *m = (uint8_t *)gpa;
	uint64_t i;

	for (i = 0; i < size; i++)
		__GUEST_ASSERT(m[i] == pattern, "gpa %#lx: %#x, expected %#x",
			       gpa + i, m[i], pattern);
}

enum {
	SYNC_SHARED,	/* host: check the pattern, write a new one */
	SYNC_PRIVATE,	/* host: every page gives SIGBUS */
};

/* Hypercall flags; KVM passes them through to the VMM. */
#define MAP_GPA_SET_ATTRIBUTES	BIT(0)
#define MAP_GPA_SHARED		BIT(1)
#define MAP_GPA_PUNCH_HOLE	BIT(2)
#define MAP_GPA_VIA_VM		BIT(3)

static void guest_map(uint64_t gpa, uint64_t size, bool shared, bool via_vm)
{
	kvm_hypercall_map_gpa_range(gpa, size, MAP_GPA_SET_ATTRIBUTES |
				    (shared ? MAP_GPA_SHARED : 0) |
				    (via_vm ? MAP_GPA_VIA_VM : 0));
}

static void guest_sync_shared(uint64_t gpa, uint64_t size, uint8_t cur,
			      uint8_t new)
{
	GUEST_SYNC5(SYNC_SHARED, gpa, size, cur, new);
}

static void guest_sync_private(uint64_t gpa, uint64_t size)
{
	GUEST_SYNC3(SYNC_PRIVATE, gpa, size);
}

static const struct {
	uint64_t offset, size;
} test_ranges[] = {
	{ 0, PAGE_SIZE },
	{ 0, SZ_2M },
	{ PAGE_SIZE, PAGE_SIZE },
	{ PAGE_SIZE, SZ_2M },
	{ SZ_2M, PAGE_SIZE },
};

static void guest_test_in_place(uint64_t base, bool via_vm)
{
	const uint8_t init_p = 0xcc;
	uint64_t j;
	int i;

	/* Shared at first (INIT_SHARED): the host sees what the guest wrote. */
	memset((void *)base, 0xaa, PER_CPU_DATA_SIZE);
	guest_sync_shared(base, PER_CPU_DATA_SIZE, 0xaa, init_p);
	guest_check(base, init_p, PER_CPU_DATA_SIZE);

	for (i = 0; i < ARRAY_SIZE(test_ranges); i++) {
		uint64_t gpa = base + test_ranges[i].offset;
		uint64_t size = test_ranges[i].size;
		uint64_t end = gpa + size;

		/* Written shared, converted: the guest still reads it. */
		memset((void *)gpa, 0x11, size);
		guest_map(gpa, size, false, via_vm);
		guest_check(gpa, 0x11, size);
		memset((void *)gpa, 0x22, size);
		guest_sync_private(gpa, size);
		guest_check(gpa, 0x22, size);
		if (gpa > base)
			guest_check(base, init_p, gpa - base);
		if (end < base + PER_CPU_DATA_SIZE)
			guest_check(end, init_p, base + PER_CPU_DATA_SIZE - end);

		/* Odd pages back to shared: the host reads the private data. */
		for (j = 0; j < size; j += PAGE_SIZE) {
			if ((j >> PAGE_SHIFT) & 1) {
				guest_map(gpa + j, PAGE_SIZE, true, via_vm);
				guest_sync_shared(gpa + j, PAGE_SIZE, 0x22,
						  0x33);
				guest_check(gpa + j, 0x33, PAGE_SIZE);
			} else if (j < 8 * PAGE_SIZE || j + PAGE_SIZE == size) {
				guest_sync_private(gpa + j, PAGE_SIZE);
			}
		}

		/* All shared again; the host checks and rewrites it. */
		guest_map(gpa, size, true, via_vm);
		for (j = 0; j < size; j += PAGE_SIZE)
			guest_check(gpa + j, (j >> PAGE_SHIFT) & 1 ? 0x33 : 0x22,
				    PAGE_SIZE);
		memset((void *)gpa, 0x33, size);
		guest_sync_shared(gpa, size, 0x33, 0x44);
		guest_check(gpa, 0x44, size);
		memset((void *)gpa, init_p, size);
	}
}

static void guest_punch_hole(uint64_t gpa, uint64_t size)
{
	kvm_hypercall_map_gpa_range(gpa, size, MAP_GPA_PUNCH_HOLE);
}

/* Private memory freed by a punched hole comes back zeroed, private. */
static void guest_test_punch_hole(uint64_t base)
{
	int i;

	guest_map(base, PER_CPU_DATA_SIZE, false, false);
	for (i = 0; i < ARRAY_SIZE(test_ranges); i++) {
		uint64_t gpa = base + test_ranges[i].offset;
		uint64_t size = test_ranges[i].size;

		memset((void *)base, 0xcc, PER_CPU_DATA_SIZE);
		guest_punch_hole(gpa, size);
		guest_check(gpa, 0, size);
		guest_sync_private(gpa, size);
	}
	guest_map(base, PER_CPU_DATA_SIZE, true, false);
	guest_check(base, 0xcc, PAGE_SIZE);
}

static void guest_code(uint64_t base)
{
	guest_test_in_place(base, false);
	guest_test_in_place(base, true);
	guest_test_punch_hole(base);
	GUEST_DONE();
}

static int gmem;
static char *hva_base;
static bool run_vcpus;

static void handle_hypercall(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t gpa = run->hypercall.args[0];
	uint64_t size = run->hypercall.args[1] * PAGE_SIZE;
	uint64_t flags = run->hypercall.args[2];
	bool shared = flags & MAP_GPA_SHARED;
	uint64_t off = gpa - BASE_DATA_GPA;
	__u64 err;
	int r;

	TEST_ASSERT(run->hypercall.nr == KVM_HC_MAP_GPA_RANGE,
		    "expected MAP_GPA_RANGE, got %llu", run->hypercall.nr);
	if (flags & MAP_GPA_PUNCH_HOLE) {
		r = fallocate(gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			      off, size);
		TEST_ASSERT(!r, "punch hole: %s", strerror(errno));
	} else if (flags & MAP_GPA_VIA_VM) {
		vm_set_memory_attributes(vcpu->vm, gpa, size, shared ? 0 :
					 KVM_MEMORY_ATTRIBUTE_PRIVATE);
	} else {
		r = snp_pl_gmem_convert(gmem, off, size, !shared, true, &err);
		TEST_ASSERT(!r, "convert [%#lx, +%#lx) to %s: %d at %#llx",
			    off, size, shared ? "shared" : "private", r, err);
	}
	run->hypercall.ret = 0;
}

static void handle_sync(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	uint64_t gpa = uc->args[1], size = uc->args[2], i, j;
	uint8_t *hva = (uint8_t *)hva_base + (gpa - BASE_DATA_GPA);

	for (i = 0; i < size; i += PAGE_SIZE) {
		if (uc->args[0] == SYNC_PRIVATE) {
			TEST_ASSERT(snp_pl_read_sigbus(hva + i, NULL),
				    "the VMM read private gpa %#lx", gpa + i);
			continue;
		}
		TEST_ASSERT_EQ(uc->args[0], SYNC_SHARED);
		for (j = 0; j < PAGE_SIZE; j++)
			TEST_ASSERT(hva[i + j] == uc->args[3],
				    "host: gpa %#lx holds %#x, expected %#lx",
				    gpa + i + j, hva[i + j], uc->args[3]);
		memset(hva + i, uc->args[4], PAGE_SIZE);
	}
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	while (!READ_ONCE(run_vcpus))
		;
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_HYPERCALL) {
			handle_hypercall(vcpu);
			continue;
		}
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "exit %s", exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_SYNC:
			handle_sync(vcpu, &uc);
			break;
		case UCALL_DONE:
			return NULL;
		default:
			TEST_FAIL("unknown ucall %lu", uc.cmd);
		}
	}
}

int main(int argc, char **argv)
{
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];
	pthread_t threads[KVM_MAX_VCPUS];
	uint32_t nr_vcpus = 2, i;
	long leaked, pl;
	struct kvm_vm *vm;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			printf("usage: %s [-n nr_vcpus]\n", argv[0]);
			exit(KSFT_FAIL);
		}
		nr_vcpus = atoi_positive("nr_vcpus", optarg);
	}
	TEST_ASSERT(nr_vcpus <= KVM_MAX_VCPUS, "at most %d vCPUs",
		    KVM_MAX_VCPUS);

	pl = snp_pl_gmem_require();
	leaked = snp_pl_stat("leaked_pages");
	snp_pl_catch_sigbus(NULL);

	vm = __vm_create_with_vcpus(snp_pl_protected_shape, nr_vcpus, 0,
				    guest_code, vcpus);
	vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, BIT(KVM_HC_MAP_GPA_RANGE));
	gmem = snp_pl_gmem_region_add(vm, BASE_DATA_GPA, BASE_DATA_SLOT,
				      nr_vcpus * PER_CPU_SIZE / PAGE_SIZE,
				      GUEST_MEMFD_FLAG_INIT_SHARED, &hva_base);
	for (i = 0; i < nr_vcpus; i++) {
		uint64_t gpa = BASE_DATA_GPA + i * PER_CPU_SIZE;

		vcpu_args_set(vcpus[i], 1, gpa);
		virt_map(vm, gpa, gpa, PER_CPU_DATA_SIZE / PAGE_SIZE);
		pthread_create(&threads[i], NULL, vcpu_thread, vcpus[i]);
	}
	WRITE_ONCE(run_vcpus, true);
	for (i = 0; i < nr_vcpus; i++)
		pthread_join(threads[i], NULL);

	kvm_vm_free(vm);
	/* The guest_memfd outlives the VM; freeing it leaks nothing (G4). */
	TEST_ASSERT(!fallocate(gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       0, nr_vcpus * PER_CPU_SIZE),
		    "punch hole: %s", strerror(errno));
	munmap(hva_base, nr_vcpus * PER_CPU_SIZE);
	close(gmem);
	TEST_ASSERT_EQ(snp_pl_stat("leaked_pages"), leaked);
	close(pl);
	return 0;
}
