#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# One QEMU guest run: get the kernel of SERIES, build mmapdemo.ko against it,
# pack an initramfs with the module, the userspace binaries and the job, boot
# it and return the guest's exit status. Expects the static userspace from
# `make userspace` under $BUILD/userspace.
#
# Usage: scripts/vm/guest.sh SERIES JOB
#   SERIES  6.1, 6.12, ...   Debian's kernels of scripts/host/kernels.conf
#                            (scripts/host/fetch-kernel.sh)
#           debug        the KASAN/lockdep/kmemleak kernel
#                        (scripts/host/build-debug-kernel.sh), booted with
#                        debug_pagealloc=on page_table_check=on preempt=full
#                        no5lvl kasan_multi_shot
#   JOB     test     the Catch2 suite (scripts/guest/runtests.sh)
#           demo     the seed scenarios (scripts/guest/guest-demo.sh)
#           install  `make install` into the guest, then modprobe and mdev
#                    (scripts/guest/install-check.sh)
#           cycles   insmod/rmmod cycles with memory accounting (scripts/guest/cycles.sh)
#           stress   mmapdemo-stress and stress-ng (scripts/guest/stress-run.sh)
#           bench    mmapdemo-bench on each backend (scripts/guest/guest-bench.sh;
#                    scripts/bench/bench.sh runs it and reads its results)
#           bundle   the tarball of `make bundle` alone: unpacked and its
#                    run.sh run as on a machine of one's own (the suite)
# Environment (all optional):
#   BUILD                  build directory (default <repo>/build)
#   MMAPDEMO_BACKENDS      backends the job covers (default: kmalloc vmalloc chunked;
#                          kmalloc chunked for the debug kernel's test)
#   MMAPDEMO_TEST_TIMEOUT  seconds per test case (test)
#   MMAPDEMO_TEST_FILTER   Catch2 test spec (test)
#   MMAPDEMO_CYCLES        insmod/rmmod cycles (cycles; default 1000, 240 on
#                          the debug kernel)
#   MMAPDEMO_STRESS_SECONDS    mmapdemo-stress seconds per backend (stress;
#                              default 60, 150 on the debug kernel)
#   MMAPDEMO_STRESS_PROCESSES, MMAPDEMO_STRESS_SEED, MMAPDEMO_STRESSNG_SECONDS
#   MMAPDEMO_BENCH_REPS, MMAPDEMO_BENCH_PARTS, MMAPDEMO_BENCH_BACKENDS (bench)
#   MMAPDEMO_VM_TIMEOUT    wall-clock limit of the guest in seconds (default
#                          900, 5400 on the debug kernel, longer for long stress)
#   MMAPDEMO_VM_APPEND     extra kernel command line arguments
#   MMAPDEMO_VM_MEM        guest memory in MiB (default 1024; 4096 on the debug
#                          kernel, 3072 for test and bundle, 2048 for bench)
#   MMAPDEMO_VM_SILENCE    the watchdog's limit: seconds without a line on the
#                          results port before the guest counts as wedged
#                          (default: the slowest step of the job plus slack)
#   MMAPDEMO_VM_THREADS    single (default: one host thread runs every vCPU) or
#                          multi (a host thread per vCPU)
#   MMAPDEMO_VM_RUN        name of the run's directory and files (default: JOB),
#                          so that runs of one job on one kernel (a backend
#                          each, say) can run side by side
# A watchdog (scripts/vm/run-vm.sh) kills a guest that goes silent; a fresh boot
# then runs the step it hung in once more and goes on (see the loop below).
# Logs: $BUILD/vm/<kver>/<run>/{console,results,dmesg}.log, and junit.xml
# for the jobs that run the Catch2 suite (test, bundle)
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/../lib.sh"

usage() {
	usage_exit "SERIES JOB   (SERIES: $("$here/../host/kernels.sh" list) or debug; JOB: test, demo, install, cycles, stress, bench or bundle)"
}

[[ $# -eq 2 ]] || usage
series=$1
job=$2
[[ $series == debug ]] || "$here/../host/kernels.sh" has "$series" || usage
case $job in test | demo | install | cycles | stress | bench | bundle) ;; *) usage ;; esac
run_name=${MMAPDEMO_VM_RUN:-$job}
[[ $run_name =~ ^[A-Za-z0-9][A-Za-z0-9_.+-]*$ ]] ||
	die "MMAPDEMO_VM_RUN must be a plain file name, not '$run_name'"

build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build

if [[ $series == debug ]]; then
	kinfo=$("$here/../host/build-debug-kernel.sh") || die "could not build the debug kernel"
else
	kinfo=$("$here/../host/fetch-kernel.sh" "$series") || die "could not fetch the $series kernel"
fi
KVER="" KDIR="" VMLINUZ=""
while IFS='=' read -r key value; do
	case $key in
	KVER) KVER=$value ;;
	KDIR) KDIR=$value ;;
	VMLINUZ) VMLINUZ=$value ;;
	esac
done <<<"$kinfo"
[[ -n $KVER && -n $KDIR && -n $VMLINUZ ]] || die "unexpected output from fetch-kernel.sh: $kinfo"

# Guests of one kernel may run side by side (vm-suite.sh): make module
# builds one at a time in a kernel's tree.
mkdir -p "$build"
make -C "$root" module KVER="$KVER" KDIR="$KDIR" BUILD="$build"
ko=$build/kmod/$KVER/mmapdemo.ko
[[ -f $ko ]] || die "make module did not produce $ko"

files=(
	"/lib/mmapdemo.ko=$ko"
	"/bin/guest-lib.sh=$root/scripts/guest/guest-lib.sh"
)

# program DEST SRC: one of our programs into the guest, which has no C
# library: it must exist and be statically linked.
program() {
	[[ -x $2 ]] || die "$2 not found; run 'make userspace' first"
	if readelf -l "$2" 2>/dev/null | grep -q 'program interpreter'; then
		die "$2 is dynamically linked; the guest needs static binaries ('make userspace' builds them)"
	fi
	files+=("$1=$2")
}

# Every job but bench uses the command (the CLI tests run it too).
if [[ $job != bench ]]; then
	program /bin/mmapdemo "$build/userspace/bin/mmapdemo"
fi

vmdir=$build/vm/$KVER
mkdir -p "$vmdir"
case $job in
test)
	# KASAN, lockdep and kmemleak under TCG: several times slower per test,
	# about 15 minutes per backend. The suite there covers the physically
	# contiguous backend and the chunked one (vmap() of page chunks);
	# vmalloc, which differs from chunked only in where its pages come
	# from, gets the debug kernel's cycles and stress runs.
	if [[ $series == debug ]]; then
		export MMAPDEMO_TEST_TIMEOUT=${MMAPDEMO_TEST_TIMEOUT:-600}
		export MMAPDEMO_BACKENDS=${MMAPDEMO_BACKENDS:-kmalloc chunked}
	fi
	program /bin/mmapdemo-tests "$build/userspace/bin/mmapdemo-tests"
	files+=("/bin/runtests.sh=$root/scripts/guest/runtests.sh")
	run=(/bin/runtests.sh /bin/mmapdemo-tests)
	;;
demo)
	files+=("/bin/guest-demo.sh=$root/scripts/guest/guest-demo.sh")
	run=(/bin/guest-demo.sh)
	;;
install)
	# What `make install` lays down, as the guest's own files.
	staged=$vmdir/install-root
	rm -rf "$staged"
	make -C "$root" install DESTDIR="$staged" KVER="$KVER" KDIR="$KDIR" BUILD="$build" \
		>"$vmdir/install.log" 2>&1 || {
		cat "$vmdir/install.log" >&2
		die "make install DESTDIR=$staged failed"
	}
	while IFS= read -r f; do
		files+=("/$f=$staged/$f")
	done < <(cd "$staged" && find . -type f | sed 's|^\./||')
	files+=("/bin/install-check.sh=$root/scripts/guest/install-check.sh")
	run=(/bin/install-check.sh "$KVER")
	;;
cycles)
	# About a second per cycle on the debug kernel under TCG, a fifth of
	# that on Debian's: the thousand cycles with memory accounting run
	# there, the debug kernel's share is for kmemleak.
	if [[ $series == debug ]]; then
		export MMAPDEMO_CYCLES=${MMAPDEMO_CYCLES:-240}
	fi
	files+=("/bin/cycles.sh=$root/scripts/guest/cycles.sh")
	run=(/bin/cycles.sh)
	;;
stress)
	# The debug lane's stress: seven and a half minutes over three backends.
	if [[ $series == debug ]]; then
		export MMAPDEMO_STRESS_SECONDS=${MMAPDEMO_STRESS_SECONDS:-150}
	fi
	program /bin/mmapdemo-stress "$build/userspace/bin/mmapdemo-stress"
	# Debian's stress-ng is dynamic: build-initramfs.sh brings its libraries.
	stress_ng=$(command -v stress-ng) || die "stress-ng not found; run scripts/host/install-deps.sh"
	files+=("/bin/stress-ng=$stress_ng" "/bin/stress-run.sh=$root/scripts/guest/stress-run.sh")
	run=(/bin/stress-run.sh)
	;;
bench)
	program /bin/mmapdemo-bench "$build/userspace/bin/mmapdemo-bench"
	files+=("/bin/guest-bench.sh=$root/scripts/guest/guest-bench.sh")
	run=(/bin/guest-bench.sh)
	;;
bundle)
	# Nothing of ours but the tarball, which has to bring everything itself,
	# and the runner's library for /init's check of the boot: the bundle's
	# run.sh uses its own copy (MMAPDEMO_GUEST_LIB).
	files=("/bin/guest-lib.sh=$root/scripts/guest/guest-lib.sh")
	bundle=$vmdir/mmapdemo-bundle-$KVER.tar.gz
	make -C "$root" bundle KVER="$KVER" KDIR="$KDIR" BUILD="$build" BUNDLE="$bundle" \
		>"$vmdir/bundle.log" 2>&1 || {
		cat "$vmdir/bundle.log" >&2
		die "make bundle failed"
	}
	files+=("/bundle.tar.gz=$bundle")
	# As docs/install.md tells users, but the results and dmesg go to the host's
	# ports as in the test job; the unpacked copy is all the guest keeps.
	run=(/bin/sh -c "tar -xzf /bundle.tar.gz && rm /bundle.tar.gz &&
MMAPDEMO_RESULTS_PORT=/dev/ttyS1 MMAPDEMO_DMESG_PORT=/dev/ttyS2 exec ./mmapdemo-bundle-$KVER/run.sh")
	;;
esac

jobfile=$vmdir/job-$run_name.sh
files+=("/job=$jobfile")

# sh_quote WORD: WORD as one single-quoted word for the guest's sh.
sh_quote() {
	local q="'\\''"
	printf "'%s'" "${1//\'/$q}"
}

# pack [RESUME]: write the guest's /job (with MMAPDEMO_RESUME when a boot
# resumes after a wedged one) and the initramfs that carries it.
pack() {
	{
		echo '#!/bin/sh'
		echo "# Generated by scripts/vm/guest.sh: the $job job of the guest."
		echo 'MMAPDEMO_KO=/lib/mmapdemo.ko'
		echo 'export MMAPDEMO_KO'
		# The command the CLI tests run (tests/cli.cpp).
		echo 'MMAPDEMO_CLI=/bin/mmapdemo'
		echo 'export MMAPDEMO_CLI'
		# Host settings for the guest's scripts travel into the guest here.
		local var
		for var in MMAPDEMO_BACKENDS MMAPDEMO_TEST_TIMEOUT MMAPDEMO_TEST_FILTER \
			MMAPDEMO_TEST_REPEAT MMAPDEMO_CYCLES MMAPDEMO_STRESS_SECONDS \
			MMAPDEMO_STRESS_PROCESSES MMAPDEMO_STRESS_SEED MMAPDEMO_STRESSNG_SECONDS \
			MMAPDEMO_BENCH_REPS MMAPDEMO_BENCH_PARTS MMAPDEMO_BENCH_BACKENDS; do
			if [[ -n ${!var:-} ]]; then
				printf '%s=%s\nexport %s\n' "$var" "$(sh_quote "${!var}")" "$var"
			fi
		done
		if [[ -n ${1:-} ]]; then
			printf 'MMAPDEMO_RESUME=%s\nexport MMAPDEMO_RESUME\n' "$(sh_quote "$1")"
		fi
		printf 'exec'
		local arg
		for arg in "${run[@]}"; do
			printf ' %s' "$(sh_quote "$arg")"
		done
		printf '\n'
	} >"$jobfile"
	chmod 755 "$jobfile"
	"$here/build-initramfs.sh" "$vmdir/initramfs-$run_name.gz" "${files[@]}"
}

# fetch-kernel.sh leaves an uncompressed copy when it can: it boots faster.
kernel=$(dirname "$VMLINUZ")/vmlinux-$KVER
[[ -f $kernel ]] || kernel=$VMLINUZ

outdir=$vmdir/$run_name
append=${MMAPDEMO_VM_APPEND:-}
[[ ${MMAPDEMO_STRESS_SECONDS:-0} =~ ^[0-9]+$ ]] ||
	die "MMAPDEMO_STRESS_SECONDS must be a number of seconds"
# A soak asks for more than the default limit: three times its run time.
vm_timeout=$((900 + 6 * ${MMAPDEMO_STRESS_SECONDS:-0}))
vm_args=()
if [[ $series == debug ]]; then
	# Both checks are built in but stay off unless asked for at boot. Full
	# preemption lets a woken task run the moment a lock is dropped, which
	# the suite's race tests rely on to reach windows of a few instructions.
	# KASAN prints only its first report unless told otherwise, and 6.1's
	# KASAN reports a wild access at boot when QEMU's CPU offers 5-level
	# paging: without no5lvl and kasan_multi_shot it would stay silent for
	# the tests.
	append="debug_pagealloc=on page_table_check=on preempt=full no5lvl kasan_multi_shot${append:+ $append}"
	vm_timeout=$((vm_timeout + 4500))
fi
# KASAN's shadow and kmemleak's metadata need room beside the tests, and
# the large-buffer test a gigabyte buffer and its replacement at once; on
# Debian's kernels that test's gigabyte copy is what must hold a CPU well
# past the scheduler's warning limit if it never yields, and that limit
# well past what a busy host stalls a guest for. The benchmarks map a
# 256 MiB buffer next to anonymous and memfd copies.
if [[ $series == debug ]]; then
	vm_args+=(--mem 4096)
elif [[ $job == test || $job == bundle ]]; then
	vm_args+=(--mem 3072)
elif [[ $job == bench ]]; then
	vm_args+=(--mem 2048)
fi
if [[ -n ${MMAPDEMO_VM_MEM:-} ]]; then
	[[ $MMAPDEMO_VM_MEM =~ ^[1-9][0-9]*$ ]] || die "MMAPDEMO_VM_MEM must be a number of MiB"
	vm_args+=(--mem "$MMAPDEMO_VM_MEM")
fi

# The watchdog's limit: the longest a healthy guest goes without a line on
# the results port. Steps report when they start and end, so that is the
# slowest step plus time to boot and to check the kernel log.
case $job in
test | bundle) silence=$((${MMAPDEMO_TEST_TIMEOUT:-120} + 120)) ;;
stress) silence=$((${MMAPDEMO_STRESS_SECONDS:-60} + ${MMAPDEMO_STRESSNG_SECONDS:-30} + 180)) ;;
cycles) silence=300 ;;
# The others report only at the end: the wall-clock limit covers them.
*) silence=${MMAPDEMO_VM_TIMEOUT:-$vm_timeout} ;;
esac
silence=${MMAPDEMO_VM_SILENCE:-$silence}
[[ $silence =~ ^[1-9][0-9]*$ ]] || die "MMAPDEMO_VM_SILENCE must be a positive number of seconds"

# One host thread for all vCPUs: with a thread per vCPU, QEMU 7.2 wedges
# guests that patch kernel text (a tracepoint or static key switched on while
# the other vCPU runs); see docs/reliability.md, "Wedged guests".
case ${MMAPDEMO_VM_THREADS:-single} in
multi) ;;
single) vm_args+=(--single-thread) ;;
*) die "MMAPDEMO_VM_THREADS must be multi or single" ;;
esac
vm_args+=(--kernel "$kernel" --initrd "$vmdir/initramfs-$run_name.gz" --outdir "$outdir"
	--timeout "${MMAPDEMO_VM_TIMEOUT:-$vm_timeout}" --silence "$silence")
if [[ -n $append ]]; then
	vm_args+=(--append "$append")
fi

# pending RESULTS: the step a guest had started and not finished.
pending() {
	tr -d '\r' <"$1" | awk '/^RUN / { p = substr($0, 5) } /^(PASS|FAIL|SKIP) / { p = "" }
		END { print p }'
}

# Boot until the job finishes. A guest that wedges (the watchdog's 123, or
# the wall-clock limit's 124) in a step is booted afresh: the test job goes
# on at that test and runs it once more, the other jobs start over; a step
# that wedges twice fails, and the test job then goes on after it. Each
# wedge leaves a "HUNG <step>" line in the results. A guest that stalls
# before it reports anything (seen under TCG at boot) is booted once more.
# The suite's runner can resume at a test; other jobs only start over.
resumable=false
[[ $job != test && $job != bundle ]] || resumable=true
all=$outdir/results-all.log
mkdir -p "$outdir"
: >"$all"
resume="" hung="" boots=0 stalled=false status=0
while :; do
	boots=$((boots + 1))
	pack "$resume"
	status=0
	"$here/run-vm.sh" "${vm_args[@]}" || status=$?
	results=$outdir/results.log
	[[ -f $results ]] || : >"$results"
	step=""
	if [[ $status -eq 123 || $status -eq 124 ]]; then
		step=$(pending "$results")
	fi
	if [[ -z $step && ($status -eq 123 || $status -eq 124 || $status -eq 125) &&
		! -s $results && $stalled == false ]]; then
		echo "$prog: $KVER $run_name: the guest reported nothing; booting it once more" >&2
		stalled=true
		mv "$outdir/console.log" "$outdir/console-boot$boots.log" 2>/dev/null || :
		continue
	fi
	if [[ $resumable == false && -n $step && -z $hung ]]; then
		# Only the whole job can run again: forget this boot's results.
		echo "HUNG $step (wedged the guest; the job runs again on a fresh boot)" >>"$all"
	else
		grep -v '^EXIT ' "$results" | tr -d '\r' >>"$all" || :
	fi
	if [[ -z $step && ($status -eq 123 || $status -eq 124) ]]; then
		echo "FAIL $job (the guest wedged outside any step)" >>"$all"
	fi
	[[ -n $step && $boots -lt 6 ]] || break
	mv "$outdir/console.log" "$outdir/console-boot$boots.log" 2>/dev/null || :
	mv "$outdir/wedged-cpus.log" "$outdir/wedged-cpus-boot$boots.log" 2>/dev/null || :
	if grep -qxF "$step" <<<"$hung" || [[ $resumable == false && -n $hung ]]; then
		echo "FAIL $step (wedged the guest twice)" >>"$all"
		echo "$prog: $KVER $run_name: $step wedged the guest again; going on after it" >&2
		[[ $resumable == true ]] || break
		resume="after:$step"
	else
		[[ $resumable == false ]] || echo "HUNG $step (wedged the guest; retried on a fresh boot)" >>"$all"
		echo "$prog: $KVER $run_name: $step wedged the guest; booting afresh to run it once more" >&2
		hung+="$step"$'\n'
		resume=""
		[[ $resumable == false ]] || resume="retry:$step"
	fi
done
# One file of results over every boot, for scripts/vm/vm-suite.sh, and the
# test runner's JUnit lines (scripts/guest/runtests.sh) apart as one document.
grep -v '^JUNIT ' "$all" >"$results" || :
rm -f "$outdir/junit.xml"
if grep -q '^JUNIT ' "$all"; then
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<testsuites name=\"mmapdemo $KVER $job\">"
		sed -n 's/^JUNIT //p' "$all"
		echo '</testsuites>'
	} >"$outdir/junit.xml"
fi
if [[ $status -eq 0 ]] && grep -q '^FAIL ' "$all"; then
	status=1
fi

{
	echo "$prog: $KVER $run_name: exit status $status after $boots boot(s); logs:"
	echo "  console: $outdir/console.log"
	echo "  results: $outdir/results.log"
	echo "  dmesg:   $outdir/dmesg.log"
	[[ ! -f $outdir/junit.xml ]] || echo "  junit:   $outdir/junit.xml"
	if [[ -n $hung ]]; then
		echo "  wedged the guest at least once:"
		sed '/^$/d; s/^/    /' <<<"$hung"
	fi
} >&2
exit "$status"
