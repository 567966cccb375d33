#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest job (scripts/vm/guest.sh SERIES cycles): load and unload mmapdemo over
# and over across parameter combinations (backend x strategy x size), then
# check that memory came back:
#   - one PASS/FAIL line per combination: every insmod, use and rmmod worked
#     and the kernel logged nothing bad;
#   - "cycles/memory": after dropping caches, free memory (MemFree plus the
#     per-CPU free lists) and Slab are back at their baseline within the
#     tolerance below;
#   - "kmemleak" (kernels with kmemleak): no leak through mmapdemo.
# Every 20th cycle also writes and reads back through the CLI, so a cycle
# proves a usable device and not only a successful insmod.
#
# Usage: cycles.sh   (environment: MMAPDEMO_KO, MMAPDEMO_BACKENDS,
#                     MMAPDEMO_CYCLES = total cycles, default 1000)
set -u

# shellcheck source=scripts/guest/guest-lib.sh
. "${MMAPDEMO_GUEST_LIB:-/bin/guest-lib.sh}"
work=$guest_work

module_job
total=$(positive MMAPDEMO_CYCLES "${MMAPDEMO_CYCLES:-1000}") || exit 2

# Tolerances, in KiB. A per-cycle leak of one page shows as 4 MB over 1000
# cycles; smaller leaks are kmemleak's job. The margins absorb per-CPU
# caches and allocator noise measured on idle guests (well under 1 MiB).
slab_tolerance=1024
free_tolerance=4096

# KASAN keeps freed memory in quarantine (up to 1/32 of RAM), so memory
# totals say nothing on such a kernel; kmemleak checks it instead.
kasan=false
if grep -q ' kasan_report$' /proc/kallsyms; then
	kasan=true
fi

# kmalloc: one physically contiguous block (4 MiB at most); vmalloc: pages;
# chunked: 2 MiB blocks.
# On the debug kernel every page costs a direct-map change and a TLB flush
# (debug_pagealloc) and KASAN poisoning, so the largest sizes, which only
# add pages to the same code paths, are left to Debian's kernels.
sizes() {
	if $kasan; then
		echo "4096 1048576"
		return
	fi
	case $1 in
	kmalloc) echo "4096 1048576 4194304" ;;
	*) echo "4096 1048576 16777216" ;;
	esac
}

combos=""
for b in $backends; do
	for st in remap fault faultaround prefault huge; do
		for sz in $(sizes "$b"); do
			combos="$combos $b:$st:$sz"
		done
	done
done
# shellcheck disable=SC2086 # one word per combination
ncombos=$(set -- $combos && echo $#)
per_combo=$(((total + ncombos - 1) / ncombos))

meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# Free pages on the per-CPU lists, in kB. MemFree leaves them out, and
# freeing a large buffer can park megabytes there.
pcp_free() {
	awk '$1 == "count:" { n += $2 } END { print n * 4 }' /proc/zoneinfo
}

# What /proc/meminfo and /proc/zoneinfo say, one "name kB" line each.
memory() {
	grep -E '^(MemFree|Slab|SUnreclaim|VmallocUsed|PageTables|Percpu|KernelStack):' /proc/meminfo |
		tr -d ':' | awk '{ print $1, $2 }'
	echo "PerCPUFree $(pcp_free)"
}

# Drop what the kernel keeps only as a cache, and let RCU free what it holds.
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 2
	echo 3 >/proc/sys/vm/drop_caches
}

# One load, optional use, unload; output only on failure.
cycle() {
	insmod "$ko" "backend=$1" "strategy=$2" "size=$3" || return 1
	wait_dev || {
		echo "/dev/mmapdemo did not appear"
		return 1
	}
	if [ "$4" -eq 1 ]; then
		mmapdemo fill --pattern cycle --length 4096 >/dev/null || return 1
		[ "$(mmapdemo read --raw --length 5)" = cycle ] || {
			echo "the device did not keep a write"
			return 1
		}
	fi
	rmmod mmapdemo
}

run_combo() {
	b=${1%%:*}
	rest=${1#*:}
	st=${rest%%:*}
	sz=${rest#*:}
	name="cycles/$b-$st-$sz"
	started "$name"
	mark "$name"
	read_taint
	taint0=$taint
	clock
	t0=$now
	verdict=PASS
	i=0
	while [ $i -lt "$per_combo" ]; do
		use=0
		[ $((i % 20)) -ne 0 ] || use=1
		if ! cycle "$b" "$st" "$sz" $use >"$work/cycle" 2>&1; then
			verdict=FAIL
			echo "  cycle $i of $name failed:" >"$work/why"
			indent <"$work/cycle" >>"$work/why"
			loaded && rmmod mmapdemo
			break
		fi
		i=$((i + 1))
	done
	kernel_ok "$name" "$taint0" >>"$work/why" || verdict=FAIL
	elapsed "$t0"
	report $verdict "$name ($i cycles)" "$el"
	[ $verdict = PASS ] || cat "$work/why"
	rm -f "$work/why"
	cycles_done=$((cycles_done + i))
}

echo "cycles: kernel $(uname -r), $ncombos combinations x $per_combo cycles"
loaded && rmmod mmapdemo
kmemleak_clear

# Warm up: the first loads fill caches that stay (module loader, sysfs,
# kernfs, vmalloc areas, the per-CPU free page lists); the baseline is after
# a few rounds of every combination, in the order the measured run uses.
warm=0
rounds=5
! $kasan || rounds=1
while [ $warm -lt $rounds ]; do
	for c in $combos; do
		b=${c%%:*}
		rest=${c#*:}
		cycle "$b" "${rest%%:*}" "${rest#*:}" 1 >/dev/null 2>&1 || :
	done
	warm=$((warm + 1))
done
settle
memory >"$work/memory0"
free0=$(($(meminfo MemFree) + $(pcp_free)))
slab0=$(meminfo Slab)

cycles_done=0
for c in $combos; do
	run_combo "$c"
done

settle
memory >"$work/memory1"
free1=$(($(meminfo MemFree) + $(pcp_free)))
slab1=$(meminfo Slab)
clock
t0=$now
echo "  after $cycles_done cycles (kB):"
paste "$work/memory0" "$work/memory1" | awk '{ printf "    %-12s %9d -> %9d  (%+d)\n", $1, $2, $4, $4 - $2 }'
if $kasan; then
	report SKIP "cycles/memory (KASAN quarantine holds freed memory)" 0
elif [ $((slab1 - slab0)) -le $slab_tolerance ] && [ $((free0 - free1)) -le $free_tolerance ]; then
	elapsed "$t0"
	report PASS "cycles/memory (Slab $((slab1 - slab0)) kB, free $((free1 - free0)) kB)" "$el"
else
	elapsed "$t0"
	report FAIL "cycles/memory (Slab $((slab1 - slab0)) kB, free $((free1 - free0)) kB; limits +$slab_tolerance, -$free_tolerance)" "$el"
fi
kmemleak_step kmemleak
echo "cycles: $cycles_done load/unload cycles"
guest_summary
