#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The `make bench` job inside the guest (busybox sh): for each backend, load
# mmapdemo.ko, run /bin/mmapdemo-bench against it, unload, and send its JSON
# to the host over the results port /dev/ttyS1, framed as
#   BEGIN <backend> <bytes> <md5>
#   <the JSON document, one line>
#   END <backend>
# so that scripts/bench/bench.sh can check that nothing was lost or garbled.
# Progress ("bench: ...") goes to the console.
#
# Environment: MMAPDEMO_BENCH_REPS (default 10), MMAPDEMO_BENCH_PARTS
# (default all), MMAPDEMO_BENCH_BACKENDS (default "kmalloc vmalloc
# chunked"), MMAPDEMO_BENCH_ACCEL (recorded in the results; default tcg).
#
# The chunked backend runs only the parts whose figures depend on how the
# memory is laid out: bandwidth and first touch (where the huge strategy
# maps whole 2 MiB chunks). Seed 002, IPC and scaling would repeat the
# other runs' figures at the cost of minutes.
set -u

# shellcheck source=scripts/guest/guest-lib.sh
. "${MMAPDEMO_GUEST_LIB:-/bin/guest-lib.sh}"

ko=/lib/mmapdemo.ko
reps=${MMAPDEMO_BENCH_REPS:-10}
parts=${MMAPDEMO_BENCH_PARTS:-all}
backends=${MMAPDEMO_BENCH_BACKENDS:-kmalloc vmalloc chunked}
status=0

# kmalloc holds at most 4 MiB; vmalloc gets enough for the largest sweep.
# chunked gets the largest first-touch size, 32 MiB: its bandwidth at
# 256 MiB would cost minutes per kernel and tell nothing new under TCG,
# whose software TLB maps 4 KiB at a time behind a PMD entry too.
size_of() {
	case $1 in
	kmalloc) echo 4194304 ;;
	chunked) echo 33554432 ;;
	*) echo 268435456 ;;
	esac
}

# The parts of $parts that backend $1 runs (comma-separated, maybe empty).
parts_of() {
	[ "$1" = chunked ] || {
		echo "$parts"
		return
	}
	[ "$parts" = all ] && {
		echo bandwidth,first-touch
		return
	}
	out=
	for p in $(echo "$parts" | tr ',' ' '); do
		case $p in bandwidth | first-touch) out=${out:+$out,}$p ;; esac
	done
	echo "$out"
}

# Loads the module with backend $1 at its size; chunked memory comes in
# 2 MiB physically contiguous pieces, which a fragmented guest may lack:
# halve the size down to 4 MiB (two chunks) before giving up.
load() {
	size=$(size_of "$1")
	while ! insmod "$ko" "backend=$1" "size=$size"; do
		[ "$1" = chunked ] && [ "$size" -gt 4194304 ] || return 1
		size=$((size / 2))
		echo "bench: backend=$1: retrying with size=$size"
	done
}

send() {
	bytes=$(wc -c <"$2")
	sum=$(md5sum <"$2")
	{
		echo "BEGIN $1 $bytes ${sum%% *}"
		cat "$2"
		echo "END $1"
	} >"$results_port"
}

echo "bench: kernel $(uname -r), $(nproc) vCPUs, backends: $backends"
for b in $backends; do
	these=$(parts_of "$b")
	if [ -z "$these" ]; then
		echo "bench: backend $b: none of the parts $parts"
		continue
	fi
	if ! load "$b"; then
		echo "bench: insmod backend=$b failed"
		status=1
		continue
	fi
	wait_dev || {
		echo "bench: /dev/mmapdemo did not appear (backend $b)"
		status=1
		continue
	}
	out=/tmp/bench-$b.json
	if /bin/mmapdemo-bench --accel "${MMAPDEMO_BENCH_ACCEL:-tcg}" --label "$b" --reps "$reps" --parts "$these" \
		--json "$out"; then
		send "$b" "$out"
	else
		echo "bench: mmapdemo-bench failed on backend $b"
		status=1
	fi
	rm -f "$out"
	rmmod mmapdemo || status=1
done

if [ -c /dev/ttyS2 ]; then
	dmesg >/dev/ttyS2
fi
exit $status
