#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The `make bench` job inside the guest (busybox sh): for each backend, load
# mmapdemo.ko, run /bin/mmapdemo-bench against it, unload, and send its JSON
# to the host over the results port /dev/ttyS1, framed as
#   BEGIN <backend> <bytes> <md5>
#   <the JSON document, one line>
#   END <backend>
# so that scripts/bench.sh can check that nothing was lost or garbled.
# Progress ("bench: ...") goes to the console.
#
# Environment: MMAPDEMO_BENCH_REPS (default 10), MMAPDEMO_BENCH_PARTS
# (default all), MMAPDEMO_BENCH_BACKENDS (default "kmalloc vmalloc"),
# MMAPDEMO_BENCH_ACCEL (recorded in the results; default tcg).
set -u

# shellcheck source=tests/guest-lib.sh
. "${MMAPDEMO_GUEST_LIB:-/bin/guest-lib.sh}"

ko=/lib/mmapdemo.ko
reps=${MMAPDEMO_BENCH_REPS:-10}
parts=${MMAPDEMO_BENCH_PARTS:-all}
backends=${MMAPDEMO_BENCH_BACKENDS:-kmalloc vmalloc}
status=0

# kmalloc holds at most 4 MiB; vmalloc gets enough for the largest sweep.
size_of() {
	case $1 in
	kmalloc) echo 4194304 ;;
	*) echo 268435456 ;;
	esac
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
	if ! insmod "$ko" "backend=$b" "size=$(size_of "$b")"; then
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
	if /bin/mmapdemo-bench --accel "${MMAPDEMO_BENCH_ACCEL:-tcg}" --label "$b" --reps "$reps" --parts "$parts" \
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
