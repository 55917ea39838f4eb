/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM as a consumer of the SNP page lock: the hooks KVM's generic and x86
 * code call (virt/kvm/snp/kvm_snp_page_lock.c). With CONFIG_SNP_PAGE_LOCK=n
 * every hook is an inline that does what KVM did before.
 *
 * See Documentation/virt/kvm/snp_page_lock.rst.
 */
#ifndef _LINUX_KVM_SNP_PAGE_LOCK_H
#define _LINUX_KVM_SNP_PAGE_LOCK_H

#include <linux/errno.h>
#include <linux/kvm_types.h>
#include <linux/types.h>

struct kvm;
struct kvm_vcpu;
struct kvm_memory_slot;
struct gfn_to_pfn_cache;

#ifdef CONFIG_SNP_PAGE_LOCK

/**
 * kvm_snp_run_begin() - a KVM_RUN starts: no memory-fault exit prepared yet
 * @vcpu: the vCPU
 */
void kvm_snp_run_begin(struct kvm_vcpu *vcpu);

/**
 * kvm_snp_fault_pending() - has this KVM_RUN prepared a memory-fault exit?
 * @vcpu: the vCPU
 *
 * True once a host access to private or converting memory has been
 * reported (kvm_snp_report_fault()): the run must end with -EFAULT and this
 * exit, whatever the code that failed returned (a handler that swallows
 * the error and resumes the guest is caught in vcpu_run()).
 *
 * Return: true if an exit is pending.
 */
bool kvm_snp_fault_pending(struct kvm_vcpu *vcpu);

/**
 * kvm_snp_report_fault() - prepare KVM_EXIT_MEMORY_FAULT, never twice
 * @vcpu: the vCPU
 * @gpa: the guest physical address of the failed access
 * @size: its size in bytes
 * @flags: KVM_MEMORY_EXIT_FLAG_* (HOST_ACCESS, PRIVATE)
 *
 * The first report of a KVM_RUN prepares the exit; a second one keeps the
 * first intact (and warns with CONFIG_KVM_SNP_PAGE_LOCK_DEBUG: some path
 * went on after reporting).
 *
 * Return: -EFAULT, for the caller to return.
 */
int kvm_snp_report_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 size,
			 u64 flags);

/**
 * kvm_snp_map_check() - kvm_vcpu_map(): refuse a private gfn up front
 * @vcpu: the vCPU
 * @gfn: the gfn to map
 *
 * Return: 0, or -EFAULT with a memory-fault exit prepared if @gfn is
 * private (KVM_SET_MEMORY_ATTRIBUTES): its shared alias is not the page.
 */
int kvm_snp_map_check(struct kvm_vcpu *vcpu, gfn_t gfn);

/**
 * kvm_snp_map_error() - kvm_vcpu_map(): the gfn could not be looked up
 * @vcpu: the vCPU
 * @gfn: the gfn
 *
 * Return: -EFAULT with a memory-fault exit prepared if the page behind
 * @gfn is private or converting (its user mapping refused the lookup),
 * else -EINVAL (as before).
 */
int kvm_snp_map_error(struct kvm_vcpu *vcpu, gfn_t gfn);

/**
 * kvm_snp_post_map() - kvm_vcpu_map(): pin the page before it is mapped
 * @vcpu: the vCPU
 * @gfn: the gfn
 * @pfn: its pfn, with a page reference held
 *
 * Return: 0 with a shared pin taken, or -EFAULT with the reference
 * dropped and a memory-fault exit prepared (the page is private or
 * converting).
 */
int kvm_snp_post_map(struct kvm_vcpu *vcpu, gfn_t gfn, kvm_pfn_t pfn);

/**
 * kvm_snp_post_unmap() - kvm_vcpu_unmap(): drop the pin after the unmap
 * @pfn: the pfn kvm_snp_post_map() pinned
 */
void kvm_snp_post_unmap(kvm_pfn_t pfn);

/**
 * kvm_snp_guest_access_failed() - an access to guest memory through its
 *	hva failed: was it private memory?
 * @vcpu: the vCPU
 * @gpa: where the access started
 * @len: its length (within one page)
 * @write: a write
 *
 * For the emulator and the guest memory readers: MMIO (no memslot) and a
 * write to a read-only memslot (ROM) stay what they were.
 *
 * Return: true with a memory-fault exit prepared if the page is private
 * or converting, false otherwise.
 */
bool kvm_snp_guest_access_failed(struct kvm_vcpu *vcpu, gpa_t gpa,
				 unsigned int len, bool write);

/**
 * kvm_snp_guest_read_failed() - report a failed read of guest memory
 * @vcpu: the vCPU
 * @gpa: start of the range that could not be read
 * @len: its length
 *
 * For paths where a failed read is a userspace matter (the GHCB scratch
 * area): the exit names the first private or converting page of the range
 * if there is one, else the whole range.
 *
 * Return: -EFAULT.
 */
int kvm_snp_guest_read_failed(struct kvm_vcpu *vcpu, gpa_t gpa,
			      unsigned long len);

/**
 * kvm_snp_emulation_fault() - the emulator met private memory
 * @vcpu: the vCPU
 *
 * Drops the port I/O and MMIO state of the instruction (it is not
 * completed; it runs again once userspace has resolved the exit).
 *
 * Return: -EFAULT.
 */
int kvm_snp_emulation_fault(struct kvm_vcpu *vcpu);

/**
 * kvm_snp_npf_shared_failed() - a guest fault could not get its page
 * @vcpu: the vCPU (kvm->srcu held for read)
 * @gfn: the faulting gfn (a shared access)
 * @hva: its host virtual address
 *
 * With ``kvm.snp_npf_policy=convert`` a private page is converted back to
 * shared (kvm->srcu dropped meanwhile).
 *
 * Return: 0 if the page is not the layer's business (as before), 1 to
 * retry the fault, -EFAULT with a memory-fault exit prepared.
 */
int kvm_snp_npf_shared_failed(struct kvm_vcpu *vcpu, gfn_t gfn,
			      unsigned long hva);

/**
 * kvm_snp_npf_private() - a private access to a memslot without guest_memfd
 * @vcpu: the vCPU (kvm->srcu held for read)
 * @gfn: the faulting gfn (private by its attributes)
 * @hva: its host virtual address
 * @pfn: set to the private page behind @hva (with a reference) on 0
 *
 * Memory whose owner converts in place (the /dev/snp_page_lock test pool)
 * is private in place: the page behind the hva is mapped into the guest.
 * A page still shared is converted first with ``kvm.snp_npf_policy=convert``
 * (kvm->srcu dropped meanwhile).
 *
 * Return: 0 with @pfn set, 1 to retry the fault, -EFAULT for the caller to
 * prepare its memory-fault exit (as before).
 */
int kvm_snp_npf_private(struct kvm_vcpu *vcpu, gfn_t gfn, unsigned long hva,
			kvm_pfn_t *pfn);

/**
 * kvm_snp_gpc_init() - set up a gfn_to_pfn_cache's revocable pin
 * @gpc: the cache
 */
void kvm_snp_gpc_init(struct gfn_to_pfn_cache *gpc);

/**
 * kvm_snp_gpc_pin() - pin the page a cache is about to map validly
 * @gpc: the cache, gpc->lock held for write
 * @pfn: the page
 *
 * The pin is revocable: a converter invalidates the cache, as an
 * mmu_notifier invalidation does, instead of waiting for it.
 *
 * Return: 0, or an error if the page is private or converting (the
 * refresh fails).
 */
int kvm_snp_gpc_pin(struct gfn_to_pfn_cache *gpc, kvm_pfn_t pfn);

/**
 * kvm_snp_gpc_unpin() - the cache is no longer valid: drop its pin
 * @gpc: the cache, gpc->lock held for write
 */
void kvm_snp_gpc_unpin(struct gfn_to_pfn_cache *gpc);

/**
 * kvm_snp_gpc_deactivated() - the cache may be freed after this
 * @gpc: the cache, deactivated (nothing pinned); may sleep
 */
void kvm_snp_gpc_deactivated(struct gfn_to_pfn_cache *gpc);

/**
 * kvm_snp_page_lock_cap() - KVM_CAP_SNP_PAGE_LOCK
 *
 * Return: 1 if the layer is on and host accesses to private memory are
 * reported as KVM_EXIT_MEMORY_FAULT with KVM_MEMORY_EXIT_FLAG_HOST_ACCESS.
 */
int kvm_snp_page_lock_cap(void);

#else /* !CONFIG_SNP_PAGE_LOCK */

static inline void kvm_snp_run_begin(struct kvm_vcpu *vcpu)
{
}

static inline bool kvm_snp_fault_pending(struct kvm_vcpu *vcpu)
{
	return false;
}

static inline int kvm_snp_map_check(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	return 0;
}

static inline int kvm_snp_map_error(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	return -EINVAL;
}

static inline int kvm_snp_post_map(struct kvm_vcpu *vcpu, gfn_t gfn,
				   kvm_pfn_t pfn)
{
	return 0;
}

static inline void kvm_snp_post_unmap(kvm_pfn_t pfn)
{
}

static inline bool kvm_snp_guest_access_failed(struct kvm_vcpu *vcpu,
					       gpa_t gpa, unsigned int len,
					       bool write)
{
	return false;
}

static inline int kvm_snp_guest_read_failed(struct kvm_vcpu *vcpu, gpa_t gpa,
					    unsigned long len)
{
	return -EFAULT;
}

static inline int kvm_snp_emulation_fault(struct kvm_vcpu *vcpu)
{
	return -EFAULT;
}

static inline int kvm_snp_npf_shared_failed(struct kvm_vcpu *vcpu, gfn_t gfn,
					    unsigned long hva)
{
	return 0;
}

static inline int kvm_snp_npf_private(struct kvm_vcpu *vcpu, gfn_t gfn,
				      unsigned long hva, kvm_pfn_t *pfn)
{
	return -EFAULT;
}

static inline void kvm_snp_gpc_init(struct gfn_to_pfn_cache *gpc)
{
}

static inline int kvm_snp_gpc_pin(struct gfn_to_pfn_cache *gpc, kvm_pfn_t pfn)
{
	return 0;
}

static inline void kvm_snp_gpc_unpin(struct gfn_to_pfn_cache *gpc)
{
}

static inline void kvm_snp_gpc_deactivated(struct gfn_to_pfn_cache *gpc)
{
}

#endif /* CONFIG_SNP_PAGE_LOCK */

#endif /* _LINUX_KVM_SNP_PAGE_LOCK_H */
