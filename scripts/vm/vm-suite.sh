#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest jobs (scripts/vm/guest.sh SERIES JOB) one after the other, carrying
# on after a failure, then print a table (one row per kernel and job) and a
# closing "N passed, N failed, N skipped" line. Exits non-zero if any run
# failed or produced no results; a run that failed without a FAIL line of its
# own (crash, timeout, build error) adds one to the failed count.
#
# Usage: scripts/vm/vm-suite.sh RUN...
#   RUN  SERIES[:JOB[:BACKENDS]] (JOB defaults to test), e.g. 6.1 6.12 debug:stress
#        SERIES: one of scripts/host/kernels.conf or debug; JOB: test, install, cycles, stress or bundle
#        BACKENDS: a comma-separated subset of the job's backends, e.g.
#        debug:test:kmalloc debug:test:chunked (one long job split over two guests)
# Environment: BUILD (default <repo>/build), MMAPDEMO_VM_JOBS (guests at once,
# default: the number of CPUs), and whatever scripts/vm/guest.sh takes.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() {
	echo "usage: $prog RUN...   (RUN: SERIES[:JOB[:BACKENDS]]; SERIES $("$here/../host/kernels.sh" list)" \
		"or debug; JOB test, install, cycles, stress or bundle; BACKENDS e.g. kmalloc,chunked)" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
# parse RUN: sets series, job and backends ("" for the job's default).
parse() {
	local rest
	series=${1%%:*} job=test backends=""
	[[ $1 != *:* ]] || rest=${1#*:} job=${rest%%:*}
	[[ ${rest:-} != *:* ]] || backends=${rest#*:}
}

for run in "$@"; do
	parse "$run"
	[[ $series == debug ]] || "$here/../host/kernels.sh" has "$series" || usage
	case $job in test | install | cycles | stress | bundle) ;; *) usage ;; esac
	[[ -z $backends || $backends =~ ^(kmalloc|vmalloc|chunked)(,(kmalloc|vmalloc|chunked))*$ ]] || usage
done

build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build

jobs=${MMAPDEMO_VM_JOBS:-$(nproc)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "$prog: MMAPDEMO_VM_JOBS must be a positive number" >&2; exit 2; }
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

# run_one INDEX RUN: one guest run; its table row and counts go to
# $state/INDEX as "PASS FAIL SKIP OK ROW", its wedged steps to INDEX.hung.
run_one() {
	local idx=$1 run=$2 series job backends name start kver="" status=0 kinfo results=""
	parse "$run"
	# A run of some backends has a name, directory and table row of its own
	# (QEMU takes no commas in paths).
	name=$job${backends:+:${backends//,/+}}
	echo "=== $prog: kernel series $series, job $name" >&2
	start=$SECONDS
	# Learn the release first so stale results of an earlier run cannot be counted.
	if [[ $series == debug ]]; then
		kinfo=$("$here/../host/build-debug-kernel.sh") || kinfo=""
	else
		kinfo=$("$here/../host/fetch-kernel.sh" "$series") || kinfo=""
	fi
	kver=$(sed -n 's/^KVER=//p' <<<"$kinfo")
	if [[ -n $kver ]]; then
		results=$build/vm/$kver/${name//:/-}/results.log
		rm -f "$results"
		if [[ -n $backends ]]; then
			MMAPDEMO_BACKENDS=${backends//,/ } MMAPDEMO_VM_RUN=${name//:/-} \
				"$here/guest.sh" "$series" "$job" || status=$?
		else
			"$here/guest.sh" "$series" "$job" || status=$?
		fi
	else
		status=1
	fi
	local wall=$((SECONDS - start))
	echo "=== $prog: kernel series $series, job $name: ${wall}s" >&2

	local pass=0 fail=0 skip=0 verdict
	: >"$state/$idx.hung"
	if [[ -n $results && -f $results ]]; then
		# grep -c prints 0 but exits 1 when nothing matches.
		pass=$(tr -d '\r' <"$results" | grep -c '^PASS ' || :)
		fail=$(tr -d '\r' <"$results" | grep -c '^FAIL ' || :)
		skip=$(tr -d '\r' <"$results" | grep -c '^SKIP ' || :)
		tr -d '\r' <"$results" | sed -n "s|^HUNG |${kver:-$series} $name: |p" >"$state/$idx.hung"
	fi
	local good=true
	if [[ $((pass + fail + skip)) -eq 0 ]]; then
		verdict="NO RESULTS (exit $status)"
	elif [[ $status -ne 0 || $fail -ne 0 ]]; then
		verdict="FAILED (exit $status)"
	else
		verdict=ok
	fi
	if [[ $verdict != ok ]]; then
		good=false
		# Count a kernel-level failure once when no test failure stands for it.
		[[ $fail -gt 0 ]] || fail=1
	fi
	printf '%d %d %d %s %s\n' "$pass" "$fail" "$skip" "$good" \
		"$(printf '%-30s %-20s %7d %7d %8d %8d  %s' "${kver:-$series}" "$name" "$pass" "$fail" \
			"$skip" "$wall" "$verdict")" >"$state/$idx"
}

# With MMAPDEMO_VM_JOBS=N, N guests run at once (each run's output is shown
# when it ends): most tests keep one vCPU busy, so two guests on two cores
# take little longer than one.
idx=0
declare -A running=()
for run in "$@"; do
	idx=$((idx + 1))
	if [[ $jobs -eq 1 ]]; then
		run_one "$idx" "$run"
		continue
	fi
	while [[ ${#running[@]} -ge $jobs ]]; do
		wait -n -p done_pid "${!running[@]}" || :
		cat "$state/${running[$done_pid]}.log" >&2
		unset "running[$done_pid]"
	done
	run_one "$idx" "$run" >"$state/$idx.log" 2>&1 &
	running[$!]=$idx
done
while [[ ${#running[@]} -gt 0 ]]; do
	wait -n -p done_pid "${!running[@]}" || :
	cat "$state/${running[$done_pid]}.log" >&2
	unset "running[$done_pid]"
done

rows=() hung=()
total_pass=0 total_fail=0 total_skip=0
ok=true
for ((i = 1; i <= idx; i++)); do
	if [[ ! -s $state/$i ]]; then
		rows+=("run $i: ended without a result")
		total_fail=$((total_fail + 1))
		ok=false
		continue
	fi
	read -r pass fail skip good row <"$state/$i"
	rows+=("$row")
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	[[ $good == true ]] || ok=false
	while IFS= read -r line; do
		hung+=("$line")
	done <"$state/$i.hung"
done

echo
printf '%-30s %-20s %7s %7s %8s %8s  %s\n' kernel job passed failed skipped wall/s status
printf '%s\n' "${rows[@]}"
if [[ ${#hung[@]} -gt 0 ]]; then
	echo
	echo "Wedged a guest (booted afresh; a step that wedged twice counts as failed):"
	printf '  %s\n' "${hung[@]}"
fi
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[[ $ok == true ]]
