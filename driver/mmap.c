// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of /dev/mmapdemo: one mapping policy, five strategies to fill the
 * page tables, and the lifetime of the VMAs, entered through .mmap or, on
 * 7.x, .mmap_prepare (compat.h picks one). docs/strategies.md says why.
 */

#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "mmapdemo.h"
#include "trace.h"

/**
 * mmapdemo_check_mapping() - the mapping policy shared by all strategies
 * @mem: the memory to be mapped
 * @maps_pfns: the strategy maps page frames, not struct pages
 * @pgoff: first page of the buffer requested
 * @count: number of pages requested
 * @exec: the request has VM_EXEC
 * @mayshare: the request has VM_MAYSHARE (MAP_SHARED); not VM_SHARED,
 *	which the mm drops from a MAP_SHARED mapping of a file opened read-only
 *
 * Looks at the request only, so both entry points call it. The bounds are
 * compared in pages, never as @pgoff + @count, which could overflow. The
 * callers then set VM_DONTEXPAND (mremap() cannot grow the mapping past
 * the buffer) and VM_DONTDUMP (core dumps do not copy the device), and
 * clear VM_MAYEXEC (a later mprotect(PROT_EXEC) fails too).
 *
 * Return: 0 if the mapping may be made, else the errno for mmap() to return.
 */
static int mmapdemo_check_mapping(const struct mmapdemo_mem *mem,
				  bool maps_pfns, pgoff_t pgoff,
				  unsigned long count, bool exec, bool mayshare)
{
	if (pgoff >= mem->npages || count > mem->npages - pgoff)
		return -EINVAL;
	if (exec)
		return -EPERM;
	if (!mayshare && maps_pfns)
		return -EINVAL;
	return 0;
}

static void mmapdemo_vma_add(struct mmapdemo_vma *mv)
{
	struct mmapdemo_buffer *buf = mv->buf;

	mmapdemo_buffer_get(buf);
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
	mv->strategy = from->strategy;
	mv->pid = from->pid;
	mmapdemo_vma_add(mv);
	vma->vm_private_data = mv;
}

/*
 * An entry of a mapping that failed before vm_ops->mapped listed it; it
 * holds no reference to the buffer yet. The file's lock is held, or the
 * file is being released.
 */
static void mmapdemo_vma_free_parked(struct mmapdemo_vma *mv)
{
	list_del(&mv->node);
	if (mv->pinned)
		mmapdemo_mem_put(mv->pinned);
	kfree(mv);
}

/**
 * mmapdemo_file_unpark_all() - free the entries of mappings that failed
 * @mf: an open file of the device, being released
 *
 * What remains parked on a file is the entry of an mmap() that failed
 * after .mmap_prepare and before the core made its VMA: nothing else
 * learns of that failure.
 */
void mmapdemo_file_unpark_all(struct mmapdemo_file *mf)
{
	struct mmapdemo_vma *mv, *next;

	list_for_each_entry_safe(mv, next, &mf->parked, node)
		mmapdemo_vma_free_parked(mv);
}

/*
 * A parked entry is a VMA's whose mmap_action or vm_ops->mapped failed:
 * the core unmaps it again before mmap() returns.
 */
static void mmapdemo_vm_close(struct vm_area_struct *vma)
{
	struct mmapdemo_vma *mv = vma->vm_private_data;
	struct mmapdemo_file *mf;
	struct mmapdemo_buffer *buf;

	if (!mv)
		return;
	mf = mv->parked;
	if (mf) {
		mutex_lock(&mf->lock);
		mmapdemo_vma_free_parked(mv);
		mutex_unlock(&mf->lock);
		return;
	}
	buf = mv->buf;
	spin_lock(&buf->vmas_lock);
	list_del(&mv->node);
	atomic_dec(&buf->nr_vmas);
	spin_unlock(&buf->vmas_lock);
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

static void mmapdemo_count_fault(struct mmapdemo_vma *mv,
				 const struct vm_fault *vmf)
{
	atomic64_inc(&mv->buf->faults);
	if (vmf->flags & FAULT_FLAG_VMA_LOCK)
		atomic64_inc(&mv->buf->vma_lock_faults);
	atomic64_inc(&mv->faults);
	mmapdemo_vma_note_pid(mv, vmf->vma);
}

/**
 * mmapdemo_vm_fault() - map the page for one faulting offset
 * @vmf: the fault; @vmf->pgoff already includes the VMA's vm_pgoff
 *
 * PFN-based strategies: inserts the page frame itself (VM_FAULT_NOPAGE).
 * Page-based ones: returns the page referenced and locked
 * (VM_FAULT_LOCKED); it stays locked until the core mm has mapped it, and a
 * resize waits for that lock before it unmaps, so a page found here before
 * a resize never stays mapped after it.
 *
 * Only a fault that mapped its page is counted and traced as mapped: one
 * that found no memory for a page table (VM_FAULT_OOM) mapped nothing.
 *
 * Return: as above, VM_FAULT_SIGBUS for an offset past the buffer, or
 * vmf_insert_pfn()'s error.
 */
static vm_fault_t mmapdemo_vm_fault(struct vm_fault *vmf)
{
	struct mmapdemo_vma *mv = vmf->vma->vm_private_data;
	struct mmapdemo_buffer *buf = mv->buf;
	struct page *page;
	vm_fault_t ret;

	down_read(&buf->lock);
	if (vmf->pgoff >= buf->mem->npages) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	page = buf->mem->pages[vmf->pgoff];
	if (vmf->vma->vm_flags & VM_PFNMAP) {
		ret = vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page));
		/* No memory for a page table: the core retries the fault. */
		if (ret == VM_FAULT_OOM)
			goto unlock;
	} else {
		get_page(page);
		lock_page(page);
		vmf->page = page;
		ret = VM_FAULT_LOCKED;
	}
	mmapdemo_count_fault(mv, vmf);
unlock:
	up_read(&buf->lock);
	if (ret != VM_FAULT_OOM)
		trace_fault(vmf->pgoff, vmf->address, mv->strategy,
			    ret == VM_FAULT_SIGBUS);
	return ret;
}

/**
 * mmapdemo_vm_map_pages() - map the pages around a read fault
 * @vmf: the fault
 * @start_pgoff: first page offset to map
 * @end_pgoff: last page offset to map (inclusive); all of them lie in one
 *	page table and in the VMA
 *
 * Maps every page of the buffer in the range that is not mapped yet, in
 * batches, with vm_insert_pages(). The kernel may call this under
 * rcu_read_lock() (6.12 does), so nothing here may sleep: a page table
 * still to be allocated, or a resize holding the buffer's lock, leaves the
 * fault to .fault, which may sleep. The entries go in under the buffer's
 * lock, so a resize's unmapping, which waits for that lock, removes them.
 *
 * Return: VM_FAULT_NOPAGE when the faulting page is mapped, else 0 (.fault
 * then handles it).
 */
static vm_fault_t mmapdemo_vm_map_pages(struct vm_fault *vmf,
					pgoff_t start_pgoff, pgoff_t end_pgoff)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mmapdemo_vma *mv = vma->vm_private_data;
	struct mmapdemo_buffer *buf = mv->buf;
	unsigned long addr, left;
	pgoff_t pgoff, end;
	bool mapped;
	int err;

	if (pmd_none(READ_ONCE(*vmf->pmd)))
		return 0;
	if (!down_read_trylock(&buf->lock))
		return 0;

	/* Every page in [start_pgoff, pgoff) is mapped when the loop ends. */
	end = min_t(pgoff_t, end_pgoff + 1, buf->mem->npages);
	pgoff = start_pgoff;
	while (pgoff < end) {
		addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		left = end - pgoff;
		err = vm_insert_pages(vma, addr, &buf->mem->pages[pgoff], &left);
		pgoff = end - left;
		if (err != -EBUSY)
			break;
		pgoff++;	/* mapped already, by an earlier or a racing fault */
	}
	mapped = vmf->pgoff < pgoff;
	if (mapped)
		mmapdemo_count_fault(mv, vmf);
	up_read(&buf->lock);
	if (mapped)
		trace_fault(vmf->pgoff, vmf->address, mv->strategy, false);
	return mapped ? VM_FAULT_NOPAGE : 0;
}

#ifdef MMAPDEMO_HAVE_PMD_PFNMAP
/**
 * mmapdemo_vm_huge_fault() - map a whole chunk with one PMD entry
 * @vmf: the fault
 * @order: the size of entry the core asks for
 *
 * Possible when the PMD-aligned range around the address lies in the VMA
 * and maps a whole physically contiguous, aligned chunk of the buffer
 * (mmapdemo_mem_is_chunk()).
 *
 * Return: VM_FAULT_NOPAGE, or VM_FAULT_FALLBACK: the core then maps one
 * page through .fault, which also raises SIGBUS past the end.
 */
static vm_fault_t mmapdemo_vm_huge_fault(struct vm_fault *vmf,
					 unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mmapdemo_vma *mv = vma->vm_private_data;
	struct mmapdemo_buffer *buf = mv->buf;
	unsigned long haddr = vmf->address & PMD_MASK;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	unsigned long pfn;
	pgoff_t pgoff;

	if (order != PMD_ORDER || MMAPDEMO_CHUNK_SIZE != PMD_SIZE)
		return VM_FAULT_FALLBACK;
	if (haddr < vma->vm_start || vma->vm_end - haddr < PMD_SIZE)
		return VM_FAULT_FALLBACK;
	pgoff = vmf->pgoff - ((vmf->address - haddr) >> PAGE_SHIFT);

	down_read(&buf->lock);
	if (!mmapdemo_mem_is_chunk(buf->mem, pgoff))
		goto unlock;
	pfn = page_to_pfn(buf->mem->pages[pgoff]);
	ret = mmapdemo_vmf_insert_pfn_pmd(vmf, pfn,
					  vmf->flags & FAULT_FLAG_WRITE);
	if (ret == VM_FAULT_NOPAGE)
		mmapdemo_count_fault(mv, vmf);
unlock:
	up_read(&buf->lock);
	if (ret == VM_FAULT_NOPAGE)
		trace_fault(pgoff, haddr, mv->strategy, false);
	return ret;
}
#endif

/**
 * mmapdemo_vm_access() - read or write a PFN mapping for another process
 * @vma: the mapping
 * @addr: user address in it
 * @data: kernel buffer to copy from or to
 * @len: bytes asked for
 * @write: copy into the mapping
 *
 * get_user_pages() refuses PFN mappings; ptrace() and /proc/<pid>/mem then
 * come here. Copies within one page, under the buffer's lock. A write
 * needs a writable mapping: a debugger must not change a buffer through a
 * mapping its owner could not write.
 *
 * Return: bytes copied, or -EIO past the end of the buffer or for a write
 * to a read-only mapping.
 */
static int mmapdemo_vm_access(struct vm_area_struct *vma, unsigned long addr,
			      void *data, int len, int write)
{
	struct mmapdemo_vma *mv = vma->vm_private_data;
	struct mmapdemo_buffer *buf = mv->buf;
	unsigned long offset;
	int ret;

	if (write && !(vma->vm_flags & VM_WRITE))
		return -EIO;
	offset = (vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);
	len = min_t(unsigned long, len, PAGE_SIZE - offset_in_page(addr));

	down_read(&buf->lock);
	if (offset >= buf->mem->size) {
		ret = -EIO;
		goto unlock;
	}
	if (write)
		memcpy(buf->mem->vaddr + offset, data, len);
	else
		memcpy(data, buf->mem->vaddr + offset, len);
	ret = len;
unlock:
	up_read(&buf->lock);
	return ret;
}

/*
 * The first page goes in with vmf_insert_pfn(), the rest with
 * remap_pfn_range(): no remap_pfn_range() call may cover the whole VMA.
 * x86 PAT would then track the VMA as one reserved range and look up its
 * first page at munmap() and fork(), which warns once a resize has
 * unmapped that page, and also in remap_pfn_range()'s own error path when
 * the first page table cannot be allocated (the allocation-failure tests
 * reach that).
 *
 * Through .mmap_prepare the buffer may have shrunk since the policy check
 * (see mmapdemo_vm_mapped()): only what it still holds is mapped, and the
 * rest of the VMA faults (SIGBUS), as after a resize.
 *
 * A run that cannot get a page table fails the whole fill, and what the
 * runs before it mapped is zapped here, under the buffer's lock the caller
 * holds. The core unmaps a failed VMA only after the lock is dropped, and
 * through .mmap that VMA is in no address_space yet: a resize in between
 * would neither see nor zap those entries and would free the memory under
 * them, which hold no page references: it waits only for the VMAs of
 * fills that succeeded (mmapdemo_mmap_hold_fills()).
 * Through .mapped a resize would find the VMA, but a failed fill leaves
 * nothing mapped either way.
 */
static int mmapdemo_remap(const struct mmapdemo_mem *mem,
			  struct vm_area_struct *vma)
{
	pgoff_t pgoff = vma->vm_pgoff;
	pgoff_t end = min_t(pgoff_t, pgoff + vma_pages(vma), mem->npages);
	unsigned long addr = vma->vm_start;
	int ret;

	if (pgoff >= end)
		return 0;
	if (vmf_insert_pfn(vma, addr, page_to_pfn(mem->pages[pgoff])) !=
	    VM_FAULT_NOPAGE)
		return -ENOMEM;
	addr += PAGE_SIZE;
	pgoff++;

	while (pgoff < end) {
		unsigned long pfn = page_to_pfn(mem->pages[pgoff]);
		unsigned long run = 1;

		while (pgoff + run < end &&
		       page_to_pfn(mem->pages[pgoff + run]) == pfn + run)
			run++;
		ret = remap_pfn_range(vma, addr, pfn, run << PAGE_SHIFT,
				      vma->vm_page_prot);
		if (ret)
			goto zap;
		addr += run << PAGE_SHIFT;
		pgoff += run;
		/* vmalloc memory: one call per page, a gigabyte in 262144. */
		cond_resched();
	}
	return 0;

zap:
	zap_special_vma_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
	return ret;
}

/*
 * vm_insert_pages() takes each page table lock once per batch of pages, not
 * once per page, and leaves ordinary, refcounted page entries. The range
 * lies in the new VMA and every page may be inserted, so it can only fail
 * to allocate a page table: -ENOMEM for the last level, but -EFAULT for
 * the levels above (walk_to_pmd()), which mmap() must not report. On error
 * the mm unmaps what was inserted. Like mmapdemo_remap(), it maps only what
 * the buffer still holds.
 */
static int mmapdemo_prefault(const struct mmapdemo_mem *mem,
			     struct vm_area_struct *vma)
{
	unsigned long left;

	if (vma->vm_pgoff >= mem->npages)
		return 0;
	left = min_t(unsigned long, vma_pages(vma),
		     mem->npages - vma->vm_pgoff);
	if (vm_insert_pages(vma, vma->vm_start, &mem->pages[vma->vm_pgoff],
			    &left))
		return -ENOMEM;
	return 0;
}

#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
static int mmapdemo_vm_mapped(unsigned long start, unsigned long end,
			      pgoff_t pgoff, const struct file *file,
			      void **vm_private_data);
#endif

static const struct vm_operations_struct mmapdemo_page_vm_ops = {
	.open = mmapdemo_vm_open,
	.close = mmapdemo_vm_close,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
	.mapped = mmapdemo_vm_mapped,
#endif
	.fault = mmapdemo_vm_fault,
};

static const struct vm_operations_struct mmapdemo_faultaround_vm_ops = {
	.open = mmapdemo_vm_open,
	.close = mmapdemo_vm_close,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
	.mapped = mmapdemo_vm_mapped,
#endif
	.fault = mmapdemo_vm_fault,
	.map_pages = mmapdemo_vm_map_pages,
};

static const struct vm_operations_struct mmapdemo_remap_vm_ops = {
	.open = mmapdemo_vm_open,
	.close = mmapdemo_vm_close,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
	.mapped = mmapdemo_vm_mapped,
#endif
	.fault = mmapdemo_vm_fault,
	.access = mmapdemo_vm_access,
};

static const struct vm_operations_struct mmapdemo_huge_vm_ops = {
	.open = mmapdemo_vm_open,
	.close = mmapdemo_vm_close,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
	.mapped = mmapdemo_vm_mapped,
#endif
	.fault = mmapdemo_vm_fault,
#ifdef MMAPDEMO_HAVE_PMD_PFNMAP
	.huge_fault = mmapdemo_vm_huge_fault,
#endif
	.access = mmapdemo_vm_access,
};

/**
 * struct mmapdemo_strategy_ops - what makes one strategy
 * @vm_ops: the operations of its VMAs
 * @pfnmap: it maps page frames: its VMAs get VM_PFNMAP and VM_IO
 * @mixedmap: it inserts struct pages itself: its VMAs get VM_MIXEDMAP
 * @hugepage: its VMAs get VM_HUGEPAGE
 * @fill: fills the page tables when the mapping is made, or NULL to leave
 *	it to the faults
 * @describe: .mmap_prepare only: describes the fill as the descriptor's
 *	mmap_action where one action can do it, and says whether it did;
 *	NULL, or false, leaves the fill to vm_ops->mapped
 *
 * Flags as booleans rather than VM_* masks: each entry point sets them in
 * its kernel's own form (vm_flags_mod() on a VMA, vma_desc_set_flags() on
 * a descriptor).
 */
struct mmapdemo_strategy_ops {
	const struct vm_operations_struct *vm_ops;
	bool pfnmap;
	bool mixedmap;
	bool hugepage;
	int (*fill)(const struct mmapdemo_mem *mem, struct vm_area_struct *vma);
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
	bool (*describe)(struct vm_area_desc *desc,
			 const struct mmapdemo_mem *mem);
#endif
};

#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
/*
 * One mmap_action maps one range of page frames, so a remap mapping gets
 * one only where the pages it maps are physically contiguous: the kmalloc
 * backend, or a range inside one chunk. Kernels with mmap_action track a
 * remap over the whole VMA in a context of their own, so the caveat of
 * mmapdemo_remap() about such a remap does not apply.
 */
static bool mmapdemo_describe_remap(struct vm_area_desc *desc,
				    const struct mmapdemo_mem *mem)
{
	struct page * const *pages = &mem->pages[desc->pgoff];
	unsigned long pfn = page_to_pfn(pages[0]);
	unsigned long i;

	for (i = 1; i < vma_desc_pages(desc); i++)
		if (page_to_pfn(pages[i]) != pfn + i)
			return false;
	mmap_action_remap_full(desc, pfn);
	return true;
}

static bool mmapdemo_describe_prefault(struct vm_area_desc *desc,
				       const struct mmapdemo_mem *mem)
{
	mmap_action_map_kernel_pages_full(desc, &mem->pages[desc->pgoff]);
	return true;
}
#endif

static const struct mmapdemo_strategy_ops mmapdemo_strategies[] = {
	[MMAPDEMO_STRATEGY_REMAP] = {
		.vm_ops = &mmapdemo_remap_vm_ops,
		.pfnmap = true,
		.fill = mmapdemo_remap,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
		.describe = mmapdemo_describe_remap,
#endif
	},
	[MMAPDEMO_STRATEGY_FAULT] = {
		.vm_ops = &mmapdemo_page_vm_ops,
	},
	/*
	 * .map_pages inserts pages itself: under mmap_lock for reading before
	 * 6.7, under the per-VMA lock and rcu_read_lock() from 6.7 on.
	 */
	[MMAPDEMO_STRATEGY_FAULTAROUND] = {
		.vm_ops = &mmapdemo_faultaround_vm_ops,
		.mixedmap = true,
	},
	[MMAPDEMO_STRATEGY_PREFAULT] = {
		.vm_ops = &mmapdemo_page_vm_ops,
		.mixedmap = true,
		.fill = mmapdemo_prefault,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
		.describe = mmapdemo_describe_prefault,
#endif
	},
	/* VM_HUGEPAGE: huge entries even where THP is enabled for madvise only. */
	[MMAPDEMO_STRATEGY_HUGE] = {
		.vm_ops = &mmapdemo_huge_vm_ops,
		.pfnmap = true,
		.hugepage = true,
	},
};

/*
 * Start keeping the entry of a new, filled VMA: it references the buffer
 * from now on and is listed for resizes and debugfs.
 */
static void mmapdemo_vma_list(struct mmapdemo_buffer *buf,
			      struct mmapdemo_vma *mv,
			      struct vm_area_struct *vma,
			      enum mmapdemo_strategy strategy)
{
	mv->buf = buf;
	mv->vma = vma;
	mv->strategy = strategy;
	mv->pid = task_tgid_nr(current);
	mmapdemo_vma_add(mv);
	trace_mmap(mv->pid, vma->vm_start, vma->vm_end - vma->vm_start,
		   vma->vm_pgoff, mv->strategy);
}

#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
/*
 * Entries still parked for @mm belong to mmap() calls that have ended:
 * the core holds @mm's mmap_lock for writing from .mmap_prepare until the
 * mapping is complete or undone, and so do its callers here. One that
 * failed before its VMA existed left its entry behind; this frees it.
 */
static void mmapdemo_file_unpark_stale(struct mmapdemo_file *mf,
				       const struct mm_struct *mm)
{
	struct mmapdemo_vma *mv, *next;

	list_for_each_entry_safe(mv, next, &mf->parked, node)
		if (mv->mm == mm)
			mmapdemo_vma_free_parked(mv);
}

/**
 * mmapdemo_mmap_prepare() - file_operations.mmap_prepare of the device
 * @desc: the mapping to be made
 *
 * Applies the mapping policy and sets the VMA's flags and operations for
 * the file's strategy. Where one mmap_action can fill the mapping (a remap
 * of one contiguous run, a prefault), describes it, and pins the memory it
 * names: the core performs the action after this has returned and dropped
 * the buffer's lock, and a resize in between must not free that memory.
 * vm_ops->mapped (mmapdemo_vm_mapped()) does the rest.
 *
 * The VMA's entry is allocated here and parked on the file until .mapped
 * lists it: a mapping can still fail after this returns, and the core
 * tells the driver only if the VMA exists by then (vm_ops->close).
 * The first mapping to pass the policy fixes the file's strategy.
 *
 * Return: 0 or a negative errno.
 */
int mmapdemo_mmap_prepare(struct vm_area_desc *desc)
{
	struct mmapdemo_file *mf = desc->file->private_data;
	struct mmapdemo_buffer *buf = mf->buf;
	const struct mmapdemo_strategy_ops *ops;
	struct mmapdemo_vma *mv;
	int ret;

	mv = kzalloc(sizeof(*mv), GFP_KERNEL);
	if (!mv)
		return -ENOMEM;

	mutex_lock(&mf->lock);
	mmapdemo_file_unpark_stale(mf, desc->mm);
	ops = &mmapdemo_strategies[mf->strategy];
	down_read(&buf->lock);
	ret = mmapdemo_check_mapping(buf->mem, ops->pfnmap, desc->pgoff,
				     vma_desc_pages(desc),
				     vma_desc_test(desc, VMA_EXEC_BIT),
				     vma_desc_test(desc, VMA_MAYSHARE_BIT));
	if (ret)
		goto unlock;

	/* VM_DONTEXPAND makes every mapping VM_SPECIAL: never merged. */
	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
	vma_desc_clear_flags(desc, VMA_MAYEXEC_BIT);
	if (ops->pfnmap)
		vma_desc_set_flags(desc, VMA_IO_BIT, VMA_PFNMAP_BIT);
	if (ops->mixedmap)
		vma_desc_set_flags(desc, VMA_MIXEDMAP_BIT);
	if (ops->hugepage)
		vma_desc_set_flags(desc, VMA_HUGEPAGE_BIT);
	if (ops->describe && ops->describe(desc, buf->mem)) {
		kref_get(&buf->mem->ref);
		mv->pinned = buf->mem;
		/* Filling can fail only for want of a page table. */
		desc->action.error_override = -ENOMEM;
	}
	mv->strategy = mf->strategy;
	mv->parked = mf;
	mv->mm = desc->mm;
	list_add_tail(&mv->node, &mf->parked);
	desc->vm_ops = ops->vm_ops;
	desc->private_data = mv;
	mf->mapped = true;
	mv = NULL;
unlock:
	up_read(&buf->lock);
	mutex_unlock(&mf->lock);
	kfree(mv);
	return ret;
}

/**
 * mmapdemo_vm_mapped() - vm_operations_struct.mapped: the VMA exists
 * @start: its first address
 * @end: the address past it
 * @pgoff: its page offset in the buffer
 * @file: the file it maps
 * @vm_private_data: the VMA's entry, parked by mmapdemo_mmap_prepare()
 *
 * Runs once per new VMA, after the mmap_action, under mmap_lock for
 * writing, with the VMA in the mm and linked into the buffer's
 * address_space, where a resize finds it. Other threads cannot fault in
 * it before mmap() returns, but they can reach the entries the action
 * made: those map memory that is pinned, and so still allocated.
 *
 * If a resize has replaced that memory since .mmap_prepare, whether its
 * unmapping ran before the action or after it, the action's entries go,
 * and the VMA faults from the current memory, as after any resize. Either
 * way the pin is dropped: a later resize unmaps this VMA before it frees
 * the memory. A mapping that needs many remaps (vmalloc, chunked) is
 * filled here, under the buffer's lock, as .mmap fills it.
 *
 * Return: 0, or a negative errno; the core then unmaps the VMA, and
 * mmapdemo_vm_close() frees the entry, still parked.
 */
static int mmapdemo_vm_mapped(unsigned long start, unsigned long end,
			      pgoff_t pgoff, const struct file *file,
			      void **vm_private_data)
{
	struct mmapdemo_file *mf = file->private_data;
	struct mmapdemo_vma *mv = *vm_private_data;
	struct mmapdemo_buffer *buf = mf->buf;
	const struct mmapdemo_strategy_ops *ops;
	struct mmapdemo_mem *pinned;
	struct vm_area_struct *vma;
	int ret = 0;

	/*
	 * The hook is told the range; the fill and the entry need the VMA.
	 * A caller whose VMA is not in the mm yet (a stacking filesystem's
	 * mmap through compat_vma_mmap()) is refused.
	 */
	vma = vma_lookup(current->mm, start);
	if (!vma || vma->vm_end != end || vma->vm_pgoff != pgoff)
		return -EINVAL;

	ops = &mmapdemo_strategies[mv->strategy];
	pinned = mv->pinned;
	mutex_lock(&mf->lock);
	down_read(&buf->lock);
	if (pinned) {
		if (pinned != buf->mem)
			zap_special_vma_range(vma, start, end - start);
		atomic64_inc(&buf->remaps);
		atomic64_inc(&buf->mmap_actions);
	} else if (ops->fill) {
		ret = ops->fill(buf->mem, vma);
		if (ret)
			goto unlock;
		atomic64_inc(&buf->remaps);
	}
	list_del(&mv->node);
	mv->parked = NULL;
	mv->pinned = NULL;
	mmapdemo_vma_list(buf, mv, vma, mv->strategy);
unlock:
	up_read(&buf->lock);
	mutex_unlock(&mf->lock);
	if (!ret && pinned)
		mmapdemo_mem_put(pinned);
	return ret;
}
#else
/**
 * mmapdemo_mmap_hold_fills() - keep .mmap from filling mappings for a resize
 * @buf: the buffer; the caller holds its resize lock
 *
 * .mmap fills a remap or prefault mapping before the core links the VMA
 * into the buffer's address_space, where a resize unmaps it: a resize in
 * between would miss it, and stores through it would land in memory the
 * resize has already copied. Until the resize clears
 * &mmapdemo_buffer.fills_held, .mmap leaves new mappings to faults, and
 * this waits for every mapping filled before that: its mmap() has linked
 * the VMA, or failed and unmapped it, once its mm's mmap_lock is free.
 *
 * Return: 0, or -EINTR if a fatal signal came while waiting; the hold is
 * then released.
 */
int mmapdemo_mmap_hold_fills(struct mmapdemo_buffer *buf)
{
	struct mmapdemo_vma *mv;
	struct mm_struct *mm;

	down_write(&buf->lock);
	buf->fills_held = true;
	up_write(&buf->lock);

	for (;;) {
		mm = NULL;
		spin_lock(&buf->vmas_lock);
		list_for_each_entry(mv, &buf->vmas, node) {
			if (mv->unlinked) {
				mm = mv->vma->vm_mm;
				mmgrab(mm);
				break;
			}
		}
		spin_unlock(&buf->vmas_lock);
		if (!mm)
			return 0;

		if (mmap_read_lock_killable(mm)) {
			mmdrop(mm);
			down_write(&buf->lock);
			buf->fills_held = false;
			up_write(&buf->lock);
			return -EINTR;
		}
		mmap_read_unlock(mm);

		/* Every mmap() into @mm that filled before the hold is done. */
		spin_lock(&buf->vmas_lock);
		list_for_each_entry(mv, &buf->vmas, node)
			if (mv->vma->vm_mm == mm)
				mv->unlinked = false;
		spin_unlock(&buf->vmas_lock);
		mmdrop(mm);
	}
}

/**
 * mmapdemo_vma_setup() - fill a new VMA and start keeping its entry
 * @buf: the buffer; its lock is held for reading
 * @mv: the new, empty entry; the caller makes it the VMA's private data
 * @vma: the new VMA
 * @strategy: the strategy it maps with
 *
 * The VMA is filled before the mm links it, just after .mmap returns,
 * where a resize can unmap it: the entry is marked for a resize to wait
 * for that (mmapdemo_mmap_hold_fills()) before it unmaps, so the memory
 * filled in, whose page frames a PFN mapping holds no references to, is
 * never freed under it. While a resize holds fills, the VMA is left to
 * faults instead.
 *
 * Return: 0, or the fill's negative errno (@mv is then unused).
 */
static int mmapdemo_vma_setup(struct mmapdemo_buffer *buf,
			      struct mmapdemo_vma *mv,
			      struct vm_area_struct *vma,
			      enum mmapdemo_strategy strategy)
{
	const struct mmapdemo_strategy_ops *ops = &mmapdemo_strategies[strategy];
	int ret;

	if (ops->fill && !buf->fills_held) {
		ret = ops->fill(buf->mem, vma);
		if (ret)
			return ret;
		mv->unlinked = true;
		atomic64_inc(&buf->remaps);
	}
	mmapdemo_vma_list(buf, mv, vma, strategy);
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
 * Return: 0 or a negative errno.
 */
int mmapdemo_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmapdemo_file *mf = file->private_data;
	struct mmapdemo_buffer *buf = mf->buf;
	const struct mmapdemo_strategy_ops *ops;
	struct mmapdemo_vma *mv;
	vm_flags_t vm_flags;
	int ret;

	mv = kzalloc(sizeof(*mv), GFP_KERNEL);
	if (!mv)
		return -ENOMEM;

	mutex_lock(&mf->lock);
	ops = &mmapdemo_strategies[mf->strategy];
	down_read(&buf->lock);
	ret = mmapdemo_check_mapping(buf->mem, ops->pfnmap, vma->vm_pgoff,
				     vma_pages(vma), vma->vm_flags & VM_EXEC,
				     vma->vm_flags & VM_MAYSHARE);
	if (ret)
		goto unlock;

	vm_flags = VM_DONTEXPAND | VM_DONTDUMP;
	if (ops->pfnmap)
		vm_flags |= VM_IO | VM_PFNMAP;
	if (ops->mixedmap)
		vm_flags |= VM_MIXEDMAP;
	if (ops->hugepage)
		vm_flags |= VM_HUGEPAGE;
	vm_flags_mod(vma, vm_flags, VM_MAYEXEC);
	vma->vm_ops = ops->vm_ops;
	ret = mmapdemo_vma_setup(buf, mv, vma, mf->strategy);
	if (ret)
		goto unlock;
	vma->vm_private_data = mv;
	mf->mapped = true;
	mv = NULL;
unlock:
	up_read(&buf->lock);
	mutex_unlock(&mf->lock);
	kfree(mv);
	return ret;
}
#endif
