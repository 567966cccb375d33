#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the test suite in a QEMU guest for each kernel series (scripts/guest.sh
# SERIES test), carrying on after a failure, then print a table per kernel and
# a closing "N passed, N failed, N skipped" line. Exits non-zero if any kernel
# failed or produced no results; a kernel that failed without a FAIL line of
# its own (crash, timeout, build error) adds one to the failed count.
#
# Usage: scripts/vm-suite.sh SERIES...   (SERIES: 6.1 or 6.12)
# Environment: BUILD (default <repo>/build), and whatever scripts/guest.sh takes.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

usage() {
	echo "usage: $prog SERIES...   (SERIES: 6.1 or 6.12)" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
for s in "$@"; do
	case $s in 6.1 | 6.12) ;; *) usage ;; esac
done

build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build

rows=()
total_pass=0 total_fail=0 total_skip=0
ok=true

for series in "$@"; do
	echo "=== $prog: kernel series $series" >&2
	start=$SECONDS
	kver="" status=0
	# Learn the ABI first so stale results of an earlier run cannot be counted.
	if kinfo=$("$here/fetch-kernel.sh" "$series"); then
		kver=$(sed -n 's/^KVER=//p' <<<"$kinfo")
	fi
	results=""
	if [[ -n $kver ]]; then
		results=$build/vm/$kver/test/results.log
		rm -f "$results"
		"$here/guest.sh" "$series" test || status=$?
	else
		status=1
	fi
	wall=$((SECONDS - start))

	pass=0 fail=0 skip=0
	if [[ -n $results && -f $results ]]; then
		# grep -c prints 0 but exits 1 when nothing matches.
		pass=$(tr -d '\r' <"$results" | grep -c '^PASS ' || :)
		fail=$(tr -d '\r' <"$results" | grep -c '^FAIL ' || :)
		skip=$(tr -d '\r' <"$results" | grep -c '^SKIP ' || :)
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
	rows+=("$(printf '%-24s %7d %7d %8d %8d  %s' "${kver:-$series}" "$pass" "$fail" "$skip" "$wall" "$verdict")")
done

echo
printf '%-24s %7s %7s %8s %8s  %s\n' kernel passed failed skipped wall/s status
printf '%s\n' "${rows[@]}"
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[[ $ok == true ]]
