#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side check of the guest runner's kernel log checks (scripts/guest/guest-lib.sh)
# under busybox sh, as in the guests, with a made-up kernel log: a step fails
# on a bad line logged after its mark and only then, stack dumps of injected
# allocation failures pass while a sanitizer report among them does not, a
# lost mark means the whole log is checked, every line is archived, a new
# taint fails the step, and the boot step fails on a report logged at boot.
#
# Usage: tests/runner-kernel-log.sh
set -euo pipefail

# shellcheck source=tests/host-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/host-lib.sh" runner
[[ $# -eq 0 ]] || usage_exit
command -v busybox >/dev/null || die "busybox not found"

# guest CHECK LOG [TAINT]: run the shell code CHECK after sourcing
# guest-lib.sh, with LOG as the kernel's ring buffer and TAINT (default 0) as
# its taint mask; prints what CHECK printed, then "status N".
guest() {
	printf '%b' "$2" >"$work/ring"
	echo "${3:-0}" >"$work/taint"
	# shellcheck disable=SC2016
	busybox sh -c '
		ring=$1 taint_file=$2
		results_port="" dmesg_port=""
		. "$3"
		dmesg() {
			busybox cat "$ring"
			[ "${1:-}" != -c ] || : >"$ring"
		}
		cat() { busybox cat "$@"; }
		awk() { busybox awk "$@"; }
		grep() { busybox grep "$@"; }
		status=0
		eval "$4" || status=$?
		echo "status $status"
		[ ! -f "$guest_work/dmesg.archive" ] || busybox wc -l <"$guest_work/dmesg.archive" |
			busybox sed "s/^ */archived /"
		busybox rm -rf "$guest_work"
	' sh "$work/ring" "$work/taint" "$root/scripts/guest/guest-lib.sh" "$1"
}

show() { sed 's/^/  | /'; }

# expect NAME OUTPUT PATTERN...: every PATTERN (extended regex) matches a line
# of OUTPUT.
expect() {
	local name=$1 out=$2 pat
	shift 2
	for pat in "$@"; do
		if ! grep -qE -- "$pat" <<<"$out"; then
			fail "$name" "no line matches '$pat' in:"
			show <<<"$out"
			return
		fi
	done
	pass "$name"
}

# reject NAME OUTPUT PATTERN: no line of OUTPUT matches PATTERN.
reject() {
	if grep -qE -- "$3" <<<"$2"; then
		fail "$1" "a line matches '$3' in:"
		show <<<"$2"
		return
	fi
	pass "$1"
}

mark='[    1.0] mmapdemo: begin kmalloc/t'
check='kernel_ok kmalloc/t 0'

out=$(guest "$check" "[    0.5] WARNING: before the step\n$mark\n[    1.1] all is well\n")
expect "a warning before the mark does not count" "$out" '^status 0$' '^archived 3$'

out=$(guest "$check" "$mark\n[    1.1] WARNING: CPU: 0 at x\n[    1.2] Call Trace:\n")
expect "a warning after the mark fails the step and is shown" "$out" '^status 1$' \
	'^  kernel log:$' '^    \[    1\.1\] WARNING: CPU: 0 at x$' '^    \[    1\.2\] Call Trace:$'

out=$(guest "$check" "$mark\n[    1.1] mmapdemo: injecting allocation failures\n[    1.2] Call Trace:\n[    1.3] kmemleak: Cannot allocate a scan area\n")
expect "stack dumps of injected failures pass" "$out" '^status 0$'

out=$(guest "$check" "$mark\n[    1.1] mmapdemo: injecting allocation failures\n[    1.2] Call Trace:\n[    1.3] BUG: KASAN: use-after-free in x\n")
expect "a sanitizer report among injected failures fails" "$out" '^status 1$' 'KASAN: use-after-free'

out=$(guest "$check" "[    0.5] BUG: KASAN: wild-memory-access in y\n[    1.1] the mark was overwritten\n")
expect "without its mark the whole log is checked" "$out" '^status 1$' 'wild-memory-access'

out=$(guest "$check; $check" "$mark\n[    1.1] WARNING: once\n")
expect "a check empties the ring: the next one does not see the same line" "$out" \
	'^status 0$' '^archived 2$'

out=$(guest "$check" "$mark\n" 1)
expect "a new taint fails the step" "$out" '^status 1$' 'kernel taint gained 1'

out=$(guest 'kernel_ok kmalloc/t 12288' "$mark\n" 12288)
expect "the taints of loading our module do not fail it" "$out" '^status 0$'

out=$(guest boot_ok "[    0.1] Linux version x\n[    0.5] BUG: KASAN: wild-memory-access in do_raw_spin_lock\n")
expect "a report at boot fails the boot step" "$out" '^status 1$' '^FAIL boot ' \
	'wild-memory-access'
reject "the boot check leaves the log for the job" "$out" '^archived'

out=$(guest boot_ok "[    0.1] Linux version x\n[    0.2] Run /init as init process\n")
expect "a clean boot passes" "$out" '^status 0$' '^PASS boot '

out=$(guest boot_ok "[    0.1] Linux version x\n[   23.3] kmemleak: Kernel memory leak detector initialized (mem pool available: 12708)\n")
expect "kmemleak starting at boot passes" "$out" '^status 0$' '^PASS boot '

all_passed
