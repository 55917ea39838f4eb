// SPDX-License-Identifier: GPL-2.0
/*
 * What a half-shared guest costs in host memory, with upstream's layout
 * (shared memory in anonymous memory, private memory in a guest_memfd:
 * two pages for every guest page that was ever both) and converted in
 * place (one guest_memfd, GUEST_MEMFD_FLAG_MMAP | INIT_SHARED).
 *
 * The guest writes all of its RAM while shared (firmware, boot), has it
 * all converted to private and writes it again (accepted memory), then has
 * the upper half converted back to shared and writes that (bounce
 * buffers, rings). Each layout runs in a child process of its own memory
 * cgroup; the cost is the cgroup's memory.current growth over the guest's
 * run. Upstream's layout is measured twice: as KVM leaves it (no discard)
 * and with a VMM that discards the other copy at every conversion
 * (MADV_DONTNEED / FALLOC_FL_PUNCH_HOLE).
 *
 * Fails unless in place costs at most 55% of upstream's layout without
 * discard, and no more than upstream's with discard plus 10%.
 *
 *   snp_pl_gmem_footprint_test [MiB]
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/sizes.h>

#include "snp_pl_kvm.h"

#define GPA		0xc0000000ul
#define SLOT		10
#define CGROOT		"/sys/fs/cgroup"

enum layout { TWO_PAGES, TWO_PAGES_DISCARD, IN_PLACE, NR_LAYOUTS };

static const char * const layout_name[] = {
	[TWO_PAGES] = "upstream, no discard",
	[TWO_PAGES_DISCARD] = "upstream, discard",
	[IN_PLACE] = "in place",
};

static uint64_t npages;

static void guest_write(uint64_t first, uint64_t n, uint8_t byte)
{
	uint64_t i;

	for (i = first; i < first + n; i++)
		WRITE_ONCE(*(uint64_t *)(GPA + i * PAGE_SIZE), byte);
}

static void guest_code(uint64_t n)
{
	guest_write(0, n, 1);
	GUEST_SYNC(1);		/* all to private */
	guest_write(0, n, 2);
	GUEST_SYNC(2);		/* upper half to shared */
	guest_write(n / 2, n - n / 2, 3);
	GUEST_DONE();
}

static long cg_current(const char *cg)
{
	char path[128];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

struct guest {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem;
	char *hva;
};

/* Convert guest pages [@first, @first + @n) of @g in layout @l. */
static void convert(struct guest *g, enum layout l, uint64_t first,
		    uint64_t n, bool private)
{
	uint64_t off = first * PAGE_SIZE, size = n * PAGE_SIZE;

	if (l == IN_PLACE) {
		TEST_ASSERT_EQ(snp_pl_gmem_convert(g->gmem, off, size, private,
						   true, NULL), 0);
		return;
	}
	vm_set_memory_attributes(g->vm, GPA + off, size,
				 private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
	if (l != TWO_PAGES_DISCARD)
		return;
	if (private)
		TEST_ASSERT_EQ(madvise(g->hva + off, size, MADV_DONTNEED), 0);
	else
		vm_guest_mem_punch_hole(g->vm, GPA + off, size);
}

/* Run the guest in layout @l; send memory.current after and before to fd 3. */
static void run_layout(enum layout l, const char *cg)
{
	struct guest g = { .gmem = -1 };
	struct ucall uc;
	long before, after;
	uint64_t i;

	g.vm = vm_create_shape_with_one_vcpu(snp_pl_protected_shape, &g.vcpu,
					     guest_code);
	if (l == IN_PLACE) {
		g.gmem = snp_pl_gmem_region_add(g.vm, GPA, SLOT, npages,
						GUEST_MEMFD_FLAG_INIT_SHARED,
						&g.hva);
	} else {
		vm_mem_add(g.vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, npages,
			   KVM_MEM_GUEST_MEMFD, -1, 0);
		g.hva = addr_gpa2hva(g.vm, GPA);
	}
	virt_map(g.vm, GPA, GPA, npages);
	vcpu_args_set(g.vcpu, 1, npages);

	before = cg_current(cg);
	snp_pl_run_to_ucall(g.vcpu, UCALL_SYNC, &uc);
	convert(&g, l, 0, npages, true);
	snp_pl_run_to_ucall(g.vcpu, UCALL_SYNC, &uc);
	convert(&g, l, npages / 2, npages - npages / 2, false);
	snp_pl_run_to_ucall(g.vcpu, UCALL_DONE, &uc);
	after = cg_current(cg);

	/* The VMM sees what the guest last wrote to its shared half. */
	for (i = npages / 2; i < npages; i++)
		TEST_ASSERT_EQ(*(uint64_t *)(g.hva + i * PAGE_SIZE), 3);
	printf("%s: %ld KiB for %lu KiB of guest RAM\n", layout_name[l],
	       (after - before) >> 10, (unsigned long)(npages * PAGE_SIZE >> 10));
	fflush(stdout);
	/* Through a pipe: the parent compares. */
	TEST_ASSERT_EQ(write(3, &after, sizeof(after)), sizeof(after));
	TEST_ASSERT_EQ(write(3, &before, sizeof(before)), sizeof(before));
	kvm_vm_free(g.vm);
	if (g.gmem >= 0)
		close(g.gmem);
}

/* Run layout @l in a child in memory cgroup @cg; its growth in bytes. */
static long measure(enum layout l)
{
	char cg[64], pid[16];
	long before, after;
	int p[2], status, fd;
	pid_t child;

	snprintf(cg, sizeof(cg), CGROOT "/snp_pl_footprint%d", l);
	TEST_ASSERT(!mkdir(cg, 0755) || errno == EEXIST, "mkdir %s", cg);
	TEST_ASSERT_EQ(pipe(p), 0);
	child = fork();
	TEST_ASSERT(child >= 0, "fork");
	if (!child) {
		char procs[96];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
		snprintf(pid, sizeof(pid), "%d", getpid());
		fd = open(procs, O_WRONLY);
		TEST_ASSERT(fd >= 0 && write(fd, pid, strlen(pid)) > 0,
			    "enter %s", cg);
		close(fd);
		close(p[0]);
		TEST_ASSERT_EQ(dup2(p[1], 3), 3);
		run_layout(l, cg);
		exit(0);
	}
	close(p[1]);
	TEST_ASSERT_EQ(read(p[0], &after, sizeof(after)), sizeof(after));
	TEST_ASSERT_EQ(read(p[0], &before, sizeof(before)), sizeof(before));
	close(p[0]);
	TEST_ASSERT_EQ(waitpid(child, &status, 0), child);
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "%s: child status %#x", layout_name[l], status);
	rmdir(cg);
	TEST_ASSERT(before >= 0 && after > before, "%s: memory.current %ld -> %ld",
		    layout_name[l], before, after);
	return after - before;
}

int main(int argc, char **argv)
{
	long cost[NR_LAYOUTS];
	int l, fd;

	npages = (argc > 1 ? atoi_positive("MiB", argv[1]) : 32) *
		 (SZ_1M / PAGE_SIZE);
	close(snp_pl_gmem_require());
	mount("cgroup2", CGROOT, "cgroup2", 0, NULL);
	fd = open(CGROOT "/cgroup.subtree_control", O_WRONLY);
	TEST_REQUIRE(fd >= 0 && write(fd, "+memory", 7) == 7);
	close(fd);

	for (l = 0; l < NR_LAYOUTS; l++)
		cost[l] = measure(l);

	printf("in place / upstream, no discard: %ld%%; in place / upstream, discard: %ld%%\n",
	       cost[IN_PLACE] * 100 / cost[TWO_PAGES],
	       cost[IN_PLACE] * 100 / cost[TWO_PAGES_DISCARD]);
	TEST_ASSERT(cost[IN_PLACE] * 100 <= cost[TWO_PAGES] * 55,
		    "in place costs %ld KiB, upstream's layout %ld KiB: over 55%%",
		    cost[IN_PLACE] >> 10, cost[TWO_PAGES] >> 10);
	TEST_ASSERT(cost[IN_PLACE] * 10 <= cost[TWO_PAGES_DISCARD] * 11,
		    "in place costs %ld KiB, upstream's with discard %ld KiB",
		    cost[IN_PLACE] >> 10, cost[TWO_PAGES_DISCARD] >> 10);
	return 0;
}
