#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest jobs (scripts/guest.sh SERIES JOB) one after the other, carrying
# on after a failure, then print a table (one row per kernel and job) and a
# closing "N passed, N failed, N skipped" line. Exits non-zero if any run
# failed or produced no results; a run that failed without a FAIL line of its
# own (crash, timeout, build error) adds one to the failed count.
#
# Usage: scripts/vm-suite.sh RUN...
#   RUN  SERIES or SERIES:JOB (JOB defaults to test), e.g. 6.1 6.12 debug:stress
#        SERIES: 6.1, 6.12 or debug; JOB: test, install, cycles or stress
# Environment: BUILD (default <repo>/build), and whatever scripts/guest.sh takes.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

usage() {
	echo "usage: $prog RUN...   (RUN: SERIES[:JOB]; SERIES 6.1, 6.12 or debug;" \
		"JOB test, install, cycles or stress)" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
for run in "$@"; do
	case ${run%%:*} in 6.1 | 6.12 | debug) ;; *) usage ;; esac
	[[ $run != *:* ]] || case ${run#*:} in test | install | cycles | stress) ;; *) usage ;; esac
done

build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build

rows=() hung=()
total_pass=0 total_fail=0 total_skip=0
ok=true

for run in "$@"; do
	series=${run%%:*}
	job="test"
	[[ $run != *:* ]] || job=${run#*:}
	echo "=== $prog: kernel series $series, job $job" >&2
	start=$SECONDS
	kver="" status=0
	# Learn the release first so stale results of an earlier run cannot be counted.
	if [[ $series == debug ]]; then
		kinfo=$("$here/build-debug-kernel.sh") || kinfo=""
	else
		kinfo=$("$here/fetch-kernel.sh" "$series") || kinfo=""
	fi
	kver=$(sed -n 's/^KVER=//p' <<<"$kinfo")
	results=""
	if [[ -n $kver ]]; then
		results=$build/vm/$kver/$job/results.log
		rm -f "$results"
		"$here/guest.sh" "$series" "$job" || status=$?
	else
		status=1
	fi
	wall=$((SECONDS - start))
	echo "=== $prog: kernel series $series, job $job: ${wall}s" >&2

	pass=0 fail=0 skip=0
	if [[ -n $results && -f $results ]]; then
		# grep -c prints 0 but exits 1 when nothing matches.
		pass=$(tr -d '\r' <"$results" | grep -c '^PASS ' || :)
		fail=$(tr -d '\r' <"$results" | grep -c '^FAIL ' || :)
		skip=$(tr -d '\r' <"$results" | grep -c '^SKIP ' || :)
		while IFS= read -r line; do
			hung+=("${kver:-$series} $job: ${line#HUNG }")
		done < <(tr -d '\r' <"$results" | grep '^HUNG ' || :)
	fi
	if [[ $((pass + fail + skip)) -eq 0 ]]; then
		verdict="NO RESULTS (exit $status)"
	elif [[ $status -ne 0 || $fail -ne 0 ]]; then
		verdict="FAILED (exit $status)"
	else
		verdict=ok
	fi
	if [[ $verdict != ok ]]; then
		ok=false
		# Count a kernel-level failure once when no test failure stands for it.
		[[ $fail -gt 0 ]] || total_fail=$((total_fail + 1))
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	rows+=("$(printf '%-30s %-7s %7d %7d %8d %8d  %s' "${kver:-$series}" "$job" "$pass" "$fail" \
		"$skip" "$wall" "$verdict")")
done

echo
printf '%-30s %-7s %7s %7s %8s %8s  %s\n' kernel job passed failed skipped wall/s status
printf '%s\n' "${rows[@]}"
if [[ ${#hung[@]} -gt 0 ]]; then
	echo
	echo "Wedged a guest (booted afresh; a step that wedged twice counts as failed):"
	printf '  %s\n' "${hung[@]}"
fi
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[[ $ok == true ]]
