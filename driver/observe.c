// SPDX-License-Identifier: GPL-2.0
/*
 * The state of /dev/mmapdemo, for people and tests to look at.
 *
 * sysfs, on the misc device (/sys/class/misc/mmapdemo/), read-only:
 *	size			the buffer's size in bytes
 *	backend			kmalloc, vmalloc or chunked
 *	default_strategy	what a newly opened file maps with
 *	mappings		VMAs that map the buffer now
 *	faults			faults the driver has served, in total (one
 *				may map many pages: faultaround, huge)
 *	vma_lock_faults		those of them served under the per-VMA lock
 *				rather than mmap_lock (6.7 and later)
 *	remaps			mmap() calls the remap and prefault
 *				strategies have filled
 *	mmap_actions		those of them the kernel filled from the
 *				driver's mmap_action (.mmap_prepare only)
 *	resizes			successful MMAPDEMO_IOC_RESIZE calls
 *	retained_bytes		bytes of memory resizes have replaced that
 *				mappings still keep allocated: 0 but while
 *				an mmap() on 7.x is between its mmap_action
 *				and vm_ops->mapped
 *	mmap_interface		the file operation mmap() enters the driver
 *				through: mmap_prepare (7.x) or mmap
 *
 * debugfs (/sys/kernel/debug/mmapdemo/), for debugging only:
 *	refs		references to the buffer held by open files and VMAs
 *	mappings	one line per VMA: pid, start, length, pgoff, strategy,
 *			faults so far
 */

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

#include "mmapdemo.h"

/* misc_register() makes the misc device the sysfs device's driver data. */
static struct mmapdemo_device *mmapdemo_dev_of(struct device *dev)
{
	return mmapdemo_device_of(dev_get_drvdata(dev));
}

static struct mmapdemo_buffer *mmapdemo_buf_of(struct device *dev)
{
	return mmapdemo_dev_of(dev)->buf;
}

/*
 * The sysfs show functions are named <attribute>_show, without the
 * driver's prefix: DEVICE_ATTR_RO() derives the name from the attribute.
 */
static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *out)
{
	return sysfs_emit(out, "%zu\n", mmapdemo_buffer_size(mmapdemo_buf_of(dev)));
}
static DEVICE_ATTR_RO(size);

static ssize_t backend_show(struct device *dev, struct device_attribute *attr,
			    char *out)
{
	struct mmapdemo_buffer *buf = mmapdemo_buf_of(dev);

	return sysfs_emit(out, "%s\n", mmapdemo_backend_names[buf->backend]);
}
static DEVICE_ATTR_RO(backend);

static ssize_t default_strategy_show(struct device *dev,
				     struct device_attribute *attr, char *out)
{
	struct mmapdemo_device *md = mmapdemo_dev_of(dev);

	return sysfs_emit(out, "%s\n",
			  mmapdemo_strategy_names[md->default_strategy]);
}
static DEVICE_ATTR_RO(default_strategy);

static ssize_t mappings_show(struct device *dev, struct device_attribute *attr,
			     char *out)
{
	struct mmapdemo_buffer *buf = mmapdemo_buf_of(dev);

	return sysfs_emit(out, "%d\n", atomic_read(&buf->nr_vmas));
}
static DEVICE_ATTR_RO(mappings);

static ssize_t mmapdemo_counter_emit(char *out, atomic64_t *counter)
{
	return sysfs_emit(out, "%lld\n", (long long)atomic64_read(counter));
}

static ssize_t faults_show(struct device *dev, struct device_attribute *attr,
			   char *out)
{
	return mmapdemo_counter_emit(out, &mmapdemo_buf_of(dev)->faults);
}
static DEVICE_ATTR_RO(faults);

static ssize_t vma_lock_faults_show(struct device *dev,
				    struct device_attribute *attr, char *out)
{
	struct mmapdemo_buffer *buf = mmapdemo_buf_of(dev);

	return mmapdemo_counter_emit(out, &buf->vma_lock_faults);
}
static DEVICE_ATTR_RO(vma_lock_faults);

static ssize_t remaps_show(struct device *dev, struct device_attribute *attr,
			   char *out)
{
	return mmapdemo_counter_emit(out, &mmapdemo_buf_of(dev)->remaps);
}
static DEVICE_ATTR_RO(remaps);

static ssize_t mmap_actions_show(struct device *dev,
				 struct device_attribute *attr, char *out)
{
	return mmapdemo_counter_emit(out, &mmapdemo_buf_of(dev)->mmap_actions);
}
static DEVICE_ATTR_RO(mmap_actions);

static ssize_t resizes_show(struct device *dev, struct device_attribute *attr,
			    char *out)
{
	return mmapdemo_counter_emit(out, &mmapdemo_buf_of(dev)->resizes);
}
static DEVICE_ATTR_RO(resizes);

static ssize_t retained_bytes_show(struct device *dev,
				   struct device_attribute *attr, char *out)
{
	return mmapdemo_counter_emit(out, &mmapdemo_buf_of(dev)->retained);
}
static DEVICE_ATTR_RO(retained_bytes);

static ssize_t mmap_interface_show(struct device *dev,
				   struct device_attribute *attr, char *out)
{
	return sysfs_emit(out, "%s\n", MMAPDEMO_MMAP_INTERFACE);
}
static DEVICE_ATTR_RO(mmap_interface);

static struct attribute *mmapdemo_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_backend.attr,
	&dev_attr_default_strategy.attr,
	&dev_attr_mappings.attr,
	&dev_attr_faults.attr,
	&dev_attr_vma_lock_faults.attr,
	&dev_attr_remaps.attr,
	&dev_attr_mmap_actions.attr,
	&dev_attr_resizes.attr,
	&dev_attr_retained_bytes.attr,
	&dev_attr_mmap_interface.attr,
	NULL,
};

static const struct attribute_group mmapdemo_group = {
	.attrs = mmapdemo_attrs,
};

const struct attribute_group *mmapdemo_groups[] = {
	&mmapdemo_group,
	NULL,
};

/*
 * The debugfs files' data (m->private) is the buffer. The device's own
 * reference is not counted: 0 means nobody uses it.
 */
static int mmapdemo_debug_refs_show(struct seq_file *m, void *unused)
{
	struct mmapdemo_buffer *buf = m->private;

	seq_printf(m, "%u\n", kref_read(&buf->ref) - 1);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mmapdemo_debug_refs);

/*
 * The VMA fields are read without its mm's lock: a concurrent mremap() or
 * split may show up half done, which is fine for a debugging aid. The
 * entry itself stays valid under vmas_lock.
 */
static int mmapdemo_debug_mappings_show(struct seq_file *m, void *unused)
{
	struct mmapdemo_buffer *buf = m->private;
	const struct mmapdemo_vma *mv;

	spin_lock(&buf->vmas_lock);
	list_for_each_entry(mv, &buf->vmas, node) {
		unsigned long start = READ_ONCE(mv->vma->vm_start);
		unsigned long end = READ_ONCE(mv->vma->vm_end);

		seq_printf(m, "pid=%d start=0x%lx length=%lu pgoff=%lu strategy=%s faults=%lld\n",
			   READ_ONCE(mv->pid), start, end - start,
			   READ_ONCE(mv->vma->vm_pgoff),
			   mmapdemo_strategy_names[mv->strategy],
			   (long long)atomic64_read(&mv->faults));
	}
	spin_unlock(&buf->vmas_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mmapdemo_debug_mappings);

/**
 * mmapdemo_observe_init() - create the device's debugfs files
 * @md: the device; its buffer outlives mmapdemo_observe_exit()
 *
 * The sysfs attributes need nothing here: they are mmapdemo_groups, which
 * misc_register() creates with the device. Nothing here can fail the
 * driver: without debugfs it works all the same.
 */
void mmapdemo_observe_init(struct mmapdemo_device *md)
{
	md->debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("refs", 0400, md->debugfs, md->buf,
			    &mmapdemo_debug_refs_fops);
	debugfs_create_file("mappings", 0400, md->debugfs, md->buf,
			    &mmapdemo_debug_mappings_fops);
}

/**
 * mmapdemo_observe_exit() - remove the debugfs files
 * @md: the device
 *
 * Call after the device is deregistered.
 */
void mmapdemo_observe_exit(struct mmapdemo_device *md)
{
	debugfs_remove(md->debugfs);
}
