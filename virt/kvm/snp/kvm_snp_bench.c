// SPDX-License-Identifier: GPL-2.0
/*
 * What the SNP page lock costs kvm_vcpu_map(): a debugfs file in each VM's
 * directory (<debugfs>/kvm/<pid>-<fd>/snp_map_bench, with
 * CONFIG_SNP_PAGE_LOCK_BENCH) times kvm_vcpu_map() + kvm_vcpu_unmap() of a
 * gfn on vCPU 0, and get_page() + put_page() of the same page as the
 * baseline, in the same call. The VMM process writes "gfn=N [loops=N]
 * [runs=N]" (its own mm is the VM's, for the page lookup) and reads two CSV
 * lines in the format of <debugfs>/snp_page_lock_bench/results:
 * kvm_map and kvm_get_put, ns per operation (median, min and max of the
 * runs). Run with the layer on and with snp_page_lock=off: each ratio is
 * within its own boot. tools/testing/selftests/kvm/x86_64/snp_pl_map_bench
 * drives it.
 */

#define pr_fmt(fmt) "kvm_snp_bench: " fmt

#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/kvm_snp_page_lock.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#define KVM_SNP_BENCH_MAX_RUNS	15

enum { KB_MAP, KB_GET_PUT, KB_NR };

static const char * const kvm_snp_bench_ops[KB_NR] = {
	[KB_MAP] = "kvm_map",
	[KB_GET_PUT] = "kvm_get_put",
};

/* The last run, for the next read (any VM). */
static struct {
	unsigned long loops;
	unsigned int runs;
	u64 ps[KB_NR][KVM_SNP_BENCH_MAX_RUNS];	/* picoseconds per op */
	int err;
	bool valid;
} kvm_snp_bench_last;
static DEFINE_MUTEX(kvm_snp_bench_mutex);

static int kvm_snp_bench_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 kvm_snp_bench_map(struct kvm_vcpu *vcpu, gfn_t gfn,
			     unsigned long loops, int *err)
{
	struct kvm_host_map map;
	unsigned long i;
	u64 t0;

	t0 = ktime_get_mono_fast_ns();
	for (i = 0; i < loops; i++) {
		*err = kvm_vcpu_map(vcpu, gfn, &map);
		if (*err)
			return 0;
		kvm_vcpu_unmap(vcpu, &map, false);
	}
	return div64_ul((ktime_get_mono_fast_ns() - t0) * 1000, loops);
}

static u64 kvm_snp_bench_get_put(struct page *page, unsigned long loops)
{
	unsigned long i;
	u64 t0;

	t0 = ktime_get_mono_fast_ns();
	for (i = 0; i < loops; i++) {
		OPTIMIZER_HIDE_VAR(page);
		get_page(page);
		put_page(page);
	}
	return div64_ul((ktime_get_mono_fast_ns() - t0) * 1000, loops);
}

static int kvm_snp_bench_run(struct kvm *kvm, gfn_t gfn, unsigned long loops,
			     unsigned int runs)
{
	struct kvm_vcpu *vcpu = kvm_get_vcpu(kvm, 0);
	struct kvm_host_map map;
	unsigned int r;
	int idx, err;

	if (!vcpu || current->mm != kvm->mm)
		return -EINVAL;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	idx = srcu_read_lock(&kvm->srcu);

	/* Warm up, and hold the page for the get_page() baseline. */
	err = kvm_vcpu_map(vcpu, gfn, &map);
	if (err)
		goto out;
	kvm_snp_bench_map(vcpu, gfn, min(loops, 1000UL), &err);
	for (r = 0; !err && r < runs; r++) {
		kvm_snp_bench_last.ps[KB_MAP][r] =
			kvm_snp_bench_map(vcpu, gfn, loops, &err);
		kvm_snp_bench_last.ps[KB_GET_PUT][r] =
			kvm_snp_bench_get_put(map.page, loops);
		cond_resched();
	}
	kvm_vcpu_unmap(vcpu, &map, false);
out:
	srcu_read_unlock(&kvm->srcu, idx);
	mutex_unlock(&vcpu->mutex);
	return err;
}

static ssize_t kvm_snp_bench_write(struct file *file, const char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	struct kvm *kvm = file_inode(file)->i_private;
	unsigned long gfn = ULONG_MAX, loops = 100000, v;
	unsigned int runs = 5;
	char buf[96], *p = buf, *tok;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	while ((tok = strsep(&p, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		if (!strncmp(tok, "gfn=", 4) && !kstrtoul(tok + 4, 0, &v))
			gfn = v;
		else if (!strncmp(tok, "loops=", 6) && !kstrtoul(tok + 6, 0, &v) &&
			 v && v <= 100000000)
			loops = v;
		else if (!strncmp(tok, "runs=", 5) && !kstrtoul(tok + 5, 0, &v) &&
			 v && v <= KVM_SNP_BENCH_MAX_RUNS)
			runs = v;
		else
			return -EINVAL;
	}
	if (gfn == ULONG_MAX)
		return -EINVAL;

	mutex_lock(&kvm_snp_bench_mutex);
	kvm_snp_bench_last.valid = false;
	ret = kvm_snp_bench_run(kvm, gfn, loops, runs);
	kvm_snp_bench_last.loops = loops;
	kvm_snp_bench_last.runs = runs;
	kvm_snp_bench_last.err = ret;
	kvm_snp_bench_last.valid = true;
	mutex_unlock(&kvm_snp_bench_mutex);
	return ret ?: len;
}

static void kvm_snp_bench_show_op(struct seq_file *m, int op)
{
	u64 *ps = kvm_snp_bench_last.ps[op];
	unsigned int runs = kvm_snp_bench_last.runs;
	u64 med, lo, hi;

	if (kvm_snp_bench_last.err) {
		seq_printf(m, "%s,1,hot,1,0,%lu,%u,0,0,0,0,error %d\n",
			   kvm_snp_bench_ops[op], kvm_snp_bench_last.loops, runs,
			   kvm_snp_bench_last.err);
		return;
	}
	sort(ps, runs, sizeof(*ps), kvm_snp_bench_cmp, NULL);
	med = ps[runs / 2];
	lo = ps[0];
	hi = ps[runs - 1];
	seq_printf(m, "%s,1,hot,1,0,%lu,%u,%llu.%03llu,%llu.%03llu,%llu.%03llu,%llu.%03llu,0,0,0,0,ok\n",
		   kvm_snp_bench_ops[op], kvm_snp_bench_last.loops, runs,
		   med / 1000, med % 1000, lo / 1000, lo % 1000,
		   hi / 1000, hi % 1000, med / 1000, med % 1000);
}

static int kvm_snp_bench_show(struct seq_file *m, void *v)
{
	int op;

	mutex_lock(&kvm_snp_bench_mutex);
	if (kvm_snp_bench_last.valid)
		for (op = 0; op < KB_NR; op++)
			kvm_snp_bench_show_op(m, op);
	mutex_unlock(&kvm_snp_bench_mutex);
	return 0;
}

static int kvm_snp_bench_open(struct inode *inode, struct file *file)
{
	struct kvm *kvm = inode->i_private;
	int ret;

	if (!kvm_get_kvm_safe(kvm))
		return -ENOENT;
	ret = single_open(file, kvm_snp_bench_show, NULL);
	if (ret)
		kvm_put_kvm(kvm);
	return ret;
}

static int kvm_snp_bench_release(struct inode *inode, struct file *file)
{
	kvm_put_kvm(inode->i_private);
	return single_release(inode, file);
}

static const struct file_operations kvm_snp_bench_fops = {
	.owner = THIS_MODULE,
	.open = kvm_snp_bench_open,
	.read = seq_read,
	.write = kvm_snp_bench_write,
	.llseek = seq_lseek,
	.release = kvm_snp_bench_release,
};

void kvm_snp_create_vm_debugfs(struct kvm *kvm, struct dentry *dir)
{
	debugfs_create_file("snp_map_bench", 0600, dir, kvm,
			    &kvm_snp_bench_fops);
}
