#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side test runner (busybox sh), in the spirit of liburing's
# test/runtests.sh: for each backend it loads mmapdemo.ko, runs every Catch2
# test case on its own under a timeout, and fails a test whose run left
# warnings, oopses, lockdep or sanitizer reports in the kernel log or tainted
# the kernel. One line per test on the console and on /dev/ttyS1:
#   PASS|FAIL|SKIP <backend>/<test name> (<seconds>s)
# then the full dmesg on /dev/ttyS2 and a closing "N passed, N failed, N skipped".
#
# Usage: runtests.sh TEST_BINARY
# Environment:
#   MMAPDEMO_KO            path of mmapdemo.ko (required)
#   MMAPDEMO_BACKENDS      backends to test (default "kmalloc vmalloc")
#   MMAPDEMO_TEST_TIMEOUT  seconds per test case (default 120)
# The tests see MMAPDEMO_KO, MMAPDEMO_BACKEND and MMAPDEMO_PARAMS ("backend=<b>").
set -eu

prog=${0##*/}

usage() {
	echo "usage: $prog TEST_BINARY   (environment: MMAPDEMO_KO=<path of mmapdemo.ko>" \
		"[MMAPDEMO_BACKENDS=\"kmalloc vmalloc\"] [MMAPDEMO_TEST_TIMEOUT=120])" >&2
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
backends=${MMAPDEMO_BACKENDS:-kmalloc vmalloc}
tmo=${MMAPDEMO_TEST_TIMEOUT:-120}
case $tmo in
'' | *[!0-9]* | 0)
	echo "$prog: MMAPDEMO_TEST_TIMEOUT must be a positive number of seconds" >&2
	exit 2
	;;
esac

results_port=/dev/ttyS1
dmesg_port=/dev/ttyS2
# Kernel log lines that mean something went wrong in the kernel.
bad_re='BUG:|WARNING:|Oops|KASAN|UBSAN|kernel BUG|general protection|possible circular locking|INFO: task|Call Trace|kmemleak|refcount_t'
# Loading our own module sets O (out-of-tree) and E (unsigned); nothing else may appear.
taint_ok=$((4096 | 8192))

work=$(mktemp -d)
npass=0
nfail=0
nskip=0

# Centiseconds since boot: good enough to time a test.
now_cs() {
	read -r up _ </proc/uptime
	frac=${up#*.}
	echo $((${up%.*} * 100 + ${frac#0}))
}

secs() {
	printf '%d.%02d' $(($1 / 100)) $(($1 % 100))
}

indent() {
	sed 's/^/    /'
}

# Mark the kernel log so the check after a step only sees that step's lines.
mark() {
	echo "<6>mmapdemo: begin $1" >/dev/kmsg
}

# Kernel log lines after the last marker for $1 (all lines if it was lost).
log_since() {
	dmesg | awk -v m="mmapdemo: begin $1" '
		{ line[NR] = $0 }
		length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m { start = NR }
		END { for (i = start + 1; i <= NR; i++) print line[i] }'
}

# Check the kernel after step $1 (taint baseline $2); on trouble print why,
# and return 1.
kernel_ok() {
	ok=0
	log_since "$1" | grep -E "$bad_re" >"$work/bad" || :
	if [ -s "$work/bad" ]; then
		echo "  kernel log:"
		indent <"$work/bad"
		ok=1
	fi
	taint=$(cat /proc/sys/kernel/tainted)
	gained=$((taint & ~$2 & ~taint_ok))
	if [ "$gained" -ne 0 ]; then
		echo "  kernel taint gained $gained (now $taint)"
		ok=1
	fi
	return $ok
}

report() {
	line="$1 $2 ($(secs "$3")s)"
	echo "$line"
	if [ -c "$results_port" ]; then
		echo "$line" >"$results_port"
	fi
	case $1 in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	esac
}

loaded() {
	[ -d /sys/module/mmapdemo ]
}

load() {
	insmod "$MMAPDEMO_KO" "backend=$1" >"$work/insmod" 2>&1
}

# /dev/mmapdemo should appear at once; allow devtmpfs a moment anyway.
wait_dev() {
	n=0
	while [ ! -c /dev/mmapdemo ] && [ $n -lt 20 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -c /dev/mmapdemo ]
}

# Catch2 test specs treat these characters specially; escape them.
catch2_filter() {
	printf '%s\n' "$1" | sed 's/[][\\,]/\\&/g'
}

run_test() {
	b=$1
	name=$2
	if ! loaded; then
		# A test unloaded the module and did not reload it; give the next one a fresh copy.
		echo "  note: mmapdemo was not loaded; loading it again"
		load "$b" || indent <"$work/insmod"
	fi
	mark "$b/$name"
	taint0=$(cat /proc/sys/kernel/tainted)
	t0=$(now_cs)
	rc=0
	timeout "$tmo" "$bin" --reporter compact --colour-mode none "$(catch2_filter "$name")" \
		</dev/null >"$work/out" 2>&1 || rc=$?
	el=$(($(now_cs) - t0))
	case $rc in
	0) verdict=PASS why="" ;;
	4) verdict=SKIP why="" ;;
	124 | 137 | 143)
		verdict=FAIL
		if [ $el -ge $((tmo * 100)) ]; then
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
	fi
	report "$verdict" "$b/$name" "$el"
	if [ "$verdict" = FAIL ]; then
		echo "  reason: $why"
		echo "  output:"
		tail -n 200 "$work/out" | indent
		cat "$work/kernel"
	fi
}

# Every test of a backend fails when its module cannot be set up.
fail_all() {
	echo "  $1"
	[ ! -s "$work/insmod" ] || indent <"$work/insmod"
	while IFS= read -r name <&3; do
		report FAIL "$2/$name" 0
	done 3<"$work/list"
}

echo "$prog: kernel $(uname -r), backends: $backends, timeout ${tmo}s per test"

for b in $backends; do
	echo "=== backend $b"
	MMAPDEMO_BACKEND=$b
	MMAPDEMO_PARAMS="backend=$b"
	export MMAPDEMO_BACKEND MMAPDEMO_PARAMS
	if loaded; then
		rmmod mmapdemo || :
	fi

	rc=0
	"$bin" --list-tests --verbosity quiet </dev/null >"$work/list.raw" 2>&1 || rc=$?
	tr -d '\r' <"$work/list.raw" | sed '/^[[:space:]]*$/d' >"$work/list"
	if [ $rc -ne 0 ] || [ ! -s "$work/list" ]; then
		report FAIL "$b/list-tests" 0
		echo "  '$bin --list-tests' failed (exit status $rc) or listed nothing:"
		indent <"$work/list.raw"
		continue
	fi

	mark "$b/insmod"
	taint0=$(cat /proc/sys/kernel/tainted)
	t0=$(now_cs)
	if ! load "$b"; then
		fail_all "insmod $MMAPDEMO_KO backend=$b failed:" "$b"
		continue
	fi
	if ! kernel_ok "$b/insmod" "$taint0" >"$work/kernel"; then
		report FAIL "$b/insmod" $(($(now_cs) - t0))
		cat "$work/kernel"
	fi
	if ! wait_dev; then
		: >"$work/insmod"
		fail_all "/dev/mmapdemo did not appear after insmod" "$b"
	else
		while IFS= read -r name <&3; do
			run_test "$b" "$name"
		done 3<"$work/list"
	fi

	if loaded; then
		mark "$b/rmmod"
		taint0=$(cat /proc/sys/kernel/tainted)
		t0=$(now_cs)
		if ! rmmod mmapdemo >"$work/rmmod" 2>&1; then
			report FAIL "$b/rmmod" $(($(now_cs) - t0))
			indent <"$work/rmmod"
		elif ! kernel_ok "$b/rmmod" "$taint0" >"$work/kernel"; then
			report FAIL "$b/rmmod" $(($(now_cs) - t0))
			cat "$work/kernel"
		fi
	fi
done

if [ -c "$dmesg_port" ]; then
	dmesg >"$dmesg_port"
fi
rm -rf "$work"
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
