#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The `make demo` job, run as /job inside the guest: load the driver, then
# re-enact the seed articles' programs (three articles on mmap(), see
# docs/command-line.md) against /dev/mmapdemo in an order that
# tells the story: one process and its mappings, a parent and its child, two
# unrelated processes, where mappings end, what mmap() saves, the doorbell
# from the shell, and a resize. Exits non-zero if any scenario did not behave
# as documented.
set -u

failed=""

heading() {
	echo
	echo "== $*"
}

# run NAME COMMAND...: run a step and remember it if it fails.
run() {
	name=$1
	shift
	"$@" || failed="$failed $name"
}

heading "insmod mmapdemo.ko: one 1 MiB kernel buffer (kmalloc backend, remap strategy)"
insmod /lib/mmapdemo.ko || exit 1
run info mmapdemo info

echo
echo "The scenarios re-enact the programs of the seed articles, three articles on mmap():"
echo "000 on shared and private file mappings, IPC between unrelated processes and between"
echo "a parent and its child, and where SIGBUS and SIGSEGV come from; 001 on a small file"
echo "mapped shared; 002 timing read()/write() against mmap()."

heading "1. A store through a shared mapping is a store into the buffer (seed article 000, section 2.1)"
run shared-write mmapdemo seed shared-write

heading "2. A store through a private mapping goes to a copy (seed article 000, section 2.2)"
run private-write mmapdemo seed private-write

heading "3. A parent and its forked child share the mapping (seed article 000, section 2.4)"
run parent-child mmapdemo seed parent-child

heading "4. Two unrelated processes: B writes and rings, A wakes (seed article 000, section 2.3)"
run two-process mmapdemo seed two-process

heading "5. Where a mapping ends: SIGBUS and SIGSEGV (seed article 000, section 1.4)"
run bounds mmapdemo seed bounds

heading "6. read() and write() against mmap() (seed article 002)"
run read-vs-mmap mmapdemo seed read-vs-mmap

heading "7. The doorbell from the shell: watch sleeps until write --ring"
watch_demo() {
	mmapdemo fill --length 64 --byte 0 >/dev/null || return 1
	out=/tmp/watch.out
	mmapdemo watch --length 32 --count 2 --timeout 20000 >"$out" 2>&1 &
	watcher=$!
	# Ring only once the watcher has its file open, or it would miss the ring.
	n=0
	while ! grep -q '^watching' "$out" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	mmapdemo write --ring "first note" || return 1
	# A pause so the watcher shows the first text: without it, no ring is
	# lost, but both may show the second text, which is there by then.
	sleep 1
	mmapdemo write --ring "second note, longer" || return 1
	status=0
	wait "$watcher" || status=$?
	echo "-- the watcher (exit status $status) printed:"
	cat "$out"
	return "$status"
}
run watch-ring watch_demo

heading "8. Resizing, like ftruncate(): data below the new end stays, new pages read as zero"
resize_demo() {
	sysfs=/sys/class/misc/mmapdemo
	mmapdemo write 'hello, resize' || return 1
	mmapdemo resize 8K || return 1
	# Ends at the new end: a short read.
	mmapdemo read --offset 8176 --length 32 || return 1
	mmapdemo resize 12K || return 1
	mmapdemo read --length 16 || return 1
	# The page the shrink took away comes back zeroed.
	mmapdemo read --offset 8192 --length 16 || return 1
	echo "-- the device's sysfs attributes now:"
	(cd "$sysfs" && grep . size backend default_strategy mappings faults remaps resizes) ||
		return 1
	mmapdemo resize 1M
}
run resize resize_demo

rmmod mmapdemo || failed="$failed rmmod"

echo
if [ -n "$failed" ]; then
	echo "demo: did not behave as documented:$failed"
	exit 1
fi
echo "demo: every scenario behaved as documented"
