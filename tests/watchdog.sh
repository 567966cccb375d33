#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side check of the guest runner's watchdog: a guest stopped from
# outside in the middle of a test (as a wedged TCG guest looks from the host)
# is killed after the silence limit, a fresh boot runs that test once more
# and goes on, the results name the hang, and the run still passes; a test
# that wedges its retry too fails, and the run goes on after it. Needs
# `make userspace` first.
#
# Usage: tests/watchdog.sh [SERIES]   (default: 6.12)
set -euo pipefail

# shellcheck source=tests/host-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/host-lib.sh" watchdog
[[ $# -le 1 ]] || usage_exit "[SERIES]"
series=${1:-6.12}
build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build
[[ -x $build/userspace/bin/mmapdemo-tests ]] || die "run 'make userspace' first"

# Long enough for a loaded host to finish a step; short enough to be cheap.
silence=30
filter='[zeroed]'
# The test to stop the guest in: the first of the filter's list.
victim=$("$build/userspace/bin/mmapdemo-tests" --list-tests --verbosity quiet "$filter" |
	sed -n 1p)
[[ -n $victim ]] || die "'$filter' lists no test"
victim=kmalloc/$victim

# stop_guest DIR N: stop QEMU (SIGSTOP: it neither runs nor exits) each time
# a guest under DIR starts the victim, on its first N boots.
stop_guest() {
	local dir=$1 n=$2 results pid last=""
	while [[ $n -gt 0 ]]; do
		results=$(find "$dir/vm" -path '*/test/results.log' 2>/dev/null | head -n 1) || :
		if [[ -n $results ]] && grep -qxF "RUN $victim" "$results"; then
			# Fixed-string match: kernel releases hold regex characters (+).
			# shellcheck disable=SC2009
			pid=$(ps -eo pid=,args= | grep -F -- "file:$results" | grep -v grep |
				awk '{ print $1; exit }') || pid=""
			if [[ -n $pid && $pid != "$last" ]]; then
				kill -STOP "$pid"
				echo "$prog: stopped QEMU ($pid) in $victim" >&2
				last=$pid
				n=$((n - 1))
			fi
		fi
		sleep 0.2
	done
}

# scenario N: a run whose guest is stopped in the victim on N boots; sets
# rc, wall, results. A build directory of its own, under $work, so a suite
# run beside it keeps its logs.
scenario() {
	local dir=$work/stop$1
	mkdir -p "$dir"
	ln -s "$build/userspace" "$dir/userspace"
	stop_guest "$dir" "$1" &
	watcher=$!
	local start=$SECONDS
	rc=0
	# Each test runs 20 times over, so the guest spends seconds in each:
	# time enough to be stopped inside the first one.
	BUILD=$dir MMAPDEMO_BACKENDS=kmalloc MMAPDEMO_TEST_FILTER=$filter MMAPDEMO_TEST_REPEAT=20 \
		MMAPDEMO_VM_SILENCE=$silence "$root/scripts/vm/guest.sh" "$series" test || rc=$?
	wall=$((SECONDS - start))
	kill "$watcher" 2>/dev/null || :
	watcher=""
	results=$(find "$dir/vm" -path '*/test/results.log' | head -n 1)
	passes=$(grep -c '^PASS ' "$results" || :)
}

# A scenario's watcher, stopped at exit if the scenario did not finish.
watcher=""
on_exit() {
	[[ -z $watcher ]] || kill "$watcher" 2>/dev/null || :
}

scenario 1
check "one hang: the run passes after the retry (exit $rc)" test "$rc" -eq 0
check "one hang: the results name it" \
	grep -qxF "HUNG $victim (wedged the guest; retried on a fresh boot)" "$results"
check "one hang: the test ran once more and passed" grep -q "^PASS $victim (" "$results"
check "one hang: the tests after it ran" test "$passes" -ge 2
check "one hang: it cost about the silence limit (${wall}s in all)" test "$wall" -lt $((silence + 180))
[[ $failed -eq 0 ]] || sed 's/^/  | /' "$results" >&2

before=$failed
scenario 2
check "two hangs: the run fails (exit $rc)" test "$rc" -ne 0
check "two hangs: the test counts as failed" \
	grep -qxF "FAIL $victim (wedged the guest twice)" "$results"
check "two hangs: the tests after it ran" test "$passes" -ge 1
check "two hangs: they cost about twice the silence limit (${wall}s in all)" \
	test "$wall" -lt $((2 * silence + 240))
[[ $failed -eq $before ]] || sed 's/^/  | /' "$results" >&2
all_passed
