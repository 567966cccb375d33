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
 * remap: every entry is filled at mmap() time, with remap_pfn_range() for
 * each physically contiguous run: one call for the kmalloc backend, up to
 * one per page for vmalloc. The mapping is VM_PFNMAP: no struct page
 * refcounting, and no get_user_pages() on it. Its .fault refills, with
 * vmf_insert_pfn(), what a resize has unmapped.
 *
 * fault: nothing is mapped at mmap() time; .fault hands the page for each
 * offset to the core mm on first access. The mapping is an ordinary
 * page-based one, so copy-on-write of MAP_PRIVATE works.
 *
 * Both faults look up the page under the buffer's lock, so a fault never
 * maps a page past the current end (SIGBUS) nor memory a resize has
 * replaced. Every VMA, including the copies fork() and VMA splits make,
 * holds a reference to the buffer, taken in mmap() or vm_ops->open and
 * dropped in vm_ops->close, and is listed for debugfs.
 */

#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "compat.h"
#include "mmapdemo.h"
#include "trace.h"

/**
 * mmapdemo_check_mapping() - the mapping policy shared by all strategies
 * @mem: the memory to be mapped
 * @strategy: the strategy that would map it
 * @pgoff: first page of the buffer requested
 * @count: number of pages requested
 * @vm_flags: the VM_* flags of the request
 *
 * Return: 0 if the mapping may be made, else the errno for mmap() to return.
 */
static int mmapdemo_check_mapping(const struct mmapdemo_mem *mem,
				  enum mmapdemo_strategy strategy,
				  pgoff_t pgoff, unsigned long count,
				  vm_flags_t vm_flags)
{
	if (pgoff >= mem->npages || count > mem->npages - pgoff)
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

static void mmapdemo_vma_add(struct mmapdemo_vma *mv)
{
	struct mmapdemo_buffer *buf = mv->buf;

	mmapdemo_buffer_get(buf);
	if (mv->pinned)
		kref_get(&mv->pinned->ref);
	mv->vma->vm_private_data = mv;
	spin_lock(&buf->vmas_lock);
	list_add_tail(&mv->node, &buf->vmas);
	atomic_inc(&buf->nr_vmas);
	spin_unlock(&buf->vmas_lock);
}

/*
 * vm_operations_struct.open: fork() copied the VMA, or a split or mremap()
 * made a new one from it. It starts with the old one's vm_private_data.
 * There is no way to fail here, and the entry is small.
 */
static void mmapdemo_vm_open(struct vm_area_struct *vma)
{
	const struct mmapdemo_vma *from = vma->vm_private_data;
	struct mmapdemo_vma *mv;

	mv = kzalloc(sizeof(*mv), GFP_KERNEL | __GFP_NOFAIL);
	mv->buf = from->buf;
	mv->vma = vma;
	mv->pinned = from->pinned;
	mv->strategy = from->strategy;
	mv->pid = from->pid;
	mmapdemo_vma_add(mv);
}

static void mmapdemo_vm_close(struct vm_area_struct *vma)
{
	struct mmapdemo_vma *mv = vma->vm_private_data;
	struct mmapdemo_buffer *buf = mv->buf;

	spin_lock(&buf->vmas_lock);
	list_del(&mv->node);
	atomic_dec(&buf->nr_vmas);
	spin_unlock(&buf->vmas_lock);
	if (mv->pinned)
		mmapdemo_mem_put(mv->pinned);
	kfree(mv);
	mmapdemo_buffer_put(buf);
}

/*
 * A fork() copy starts with its parent's pid: vm_ops->open runs in the
 * parent. The child's own faults correct it, with one store, not one per
 * fault. Faults from other processes (get_user_pages() by a debugger, say)
 * say nothing about the owner.
 */
static void mmapdemo_vma_note_pid(struct mmapdemo_vma *mv,
				  struct vm_area_struct *vma)
{
	pid_t pid;

	if (vma->vm_mm != current->mm)
		return;
	pid = task_tgid_nr(current);
	if (READ_ONCE(mv->pid) != pid)
		WRITE_ONCE(mv->pid, pid);
}

/**
 * mmapdemo_vm_fault() - map the page for one faulting offset
 * @vmf: the fault; @vmf->pgoff already includes the VMA's vm_pgoff
 *
 * remap: inserts the page frame itself (VM_FAULT_NOPAGE). fault: returns
 * the page referenced and locked (VM_FAULT_LOCKED); it stays locked until
 * the core mm has mapped it, and a resize waits for that lock before it
 * unmaps, so a page found here before a resize never stays mapped after it.
 *
 * Return: as above, or VM_FAULT_SIGBUS for an offset past the buffer.
 */
static vm_fault_t mmapdemo_vm_fault(struct vm_fault *vmf)
{
	struct mmapdemo_vma *mv = vmf->vma->vm_private_data;
	struct mmapdemo_buffer *buf = mv->buf;
	struct mmapdemo_mem *pinned;
	struct page *page;
	vm_fault_t ret;

	down_read(&buf->lock);
	if (vmf->pgoff >= buf->mem->npages) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	page = buf->mem->pages[vmf->pgoff];
	if (mv->strategy == MMAPDEMO_STRATEGY_REMAP) {
		ret = vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page));
	} else {
		get_page(page);
		lock_page(page);
		vmf->page = page;
		ret = VM_FAULT_LOCKED;
	}
	atomic64_inc(&buf->faults);
	atomic64_inc(&mv->faults);
	mmapdemo_vma_note_pid(mv, vmf->vma);
unlock:
	up_read(&buf->lock);
	/*
	 * A remap VMA faults only after a resize has unmapped all of it, when
	 * it was long linked: nothing maps the memory mmap() filled in any more.
	 * vm_ops->open, which copies the pin, never runs during a fault. The
	 * plain read keeps the atomic exchange off every later fault.
	 */
	if (READ_ONCE(mv->pinned)) {
		pinned = xchg(&mv->pinned, NULL);
		if (pinned)
			mmapdemo_mem_put(pinned);
	}
	trace_fault(vmf->pgoff, vmf->address, mv->strategy,
		    ret == VM_FAULT_SIGBUS);
	return ret;
}

static const struct vm_operations_struct mmapdemo_vm_ops = {
	.open = mmapdemo_vm_open,
	.close = mmapdemo_vm_close,
	.fault = mmapdemo_vm_fault,
};

/*
 * The first page goes in with vmf_insert_pfn(), the rest with
 * remap_pfn_range(): no remap_pfn_range() call may cover the whole VMA.
 * x86 PAT would then track the VMA as one reserved range and look up its
 * first page at munmap() and fork(), which warns once a resize has
 * unmapped that page, and also in remap_pfn_range()'s own error path when
 * the first page table cannot be allocated (the allocation-failure tests
 * reach that).
 */
static int mmapdemo_remap(const struct mmapdemo_mem *mem,
			  struct vm_area_struct *vma)
{
	pgoff_t pgoff = vma->vm_pgoff;
	pgoff_t end = pgoff + vma_pages(vma);
	unsigned long addr = vma->vm_start;

	vm_flags_mod(vma, VM_IO | VM_PFNMAP, 0);
	if (vmf_insert_pfn(vma, addr, page_to_pfn(mem->pages[pgoff])) !=
	    VM_FAULT_NOPAGE)
		return -ENOMEM;
	addr += PAGE_SIZE;
	pgoff++;

	while (pgoff < end) {
		unsigned long pfn = page_to_pfn(mem->pages[pgoff]);
		unsigned long run = 1;
		int ret;

		while (pgoff + run < end &&
		       page_to_pfn(mem->pages[pgoff + run]) == pfn + run)
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
 * mmapdemo_mmap() - file_operations.mmap of the device
 * @file: an open file of the device
 * @vma: the new mapping
 *
 * Applies the mapping policy, then maps with the file's strategy. The first
 * mmap() fixes the file's strategy.
 *
 * A remap mapping keeps a reference to the memory it was filled with: until
 * the mm links the new VMA into the address_space, just after this
 * returns, a resize cannot unmap it, and its page frames must not be freed
 * under it. The reference goes with the VMA's first fault (see
 * mmapdemo_vm_fault()) or with the VMA.
 *
 * Return: 0 or a negative errno.
 */
int mmapdemo_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmapdemo_file *mf = file->private_data;
	struct mmapdemo_buffer *buf = mf->buf;
	struct mmapdemo_vma *mv;
	int ret;

	mv = kzalloc(sizeof(*mv), GFP_KERNEL);
	if (!mv)
		return -ENOMEM;

	mutex_lock(&mf->lock);
	down_read(&buf->lock);
	ret = mmapdemo_check_mapping(buf->mem, mf->strategy, vma->vm_pgoff,
				     vma_pages(vma), vma->vm_flags);
	if (ret)
		goto unlock;

	vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	vma->vm_ops = &mmapdemo_vm_ops;
	if (mf->strategy == MMAPDEMO_STRATEGY_REMAP) {
		ret = mmapdemo_remap(buf->mem, vma);
		if (ret)
			goto unlock;
		mv->pinned = buf->mem;
		atomic64_inc(&buf->remaps);
	}
	mv->buf = buf;
	mv->vma = vma;
	mv->strategy = mf->strategy;
	mv->pid = task_tgid_nr(current);
	mmapdemo_vma_add(mv);
	mf->mapped = true;
	trace_mmap(mv->pid, vma->vm_start, vma->vm_end - vma->vm_start,
		   vma->vm_pgoff, mv->strategy);
	mv = NULL;
unlock:
	up_read(&buf->lock);
	mutex_unlock(&mf->lock);
	kfree(mv);
	return ret;
}
