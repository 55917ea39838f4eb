// SPDX-License-Identifier: GPL-2.0
/*
 * KVM as a consumer of the SNP page lock (CONFIG_SNP_PAGE_LOCK).
 *
 * - kvm_vcpu_map() takes a shared pin on the page it maps (post_map) and
 *   drops it after the unmap (post_unmap): a page KVM maps never becomes
 *   private underneath, and a private or converting page is never mapped.
 * - A gfn_to_pfn_cache holds a revocable pin while it is valid: a
 *   converter invalidates it as an mmu_notifier invalidation does.
 * - A host access (a map, the emulator, the GHCB scratch area) that meets
 *   a private or converting page ends KVM_RUN with -EFAULT and
 *   KVM_EXIT_MEMORY_FAULT, flags KVM_MEMORY_EXIT_FLAG_HOST_ACCESS (and
 *   KVM_MEMORY_EXIT_FLAG_PRIVATE if the page is private), the guest's
 *   state intact: once userspace has converted the page back, the
 *   instruction runs again.
 * - A guest fault on a page in the other state than the access
 *   (kvm.snp_npf_policy): "exit" reports it as upstream does; "convert"
 *   converts the page in place through the layer, then retries.
 *
 * See Documentation/virt/kvm/snp_page_lock.rst.
 */

#define pr_fmt(fmt) "kvm_snp_page_lock: " fmt

#include <linux/delay.h>
#include <linux/kvm_host.h>
#include <linux/kvm_snp_page_lock.h>
#include <linux/moduleparam.h>
#include <linux/snp_page_lock.h>
#include <linux/string.h>
#include <linux/sysfs.h>

/* kvm.snp_npf_policy */
enum {
	KVM_SNP_NPF_EXIT,
	KVM_SNP_NPF_CONVERT,
};

static const char * const kvm_snp_npf_policies[] = {
	[KVM_SNP_NPF_EXIT] = "exit",
	[KVM_SNP_NPF_CONVERT] = "convert",
};

static int snp_npf_policy = KVM_SNP_NPF_EXIT;

static int kvm_snp_npf_policy_set(const char *val,
				  const struct kernel_param *kp)
{
	int i = sysfs_match_string(kvm_snp_npf_policies, val);

	if (i < 0)
		return i;
	WRITE_ONCE(*(int *)kp->arg, i);
	return 0;
}

static int kvm_snp_npf_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  kvm_snp_npf_policies[READ_ONCE(*(int *)kp->arg)]);
}

static const struct kernel_param_ops kvm_snp_npf_policy_ops = {
	.set = kvm_snp_npf_policy_set,
	.get = kvm_snp_npf_policy_get,
};
module_param_cb(snp_npf_policy, &kvm_snp_npf_policy_ops, &snp_npf_policy,
		0644);
MODULE_PARM_DESC(snp_npf_policy,
		 "Guest fault on a page in the other state: exit (default) or convert");

#ifdef CONFIG_KVM_SNP_PAGE_LOCK_DEBUG
/*
 * Fault injection for the test of kvm_snp_report_fault(): every report is
 * followed by a second one for the next page, which must be refused.
 */
static bool snp_test_reannotate;
module_param(snp_test_reannotate, bool, 0644);
MODULE_PARM_DESC(snp_test_reannotate,
		 "Test only: report every memory fault a second time (must be refused)");

/* Keeps a vCPU inside a kvm_vcpu_map() section, for a converter to meet. */
static unsigned int snp_test_map_hold_ms;
module_param(snp_test_map_hold_ms, uint, 0644);
MODULE_PARM_DESC(snp_test_map_hold_ms,
		 "Test only: sleep this long in kvm_vcpu_map() with the page pinned");
#endif

void kvm_snp_run_begin(struct kvm_vcpu *vcpu)
{
	vcpu->snp_fault_pending = false;
}

bool kvm_snp_fault_pending(struct kvm_vcpu *vcpu)
{
	return vcpu->snp_fault_pending;
}

int kvm_snp_report_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 size,
			 u64 flags)
{
	/* The exit userspace is about to see is never overwritten. */
	if (vcpu->snp_fault_pending) {
		WARN_ON_ONCE(IS_ENABLED(CONFIG_KVM_SNP_PAGE_LOCK_DEBUG));
		return -EFAULT;
	}

	vcpu->run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	vcpu->run->memory_fault.gpa = gpa;
	vcpu->run->memory_fault.size = size;
	vcpu->run->memory_fault.flags = flags;
	vcpu->snp_fault_pending = true;

#ifdef CONFIG_KVM_SNP_PAGE_LOCK_DEBUG
	if (READ_ONCE(snp_test_reannotate))
		kvm_snp_report_fault(vcpu, gpa + PAGE_SIZE, size, flags);
#endif
	return -EFAULT;
}

/*
 * The state of the page behind @gfn of @slot for a host access that
 * failed: private by its attributes, or private or converting in the layer
 * (looked up through the memslot's hva, without faulting anything in). A
 * page of memory converted in place that is shared by now was converting
 * when the access failed: it is reported as converting, and the access is
 * simply made again.
 */
static enum snp_page_state kvm_snp_gfn_state(struct kvm *kvm,
					     struct kvm_memory_slot *slot,
					     gfn_t gfn)
{
	enum snp_page_state state;
	unsigned long hva;

	if (kvm_mem_is_private(kvm, gfn))
		return SNP_PAGE_PRIVATE;
	if (!slot || (slot->flags & KVM_MEMSLOT_INVALID))
		return SNP_PAGE_SHARED;
	hva = gfn_to_hva_memslot(slot, gfn);
	state = snp_user_page_state(hva);
	if (state == SNP_PAGE_SHARED && snp_user_in_place(hva))
		return SNP_PAGE_CONVERTING;
	return state;
}

static u64 kvm_snp_host_flags(enum snp_page_state state)
{
	u64 flags = KVM_MEMORY_EXIT_FLAG_HOST_ACCESS;

	if (state == SNP_PAGE_PRIVATE)
		flags |= KVM_MEMORY_EXIT_FLAG_PRIVATE;
	return flags;
}

int kvm_snp_map_check(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	if (!snp_page_lock_is_enabled() || !kvm_mem_is_private(vcpu->kvm, gfn))
		return 0;
	return kvm_snp_report_fault(vcpu, gfn_to_gpa(gfn), PAGE_SIZE,
				    kvm_snp_host_flags(SNP_PAGE_PRIVATE));
}

int kvm_snp_map_error(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	enum snp_page_state state;

	if (!snp_page_lock_is_enabled())
		return -EINVAL;
	state = kvm_snp_gfn_state(vcpu->kvm, gfn_to_memslot(vcpu->kvm, gfn),
				  gfn);
	if (state == SNP_PAGE_SHARED)
		return -EINVAL;
	return kvm_snp_report_fault(vcpu, gfn_to_gpa(gfn), PAGE_SIZE,
				    kvm_snp_host_flags(state));
}

int kvm_snp_post_map(struct kvm_vcpu *vcpu, gfn_t gfn, kvm_pfn_t pfn)
{
	int ret = snp_pin_shared(pfn, 1);

	if (likely(!ret)) {
#ifdef CONFIG_KVM_SNP_PAGE_LOCK_DEBUG
		unsigned int hold = READ_ONCE(snp_test_map_hold_ms);

		if (hold)
			msleep(hold);
#endif
		return 0;
	}
	kvm_release_pfn_clean(pfn);
	return kvm_snp_report_fault(vcpu, gfn_to_gpa(gfn), PAGE_SIZE,
				    kvm_snp_host_flags(ret == -EPERM ?
						       SNP_PAGE_PRIVATE :
						       SNP_PAGE_CONVERTING));
}

void kvm_snp_post_unmap(kvm_pfn_t pfn)
{
	snp_unpin_shared(pfn, 1);
}

bool kvm_snp_guest_access_failed(struct kvm_vcpu *vcpu, gpa_t gpa,
				 unsigned int len, bool write)
{
	struct kvm_memory_slot *slot;
	enum snp_page_state state;
	gfn_t gfn = gpa_to_gfn(gpa);

	if (!snp_page_lock_is_enabled())
		return false;
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn);
	/* MMIO, and writes to ROM, are not memory faults. */
	if (!slot || (slot->flags & KVM_MEMSLOT_INVALID) ||
	    (write && (slot->flags & KVM_MEM_READONLY)))
		return false;
	state = kvm_snp_gfn_state(vcpu->kvm, slot, gfn);
	if (state == SNP_PAGE_SHARED)
		return false;
	kvm_snp_report_fault(vcpu, gpa, len, kvm_snp_host_flags(state));
	return true;
}

int kvm_snp_guest_read_failed(struct kvm_vcpu *vcpu, gpa_t gpa,
			      unsigned long len)
{
	enum snp_page_state state = SNP_PAGE_SHARED;
	gpa_t cur = gpa, end = gpa + len, next;

	if (!snp_page_lock_is_enabled())
		return -EFAULT;
	for (; cur < end; cur = next) {
		next = min(end, (cur | ~PAGE_MASK) + 1);
		state = kvm_snp_gfn_state(vcpu->kvm,
					  kvm_vcpu_gfn_to_memslot(vcpu,
								  gpa_to_gfn(cur)),
					  gpa_to_gfn(cur));
		if (state != SNP_PAGE_SHARED)
			return kvm_snp_report_fault(vcpu, cur, next - cur,
						    kvm_snp_host_flags(state));
	}
	/* Not private memory, but still for userspace to sort out. */
	return kvm_snp_report_fault(vcpu, gpa, len,
				    KVM_MEMORY_EXIT_FLAG_HOST_ACCESS);
}

#ifdef CONFIG_X86
int kvm_snp_emulation_fault(struct kvm_vcpu *vcpu)
{
	vcpu->arch.pio.count = 0;
	vcpu->mmio_needed = 0;
	vcpu->mmio_nr_fragments = 0;
	return -EFAULT;
}
#endif

/* Convert the page at @hva in place, with kvm->srcu dropped meanwhile. */
static int kvm_snp_convert(struct kvm_vcpu *vcpu, unsigned long hva,
			   enum snp_page_state to)
{
	int ret;

	kvm_vcpu_srcu_read_unlock(vcpu);
	ret = snp_user_convert(hva & PAGE_MASK, 1, to, 0);
	kvm_vcpu_srcu_read_lock(vcpu);
	return ret;
}

int kvm_snp_npf_shared_failed(struct kvm_vcpu *vcpu, gfn_t gfn,
			      unsigned long hva)
{
	enum snp_page_state state;

	if (!snp_page_lock_is_enabled() || kvm_is_error_hva(hva))
		return 0;
	state = snp_user_page_state(hva);
	if (state == SNP_PAGE_SHARED && !snp_user_in_place(hva))
		return 0;
	/* Converting, or shared again by now: the fault is taken again. */
	if (state != SNP_PAGE_PRIVATE)
		return 1;
	if (READ_ONCE(snp_npf_policy) == KVM_SNP_NPF_CONVERT &&
	    !kvm_snp_convert(vcpu, hva, SNP_PAGE_SHARED))
		return 1;
	/* A shared access: userspace makes the page shared. */
	return kvm_snp_report_fault(vcpu, gfn_to_gpa(gfn), PAGE_SIZE, 0);
}

int kvm_snp_npf_private(struct kvm_vcpu *vcpu, gfn_t gfn, unsigned long hva,
			kvm_pfn_t *pfn)
{
	unsigned long p;
	int ret;

	if (!snp_page_lock_is_enabled() || kvm_is_error_hva(hva))
		return -EFAULT;
	ret = snp_user_private_pfn(hva, &p);
	if (!ret) {
		*pfn = p;
		return 0;
	}
	/* -EINVAL: a page of an in-place owner that is not private (yet). */
	if (ret == -EINVAL && READ_ONCE(snp_npf_policy) == KVM_SNP_NPF_CONVERT &&
	    !kvm_snp_convert(vcpu, hva, SNP_PAGE_PRIVATE))
		return 1;
	return -EFAULT;
}

/*
 * A converter needs the page of a valid cache: invalidate the cache as an
 * mmu_notifier invalidation does (readers hold gpc->lock for read while
 * they use the mapping, so none is left once the write lock is held) and
 * drop the pin. The next kvm_gpc_check() fails; the next refresh maps the
 * page again once it is shared, or fails while it is private.
 */
static void kvm_snp_gpc_revoke(struct snp_revocable_pin *rp)
{
	struct gfn_to_pfn_cache *gpc = container_of(rp, struct gfn_to_pfn_cache,
						    snp_pin);
	unsigned long flags;

	write_lock_irqsave(&gpc->lock, flags);
	gpc->valid = false;
	snp_unpin_shared_revocable(rp);
	write_unlock_irqrestore(&gpc->lock, flags);
}

void kvm_snp_gpc_init(struct gfn_to_pfn_cache *gpc)
{
	snp_revocable_pin_init(&gpc->snp_pin, kvm_snp_gpc_revoke);
}

int kvm_snp_gpc_pin(struct gfn_to_pfn_cache *gpc, kvm_pfn_t pfn)
{
	lockdep_assert_held_write(&gpc->lock);
	return snp_pin_shared_revocable(&gpc->snp_pin, pfn);
}

void kvm_snp_gpc_unpin(struct gfn_to_pfn_cache *gpc)
{
	lockdep_assert_held_write(&gpc->lock);
	snp_unpin_shared_revocable(&gpc->snp_pin);
}

void kvm_snp_gpc_deactivated(struct gfn_to_pfn_cache *gpc)
{
	snp_revocable_pin_destroy(&gpc->snp_pin);
}

int kvm_snp_page_lock_cap(void)
{
	return snp_page_lock_is_enabled();
}
