#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run.sh of the tarball `make bundle` writes (scripts/vm/bundle.sh): the whole
# suite on the running kernel of a machine of one's own, with the output of
# our QEMU guests (scripts/guest/runtests.sh: one PASS|FAIL|SKIP line per test, then
# "N passed, N failed, N skipped"). The bundle's own static busybox provides
# every tool the runner uses, as in the guests, so the machine needs nothing
# but a kernel of the release the module was built for.
#
# Usage (as root, in the unpacked bundle):  ./run.sh
# Exit status: 0 if every test passed, 1 if any failed, 2 if the suite could
# not start (not root, another kernel release, no module loading).
# Output: also in run.log beside this script; the kernel log of the run
# (runtests.sh moves the ring buffer into it) in dmesg.log.
# Environment (all optional), as for the guests: MMAPDEMO_BACKENDS,
# MMAPDEMO_TEST_TIMEOUT, MMAPDEMO_TEST_FILTER, MMAPDEMO_TEST_REPEAT;
# MMAPDEMO_RESULTS_PORT and MMAPDEMO_DMESG_PORT (default: none and dmesg.log;
# scripts/vm/guest.sh's bundle job sets its serial ports).
set -eu

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "$prog: $*" >&2
	exit 2
}

[ $# -eq 0 ] || {
	echo "usage: $prog   (as root; environment: MMAPDEMO_BACKENDS, MMAPDEMO_TEST_TIMEOUT," \
		"MMAPDEMO_TEST_FILTER)" >&2
	exit 2
}

# The tools of our guests first: the same applets, whatever this system has.
bb=$here/bin/busybox
[ -x "$bb" ] || die "$bb is missing: unpack the whole bundle"
tools=$("$bb" mktemp -d)
trap '"$bb" rm -rf "$tools"' EXIT
"$bb" --install -s "$tools"
PATH=$tools:$PATH
export PATH

kver=$(cat "$here/KVER")
[ "$(id -u)" -eq 0 ] || die "run me as root: the suite loads and unloads mmapdemo.ko"
[ "$(uname -r)" = "$kver" ] ||
	die "this bundle's module is built for $kver, but this kernel is $(uname -r); build one for it here with 'make bundle' (KVER/KDIR as for 'make module')"
[ -e /proc/modules ] || die "this kernel cannot load modules"

# The tests read debugfs and tracefs; the guests mount both at boot.
mounted() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}
if [ -d /sys/kernel/debug ] && ! mounted /sys/kernel/debug; then
	mount -t debugfs debugfs /sys/kernel/debug
fi
if grep -qw tracefs /proc/filesystems && [ -d /sys/kernel/tracing ] &&
	! mounted /sys/kernel/tracing; then
	mount -t tracefs tracefs /sys/kernel/tracing
fi

MMAPDEMO_KO=$here/mmapdemo.ko
MMAPDEMO_CLI=$here/bin/mmapdemo
MMAPDEMO_GUEST_LIB=$here/bin/guest-lib.sh
MMAPDEMO_RESULTS_PORT=${MMAPDEMO_RESULTS_PORT-}
MMAPDEMO_DMESG_PORT=${MMAPDEMO_DMESG_PORT-$here/dmesg.log}
export MMAPDEMO_KO MMAPDEMO_CLI MMAPDEMO_GUEST_LIB MMAPDEMO_RESULTS_PORT MMAPDEMO_DMESG_PORT
case $MMAPDEMO_DMESG_PORT in
/dev/*) ;;
?*) : >"$MMAPDEMO_DMESG_PORT" ;;
esac

# runtests.sh's status through the pipe to tee: sh has no pipefail.
status=$tools/status
{
	rc=0
	sh "$here/bin/runtests.sh" "$here/bin/mmapdemo-tests" </dev/null 2>&1 || rc=$?
	echo "$rc" >"$status"
} | tee "$here/run.log"
rc=$(cat "$status" 2>/dev/null || echo 2)
echo "$prog: output in $here/run.log, kernel log in ${MMAPDEMO_DMESG_PORT:-(none)}" >&2
exit "$rc"
