#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest job (scripts/vm/guest.sh SERIES stress): for each backend, load
# mmapdemo and run
#   - mmapdemo-stress: seeded random operations by several processes, each
#     checking its own bytes against a model (prints its seed; a failure
#     prints the command that replays it);
#   - stress-ng --dev on /dev/mmapdemo: a client we did not write;
# one PASS/FAIL line each, failing also on any kernel report, then a
# "kmemleak" step on kernels with kmemleak.
#
# Usage: stress-run.sh
# Environment: MMAPDEMO_KO, MMAPDEMO_BACKENDS (default "kmalloc vmalloc chunked"),
#   MMAPDEMO_STRESS_SECONDS    mmapdemo-stress time per backend (default 60)
#   MMAPDEMO_STRESS_PROCESSES  its worker processes (default 4)
#   MMAPDEMO_STRESS_SEED       its seed (default: a new one, printed)
#   MMAPDEMO_STRESSNG_SECONDS  stress-ng time per backend (default 30)
set -u

# shellcheck source=scripts/guest/guest-lib.sh
. "${MMAPDEMO_GUEST_LIB:-/bin/guest-lib.sh}"
work=$guest_work

module_job
seconds=$(positive MMAPDEMO_STRESS_SECONDS "${MMAPDEMO_STRESS_SECONDS:-60}") || exit 2
processes=$(positive MMAPDEMO_STRESS_PROCESSES "${MMAPDEMO_STRESS_PROCESSES:-4}") || exit 2
ng_seconds=$(positive MMAPDEMO_STRESSNG_SECONDS "${MMAPDEMO_STRESSNG_SECONDS:-30}") || exit 2

# step NAME COMMAND...: one result line; the output on failure, else its
# first line and its last two (the seed and the summary).
step() {
	if run_step "$@"; then
		{ head -n 1 "$work/out"; tail -n 2 "$work/out"; } | indent
	else
		tail -n 100 "$work/out" | indent
		cat "$work/kernel"
	fi
}

# stress-ng's dev stressor opens, reads, seeks, polls, maps and sends
# ioctls (including ones the device does not know) to the node.
stress_ng() {
	stress-ng --dev 2 --dev-file /dev/mmapdemo --timeout "${ng_seconds}s" \
		--metrics-brief --temp-path /tmp --no-rand-seed
}

echo "stress: kernel $(uname -r), backends: $backends," \
	"mmapdemo-stress ${seconds}s x $processes processes, stress-ng ${ng_seconds}s"
loaded && rmmod mmapdemo
kmemleak_clear

for b in $backends; do
	mark "stress/$b/insmod"
	if ! insmod "$ko" "backend=$b" >"$work/insmod" 2>&1 || ! wait_dev; then
		report FAIL "stress/$b/insmod" 0
		indent <"$work/insmod"
		continue
	fi
	step "stress/$b/mmapdemo-stress" mmapdemo-stress --processes "$processes" \
		--duration "$seconds" ${MMAPDEMO_STRESS_SEED:+--seed "$MMAPDEMO_STRESS_SEED"}
	step "stress/$b/stress-ng-dev" stress_ng
	step "stress/$b/rmmod" rmmod mmapdemo
done

kmemleak_step kmemleak
guest_summary
