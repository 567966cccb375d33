#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The `make demo` job, run as /job inside the guest: load the driver, then
# let two processes share /dev/mmapdemo the way the seed articles share a
# file.
set -eu

echo "== insmod mmapdemo.ko (1 MiB buffer, kmalloc backend)"
insmod /lib/mmapdemo.ko
mmapdemo info

echo
echo "== two processes, one buffer"
mmapdemo seed two-process

rmmod mmapdemo
