// SPDX-License-Identifier: GPL-2.0
/*
 * snp_pl_map_bench: what the SNP page lock costs kvm_vcpu_map(). Creates a
 * VM with one vCPU and one page of guest memory, and runs the in-kernel
 * benchmark of the VM's debugfs file snp_map_bench
 * (CONFIG_SNP_PAGE_LOCK_BENCH): kvm_vcpu_map() + kvm_vcpu_unmap() of that
 * page, and get_page() + put_page() of it, in one call. Then, when
 * guest_memfd converts in place (the layer on), what a conversion of
 * guest_memfd costs from the VMM: KVM_SET_MEMORY_ATTRIBUTES2 to private
 * and back, of 1 and of 512 allocated pages, timed around the ioctls.
 * Prints the CSV lines (ops kvm_map, kvm_get_put, gmem_1p, gmem_2m, in
 * the format of the layer's benchmark) on stdout.
 *
 *   snp_pl_map_bench [loops [runs]]
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define BENCH_GPA	0xc0000000ul
#define BENCH_SLOT	10
#define GMEM_PAGES	512

static const struct vm_shape protected_shape = {
	.mode = VM_MODE_DEFAULT,
	.type = KVM_X86_SW_PROTECTED_VM,
};

static void guest_code(void)
{
	GUEST_DONE();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void gmem_convert(int gmem, uint64_t npages, bool private)
{
	struct kvm_memory_attributes2 a = {
		.size = npages * getpagesize(),
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	TEST_ASSERT(!ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a),
		    "KVM_SET_MEMORY_ATTRIBUTES2: %s", strerror(errno));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Op @name: @loops round trips (to private and back) of the first @npages
 * pages of @gmem, @runs times; one CSV line with the median ns per round
 * trip (and the fastest and slowest run).
 */
static void gmem_bench(const char *name, int gmem, uint64_t npages,
		       unsigned long loops, unsigned long runs)
{
	uint64_t ns[16], t;
	unsigned long r, i;

	runs = runs > 16 ? 16 : runs;
	for (r = 0; r < runs; r++) {
		t = now_ns();
		for (i = 0; i < loops; i++) {
			gmem_convert(gmem, npages, true);
			gmem_convert(gmem, npages, false);
		}
		ns[r] = (now_ns() - t) / loops;
	}
	qsort(ns, runs, sizeof(ns[0]), cmp_u64);
	printf("%s,1,hot,%lu,0,%lu,%lu,%lu.000,%lu.000,%lu.000,%lu.000,0,0,0,0,ok\n",
	       name, npages, loops, runs, ns[runs / 2], ns[0], ns[runs - 1],
	       ns[runs / 2]);
}

/* The layer's "enabled" line of its debugfs stats: 1, or 0 (off, absent). */
static int layer_enabled(void)
{
	FILE *f = fopen("/sys/kernel/debug/snp_page_lock/stats", "r");
	int on = 0;

	if (!f)
		return 0;
	if (fscanf(f, "enabled %d", &on) != 1)
		on = 0;
	fclose(f);
	return on;
}

/* In-place guest_memfd conversions, when the layer is on. */
static void gmem_benches(unsigned long loops, unsigned long runs)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	char *p;
	int gmem;

	if (!(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)) ||
	    !(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & GUEST_MEMFD_FLAG_MMAP)) {
		const char *why = layer_enabled() ? "error: no in-place guest_memfd" :
						    "skipped: layer off";

		printf("gmem_1p,1,hot,1,0,0,0,0,0,0,0,0,0,0,0,%s\n", why);
		printf("gmem_2m,1,hot,%d,0,0,0,0,0,0,0,0,0,0,0,%s\n", GMEM_PAGES, why);
		return;
	}
	vm = vm_create_shape_with_one_vcpu(protected_shape, &vcpu, guest_code);
	gmem = vm_create_guest_memfd(vm, GMEM_PAGES * getpagesize(),
				     GUEST_MEMFD_FLAG_MMAP |
				     GUEST_MEMFD_FLAG_INIT_SHARED);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, BENCH_GPA, BENCH_SLOT, GMEM_PAGES,
		   KVM_MEM_GUEST_MEMFD, gmem, 0);
	/* Allocate every page: the VMM writes them through its mapping. */
	p = mmap(NULL, GMEM_PAGES * getpagesize(), PROT_READ | PROT_WRITE,
		 MAP_SHARED, gmem, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap guest_memfd: %s", strerror(errno));
	memset(p, 1, GMEM_PAGES * getpagesize());

	gmem_bench("gmem_1p", gmem, 1, loops, runs);
	gmem_bench("gmem_2m", gmem, GMEM_PAGES, loops / 64 ?: 1, runs);
	munmap(p, GMEM_PAGES * getpagesize());
	kvm_vm_free(vm);
	close(gmem);
}

int main(int argc, char **argv)
{
	unsigned long loops = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	unsigned long runs = argc > 2 ? strtoul(argv[2], NULL, 0) : 5;
	char path[128], cmd[96], out[512];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	ssize_t n;
	int fd;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BENCH_GPA,
				    BENCH_SLOT, 1, 0);
	memset(addr_gpa2hva(vm, BENCH_GPA), 1, getpagesize());

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/snp_map_bench",
		 getpid(), vm->fd);
	fd = open(path, O_RDWR);
	TEST_REQUIRE(fd >= 0);
	n = snprintf(cmd, sizeof(cmd), "gfn=%lu loops=%lu runs=%lu",
		     BENCH_GPA >> 12, loops, runs);
	TEST_ASSERT(write(fd, cmd, n) == n, "%s: %s", cmd, strerror(errno));
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	TEST_ASSERT(n > 0, "read %s: %s", path, strerror(errno));
	out[n] = '\0';
	fputs(out, stdout);
	close(fd);

	/*
	 * Keep the first VM until the end: creating the first VM and
	 * destroying the last one flips preempt_notifier_key, and under QEMU
	 * TCG a CPU in __schedule() has been seen to trap on the int3 of that
	 * live patch (an "Oops: int3" of the benchmark kernel). One flip
	 * each way per run, not one per VM.
	 */
	gmem_benches(loops / 100 ?: 1, runs);
	kvm_vm_free(vm);
	return 0;
}
