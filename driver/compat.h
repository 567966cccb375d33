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

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
/* Before 6.4 MAX_ORDER was one past the largest order. */
#define MAX_PAGE_ORDER (MAX_ORDER - 1)
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
/* 6.8 renamed the inclusive MAX_ORDER to MAX_PAGE_ORDER. */
#define MAX_PAGE_ORDER MAX_ORDER
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

#endif /* MMAPDEMO_COMPAT_H */
