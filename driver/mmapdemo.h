/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the parts of the mmapdemo driver:
 * buffer.c owns the memory, mmap.c maps it, main.c is the device,
 * observe.c shows their state in sysfs and debugfs.
 */
#ifndef MMAPDEMO_H
#define MMAPDEMO_H

#include <linux/atomic.h>
#include <linux/container_of.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "compat.h"
#include "uapi/mmapdemo.h"

/*
 * The chunked backend's unit and the huge strategy's: what one PMD entry
 * maps (2 MiB on x86-64), if the page allocator can hand out that much at
 * once.
 */
#define MMAPDEMO_CHUNK_SIZE \
	min_t(unsigned long, PMD_SIZE, PAGE_SIZE << MAX_PAGE_ORDER)
#define MMAPDEMO_CHUNK_PAGES (MMAPDEMO_CHUNK_SIZE >> PAGE_SHIFT)

/**
 * struct mmapdemo_mem - one allocation of buffer memory
 * @ref: the buffer holds one reference while this is its memory; a remap
 *	mapping holds one on the memory its mmap() filled in, and an
 *	mmap_action one on the memory it names until vm_ops->mapped (see
 *	mmap.c)
 * @vaddr: kernel virtual address of the whole allocation
 * @pages: the page behind each page offset, looked up once at allocation
 *	so that neither mmap nor the fault path walks page tables
 * @size: size in bytes, a whole number of pages
 * @npages: @size in pages
 * @backend: where the memory came from
 * @retained: set when a resize has replaced this memory: the buffer's
 *	count of bytes that only mappings still keep, which this memory is
 *	part of until it is freed
 *
 * Never changes once created, but for @retained: a resize replaces the
 * whole allocation.
 */
struct mmapdemo_mem {
	struct kref ref;
	void *vaddr;
	struct page **pages;
	size_t size;
	pgoff_t npages;
	enum mmapdemo_backend backend;
	atomic64_t *retained;
};

/**
 * struct mmapdemo_buffer - the one buffer every open file shares
 * @ref: the device holds one reference, every open file and every VMA one
 * @lock: readers (faults, mmap, read, write) use @mem; a resize replaces it
 * @mem: the current memory; read it only under @lock
 * @resize_lock: one resize at a time
 * @fills_held: a resize is under way, and .mmap leaves new mappings to
 *	faults (.mmap kernels; see mmapdemo_mmap_hold_fills()); under @lock
 * @backend: where the memory comes from
 * @inode: the buffer's own inode, on the driver's pseudo filesystem, whose
 *	address_space every open file uses
 * @mapping: @inode's address_space, so unmap_mapping_range() reaches every
 *	mapping of the buffer, whichever device node it was opened through
 * @vmas_lock: protects @vmas
 * @vmas: every VMA mapping the buffer (struct mmapdemo_vma.node)
 * @nr_vmas: the length of @vmas
 * @faults: faults the driver has served (one may map many pages)
 * @vma_lock_faults: those of @faults served under the per-VMA lock
 * @remaps: mmap() calls the remap and prefault strategies have filled
 * @mmap_actions: those of @remaps the core filled from an mmap_action (7.x)
 * @resizes: successful resizes
 * @retained: bytes of memory that resizes have replaced and that mappings
 *	still keep allocated: only an mmap() under way on 7.x, whose
 *	mmap_action pins what it maps until vm_ops->mapped
 */
struct mmapdemo_buffer {
	struct kref ref;
	struct rw_semaphore lock;	/* protects mem */
	struct mmapdemo_mem *mem;
	struct mutex resize_lock;	/* serialises resizes */
	bool fills_held;
	enum mmapdemo_backend backend;
	struct inode *inode;
	struct address_space *mapping;
	spinlock_t vmas_lock;		/* protects vmas */
	struct list_head vmas;
	atomic_t nr_vmas;
	atomic64_t faults;
	atomic64_t vma_lock_faults;
	atomic64_t remaps;
	atomic64_t mmap_actions;
	atomic64_t resizes;
	atomic64_t retained;
};

/**
 * struct mmapdemo_vma - what the driver keeps for one VMA
 * @node: entry in &mmapdemo_buffer.vmas, or in &mmapdemo_file.parked
 *	while @parked
 * @buf: the buffer, referenced once listed in &mmapdemo_buffer.vmas
 * @vma: the VMA this belongs to
 * @pinned: the memory an mmap_action maps, referenced while @parked
 *	(.mmap_prepare)
 * @parked: the file whose &mmapdemo_file.parked holds this entry, from
 *	.mmap_prepare until vm_ops->mapped; NULL otherwise
 * @mm: while @parked, the mm being mapped into; compared, never followed
 * @unlinked: .mmap filled the VMA, and a resize has not yet made sure that
 *	the core linked it (see mmapdemo_mmap_hold_fills())
 * @strategy: how the VMA was mapped
 * @pid: the process that made it (a fork copy: the child from its first
 *	fault on)
 * @faults: faults the driver has served in it
 */
struct mmapdemo_vma {
	struct list_head node;
	struct mmapdemo_buffer *buf;
	struct vm_area_struct *vma;
	struct mmapdemo_mem *pinned;
	struct mmapdemo_file *parked;
	const struct mm_struct *mm;
	bool unlinked;
	enum mmapdemo_strategy strategy;
	pid_t pid;
	atomic64_t faults;
};

/**
 * struct mmapdemo_device - the device and all the driver keeps for it
 * @misc: /dev/mmapdemo; open() and the sysfs attributes reach the rest
 *	from it (mmapdemo_device_of())
 * @buf: the buffer, referenced until the module is unloaded
 * @default_strategy: the strategy a newly opened file starts with
 * @rings: doorbell rings so far
 * @ring_wait: pollers waiting for the next ring
 * @debugfs: the driver's debugfs directory
 *
 * Allocated at module load, freed at unload: open files, and so mappings,
 * pin the module, and with it this.
 */
struct mmapdemo_device {
	struct miscdevice misc;
	struct mmapdemo_buffer *buf;
	enum mmapdemo_strategy default_strategy;
	atomic64_t rings;
	wait_queue_head_t ring_wait;
	struct dentry *debugfs;
};

/**
 * struct mmapdemo_file - state of one open file of the device
 * @dev: the device
 * @buf: the shared buffer, referenced
 * @lock: orders a strategy change against mmap() of this file
 * @strategy: how mmap() of this file installs page table entries
 * @mapped: this file has been mapped at least once, so @strategy is fixed
 * @parked: entries of mappings between .mmap_prepare and vm_ops->mapped,
 *	and of those that failed in between (struct mmapdemo_vma.node)
 * @rings_seen: doorbell rings this file has acknowledged
 */
struct mmapdemo_file {
	struct mmapdemo_device *dev;
	struct mmapdemo_buffer *buf;
	struct mutex lock;	/* protects strategy, mapped and parked */
	enum mmapdemo_strategy strategy;
	bool mapped;
	struct list_head parked;
	atomic64_t rings_seen;
};

extern const char * const mmapdemo_backend_names[];
extern const char * const mmapdemo_strategy_names[];

/**
 * mmapdemo_device_of() - the device a misc device belongs to
 * @misc: &mmapdemo_device.misc: what misc_open() puts in an opened file's
 *	private_data, and the misc device's driver data in sysfs
 *
 * Return: the device.
 */
static inline struct mmapdemo_device *
mmapdemo_device_of(struct miscdevice *misc)
{
	return container_of(misc, struct mmapdemo_device, misc);
}

size_t mmapdemo_buffer_max_size(enum mmapdemo_backend backend);
struct mmapdemo_buffer *mmapdemo_buffer_create(enum mmapdemo_backend backend,
					       size_t size);
void mmapdemo_buffer_get(struct mmapdemo_buffer *buf);
void mmapdemo_buffer_put(struct mmapdemo_buffer *buf);
void mmapdemo_buffer_attach(struct mmapdemo_buffer *buf, struct file *file);
size_t mmapdemo_buffer_size(struct mmapdemo_buffer *buf);
int mmapdemo_buffer_resize(struct mmapdemo_buffer *buf, u64 size);
void mmapdemo_mem_put(struct mmapdemo_mem *mem);
bool mmapdemo_mem_is_chunk(const struct mmapdemo_mem *mem, pgoff_t pgoff);

void mmapdemo_file_unpark_all(struct mmapdemo_file *mf);
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
int mmapdemo_mmap_prepare(struct vm_area_desc *desc);
/* vm_ops->mapped fills or fixes a mapping once a resize can find it. */
static inline int mmapdemo_mmap_hold_fills(struct mmapdemo_buffer *buf)
{
	return 0;
}
#else
int mmapdemo_mmap(struct file *file, struct vm_area_struct *vma);
int mmapdemo_mmap_hold_fills(struct mmapdemo_buffer *buf);
#endif

void mmapdemo_observe_init(struct mmapdemo_device *md);
void mmapdemo_observe_exit(struct mmapdemo_device *md);
extern const struct attribute_group *mmapdemo_groups[];

#endif /* MMAPDEMO_H */
