// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of /dev/mmapdemo: one policy, two ways to fill the page tables.
 *
 * The policy (mmapdemo_check_mapping()) is the same for every strategy and
 * looks only at the request, not at the VMA, so a future mmap_prepare()
 * path can call it unchanged:
 *  - the pages [pgoff, pgoff + count) must lie inside the buffer (EINVAL),
 *    compared in pages without ever adding pgoff and count;
 *  - PROT_EXEC is refused (EPERM), and VM_MAYEXEC is cleared so that a
 *    later mprotect(PROT_EXEC) fails too;
 *  - MAP_PRIVATE needs copy-on-write, which only the page-based fault
 *    strategy gives; remap refuses it (EINVAL).
 * Every mapping gets VM_DONTEXPAND (mremap cannot grow it past the buffer)
 * and VM_DONTDUMP (a core dump does not copy the device).
 *
 * remap: remap_pfn_range() fills every entry at mmap() time, one call per
 * physically contiguous run: one call for the kmalloc backend, up to one per
 * page for vmalloc. The mapping is VM_PFNMAP: no struct page refcounting,
 * and no get_user_pages() on it.
 *
 * fault: nothing is mapped at mmap() time; .fault hands the page for each
 * offset to the core mm on first access. The mapping is an ordinary
 * page-based one, so copy-on-write of MAP_PRIVATE works.
 */

#include <linux/mm.h>

#include "compat.h"
#include "mmapdemo.h"

/**
 * mmapdemo_check_mapping() - the mapping policy shared by all strategies
 * @buf: the buffer to be mapped
 * @strategy: the strategy that would map it
 * @pgoff: first page of the buffer requested
 * @count: number of pages requested
 * @vm_flags: the VM_* flags of the request
 *
 * Return: 0 if the mapping may be made, else the errno for mmap() to return.
 */
static int mmapdemo_check_mapping(const struct mmapdemo_buffer *buf,
				  enum mmapdemo_strategy strategy,
				  pgoff_t pgoff, unsigned long count,
				  vm_flags_t vm_flags)
{
	if (pgoff >= buf->npages || count > buf->npages - pgoff)
		return -EINVAL;
	if (vm_flags & VM_EXEC)
		return -EPERM;
	/*
	 * VM_MAYSHARE, not VM_SHARED: the mm drops VM_SHARED from a
	 * MAP_SHARED mapping of a file opened read-only.
	 */
	if (!(vm_flags & VM_MAYSHARE) && strategy == MMAPDEMO_STRATEGY_REMAP)
		return -EINVAL;
	return 0;
}

/*
 * No .fault: every entry exists from mmap() on, so a fault here would mean
 * an access the mapping does not cover, and the core mm answers SIGBUS.
 * The ops are still set, because a VMA without vm_ops counts as anonymous.
 */
static const struct vm_operations_struct mmapdemo_remap_vm_ops = {
};

static int mmapdemo_remap(const struct mmapdemo_buffer *buf,
			  struct vm_area_struct *vma)
{
	pgoff_t pgoff = vma->vm_pgoff;
	pgoff_t end = pgoff + vma_pages(vma);
	unsigned long addr = vma->vm_start;

	while (pgoff < end) {
		unsigned long pfn = page_to_pfn(buf->pages[pgoff]);
		unsigned long run = 1;
		int ret;

		while (pgoff + run < end &&
		       page_to_pfn(buf->pages[pgoff + run]) == pfn + run)
			run++;
		ret = remap_pfn_range(vma, addr, pfn, run << PAGE_SHIFT,
				      vma->vm_page_prot);
		if (ret)
			return ret;	/* the mm unmaps what was done */
		addr += run << PAGE_SHIFT;
		pgoff += run;
	}
	return 0;
}

/**
 * mmapdemo_vm_fault() - install the page for one faulting offset
 * @vmf: the fault; @vmf->pgoff already includes the VMA's vm_pgoff
 *
 * Return: 0 with @vmf->page set and referenced, or VM_FAULT_SIGBUS for an
 * offset past the buffer.
 */
static vm_fault_t mmapdemo_vm_fault(struct vm_fault *vmf)
{
	const struct mmapdemo_buffer *buf = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= buf->npages)
		return VM_FAULT_SIGBUS;
	page = buf->pages[vmf->pgoff];
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mmapdemo_fault_vm_ops = {
	.fault = mmapdemo_vm_fault,
};

/**
 * mmapdemo_mmap() - file_operations.mmap of the device
 * @file: an open file of the device
 * @vma: the new mapping
 *
 * Applies the mapping policy, then maps with the file's strategy. The first
 * mmap() fixes the file's strategy.
 *
 * Return: 0 or a negative errno.
 */
int mmapdemo_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmapdemo_file *mf = file->private_data;
	struct mmapdemo_buffer *buf = mf->buf;
	int ret;

	mutex_lock(&mf->lock);
	ret = mmapdemo_check_mapping(buf, mf->strategy, vma->vm_pgoff,
				     vma_pages(vma), vma->vm_flags);
	if (ret)
		goto unlock;

	vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	vma->vm_private_data = buf;
	if (mf->strategy == MMAPDEMO_STRATEGY_REMAP) {
		vma->vm_ops = &mmapdemo_remap_vm_ops;
		ret = mmapdemo_remap(buf, vma);
	} else {
		vma->vm_ops = &mmapdemo_fault_vm_ops;
	}
	if (!ret)
		mf->mapped = true;
unlock:
	mutex_unlock(&mf->lock);
	return ret;
}
