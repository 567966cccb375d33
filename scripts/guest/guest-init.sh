#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the QEMU test guests (busybox sh). Mounts the pseudo filesystems,
# runs /job from /tmp with its output on the console, reports "EXIT <status>"
# on the results port /dev/ttyS1 and powers off.
#
# Usage: none; the kernel runs it as /init from the initramfs built by
# scripts/vm/build-initramfs.sh.
set -eu

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Debian kernels do not mount devtmpfs on their own (DEVTMPFS_MOUNT is off).
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || :
if grep -qw tracefs /proc/filesystems && [ -d /sys/kernel/tracing ]; then
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || :
fi

# Raw mode: the host-side logs then get exactly the bytes written (no CR).
for port in /dev/ttyS1 /dev/ttyS2; do
	stty -F "$port" raw -echo 2>/dev/null || :
done

# The boot's kernel log is checked before any job step runs.
status=0
# shellcheck source=scripts/guest/guest-lib.sh
. /bin/guest-lib.sh
boot_ok >/dev/console 2>&1 || status=1
if [ -e /job ]; then
	cd /tmp
	rc=0
	/job </dev/null >/dev/console 2>&1 || rc=$?
	[ "$status" -ne 0 ] || status=$rc
	cd /
else
	echo "init: /job is missing" >/dev/console
	status=127
fi

echo "EXIT $status" >/dev/ttyS1 || echo "init: cannot write to /dev/ttyS1" >/dev/console
sync
poweroff -f
