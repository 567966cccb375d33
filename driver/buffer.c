// SPDX-License-Identifier: GPL-2.0
/*
 * The memory behind /dev/mmapdemo.
 *
 * The kmalloc backend is the classic contiguous buffer of LDD3 and of the
 * articles this driver grew from: physically contiguous pages marked
 * reserved. It takes them from the page allocator with alloc_pages_exact(),
 * the allocator kmalloc() itself uses for sizes above two pages, and not
 * from kmalloc() directly, for two reasons:
 *  - kmalloc() serves up to two pages from slab caches, and a slab page
 *    must never reach user space: its struct page carries slab state that a
 *    user mapping would overwrite.
 *  - Above that, kmalloc() returns one compound page. PG_reserved may not be
 *    set on compound pages, and its tail pages cannot be handed to the fault
 *    path one by one. alloc_pages_exact() splits the allocation into
 *    independent order-0 pages, with the same contiguity and the same limit
 *    (MAX_PAGE_ORDER).
 *
 * The vmalloc backend is virtually contiguous only, and as large as memory
 * allows.
 *
 * Both are zeroed at allocation: the buffer is handed to user space, and
 * stale kernel data must never be.
 */

#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "mmapdemo.h"

/*
 * Large requests must fail rather than invoke the OOM killer or warn: the
 * size is a module parameter, and a refused insmod is the right outcome.
 */
#define MMAPDEMO_GFP (GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

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

static int mmapdemo_kmalloc_alloc(struct mmapdemo_buffer *buf)
{
	pgoff_t i;

	buf->vaddr = alloc_pages_exact(buf->size, MMAPDEMO_GFP);
	if (!buf->vaddr)
		return -ENOMEM;
	for (i = 0; i < buf->npages; i++) {
		buf->pages[i] = virt_to_page(buf->vaddr + (i << PAGE_SHIFT));
		SetPageReserved(buf->pages[i]);
	}
	return 0;
}

static void mmapdemo_kmalloc_free(struct mmapdemo_buffer *buf)
{
	pgoff_t i;

	for (i = 0; i < buf->npages; i++)
		ClearPageReserved(buf->pages[i]);
	free_pages_exact(buf->vaddr, buf->size);
}

static int mmapdemo_vmalloc_alloc(struct mmapdemo_buffer *buf)
{
	pgoff_t i;

	buf->vaddr = __vmalloc(buf->size, MMAPDEMO_GFP);
	if (!buf->vaddr)
		return -ENOMEM;
	for (i = 0; i < buf->npages; i++)
		buf->pages[i] = vmalloc_to_page(buf->vaddr + (i << PAGE_SHIFT));
	return 0;
}

/**
 * mmapdemo_buffer_create() - allocate a zeroed buffer
 * @backend: where the memory comes from
 * @size: size in bytes; a whole number of pages, at most
 *	mmapdemo_buffer_max_size(@backend)
 *
 * Return: the buffer, or ERR_PTR(-ENOMEM).
 */
struct mmapdemo_buffer *mmapdemo_buffer_create(enum mmapdemo_backend backend,
					       size_t size)
{
	struct mmapdemo_buffer *buf;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	buf->backend = backend;
	buf->size = size;
	buf->npages = size >> PAGE_SHIFT;
	buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages),
			      GFP_KERNEL | __GFP_NOWARN);
	if (!buf->pages) {
		ret = -ENOMEM;
		goto free_buf;
	}

	if (backend == MMAPDEMO_BACKEND_KMALLOC)
		ret = mmapdemo_kmalloc_alloc(buf);
	else
		ret = mmapdemo_vmalloc_alloc(buf);
	if (ret)
		goto free_pages_array;
	return buf;

free_pages_array:
	kvfree(buf->pages);
free_buf:
	kfree(buf);
	return ERR_PTR(ret);
}

/**
 * mmapdemo_buffer_destroy() - free a buffer
 * @buf: the buffer; nothing may map it any more
 */
void mmapdemo_buffer_destroy(struct mmapdemo_buffer *buf)
{
	if (buf->backend == MMAPDEMO_BACKEND_KMALLOC)
		mmapdemo_kmalloc_free(buf);
	else
		vfree(buf->vaddr);
	kvfree(buf->pages);
	kfree(buf);
}
