// SPDX-License-Identifier: GPL-2.0
/*
 * mmapdemo: a misc device whose one kernel buffer is shared by every process
 * that opens it, through mmap() and through read()/write().
 *
 * From user space (see uapi/mmapdemo.h for the ioctls):
 *
 *	int fd = open("/dev/mmapdemo", O_RDWR);
 *	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 *
 *	strcpy(p, "hello");		// every other mapping sees it at once
 *	pread(fd, buf, 5, 0);		// and so does read(): "hello"
 *
 * Module parameters:
 *	size=BYTES			buffer size, rounded up to pages (1 MiB)
 *	backend=kmalloc|vmalloc|chunked	physically contiguous, virtually
 *					contiguous, or in 2 MiB chunks
 *	strategy=remap|fault|faultaround|prefault|huge
 *					how a new open file maps by default
 *
 * The buffer is a file for read(), write() and lseek(): reads end at its
 * size, writes past it fail with ENOSPC. ioctl(MMAPDEMO_IOC_RESIZE) changes
 * the size, like ftruncate() (see docs/resizing.md).
 *
 * A doorbell lets processes sharing the buffer wake each other instead of
 * polling it: ioctl(MMAPDEMO_IOC_RING) in one, poll() and
 * ioctl(MMAPDEMO_IOC_ACK) in the others.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "mmapdemo.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

const char * const mmapdemo_backend_names[] = {
	[MMAPDEMO_BACKEND_KMALLOC] = "kmalloc",
	[MMAPDEMO_BACKEND_VMALLOC] = "vmalloc",
	[MMAPDEMO_BACKEND_CHUNKED] = "chunked",
};

const char * const mmapdemo_strategy_names[] = {
	[MMAPDEMO_STRATEGY_REMAP] = "remap",
	[MMAPDEMO_STRATEGY_FAULT] = "fault",
	[MMAPDEMO_STRATEGY_FAULTAROUND] = "faultaround",
	[MMAPDEMO_STRATEGY_PREFAULT] = "prefault",
	[MMAPDEMO_STRATEGY_HUGE] = "huge",
};

static unsigned long mmapdemo_size = SZ_1M;
module_param_named(size, mmapdemo_size, ulong, 0444);
MODULE_PARM_DESC(size, "Buffer size in bytes, rounded up to whole pages (default 1 MiB)");

static char *mmapdemo_backend_param = "kmalloc";
module_param_named(backend, mmapdemo_backend_param, charp, 0444);
MODULE_PARM_DESC(backend, "Buffer memory: kmalloc (physically contiguous, default), vmalloc, or chunked (2 MiB physically contiguous chunks)");

static char *mmapdemo_strategy_param = "remap";
module_param_named(strategy, mmapdemo_strategy_param, charp, 0444);
MODULE_PARM_DESC(strategy, "Default mmap strategy of a new open file: remap (default), fault, faultaround, prefault or huge");

/*
 * Only module init and exit use this: everything else reaches the device
 * from an open file or from the misc device.
 */
static struct mmapdemo_device *mmapdemo_dev;

/**
 * mmapdemo_open() - file_operations.open: set up an open file
 * @inode: the device node, any node of the device
 * @file: the new file; misc_open() has set its private_data to the misc
 *	device, which this replaces with the file's own state
 *
 * Return: 0, or -ENOMEM.
 */
static int mmapdemo_open(struct inode *inode, struct file *file)
{
	struct mmapdemo_device *md = mmapdemo_device_of(file->private_data);
	struct mmapdemo_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL);
	if (!mf)
		return -ENOMEM;
	mf->dev = md;
	mmapdemo_buffer_get(md->buf);
	mf->buf = md->buf;
	mmapdemo_buffer_attach(mf->buf, file);
	mutex_init(&mf->lock);
	INIT_LIST_HEAD(&mf->parked);
	mf->strategy = md->default_strategy;
	/* A new file waits for the next ring, not for old ones. */
	atomic64_set(&mf->rings_seen, atomic64_read(&md->rings));
	file->private_data = mf;
	return 0;
}

static int mmapdemo_release(struct inode *inode, struct file *file)
{
	struct mmapdemo_file *mf = file->private_data;

	mmapdemo_file_unpark_all(mf);
	mutex_destroy(&mf->lock);
	mmapdemo_buffer_put(mf->buf);
	kfree(mf);
	return 0;
}

/**
 * mmapdemo_rw() - copy between the buffer and an iov_iter, as a file does
 * @iocb: the file and its position, advanced by what was copied
 * @iter: the user's memory
 * @write: true for write(), false for read()
 *
 * read_iter and write_iter rather than read and write: copy_to_iter() and
 * copy_from_iter() copy what they can and touch nothing else, where
 * copy_from_user() zero-fills the part it could not copy. A write() from a
 * partly unmapped user buffer must not clobber shared bytes past what it
 * reports as written.
 *
 * The buffer's lock keeps a resize out while a page is copied, but the copy
 * runs with page faults disabled: the user's memory may be a mapping of this
 * very device, whose fault takes the lock again, and with a resize waiting
 * for it in between the fault would wait forever. A copy cut short by a page
 * that is not present faults it in with the lock dropped and goes on, as
 * generic_perform_write() does. Nothing is allocated.
 *
 * Return: bytes copied; 0 for a read at or past the end; -ENOSPC for a
 * write there; -EFAULT if nothing could be copied for a bad user address.
 */
static ssize_t mmapdemo_rw(struct kiocb *iocb, struct iov_iter *iter,
			   bool write)
{
	struct mmapdemo_file *mf = iocb->ki_filp->private_data;
	struct mmapdemo_buffer *buf = mf->buf;
	ssize_t done = 0;

	while (iov_iter_count(iter)) {
		loff_t pos = iocb->ki_pos;
		size_t chunk = 0, copied = 0, left, unfaulted;
		void *at;

		down_read(&buf->lock);
		if (pos < buf->mem->size) {
			chunk = min3(iov_iter_count(iter),
				     buf->mem->size - (size_t)pos,
				     PAGE_SIZE - offset_in_page(pos));
			at = buf->mem->vaddr + pos;
			pagefault_disable();
			if (write)
				copied = copy_from_iter(at, chunk, iter);
			else
				copied = copy_to_iter(at, chunk, iter);
			pagefault_enable();
		}
		up_read(&buf->lock);

		if (!chunk) {
			if (write && !done)
				done = -ENOSPC;
			break;
		}
		iocb->ki_pos += copied;
		done += copied;
		if (copied < chunk) {
			left = chunk - copied;
			if (write)
				unfaulted = fault_in_iov_iter_readable(iter, left);
			else
				unfaulted = fault_in_iov_iter_writeable(iter, left);
			if (unfaulted == left) {
				if (!done)
					done = -EFAULT;
				break;
			}
		}
		cond_resched();
	}
	return done;
}

static ssize_t mmapdemo_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return mmapdemo_rw(iocb, to, false);
}

/*
 * Like a full disk rather than a regular file: write() never grows the
 * buffer (only MMAPDEMO_IOC_RESIZE does), so a write that starts at or past
 * its end fails with ENOSPC, and one that crosses the end is short.
 */
static ssize_t mmapdemo_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	if (!iov_iter_count(from))
		return 0;
	return mmapdemo_rw(iocb, from, true);
}

static loff_t mmapdemo_llseek(struct file *file, loff_t offset, int whence)
{
	struct mmapdemo_file *mf = file->private_data;

	return fixed_size_llseek(file, offset, whence,
				 mmapdemo_buffer_size(mf->buf));
}

static long mmapdemo_ioctl_get_info(struct mmapdemo_file *mf,
				    struct mmapdemo_info __user *uinfo)
{
	struct mmapdemo_info info = {
		.size = mmapdemo_buffer_size(mf->buf),
		.page_size = PAGE_SIZE,
		.backend = mf->buf->backend,
		.default_strategy = mf->dev->default_strategy,
	};

	mutex_lock(&mf->lock);
	info.strategy = mf->strategy;
	mutex_unlock(&mf->lock);

	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long mmapdemo_ioctl_set_strategy(struct mmapdemo_file *mf,
					u32 __user *ustrategy)
{
	u32 strategy;
	long ret = 0;

	if (get_user(strategy, ustrategy))
		return -EFAULT;
	if (strategy >= ARRAY_SIZE(mmapdemo_strategy_names))
		return -EINVAL;

	mutex_lock(&mf->lock);
	if (mf->mapped)
		ret = -EBUSY;
	else
		mf->strategy = strategy;
	mutex_unlock(&mf->lock);
	return ret;
}

static long mmapdemo_ioctl_ring(struct mmapdemo_device *md)
{
	atomic64_inc(&md->rings);
	wake_up_interruptible_poll(&md->ring_wait, EPOLLIN | EPOLLRDNORM);
	return 0;
}

/**
 * mmapdemo_ioctl_resize() - MMAPDEMO_IOC_RESIZE: give the buffer a new size
 * @file: the file the ioctl came through
 * @usize: the new size in bytes
 *
 * Resizing changes the device for every process, as ftruncate() changes a
 * file: only a file open for writing may do it. Every resize rings the
 * doorbell, so watchers can look at the new size.
 *
 * Return: 0; -EBADF for a file not open for writing, -EFAULT for a bad
 * @usize, or mmapdemo_buffer_resize()'s error.
 */
static long mmapdemo_ioctl_resize(struct file *file, u64 __user *usize)
{
	struct mmapdemo_file *mf = file->private_data;
	u64 size;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (get_user(size, usize))
		return -EFAULT;
	ret = mmapdemo_buffer_resize(mf->buf, size);
	if (ret)
		return ret;
	return mmapdemo_ioctl_ring(mf->dev);
}

/**
 * mmapdemo_ioctl_ack() - MMAPDEMO_IOC_ACK: take the file's next ring
 * @mf: the open file
 * @uring: where the number of the ring taken goes
 *
 * Lock-free, so the put_user() fault cannot nest inside a lock that mmap()
 * takes: claim the next ring only after it has reached user space. A failed
 * copy takes nothing, and two threads acking one file get different rings.
 *
 * Return: 0; -EAGAIN with no ring left to take, -EFAULT for a bad @uring.
 */
static long mmapdemo_ioctl_ack(struct mmapdemo_file *mf, u64 __user *uring)
{
	s64 seen;

	do {
		seen = atomic64_read(&mf->rings_seen);
		if (seen == atomic64_read(&mf->dev->rings))
			return -EAGAIN;
		if (put_user(seen + 1, uring))
			return -EFAULT;
	} while (atomic64_cmpxchg(&mf->rings_seen, seen, seen + 1) != seen);
	return 0;
}

static __poll_t mmapdemo_poll(struct file *file, poll_table *wait)
{
	struct mmapdemo_file *mf = file->private_data;

	poll_wait(file, &mf->dev->ring_wait, wait);
	if (atomic64_read(&mf->rings_seen) != atomic64_read(&mf->dev->rings))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static long mmapdemo_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct mmapdemo_file *mf = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case MMAPDEMO_IOC_GET_INFO:
		return mmapdemo_ioctl_get_info(mf, argp);
	case MMAPDEMO_IOC_SET_STRATEGY:
		return mmapdemo_ioctl_set_strategy(mf, argp);
	case MMAPDEMO_IOC_RING:
		return mmapdemo_ioctl_ring(mf->dev);
	case MMAPDEMO_IOC_ACK:
		return mmapdemo_ioctl_ack(mf, argp);
	case MMAPDEMO_IOC_RESIZE:
		return mmapdemo_ioctl_resize(file, argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mmapdemo_fops = {
	.owner = THIS_MODULE,
	.open = mmapdemo_open,
	.release = mmapdemo_release,
	.read_iter = mmapdemo_read_iter,
	.write_iter = mmapdemo_write_iter,
	.llseek = mmapdemo_llseek,
	.poll = mmapdemo_poll,
	.unlocked_ioctl = mmapdemo_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
#ifdef MMAPDEMO_HAVE_MMAP_PREPARE
	.mmap_prepare = mmapdemo_mmap_prepare,
#else
	.mmap = mmapdemo_mmap,
#endif
	/*
	 * Mappings of 2 MiB and more start on a 2 MiB boundary (relative to
	 * their offset), as on filesystems with huge pages: the huge strategy
	 * needs that, and the others do not mind.
	 */
	.get_unmapped_area = thp_get_unmapped_area,
};

/**
 * mmapdemo_parse_params() - validate the module parameters
 * @backend: set to the requested backend
 * @strategy: set to the requested default strategy
 * @size: set to the requested size, rounded up to whole pages
 *
 * Says what is wrong in one line. Allocates nothing: the allocation failure
 * tests count on a load refused here making no allocation of the driver's.
 *
 * Return: 0, or -EINVAL for a bad parameter.
 */
static int mmapdemo_parse_params(enum mmapdemo_backend *backend,
				 enum mmapdemo_strategy *strategy, size_t *size)
{
	size_t max_size;
	int ret;

	ret = sysfs_match_string(mmapdemo_backend_names, mmapdemo_backend_param);
	if (ret < 0) {
		pr_err("backend=%s: must be kmalloc, vmalloc or chunked\n",
		       mmapdemo_backend_param);
		return -EINVAL;
	}
	*backend = ret;

	ret = sysfs_match_string(mmapdemo_strategy_names, mmapdemo_strategy_param);
	if (ret < 0) {
		pr_err("strategy=%s: must be remap, fault, faultaround, prefault or huge\n",
		       mmapdemo_strategy_param);
		return -EINVAL;
	}
	*strategy = ret;

	max_size = mmapdemo_buffer_max_size(*backend);
	if (!mmapdemo_size || mmapdemo_size > max_size) {
		pr_err("size=%lu: backend=%s takes 1 to %zu bytes\n",
		       mmapdemo_size, mmapdemo_backend_names[*backend], max_size);
		return -EINVAL;
	}
	*size = PAGE_ALIGN(mmapdemo_size);
	return 0;
}

/**
 * mmapdemo_init() - module init: allocate the device and register it
 *
 * Return: 0; -EINVAL for a bad module parameter, -ENOMEM, or what
 * mmapdemo_buffer_create() or misc_register() returned.
 */
static int __init mmapdemo_init(void)
{
	enum mmapdemo_strategy strategy;
	enum mmapdemo_backend backend;
	struct mmapdemo_device *md;
	size_t size;
	int ret;

	ret = mmapdemo_parse_params(&backend, &strategy, &size);
	if (ret)
		return ret;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return -ENOMEM;
	md->buf = mmapdemo_buffer_create(backend, size);
	if (IS_ERR(md->buf)) {
		ret = PTR_ERR(md->buf);
		/* Its memory, its inode or the pseudo filesystem's mount. */
		pr_err("cannot create the buffer (size=%zu, backend=%s): %d\n",
		       size, mmapdemo_backend_names[backend], ret);
		goto free_device;
	}
	md->default_strategy = strategy;
	init_waitqueue_head(&md->ring_wait);
	md->misc = (struct miscdevice) {
		.minor = MISC_DYNAMIC_MINOR,
		.name = "mmapdemo",
		.fops = &mmapdemo_fops,
		.groups = mmapdemo_groups,
		.mode = 0600,
	};

	mmapdemo_observe_init(md);
	ret = misc_register(&md->misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", md->misc.name, ret);
		goto exit_observe;
	}
	mmapdemo_dev = md;
	return 0;

exit_observe:
	mmapdemo_observe_exit(md);
	mmapdemo_buffer_put(md->buf);
free_device:
	kfree(md);
	return ret;
}

/**
 * mmapdemo_exit() - module exit: deregister the device and free it
 *
 * Open files and mappings pin the module through fops.owner (a mapping
 * holds its file), so by the time this runs none is left: the device's is
 * the last reference to the buffer, and nothing else can reach the device.
 */
static void __exit mmapdemo_exit(void)
{
	struct mmapdemo_device *md = mmapdemo_dev;

	misc_deregister(&md->misc);
	mmapdemo_observe_exit(md);
	mmapdemo_buffer_put(md->buf);
	kfree(md);
}

module_init(mmapdemo_init);
module_exit(mmapdemo_exit);

MODULE_DESCRIPTION("One kernel buffer shared through mmap(), read() and write()");
MODULE_AUTHOR("The mmapdemo authors");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
/* modinfo -F mmap_interface: mmap_prepare or mmap, as compat.h chose. */
MODULE_INFO(mmap_interface, MMAPDEMO_MMAP_INTERFACE);
