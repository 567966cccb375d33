# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What the host-side test scripts (tests/packaging.sh, watchdog.sh,
# runner-kernel-log.sh) share, sourced after `set -euo pipefail` as
#   . "$(dirname "${BASH_SOURCE[0]}")/host-lib.sh" SUITE
# It sets $prog and $root (the checkout), brings scripts/lib.sh (die,
# usage_exit, the list of kernels), and makes $work, a directory removed at
# exit; a script with more to undo then defines on_exit, which runs first.
# Results: one "PASS SUITE/<name>" or "FAIL SUITE/<name>" line per check,
# counted in $passed and $failed.

prog=${0##*/}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=$1
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

work=$(mktemp -d)
trap 'if declare -F on_exit >/dev/null; then on_exit; fi; rm -rf "$work"' EXIT
passed=0 failed=0

# pass NAME, fail NAME [WHY]: a result line, counted.
pass() {
	passed=$((passed + 1))
	echo "PASS $suite/$1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL $suite/$1${2:+: $2}"
}

# check NAME COMMAND...: PASS if COMMAND succeeds, else FAIL.
check() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name"
	fi
}

# all_passed: the exit status of the run, 0 if no check failed.
all_passed() {
	[[ $failed -eq 0 ]]
}

# summary: the closing "N passed, N failed" line, then all_passed.
summary() {
	echo "$passed passed, $failed failed"
	all_passed
}
