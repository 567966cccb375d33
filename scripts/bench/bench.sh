#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: the user-space baselines on the host (calibration), then one
# guest boot per kernel series (scripts/vm/guest.sh SERIES bench, which runs
# scripts/guest/guest-bench.sh: every part on the kmalloc and vmalloc backends,
# bandwidth and first touch on the chunked one, in that one boot), then
# one table per kernel, a summary and a PNG per kernel.
# Progress is a line on stderr. Expects the static mmapdemo-bench from the
# build tree (`make bench` builds it).
#
# Usage: scripts/bench/bench.sh [SERIES...]   (SERIES of scripts/host/kernels.conf; default all)
# Environment (all optional):
#   BUILD                    build directory (default <repo>/build)
#   MMAPDEMO_BENCH_OUT       results directory (default <repo>/bench-results/<UTC date>)
#   MMAPDEMO_BENCH_REPS      repetitions per variant (default 10)
#   MMAPDEMO_BENCH_PARTS     comma-separated parts (default all)
#   MMAPDEMO_BENCH_BACKENDS  backends in the guest (default "kmalloc vmalloc chunked")
#   MMAPDEMO_VM_TIMEOUT      wall-clock limit per guest in seconds (default 600)
# Results: <out>/<kernel>.json per kernel, <out>/host.json, <out>/table.txt,
# <out>/summary.md (the rows docs/benchmarks.md shows), <out>/<kernel>.png;
# a second run on the same day replaces that day's files.
# Each run is a dated directory so that results can be committed and
# compared; docs/benchmarks.md links the last committed one. Guest logs in
# $BUILD/vm/<kver>/bench/.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/../lib.sh"

usage() {
	usage_exit "[SERIES...]   (SERIES: $("$here/../host/kernels.sh" list); default: all)"
}

series_list=("$@")
[[ $# -gt 0 ]] || read -r -a series_list <<<"$("$here/../host/kernels.sh" list)"
for s in "${series_list[@]}"; do
	"$here/../host/kernels.sh" has "$s" || usage
done

build=${BUILD:-$root/build}
[[ $build == /* ]] || build=$root/$build
out=${MMAPDEMO_BENCH_OUT:-$root/bench-results/$(date -u +%F)}
reps=${MMAPDEMO_BENCH_REPS:-10}
parts=${MMAPDEMO_BENCH_PARTS:-all}
backends=${MMAPDEMO_BENCH_BACKENDS:-kmalloc vmalloc chunked}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "MMAPDEMO_BENCH_REPS must be a positive number"
[[ $parts =~ ^[a-z0-9,-]+$ && $backends =~ ^[a-z\ ]+$ ]] ||
	die "unexpected MMAPDEMO_BENCH_PARTS or MMAPDEMO_BENCH_BACKENDS"

bin=$build/userspace/bin/mmapdemo-bench
[[ -x $bin ]] || die "$bin not found; run 'make bench'"
# The guest has no C library: a dynamically linked binary cannot start there.
if readelf -l "$bin" 2>/dev/null | grep -q 'program interpreter'; then
	die "$bin is dynamically linked; configure with -DMMAPDEMO_STATIC=ON ('make bench' does)"
fi
# Debian's python3, where python3-matplotlib installs, even if another one comes first in PATH.
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3) || die "python3 not found; run scripts/host/install-deps.sh"

mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.png "$out"/table.txt "$out"/summary.md

# One updating line on a terminal, one line per step otherwise.
if [[ -t 2 ]]; then
	show() { printf '\r\033[K%s' "$*" >&2; }
	done_line() { printf '\n' >&2; }
else
	show() { printf '%s\n' "$*" >&2; }
	done_line() { :; }
fi

# Wraps one run's JSON documents as {"kernel": ..., "runs": [...]}.
wrap() {
	local kernel=$1 first=true f
	shift
	printf '{"kernel":"%s","runs":[' "$kernel"
	for f in "$@"; do
		$first || printf ','
		first=false
		tr -d '\n' <"$f"
	done
	printf ']}\n'
}

start=$SECONDS
total=$((${#series_list[@]} + 1))
step=1

show "[$step/$total] host calibration (user-space baselines)"
hostdir=$build/bench/host
mkdir -p "$hostdir"
"$bin" --no-device --accel none --label host --reps "$reps" \
	--parts bandwidth,first-touch,ipc --json "$hostdir/host.json" 2>"$hostdir/progress.log" ||
	die "host calibration failed; see $hostdir/progress.log"
wrap "host $(uname -r)" "$hostdir/host.json" >"$out/host.json"

failed=()
for series in "${series_list[@]}"; do
	step=$((step + 1))
	show "[$step/$total] $series: fetching the kernel and building the module"
	# Learn the release first: it names the directory the guest's logs land in.
	KVER=$("$here/../host/fetch-kernel.sh" "$series" 2>/dev/null | sed -n 's/^KVER=//p') ||
		die "could not fetch the $series kernel"
	[[ -n $KVER ]] || die "unexpected output from fetch-kernel.sh $series"
	outdir=$build/vm/$KVER/bench
	mkdir -p "$outdir"
	rm -f "$outdir/console.log"

	# The guest's console goes to a log; its "bench: ..." lines become the
	# progress line. (run-vm.sh's own copy of the console on stdout is
	# block-buffered through a pipe, so follow the file instead.)
	MMAPDEMO_BENCH_REPS=$reps MMAPDEMO_BENCH_PARTS=$parts MMAPDEMO_BENCH_BACKENDS=$backends \
		MMAPDEMO_VM_TIMEOUT=${MMAPDEMO_VM_TIMEOUT:-600} BUILD=$build \
		"$here/../vm/guest.sh" "$series" bench >"$outdir/../bench.log" 2>&1 &
	vm_pid=$!
	tail -n +1 -s 0.5 -F --pid="$vm_pid" "$outdir/console.log" 2>/dev/null |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			bench:*) show "[$step/$total] $KVER: ${line#bench: } ($((SECONDS - start))s)" ;;
			esac
		done || : # tail fails when the log did not exist yet as it started
	status=0
	wait "$vm_pid" || status=$?

	# Unframe the documents and check their size and checksum.
	docs=()
	for b in $backends; do
		doc=$outdir/$b.json
		tr -d '\r' <"$outdir/results.log" |
			awk -v b="$b" '$1 == "END" && $2 == b { on = 0 } on { print } $1 == "BEGIN" && $2 == b { on = 1 }' \
				>"$doc"
		header=$(tr -d '\r' <"$outdir/results.log" | grep "^BEGIN $b " || :)
		if [[ -z $header ]]; then
			echo "$prog: $KVER $b: no results (see $outdir/console.log)" >&2
			continue
		fi
		read -r _ _ want_bytes want_sum <<<"$header"
		got_bytes=$(wc -c <"$doc")
		got_sum=$(md5sum <"$doc")
		if [[ $got_bytes -ne $want_bytes || ${got_sum%% *} != "$want_sum" ]]; then
			echo "$prog: $KVER $b: results missing or damaged ($got_bytes of $want_bytes bytes)" >&2
			continue
		fi
		docs+=("$doc")
	done
	if [[ ${#docs[@]} -gt 0 ]]; then
		wrap "$KVER" "${docs[@]}" >"$out/$KVER.json"
	fi
	if [[ $status -ne 0 || ${#docs[@]} -eq 0 ]]; then
		failed+=("$KVER")
		done_line
		echo "$prog: $KVER: the guest failed (status $status); logs in $outdir" >&2
		tail -n 5 "$outdir/../bench.log" >&2 || :
	fi
done
show "rendering the tables and the plot ($((SECONDS - start))s)"
done_line

"$python" "$here/bench-report.py" "$out"/*.json | tee "$out/table.txt"
"$python" "$here/bench-report.py" --summary "$out"/*.json >"$out/summary.md"
"$python" "$here/bench-plot.py" --output "$out" "$out"/*.json
echo "$prog: results in $out (JSON per kernel and host, table.txt, summary.md, a PNG per kernel); $((SECONDS - start))s" >&2
[[ ${#failed[@]} -eq 0 ]] || die "no complete results for: ${failed[*]}"
