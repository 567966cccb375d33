/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the parts of the mmapdemo driver:
 * buffer.c owns the memory, mmap.c maps it, main.c is the device.
 */
#ifndef MMAPDEMO_H
#define MMAPDEMO_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "uapi/mmapdemo.h"

/**
 * struct mmapdemo_buffer - the one buffer every open file shares
 * @vaddr: kernel virtual address of the whole buffer
 * @pages: the page behind each page offset, looked up once at allocation
 *	so that neither mmap nor the fault path walks page tables
 * @size: size in bytes, a whole number of pages
 * @npages: @size in pages
 * @backend: where the memory came from
 */
struct mmapdemo_buffer {
	void *vaddr;
	struct page **pages;
	size_t size;
	pgoff_t npages;
	enum mmapdemo_backend backend;
};

/**
 * struct mmapdemo_file - state of one open file of the device
 * @buf: the shared buffer
 * @lock: orders a strategy change against mmap() of this file
 * @strategy: how mmap() of this file installs page table entries
 * @mapped: this file has been mapped at least once, so @strategy is fixed
 * @rings_seen: doorbell rings this file has acknowledged
 */
struct mmapdemo_file {
	struct mmapdemo_buffer *buf;
	struct mutex lock;	/* protects strategy and mapped */
	enum mmapdemo_strategy strategy;
	bool mapped;
	atomic64_t rings_seen;
};

size_t mmapdemo_buffer_max_size(enum mmapdemo_backend backend);
struct mmapdemo_buffer *mmapdemo_buffer_create(enum mmapdemo_backend backend,
					       size_t size);
void mmapdemo_buffer_destroy(struct mmapdemo_buffer *buf);

int mmapdemo_mmap(struct file *file, struct vm_area_struct *vma);

#endif /* MMAPDEMO_H */
