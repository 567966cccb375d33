#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side check of the guest runner's watchdog: a guest stopped from
# outside in the middle of a test (as a wedged TCG guest looks from the host)
# is killed after the silence limit, a fresh boot runs that test once more
# and goes on, the results name the hang, and the run still passes. Needs
# `make userspace` first.
#
# Usage: tests/watchdog.sh [SERIES]   (default: the newest kernel of the list)
set -euo pipefail

prog=${0##*/}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -le 1 ]] || {
	echo "usage: $prog [SERIES]" >&2
	exit 2
}
series=${1:-6.12}
build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build
[[ -x $build/userspace/tests/mmapdemo-tests ]] ||
	{ echo "$prog: error: run 'make userspace' first" >&2; exit 1; }

# A build directory of its own, so a suite run beside it keeps its logs.
work=$(mktemp -d)
watcher=""
trap '[[ -z $watcher ]] || kill "$watcher" 2>/dev/null || :; rm -rf "$work"' EXIT
mkdir -p "$work/build"
ln -s "$build/userspace" "$work/build/userspace"

silence=20
filter='[zeroed]'
# The test to stop the guest in: the first of the filter's list.
victim=$("$build/userspace/tests/mmapdemo-tests" --list-tests --verbosity quiet "$filter" |
	sed -n 1p)
[[ -n $victim ]] || { echo "$prog: error: '$filter' lists fewer than two tests" >&2; exit 1; }
victim=kmalloc/$victim

# Stop QEMU (SIGSTOP: it neither runs nor exits) once the guest starts the
# victim on its first boot.
stop_guest() {
	local results pid
	while :; do
		results=$(find "$work/build/vm" -path '*/test/results.log' 2>/dev/null | head -n 1) || :
		if [[ -n $results ]] && grep -qxF "RUN $victim" "$results"; then
			# Fixed-string match: kernel releases hold regex characters (+).
			# shellcheck disable=SC2009
			pid=$(ps -eo pid=,args= | grep -F -- "file:$results" | grep -v grep |
				awk '{ print $1; exit }') || pid=""
			if [[ -n $pid ]]; then
				kill -STOP "$pid"
				echo "$prog: stopped QEMU ($pid) in $victim" >&2
				return 0
			fi
		fi
		sleep 0.2
	done
}
stop_guest &
watcher=$!

start=$SECONDS rc=0
# Each test runs 40 times over, so the guest spends seconds in each: time
# enough to be stopped inside the first one.
BUILD=$work/build MMAPDEMO_BACKENDS=kmalloc MMAPDEMO_TEST_FILTER=$filter MMAPDEMO_TEST_REPEAT=40 \
	MMAPDEMO_VM_SILENCE=$silence "$root/scripts/guest.sh" "$series" test || rc=$?
wall=$((SECONDS - start))
results=$(find "$work/build/vm" -path '*/test/results.log' | head -n 1)

failed=0
check() {
	local name=$1
	shift
	if "$@"; then
		echo "PASS watchdog/$name"
	else
		echo "FAIL watchdog/$name"
		failed=$((failed + 1))
	fi
}
passes=$(grep -c '^PASS ' "$results" || :)
check "the run passes after the retry (exit $rc)" test "$rc" -eq 0
check "the results name the hang" \
	grep -qxF "HUNG $victim (wedged the guest; retried on a fresh boot)" "$results"
check "the wedged test ran once more and passed" grep -q "^PASS $victim (" "$results"
check "the tests after it ran" test "$passes" -ge 2
check "the hang cost about the silence limit (${wall}s in all)" test "$wall" -lt $((silence + 240))
if [[ $failed -ne 0 ]]; then
	echo "$prog: results:" >&2
	sed 's/^/  | /' "$results" >&2
fi
[[ $failed -eq 0 ]]
