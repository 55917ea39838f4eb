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

struct dentry;
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

#if defined(CONFIG_SNP_PAGE_LOCK) && defined(CONFIG_KVM_PRIVATE_MEM)
/* guest_memfd converted in place (virt/kvm/snp/kvm_snp_gmem.c). */

struct address_space;
struct file;
struct folio;
struct inode;
struct vm_area_struct;

/**
 * kvm_snp_gmem_flags() - guest_memfd creation flags of the in-place mode
 * @kvm: the VM (NULL: the system-wide answer)
 *
 * Return: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED for a
 * KVM_X86_SW_PROTECTED_VM with the layer on (with @kvm NULL: if the host
 * has such VMs), else 0.
 */
u64 kvm_snp_gmem_flags(struct kvm *kvm);

struct kvm_snp_gmem;

/**
 * kvm_snp_gmem_alloc() - the in-place state of a guest_memfd to be created
 * @size: its size in bytes
 * @flags: its creation flags
 *
 * Return: the state (GUEST_MEMFD_FLAG_MMAP or GUEST_MEMFD_FLAG_INIT_SHARED,
 * each alone or both; only MMAP makes it mappable), NULL (not converted in
 * place) or ERR_PTR(-ENOMEM).
 */
struct kvm_snp_gmem *kvm_snp_gmem_alloc(loff_t size, u64 flags);

/**
 * kvm_snp_gmem_attach() - give the new guest_memfd inode its state
 * @inode: the inode
 * @st: what kvm_snp_gmem_alloc() returned (may be NULL)
 */
void kvm_snp_gmem_attach(struct inode *inode, struct kvm_snp_gmem *st);

/**
 * kvm_snp_gmem_free() - free a state that was never attached
 * @st: what kvm_snp_gmem_alloc() returned (may be NULL)
 */
void kvm_snp_gmem_free(struct kvm_snp_gmem *st);

/**
 * kvm_snp_gmem_release() - the last file of a guest_memfd is gone
 * @inode: its inode (its pages are freed later, with it)
 */
void kvm_snp_gmem_release(struct inode *inode);

/**
 * kvm_snp_gmem_mmap() - mmap() of a guest_memfd converted in place
 * @file: the guest_memfd
 * @vma: the new mapping; must be shared
 *
 * Return: 0, -ENODEV (not created with GUEST_MEMFD_FLAG_MMAP), -EINVAL.
 */
int kvm_snp_gmem_mmap(struct file *file, struct vm_area_struct *vma);

/**
 * kvm_snp_gmem_ioctl() - ioctls of a guest_memfd converted in place
 * @file: the guest_memfd
 * @ioctl: KVM_SET_MEMORY_ATTRIBUTES2
 * @arg: its argument
 *
 * Return: 0 or a negative errno (Documentation/virt/kvm/snp_page_lock.rst).
 */
long kvm_snp_gmem_ioctl(struct file *file, unsigned int ioctl,
			unsigned long arg);

/**
 * kvm_snp_gmem_set_attributes() - KVM_SET_MEMORY_ATTRIBUTES on the VM:
 *	convert the guest_memfd pages bound to the range in place first
 * @kvm: the VM
 * @start: first gfn
 * @end: last gfn + 1
 * @attrs: the new attributes
 *
 * Return: 0, or the conversion's error (the attributes are then not set).
 */
int kvm_snp_gmem_set_attributes(struct kvm *kvm, gfn_t start, gfn_t end,
				u64 attrs);

/**
 * kvm_snp_gmem_get_pfn_begin() - a private access looks a page up
 * @file: the guest_memfd
 *
 * For a file converted in place, waits (killable) for a conversion of the
 * file to end and keeps the next one out until kvm_snp_gmem_get_pfn_end():
 * the page's state and the file's agree meanwhile. Call before the folio
 * is locked.
 *
 * Return: 0, or -EINTR (fatal signal; nothing held).
 */
int kvm_snp_gmem_get_pfn_begin(struct file *file);

/**
 * kvm_snp_gmem_get_pfn_end() - ends kvm_snp_gmem_get_pfn_begin()
 * @file: the guest_memfd
 */
void kvm_snp_gmem_get_pfn_end(struct file *file);

/**
 * kvm_snp_gmem_get_pfn() - a private access found a guest_memfd page
 * @file: the guest_memfd
 * @index: the page's file offset, in pages
 * @folio: the page's folio (locked, referenced)
 *
 * For a file converted in place, between kvm_snp_gmem_get_pfn_begin() and
 * kvm_snp_gmem_get_pfn_end(): the page must be private (a page allocated
 * for a private access is made private here, waiting for transient
 * references such as the LRU's).
 *
 * Return: 0, -EFAULT if the file has the page shared or it could not be
 * made private (a memory-fault exit), -EINTR on a fatal signal.
 */
int kvm_snp_gmem_get_pfn(struct file *file, pgoff_t index,
			 struct folio *folio);

/**
 * kvm_snp_gmem_free_folio() - a guest_memfd folio leaves the page cache
 * @folio: the folio; a private page of it is made shared first (G4)
 */
void kvm_snp_gmem_free_folio(struct folio *folio);

/**
 * kvm_snp_gmem_module_init() - register guest_memfd as an in-place owner
 */
void kvm_snp_gmem_module_init(void);

/**
 * kvm_snp_gmem_module_exit() - undo kvm_snp_gmem_module_init()
 */
void kvm_snp_gmem_module_exit(void);

/**
 * kvm_gmem_vm() - the VM a guest_memfd belongs to (guest_memfd.c)
 * @file: the guest_memfd
 *
 * Return: the VM.
 */
struct kvm *kvm_gmem_vm(struct file *file);

#else
static inline u64 kvm_snp_gmem_flags(struct kvm *kvm)
{
	return 0;
}

struct kvm_snp_gmem;

static inline struct kvm_snp_gmem *kvm_snp_gmem_alloc(loff_t size, u64 flags)
{
	return NULL;
}

static inline void kvm_snp_gmem_attach(struct inode *inode,
				       struct kvm_snp_gmem *st)
{
}

static inline void kvm_snp_gmem_free(struct kvm_snp_gmem *st)
{
}

static inline void kvm_snp_gmem_release(struct inode *inode)
{
}

static inline int kvm_snp_gmem_set_attributes(struct kvm *kvm, gfn_t start,
					      gfn_t end, u64 attrs)
{
	return 0;
}

static inline int kvm_snp_gmem_get_pfn_begin(struct file *file)
{
	return 0;
}

static inline void kvm_snp_gmem_get_pfn_end(struct file *file)
{
}

static inline int kvm_snp_gmem_get_pfn(struct file *file, pgoff_t index,
				       struct folio *folio)
{
	return 0;
}

static inline void kvm_snp_gmem_free_folio(struct folio *folio)
{
}

static inline void kvm_snp_gmem_module_init(void)
{
}

static inline void kvm_snp_gmem_module_exit(void)
{
}
#endif

#ifdef CONFIG_SNP_PAGE_LOCK_BENCH
/**
 * kvm_snp_create_vm_debugfs() - add the kvm_vcpu_map() benchmark to a VM
 * @kvm: the VM
 * @dir: its debugfs directory
 *
 * See virt/kvm/snp/kvm_snp_bench.c.
 */
void kvm_snp_create_vm_debugfs(struct kvm *kvm, struct dentry *dir);
#else
static inline void kvm_snp_create_vm_debugfs(struct kvm *kvm,
					     struct dentry *dir)
{
}
#endif

#endif /* _LINUX_KVM_SNP_PAGE_LOCK_H */
