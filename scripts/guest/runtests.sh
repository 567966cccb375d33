#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side test runner (busybox sh), in the spirit of liburing's
# test/runtests.sh: for each backend it loads mmapdemo.ko, runs every Catch2
# test case on its own under a timeout, and fails a test whose run left
# warnings, oopses, lockdep or sanitizer reports in the kernel log or tainted
# the kernel. One line per test on the console and on /dev/ttyS1:
#   PASS|FAIL|SKIP <backend>/<test name> (<seconds>s)
# then, where the kernel has kmemleak, a "kmemleak" step that fails on any
# leak whose allocation ran through mmapdemo, the full dmesg on /dev/ttyS2
# and a closing "N passed, N failed, N skipped".
#
# Usage: runtests.sh TEST_BINARY
# Environment:
#   MMAPDEMO_KO            path of mmapdemo.ko (required)
#   MMAPDEMO_BACKENDS      backends to test (default "kmalloc vmalloc chunked")
#   MMAPDEMO_TEST_TIMEOUT  seconds per test case (default 120)
#   MMAPDEMO_TEST_FILTER   Catch2 test spec choosing the tests (default: all)
#   MMAPDEMO_TEST_REPEAT   runs of each test case (default 1), to chase rare failures
#   MMAPDEMO_RESUME        retry:<backend>/<test> or after:<backend>/<test>: this
#                          boot follows one that wedged in <test>; skip what that
#                          boot finished, then run <test> once more (retry) or go
#                          on after it (after)
# Before each test a "RUN <backend>/<test name>" line goes to /dev/ttyS1, so the
# host can tell which test a wedged guest was in (scripts/vm/guest.sh).
# The tests see MMAPDEMO_KO, MMAPDEMO_BACKEND and MMAPDEMO_PARAMS ("backend=<b>").
set -eu

prog=${0##*/}

usage() {
	echo "usage: $prog TEST_BINARY   (environment: MMAPDEMO_KO=<path of mmapdemo.ko>" \
		"[MMAPDEMO_BACKENDS=\"kmalloc vmalloc chunked\"] [MMAPDEMO_TEST_TIMEOUT=120])" >&2
	exit 2
}

[ $# -eq 1 ] || usage
bin=$1
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
	echo "$prog: test binary '$bin' is not an executable file" >&2
	usage
fi
MMAPDEMO_KO=${MMAPDEMO_KO:-}
[ -n "$MMAPDEMO_KO" ] || {
	echo "$prog: MMAPDEMO_KO is not set" >&2
	usage
}
[ -f "$MMAPDEMO_KO" ] || {
	echo "$prog: module '$MMAPDEMO_KO' not found" >&2
	exit 2
}
export MMAPDEMO_KO

# shellcheck source=scripts/guest/guest-lib.sh
. "${MMAPDEMO_GUEST_LIB:-/bin/guest-lib.sh}"
work=$guest_work

backends=${MMAPDEMO_BACKENDS:-kmalloc vmalloc chunked}
tmo=$(positive MMAPDEMO_TEST_TIMEOUT "${MMAPDEMO_TEST_TIMEOUT:-120}") || exit 2
repeat=$(positive MMAPDEMO_TEST_REPEAT "${MMAPDEMO_TEST_REPEAT:-1}") || exit 2
resume=${MMAPDEMO_RESUME:-}
resume_mode=${resume%%:*}
resume_at=${resume#*:}
case $resume_mode in
'') ;;
retry | after) [ "$resume_at" != "$resume" ] || usage ;;
*) usage ;;
esac

load() {
	insmod "$MMAPDEMO_KO" "backend=$1" >"$work/insmod" 2>&1
}

# Catch2 test specs treat these characters specially; escape them.
run_test() {
	b=$1
	name=$2
	spec=$3
	if ! loaded; then
		echo "  note: mmapdemo was not loaded; loading it again"
		load "$b" || indent <"$work/insmod"
	fi
	started "$b/$name"
	mark "$b/$name"
	# As the last check left it (the insmod step's, or the test before).
	taint0=$taint
	clock
	t0=$now
	kernel_why=""
	run=0
	rc=0
	while [ $rc -eq 0 ] && [ $run -lt "$repeat" ]; do
		clock
		run_t0=$now
		# Emptied, not removed: a run killed before its report leaves none.
		: >"$work/junit"
		timeout "$tmo" "$bin" --reporter compact --reporter "junit::out=$work/junit" \
			--colour-mode none "$spec" </dev/null >"$work/out" 2>&1 || rc=$?
		run=$((run + 1))
	done
	elapsed "$t0"
	case $rc in
	0) verdict=PASS why="" ;;
	4) verdict=SKIP why="" ;;
	124 | 137 | 143)
		verdict=FAIL
		if [ $((now - run_t0)) -ge $((tmo * 100)) ]; then
			why="timed out after ${tmo}s"
		else
			why="killed (exit status $rc)"
		fi
		;;
	*) verdict=FAIL why="exit status $rc" ;;
	esac
	if ! kernel_ok "$b/$name" "$taint0" >"$work/kernel"; then
		verdict=FAIL
		why="${why:+$why; }kernel reported problems"
		kernel_why="kernel reported problems"
	fi
	report "$verdict" "$b/$name" "$el"
	[ "$repeat" -eq 1 ] || echo "  runs: $run of $repeat"
	junit_and_notes "$b" "$name" "$why" "$kernel_why"
	if [ "$verdict" = FAIL ]; then
		echo "  reason: $why"
		echo "  output:"
		tail -n 200 "$work/out" | indent
	fi
	[ ! -s "$work/kernel" ] || cat "$work/kernel"
}

# junit_and_notes BACKEND NAME WHY KERNEL: Catch2's JUnit report of the
# test, its <testsuite> and classnames named after the backend, as "JUNIT
# <line>" lines on the results port (scripts/vm/guest.sh gathers them into
# junit.xml), and the test's "note: " lines on the console. What Catch2
# could not report, a run without a report (timed out, killed: WHY) or a
# kernel problem (KERNEL), is a failing <testcase> of its own. One awk for
# both, as the rest of a test's bookkeeping costs one pipeline.
junit_and_notes() {
	port=""
	[ ! -c "$results_port" ] || port=$results_port
	awk -v b="$1" -v name="$2" -v why="$3" -v kern="$4" -v port="$port" \
		-v report="$work/junit" '
		function esc(s) {
			gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s)
			gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s)
			return s
		}
		FILENAME != report { if (/^note: /) print "    " $0; next }
		port == "" { next }
		/^<\?xml/ || /<\/?testsuites/ { next }
		/<\/testsuite>/ { complete = 1; next }
		{ line[++n] = $0 }
		END {
			if (port == "")
				exit
			failure = kern
			if (complete) {
				for (i = 1; i <= n; i++) {
					l = line[i]
					sub(/<testsuite name="[^"]*"/, "<testsuite name=\"" b "\"", l)
					gsub(/classname="[^"]*"/, "classname=\"" b "\"", l)
					print "JUNIT " l > port
				}
			} else {
				print "JUNIT <testsuite name=\"" b "\" tests=\"1\" failures=\"1\" errors=\"0\">" > port
				failure = why != "" ? why : "no report"
			}
			if (failure != "") {
				print "JUNIT <testcase classname=\"" b "\" name=\"" esc(name) "\">" > port
				print "JUNIT <failure message=\"" esc(failure) "\" type=\"runner\"/>" > port
				print "JUNIT </testcase>" > port
			}
			print "JUNIT </testsuite>" > port
		}' "$work/junit" "$work/out"
}
fail_all() {
	echo "  $1"
	[ ! -s "$work/insmod" ] || indent <"$work/insmod"
	while IFS= read -r name <&3; do
		report FAIL "$2/$name" 0
	done 3<"$work/list"
}

echo "$prog: kernel $(uname -r), backends: $backends, timeout ${tmo}s per test"
kmemleak_clear

# A resumed boot passes over the backends the wedged one had finished.
skipping_backends=false
if [ -n "$resume_mode" ]; then
	skipping_backends=true
	echo "$prog: resuming at ${resume_at} ($resume_mode)"
fi

for b in $backends; do
	if $skipping_backends; then
		[ "${resume_at%%/*}" = "$b" ] || continue
		skipping_backends=false
	fi
	echo "=== backend $b"
	MMAPDEMO_BACKEND=$b
	MMAPDEMO_PARAMS="backend=$b"
	export MMAPDEMO_BACKEND MMAPDEMO_PARAMS
	if loaded; then
		rmmod mmapdemo || :
	fi

	rc=0
	"$bin" --list-tests --verbosity quiet ${MMAPDEMO_TEST_FILTER:+"$MMAPDEMO_TEST_FILTER"} \
		</dev/null >"$work/list.raw" 2>&1 || rc=$?
	tr -d '\r' <"$work/list.raw" | sed '/^[[:space:]]*$/d' >"$work/list"
	# Each name as a Catch2 test spec: its special characters escaped.
	sed 's/[][\\,]/\\&/g' "$work/list" >"$work/specs"
	if [ $rc -ne 0 ] || [ ! -s "$work/list" ]; then
		report FAIL "$b/list-tests" 0
		echo "  '$bin --list-tests' failed (exit status $rc) or listed nothing:"
		indent <"$work/list.raw"
		continue
	fi

	mark "$b/insmod"
	read_taint
	taint0=$taint
	clock
	t0=$now
	if ! load "$b"; then
		fail_all "insmod $MMAPDEMO_KO backend=$b failed:" "$b"
		continue
	fi
	if ! kernel_ok "$b/insmod" "$taint0" >"$work/kernel"; then
		elapsed "$t0"
		report FAIL "$b/insmod" "$el"
		cat "$work/kernel"
	fi
	if ! wait_dev; then
		: >"$work/insmod"
		fail_all "/dev/mmapdemo did not appear after insmod" "$b"
	else
		while IFS= read -r name <&3 && IFS= read -r spec <&4; do
			if [ -n "$resume_mode" ]; then
				# Tests before the one the last boot wedged in are done.
				[ "$b/$name" = "$resume_at" ] || continue
				mode=$resume_mode
				resume_mode=""
				[ "$mode" = retry ] || continue
				echo "  note: $b/$name wedged the last boot; running it once more"
			fi
			run_test "$b" "$name" "$spec"
		done 3<"$work/list" 4<"$work/specs"
		if [ -n "$resume_mode" ]; then
			report FAIL "$resume_at" 0
			echo "  reason: the test to resume at is not in this backend's list"
			resume_mode=""
		fi
	fi

	if loaded; then
		mark "$b/rmmod"
		read_taint
		taint0=$taint
		clock
		t0=$now
		if ! rmmod mmapdemo >"$work/rmmod" 2>&1; then
			elapsed "$t0"
			report FAIL "$b/rmmod" "$el"
			indent <"$work/rmmod"
		elif ! kernel_ok "$b/rmmod" "$taint0" >"$work/kernel"; then
			elapsed "$t0"
			report FAIL "$b/rmmod" "$el"
			cat "$work/kernel"
		fi
	fi
done

kmemleak_step kmemleak
guest_summary
