/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference the driver meets, in one place, so the
 * rest of the source reads like code for the newest supported kernel.
 */
#ifndef MMAPDEMO_COMPAT_H
#define MMAPDEMO_COMPAT_H

#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* 6.3 made vm_flags read-only and added these accessors. */
static inline void vm_flags_mod(struct vm_area_struct *vma,
				vm_flags_t set, vm_flags_t clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

#ifndef MAX_PAGE_ORDER
/*
 * 6.8 renamed MAX_ORDER to MAX_PAGE_ORDER. Nothing in the headers tells
 * which meaning the old name has: before 6.4 it was one past the largest
 * order, from 6.4 on the largest order itself.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define MAX_PAGE_ORDER (MAX_ORDER - 1)
#else
#define MAX_PAGE_ORDER MAX_ORDER
#endif
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
/* 6.4 began to serve some faults under a per-VMA lock, not mmap_lock. */
#define FAULT_FLAG_VMA_LOCK 0
#endif

/*
 * 6.12 maps page frames with PMD entries on x86-64 (pmd_special) and asks
 * a VM_PFNMAP mapping's ->huge_fault for them. Before, the core called
 * ->huge_fault only for DAX: a VM_PFNMAP or VM_MIXEDMAP mapping never got
 * past the THP checks, and ->huge_fault took an enum page_entry_size.
 */
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
#define MMAPDEMO_HAVE_PMD_PFNMAP 1
#endif

/*
 * 6.17 removed pfn_t, and with it <linux/pfn_t.h>: vmf_insert_pfn_pmd()
 * takes a plain page frame number since. The header's presence would be
 * the test, but bookworm's sparse knows no __has_include.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
#include <linux/pfn_t.h>

static inline vm_fault_t mmapdemo_vmf_insert_pfn_pmd(struct vm_fault *vmf,
						     unsigned long pfn,
						     bool write)
{
	return vmf_insert_pfn_pmd(vmf, pfn_to_pfn_t(pfn), write);
}
#else
#define mmapdemo_vmf_insert_pfn_pmd vmf_insert_pfn_pmd
#endif

/*
 * zap_vma_ptes() is zap_special_vma_range() on 7.x: the same checks (a
 * VM_PFNMAP or VM_MIXEDMAP VMA, a range inside it) and the same work. A
 * function, not a macro, so the version decides; 7.2 is the oldest kernel
 * of scripts/host/kernels.conf with the new name.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 2, 0)
#define zap_special_vma_range zap_vma_ptes
#endif

/*
 * The mmap interface. Kernels with file_operations.mmap_prepare, its
 * struct mmap_action and vm_operations_struct.mapped, and VMA flags in
 * the descriptor set by bit number (vma_desc_set_flags()), get
 * .mmap_prepare; older ones .mmap. Of these only vma_desc_set_flags() is
 * a macro the preprocessor can test for; every kernel of
 * scripts/host/kernels.conf that has it (7.2, 7.3) has the rest too.
 */
#ifdef vma_desc_set_flags
#define MMAPDEMO_HAVE_MMAP_PREPARE 1
#define MMAPDEMO_MMAP_INTERFACE "mmap_prepare"
#else
#define MMAPDEMO_MMAP_INTERFACE "mmap"
#endif

#endif /* MMAPDEMO_COMPAT_H */
