/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User-space interface of /dev/mmapdemo, a character device whose one kernel
 * buffer is shared by every process that opens and maps it.
 *
 *	int fd = open("/dev/mmapdemo", O_RDWR);
 *	struct mmapdemo_info info;
 *	__u32 strategy = MMAPDEMO_STRATEGY_FAULT;
 *
 *	ioctl(fd, MMAPDEMO_IOC_GET_INFO, &info);
 *	ioctl(fd, MMAPDEMO_IOC_SET_STRATEGY, &strategy);
 *	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 *
 *	struct pollfd pfd = { .fd = fd, .events = POLLIN };
 *	__u64 ring;
 *
 *	poll(&pfd, 1, -1);			// until another process rings
 *	ioctl(fd, MMAPDEMO_IOC_ACK, &ring);	// after ioctl(fd, MMAPDEMO_IOC_RING)
 *
 *	__u64 size = 2 << 20;
 *
 *	ioctl(fd, MMAPDEMO_IOC_RESIZE, &size);	// like ftruncate(fd, size)
 *
 * This header compiles as C and as C++.
 */
#ifndef _UAPI_LINUX_MMAPDEMO_H
#define _UAPI_LINUX_MMAPDEMO_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Where the buffer's memory comes from (module parameter "backend"). */
enum mmapdemo_backend {
	/* Physically contiguous pages, marked reserved. */
	MMAPDEMO_BACKEND_KMALLOC = 0,
	/* Virtually contiguous pages from vmalloc. */
	MMAPDEMO_BACKEND_VMALLOC = 1,
	/*
	 * Physically contiguous 2 MiB chunks, each aligned to 2 MiB, so that
	 * the huge strategy can map them with one page table entry each.
	 */
	MMAPDEMO_BACKEND_CHUNKED = 2,
};

/*
 * How mmap() installs page table entries for the buffer. Page-based
 * strategies (fault, faultaround, prefault) map struct pages: MAP_PRIVATE
 * is copy-on-write, and get_user_pages() users (process_vm_readv(),
 * vmsplice(), O_DIRECT, MADV_POPULATE_*) work on the mapping. PFN-based
 * ones (remap, huge) map page frames: MAP_SHARED only, no get_user_pages(),
 * but ptrace() and /proc/<pid>/mem still read and write them.
 */
enum mmapdemo_strategy {
	/* All entries at mmap() time, with remap_pfn_range(). PFN-based. */
	MMAPDEMO_STRATEGY_REMAP = 0,
	/* One page per first access, from vm_operations_struct.fault. */
	MMAPDEMO_STRATEGY_FAULT = 1,
	/*
	 * .fault plus .map_pages: a read fault also maps the pages around it,
	 * up to the kernel's fault_around_bytes (64 KiB by default).
	 */
	MMAPDEMO_STRATEGY_FAULTAROUND = 2,
	/* Every page at mmap() time, in batches, with vm_insert_pages(). */
	MMAPDEMO_STRATEGY_PREFAULT = 3,
	/*
	 * One entry per 2 MiB where the memory is a 2 MiB aligned physically
	 * contiguous chunk and the kernel maps page frames that way (6.12 does,
	 * 6.1 does not), else one entry per page on first access. PFN-based.
	 */
	MMAPDEMO_STRATEGY_HUGE = 4,
};

/**
 * struct mmapdemo_info - what MMAPDEMO_IOC_GET_INFO reports
 * @size: buffer size in bytes, a multiple of @page_size
 * @page_size: the kernel's page size
 * @backend: &enum mmapdemo_backend of the buffer
 * @strategy: &enum mmapdemo_strategy this open file maps with
 * @default_strategy: &enum mmapdemo_strategy a newly opened file starts with
 */
struct mmapdemo_info {
	__u64 size;
	__u32 page_size;
	__u32 backend;
	__u32 strategy;
	__u32 default_strategy;
};

#define MMAPDEMO_IOC_MAGIC		0xB9

/* Fill a struct mmapdemo_info. */
#define MMAPDEMO_IOC_GET_INFO		_IOR(MMAPDEMO_IOC_MAGIC, 0x00, struct mmapdemo_info)
/*
 * Choose the mmap strategy of this open file from a __u32 enum
 * mmapdemo_strategy. EINVAL for an unknown strategy, EBUSY once the file
 * has been mapped.
 */
#define MMAPDEMO_IOC_SET_STRATEGY	_IOW(MMAPDEMO_IOC_MAGIC, 0x01, __u32)

/*
 * The doorbell. RING counts one ring on the device and wakes every poller.
 * Each open file keeps its own place in that count: poll() reports it
 * readable (EPOLLIN) while it has rings it has not acknowledged, and ACK
 * takes the oldest of them, writing its number (the device's first ring is
 * 1) to a __u64, or fails with EAGAIN if there is none (EFAULT takes
 * nothing). So every file sees every ring exactly once, whatever the timing.
 * The number is written before it is taken, which is what lets EFAULT take
 * nothing: when threads ACK one file at once, a call that loses the race
 * may have written a number another call took before it fails with EAGAIN.
 * Read the __u64 only after ACK returned 0.
 */
#define MMAPDEMO_IOC_RING		_IO(MMAPDEMO_IOC_MAGIC, 0x02)
#define MMAPDEMO_IOC_ACK		_IOR(MMAPDEMO_IOC_MAGIC, 0x03, __u64)

/*
 * Change the buffer's size to a __u64 number of bytes, rounded up to whole
 * pages, like ftruncate() of a file. Grown pages read as zero; existing
 * mappings keep their length. On a shrink every page past the new end is
 * unmapped from every process (private copies too), and an access there
 * then raises SIGBUS. read(), write() and lseek() follow the new size, and
 * the doorbell rings. Errors: EINVAL for size 0, EFBIG past what the
 * backend can provide, ENOMEM when the memory cannot be allocated, EBADF
 * when the file is not open for writing.
 */
#define MMAPDEMO_IOC_RESIZE		_IOW(MMAPDEMO_IOC_MAGIC, 0x04, __u64)

#endif /* _UAPI_LINUX_MMAPDEMO_H */
