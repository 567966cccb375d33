# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Shell functions shared by the guest jobs (busybox sh), sourced as
#   . /bin/guest-lib.sh
# Results: one "PASS|FAIL|SKIP <name> (<seconds>s)" line per step on the
# console and on the results port /dev/ttyS1, after a "RUN <name>" line there
# when it starts (the host's watchdog names a wedged step from it);
# guest_summary prints the closing "N passed, N failed, N skipped" and dumps
# dmesg to /dev/ttyS2.
#
# A step is checked against the kernel log lines logged since its mark: any
# warning, oops, lockdep or sanitizer report, or a new taint fails it.

# The guests' serial ports. A run on a machine of its own (scripts/guest/bundle-run.sh,
# the run.sh of `make bundle`) has none: "" there means no port, and the dmesg
# port may be a regular file.
results_port=${MMAPDEMO_RESULTS_PORT-/dev/ttyS1}
dmesg_port=${MMAPDEMO_DMESG_PORT-/dev/ttyS2}
# Kernel log lines that mean something went wrong in the kernel.
bad_re='BUG:|WARNING:|Oops|KASAN|KFENCE|UBSAN|kernel BUG|general protection|possible circular locking|possible recursive locking|INFO: task|Call Trace|kmemleak|refcount_t'
# An allocation that fails by design (fault injection) has warn_alloc() dump
# its stack: that alone is no fault, everything else still is.
injected_re='mmapdemo: injecting allocation failures'
bad_injected_re='BUG:|WARNING:|Oops|KASAN|KFENCE|UBSAN|kernel BUG|general protection|possible circular locking|possible recursive locking|INFO: task|kmemleak|refcount_t'
# ... nor is kmemleak saying that its own bookkeeping allocation failed.
injected_ok_re='kmemleak: Cannot allocate a scan area'
# ... nor, at boot, kmemleak saying that it has started.
boot_ok_re='kmemleak: Kernel memory leak detector initialized'
# Loading our own module sets O (out-of-tree) and E (unsigned); nothing else may appear.
taint_ok=$((4096 | 8192))
kmemleak=/sys/kernel/debug/kmemleak

npass=0
nfail=0
nskip=0
guest_work=$(mktemp -d)

# Process creation is slow on the debug kernel (KASAN, lockdep, page
# poisoning): about 0.1 s a fork there. The bookkeeping around each step
# therefore uses shell builtins and at most one pipeline.

# clock: set $now to the centiseconds since boot (good enough to time a step).
clock() {
	read -r up _ </proc/uptime
	frac=${up#*.}
	now=$((${up%.*} * 100 + ${frac#0}))
}

# elapsed T0: set $el to the centiseconds since T0 (a $now of clock).
elapsed() {
	clock
	el=$((now - $1))
}

# read_taint: set $taint to the kernel's taint mask. (Not with the shell's
# read: it reads a byte at a time, and a sysctl file read that way ends
# after its first byte.) kernel_ok leaves $taint set, so a step that follows
# a check can take it as its baseline: taint bits are never cleared.
taint_file=${taint_file:-/proc/sys/kernel/tainted}
read_taint() {
	taint=$(cat "$taint_file")
}

indent() {
	sed 's/^/    /'
}

# Mark the kernel log so the check after a step only sees that step's lines.
# The check empties the ring buffer into an archive, so the ring it reads
# holds only what was logged since the last check (the debug kernel's log is
# long). /dev/kmsg readers (the tests) are not affected.
mark() {
	echo "<6>mmapdemo: begin $1" >/dev/kmsg
}

# kernel_ok NAME TAINT: check the kernel after step NAME (taint baseline
# TAINT): a bad line logged since its mark (all lines if the mark was lost)
# or a new taint. On trouble print why, and return 1.
# The taint mask comes through the same awk (into a regular file, which
# the shell's read can take): a process less per check.
kernel_ok() {
	ok=0
	dmesg -c | awk -v m="mmapdemo: begin $1" -v archive="$guest_work/dmesg.archive" \
		-v bad="$bad_re" -v inj="$injected_re" -v bad_inj="$bad_injected_re" \
		-v inj_ok="$injected_ok_re" -v tf="$taint_file" -v taint_out="$guest_work/taint" '
		FILENAME == tf { print > taint_out; next }
		{ print >>archive; line[++n] = $0 }
		length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m { start = n }
		END {
			for (i = start + 1; i <= n; i++)
				if (line[i] ~ inj)
					injected = 1
			for (i = start + 1; i <= n; i++) {
				if (injected ? line[i] ~ bad_inj && line[i] !~ inj_ok : line[i] ~ bad) {
					if (!found)
						print "  kernel log:"
					found = 1
					print "    " line[i]
				}
			}
			exit found
		}' - "$taint_file" || ok=1
	read -r taint <"$guest_work/taint"
	gained=$((taint & ~$2 & ~taint_ok))
	if [ "$gained" -ne 0 ]; then
		echo "  kernel taint gained $gained (now $taint)"
		ok=1
	fi
	return $ok
}

# boot_ok: the "boot" step: the kernel logged nothing bad while it booted.
# A report there is no driver's, but KASAN prints only its first report: one
# at boot would hide every later one from the tests' checks.
boot_ok() {
	started boot
	if dmesg | grep -E "$bad_re" | grep -vE "$boot_ok_re" >"$guest_work/boot"; then
		report FAIL boot 0
		echo "  kernel log:"
		indent <"$guest_work/boot"
		return 1
	fi
	report PASS boot 0
}

# positive NAME VALUE: VALUE, or exit 2 saying that NAME must be a
# positive number.
positive() {
	case $2 in
	'' | *[!0-9]* | 0)
		echo "${0##*/}: $1 must be a positive number, not '$2'" >&2
		exit 2
		;;
	esac
	echo "$2"
}

# module_job: the settings of a job that loads mmapdemo itself, once per
# backend (cycles.sh, stress/run.sh): $ko from MMAPDEMO_KO, which must be
# set, and $backends from MMAPDEMO_BACKENDS (default: every backend).
# shellcheck disable=SC2034 # both are for the job
module_job() {
	ko=${MMAPDEMO_KO:?MMAPDEMO_KO is not set}
	backends=${MMAPDEMO_BACKENDS:-kmalloc vmalloc chunked}
}

# started NAME: tell the host that step NAME begins.
started() {
	if [ -c "$results_port" ]; then
		echo "RUN $1" >"$results_port"
	fi
}

# report VERDICT NAME CENTISECONDS
report() {
	cs=$(($3 % 100))
	[ $cs -ge 10 ] || cs=0$cs
	line="$1 $2 ($(($3 / 100)).${cs}s)"
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

# run_step NAME COMMAND...: run one step, check the kernel after it and
# report PASS or FAIL. The command's output is left in $guest_work/out,
# what the kernel check found in $guest_work/kernel. Returns 1 on FAIL.
run_step() {
	step_name=$1
	shift
	started "$step_name"
	mark "$step_name"
	read_taint
	step_taint=$taint
	clock
	step_t0=$now
	step_status=0
	"$@" >"$guest_work/out" 2>&1 || step_status=1
	kernel_ok "$step_name" "$step_taint" >"$guest_work/kernel" || step_status=1
	clock
	if [ $step_status -eq 0 ]; then
		report PASS "$step_name" $((now - step_t0))
	else
		report FAIL "$step_name" $((now - step_t0))
	fi
	return $step_status
}

loaded() {
	[ -d /sys/module/mmapdemo ]
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

have_kmemleak() {
	[ -w "$kmemleak" ]
}

# Forget what kmemleak suspected so far (boot-time reports of other code).
kmemleak_clear() {
	if have_kmemleak; then
		echo clear >"$kmemleak"
	fi
}

# Scan for leaks; print the reports whose allocation backtrace runs through
# mmapdemo and return 1 if there are any. Other suspects are listed as notes.
# kmemleak only reports objects older than 5 s, so wait that long first.
kmemleak_ok() {
	have_kmemleak || return 0
	sleep 6
	echo scan >"$kmemleak"
	cat "$kmemleak" >"$guest_work/leaks"
	awk -v out="$guest_work/ours" '
		function flush() { if (rec != "") { if (rec ~ /mmapdemo/) print rec > out; else other++ } rec = "" }
		/^unreferenced object/ { flush() }
		{ rec = rec $0 "\n" }
		END { flush(); if (other) printf "  note: kmemleak lists %d suspects outside mmapdemo\n", other }
	' "$guest_work/leaks"
	if [ -s "$guest_work/ours" ]; then
		echo "  kmemleak: leaks through mmapdemo:"
		indent <"$guest_work/ours"
		rm -f "$guest_work/ours"
		return 1
	fi
	return 0
}

# A step that checks for leaks: PASS, or FAIL with the reports.
kmemleak_step() {
	have_kmemleak || return 0
	clock
	t0=$now
	leak_verdict=PASS
	kmemleak_ok >"$guest_work/kmemleak.out" || leak_verdict=FAIL
	elapsed "$t0"
	report "$leak_verdict" "$1" "$el"
	cat "$guest_work/kmemleak.out"
}

# Closing line, dmesg to its port; exit status 1 if anything failed.
guest_summary() {
	if [ -c "$dmesg_port" ] || [ -f "$dmesg_port" ]; then
		{
			cat "$guest_work/dmesg.archive" 2>/dev/null
			dmesg
		} >"$dmesg_port"
	fi
	rm -rf "$guest_work"
	echo "$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ]
}
