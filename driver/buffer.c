// SPDX-License-Identifier: GPL-2.0
/*
 * The memory behind /dev/mmapdemo: its three backends, the buffer's
 * references, its inode on the driver's own pseudo filesystem, and
 * resizing. docs/resizing.md says why each is done as it is.
 */

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/sizes.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "mmapdemo.h"
#include "trace.h"

/*
 * Large requests must fail rather than invoke the OOM killer or warn: the
 * size comes from a module parameter or an ioctl, and a refusal is the
 * right outcome.
 */
#define MMAPDEMO_GFP (GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

/* "mmap" in ASCII: the pseudo filesystem's magic, for statfs() alone. */
#define MMAPDEMO_FS_MAGIC 0x6d6d6170

/*
 * The resize copy yields between pieces of this size: copying a gigabyte
 * in one go keeps the CPU for seconds on a slow machine.
 */
#define MMAPDEMO_COPY_STEP SZ_1M

/**
 * mmapdemo_buffer_max_size() - largest buffer a backend can provide
 * @backend: the backend
 *
 * Return: the size in bytes, a whole number of pages.
 */
size_t mmapdemo_buffer_max_size(enum mmapdemo_backend backend)
{
	if (backend == MMAPDEMO_BACKEND_KMALLOC)
		return PAGE_SIZE << MAX_PAGE_ORDER;
	return (size_t)totalram_pages() << PAGE_SHIFT;
}

/*
 * alloc_pages_exact(), not kmalloc(): kmalloc() memory is slab pages or one
 * compound page, and neither may go to user space page by page.
 */
static int mmapdemo_kmalloc_alloc(struct mmapdemo_mem *mem, gfp_t gfp)
{
	pgoff_t i;

	mem->vaddr = alloc_pages_exact(mem->size, gfp | __GFP_ZERO);
	if (!mem->vaddr)
		return -ENOMEM;
	for (i = 0; i < mem->npages; i++) {
		mem->pages[i] = virt_to_page(mem->vaddr + (i << PAGE_SHIFT));
		SetPageReserved(mem->pages[i]);
	}
	return 0;
}

/*
 * free_pages_exact() drops one reference per page: a page that a fault or
 * get_user_pages() still holds stays allocated until that reference goes.
 */
static void mmapdemo_kmalloc_free(struct mmapdemo_mem *mem)
{
	pgoff_t i;

	for (i = 0; i < mem->npages; i++)
		ClearPageReserved(mem->pages[i]);
	free_pages_exact(mem->vaddr, mem->size);
}

/*
 * Frees the chunks that hold pages [0, @end). Chunk i starts at page
 * i * MMAPDEMO_CHUNK_PAGES; only the last one may be shorter. Each chunk
 * is freed page by page, so the loop yields between chunks: a gigabyte
 * takes long, and a resize runs it for the memory it replaced, after it
 * has dropped its locks. Every caller may sleep.
 */
static void mmapdemo_chunked_free_chunks(struct mmapdemo_mem *mem, pgoff_t end)
{
	pgoff_t i, n;

	for (i = 0; i < end; i += n) {
		n = min_t(pgoff_t, end - i, MMAPDEMO_CHUNK_PAGES);
		free_pages_exact(page_address(mem->pages[i]), n << PAGE_SHIFT);
		cond_resched();
	}
}

/*
 * Each whole chunk is aligned to its size, as alloc_pages_exact() gives it,
 * so the huge strategy can map it with one PMD entry.
 */
static int mmapdemo_chunked_alloc(struct mmapdemo_mem *mem, gfp_t gfp)
{
	pgoff_t i, j, n;
	void *chunk;

	for (i = 0; i < mem->npages; i += n) {
		n = min_t(pgoff_t, mem->npages - i, MMAPDEMO_CHUNK_PAGES);
		chunk = alloc_pages_exact(n << PAGE_SHIFT, gfp | __GFP_ZERO);
		if (!chunk)
			goto free_chunks;
		for (j = 0; j < n; j++)
			mem->pages[i + j] = virt_to_page(chunk + (j << PAGE_SHIFT));
		/* Each chunk is zeroed: a gigabyte of them must yield. */
		cond_resched();
	}
	mem->vaddr = vmap(mem->pages, mem->npages, VM_MAP, PAGE_KERNEL);
	if (!mem->vaddr)
		goto free_chunks;
	return 0;

free_chunks:
	mmapdemo_chunked_free_chunks(mem, i);
	return -ENOMEM;
}

static void mmapdemo_chunked_free(struct mmapdemo_mem *mem)
{
	vunmap(mem->vaddr);
	mmapdemo_chunked_free_chunks(mem, mem->npages);
}

/**
 * mmapdemo_mem_is_chunk() - whether pages make one whole, aligned chunk
 * @mem: the memory
 * @pgoff: first page
 *
 * The kmalloc backend is physically contiguous throughout, the chunked one
 * within each chunk; vmalloc memory is taken as contiguous nowhere.
 *
 * Return: true if pages [@pgoff, @pgoff + MMAPDEMO_CHUNK_PAGES) are in
 * @mem, physically contiguous, and start at a page frame aligned to
 * MMAPDEMO_CHUNK_SIZE, as one PMD entry needs.
 */
bool mmapdemo_mem_is_chunk(const struct mmapdemo_mem *mem, pgoff_t pgoff)
{
	if (mem->backend == MMAPDEMO_BACKEND_VMALLOC ||
	    !IS_ALIGNED(pgoff, MMAPDEMO_CHUNK_PAGES) || pgoff >= mem->npages ||
	    mem->npages - pgoff < MMAPDEMO_CHUNK_PAGES)
		return false;
	return IS_ALIGNED(page_to_pfn(mem->pages[pgoff]), MMAPDEMO_CHUNK_PAGES);
}

static int mmapdemo_vmalloc_alloc(struct mmapdemo_mem *mem, gfp_t gfp)
{
	pgoff_t i;

	mem->vaddr = __vmalloc(mem->size, gfp | __GFP_ZERO);
	if (!mem->vaddr)
		return -ENOMEM;
	/* Each lookup walks the kernel's page tables: yield now and then. */
	for (i = 0; i < mem->npages; i++) {
		mem->pages[i] = vmalloc_to_page(mem->vaddr + (i << PAGE_SHIFT));
		if (!(i % MMAPDEMO_CHUNK_PAGES))
			cond_resched();
	}
	return 0;
}

/**
 * mmapdemo_mem_create() - allocate zeroed buffer memory
 * @backend: where the memory comes from
 * @size: size in bytes; a whole number of pages, at most
 *	mmapdemo_buffer_max_size(@backend)
 * @charged: charge it to the memory cgroup of the calling process
 *
 * Zeroed, as the memory goes to user space and stale kernel data must not.
 * The page array and the pages are charged alike; with __GFP_RETRY_MAYFAIL
 * a cgroup at its limit fails the allocation rather than invoking its OOM
 * killer.
 *
 * Return: the memory with one reference, or ERR_PTR(-ENOMEM).
 */
static struct mmapdemo_mem *mmapdemo_mem_create(enum mmapdemo_backend backend,
						size_t size, bool charged)
{
	gfp_t gfp = MMAPDEMO_GFP | (charged ? __GFP_ACCOUNT : 0);
	struct mmapdemo_mem *mem;
	int ret;

	mem = kzalloc(sizeof(*mem), gfp);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	kref_init(&mem->ref);
	mem->backend = backend;
	mem->size = size;
	mem->npages = size >> PAGE_SHIFT;
	mem->pages = kvcalloc(mem->npages, sizeof(*mem->pages), gfp);
	if (!mem->pages) {
		ret = -ENOMEM;
		goto free_mem;
	}

	switch (backend) {
	case MMAPDEMO_BACKEND_KMALLOC:
		ret = mmapdemo_kmalloc_alloc(mem, gfp);
		break;
	case MMAPDEMO_BACKEND_CHUNKED:
		ret = mmapdemo_chunked_alloc(mem, gfp);
		break;
	default:
		ret = mmapdemo_vmalloc_alloc(mem, gfp);
		break;
	}
	if (ret)
		goto free_pages_array;
	return mem;

free_pages_array:
	kvfree(mem->pages);
free_mem:
	kfree(mem);
	return ERR_PTR(ret);
}

static void mmapdemo_mem_release(struct kref *ref)
{
	struct mmapdemo_mem *mem = container_of(ref, struct mmapdemo_mem, ref);

	if (mem->retained)
		atomic64_sub(mem->size, mem->retained);
	switch (mem->backend) {
	case MMAPDEMO_BACKEND_KMALLOC:
		mmapdemo_kmalloc_free(mem);
		break;
	case MMAPDEMO_BACKEND_CHUNKED:
		mmapdemo_chunked_free(mem);
		break;
	default:
		vfree(mem->vaddr);
		break;
	}
	kvfree(mem->pages);
	kfree(mem);
}

/**
 * mmapdemo_mem_put() - drop a reference to buffer memory
 * @mem: the memory; freed with its last reference
 */
void mmapdemo_mem_put(struct mmapdemo_mem *mem)
{
	kref_put(&mem->ref, mmapdemo_mem_release);
}

/*
 * The pseudo filesystem that holds the buffer's inode. It has no owner: the
 * buffer keeps it mounted for as long as the module is loaded, and an owner
 * would pin the module to itself.
 */
static int mmapdemo_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, MMAPDEMO_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type mmapdemo_fs_type = {
	.name = "mmapdemo",
	.init_fs_context = mmapdemo_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

static struct vfsmount *mmapdemo_fs_mnt;
static int mmapdemo_fs_count;

/**
 * mmapdemo_inode_create() - an inode of the driver's own for the buffer
 *
 * Not a device node's: a node on a tmpfs may be unlinked and its filesystem
 * unmounted while the buffer lives on, and holding its inode would break
 * the unmount.
 *
 * Return: a new inode on the pseudo filesystem, which stays mounted until
 * mmapdemo_inode_put(), or an ERR_PTR().
 */
static struct inode *mmapdemo_inode_create(void)
{
	struct inode *inode;
	int ret;

	ret = simple_pin_fs(&mmapdemo_fs_type, &mmapdemo_fs_mnt,
			    &mmapdemo_fs_count);
	if (ret)
		return ERR_PTR(ret);
	inode = alloc_anon_inode(mmapdemo_fs_mnt->mnt_sb);
	if (IS_ERR(inode))
		simple_release_fs(&mmapdemo_fs_mnt, &mmapdemo_fs_count);
	return inode;
}

static void mmapdemo_inode_put(struct inode *inode)
{
	iput(inode);
	simple_release_fs(&mmapdemo_fs_mnt, &mmapdemo_fs_count);
}

/**
 * mmapdemo_buffer_create() - allocate the buffer with zeroed memory
 * @backend: where the memory comes from
 * @size: size in bytes; a whole number of pages, at most
 *	mmapdemo_buffer_max_size(@backend)
 *
 * The memory is charged to no memory cgroup: it lives as long as the
 * module, longer than the cgroup of whoever loaded it.
 *
 * Return: the buffer with one reference (the caller's), or an ERR_PTR():
 * -ENOMEM, or what mounting the pseudo filesystem returned.
 */
struct mmapdemo_buffer *mmapdemo_buffer_create(enum mmapdemo_backend backend,
					       size_t size)
{
	struct mmapdemo_buffer *buf;
	struct mmapdemo_mem *mem;
	struct inode *inode;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	inode = mmapdemo_inode_create();
	if (IS_ERR(inode)) {
		ret = PTR_ERR(inode);
		goto free_buf;
	}
	mem = mmapdemo_mem_create(backend, size, false);
	if (IS_ERR(mem)) {
		ret = PTR_ERR(mem);
		goto put_inode;
	}
	kref_init(&buf->ref);
	init_rwsem(&buf->lock);
	buf->mem = mem;
	mutex_init(&buf->resize_lock);
	buf->backend = backend;
	buf->inode = inode;
	buf->mapping = inode->i_mapping;
	spin_lock_init(&buf->vmas_lock);
	INIT_LIST_HEAD(&buf->vmas);
	return buf;

put_inode:
	mmapdemo_inode_put(inode);
free_buf:
	kfree(buf);
	return ERR_PTR(ret);
}

static void mmapdemo_buffer_release(struct kref *ref)
{
	struct mmapdemo_buffer *buf = container_of(ref, struct mmapdemo_buffer, ref);

	WARN_ON(!list_empty(&buf->vmas));
	mmapdemo_mem_put(buf->mem);
	mmapdemo_inode_put(buf->inode);
	mutex_destroy(&buf->resize_lock);
	kfree(buf);
}

/**
 * mmapdemo_buffer_get() - take a reference to the buffer
 * @buf: the buffer; the caller already holds a reference
 */
void mmapdemo_buffer_get(struct mmapdemo_buffer *buf)
{
	kref_get(&buf->ref);
}

/**
 * mmapdemo_buffer_put() - drop a reference to the buffer
 * @buf: the buffer; freed with its last reference (the device's, at unload,
 *	since every file and mapping pins the module too)
 */
void mmapdemo_buffer_put(struct mmapdemo_buffer *buf)
{
	kref_put(&buf->ref, mmapdemo_buffer_release);
}

/**
 * mmapdemo_buffer_attach() - make an opened file use the buffer's mapping
 * @buf: the buffer
 * @file: the file, opened through any device node of the device
 *
 * Its mappings then go into the buffer's own address_space, where a resize
 * finds and unmaps them; the node's inode is left alone.
 */
void mmapdemo_buffer_attach(struct mmapdemo_buffer *buf, struct file *file)
{
	file->f_mapping = buf->mapping;
}

/**
 * mmapdemo_buffer_size() - the buffer's current size
 * @buf: the buffer
 *
 * Return: the size in bytes; it may change as soon as this returns.
 */
size_t mmapdemo_buffer_size(struct mmapdemo_buffer *buf)
{
	size_t size;

	down_read(&buf->lock);
	size = buf->mem->size;
	up_read(&buf->lock);
	return size;
}

/*
 * Copies what stays across a resize, under the buffer's lock held for
 * writing, in pieces with a chance to reschedule between them: a copy of
 * gigabytes must not keep the CPU to itself.
 */
static void mmapdemo_mem_copy(struct mmapdemo_mem *to,
			      const struct mmapdemo_mem *from)
{
	size_t len = min(to->size, from->size);
	size_t done, step;

	for (done = 0; done < len; done += step) {
		step = min_t(size_t, len - done, MMAPDEMO_COPY_STEP);
		memcpy(to->vaddr + done, from->vaddr + done, step);
		cond_resched();
	}
}

/**
 * mmapdemo_buffer_resize() - give the buffer a new size
 * @buf: the buffer
 * @size: the new size in bytes, rounded up to whole pages
 *
 * Grown pages read as zero. Past a smaller end every page is unmapped from
 * every process first, private copies included, so that a later access
 * raises SIGBUS; below it, mappings fault the moved pages back in.
 *
 * The new memory is charged to the caller's memory cgroup, and allocated
 * under the resize lock: however many processes resize at once, no more
 * than one new allocation exists beside the current memory.
 *
 * Return: 0; -EINVAL for size 0, -EFBIG past what the backend can
 * provide, -ENOMEM when the new memory cannot be allocated (the caller's
 * cgroup limit included), -EINTR when a fatal signal came while waiting for
 * another resize or for an mmap() in progress. On error the buffer is
 * unchanged.
 */
int mmapdemo_buffer_resize(struct mmapdemo_buffer *buf, u64 size)
{
	struct mmapdemo_mem *mem, *old;
	pgoff_t i;
	int ret;

	if (!size)
		return -EINVAL;
	if (size > mmapdemo_buffer_max_size(buf->backend))
		return -EFBIG;

	if (mutex_lock_killable(&buf->resize_lock))
		return -EINTR;
	mem = mmapdemo_mem_create(buf->backend, PAGE_ALIGN(size), true);
	if (IS_ERR(mem)) {
		ret = PTR_ERR(mem);
		goto unlock_resize;
	}
	ret = mmapdemo_mmap_hold_fills(buf);
	if (ret)
		goto free_mem;

	down_write(&buf->lock);
	old = buf->mem;
	/*
	 * A fault that found a page before this lock was taken holds it locked
	 * until its page table entry is in: wait for those, so the unmapping
	 * below catches them.
	 */
	for (i = 0; i < old->npages; i++) {
		lock_page(old->pages[i]);
		unlock_page(old->pages[i]);
	}
	if (mem->size < old->size)
		unmap_mapping_range(buf->mapping, mem->size, 0, 1);
	/*
	 * All of the file, not only what @old covers: a remap mapping made
	 * while an earlier resize ran holds pages of older memory over its
	 * whole length.
	 */
	unmap_mapping_range(buf->mapping, 0, 0, 0);
	mmapdemo_mem_copy(mem, old);
	buf->mem = mem;
	buf->fills_held = false;
	up_write(&buf->lock);
	atomic64_inc(&buf->resizes);
	trace_resize(old->size, mem->size, atomic_read(&buf->nr_vmas));
	/*
	 * fork() copies the entries of a PFN mapping from the parent, and a
	 * copy made while the pass above ran can hold pages the parent no
	 * longer maps. The child's VMA is linked by now: a second pass
	 * catches it before @old can be freed, as truncate_pagecache() does.
	 */
	unmap_mapping_range(buf->mapping, 0, 0, 0);
	/*
	 * What mappings still hold of @old from here on counts as retained
	 * until they let go (mmapdemo_mem_release()); with no such mapping
	 * the put below frees it and takes it off the count at once.
	 */
	old->retained = &buf->retained;
	atomic64_add(old->size, &buf->retained);
	mutex_unlock(&buf->resize_lock);

	mmapdemo_mem_put(old);
	return 0;

free_mem:
	mmapdemo_mem_put(mem);
unlock_resize:
	mutex_unlock(&buf->resize_lock);
	return ret;
}
