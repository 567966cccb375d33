#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel + initramfs in QEMU (TCG, no KVM) and return the guest job's
# exit status. Serial ports: ttyS0 = console (shown live and saved to
# DIR/console.log), ttyS1 = results (DIR/results.log, ends with "EXIT <n>"),
# ttyS2 = guest dmesg dump (DIR/dmesg.log). QEMU never reads stdin.
#
# A watchdog kills a guest that wedges: when nothing new has arrived on the
# results port for --silence seconds (the guest jobs write a line there when a
# step starts and when it ends, so the limit is the slowest step plus slack),
# the guest is taken as hung, whatever its console still prints. Before the
# first line (the boot) the limit is at least two minutes.
#
# Usage: scripts/vm/run-vm.sh --kernel VMLINUZ --initrd INITRD --outdir DIR
#            [--append "EXTRA ARGS"] [--timeout SECONDS] [--silence SECONDS]
#            [--mem MiB] [--cpus N] [--single-thread]
#   --single-thread  one host thread for every vCPU (-accel tcg,thread=single)
# Defaults: --timeout 900, --silence 600, --mem 1024, --cpus 2.
# Exit: the guest's status; 123 when the watchdog found it silent; 124 on
# timeout; 125 if the guest reported none.
set -euo pipefail

prog=${0##*/}

usage() {
	[[ $# -eq 0 ]] || echo "$prog: $*" >&2
	echo "usage: $prog --kernel VMLINUZ --initrd INITRD --outdir DIR" \
		"[--append \"EXTRA ARGS\"] [--timeout SECONDS] [--silence SECONDS] [--mem MiB]" \
		"[--cpus N] [--single-thread]" >&2
	exit 2
}

kernel="" initrd="" outdir="" extra="" timeout=900 silence=600 mem=1024 cpus=2 tcg=tcg
while [[ $# -gt 0 ]]; do
	case $1 in
	--single-thread)
		tcg=tcg,thread=single
		shift
		;;
	--kernel | --initrd | --outdir | --append | --timeout | --silence | --mem | --cpus)
		[[ $# -ge 2 ]] || usage "$1 needs a value"
		case $1 in
		--kernel) kernel=$2 ;;
		--initrd) initrd=$2 ;;
		--outdir) outdir=$2 ;;
		--append) extra=$2 ;;
		--timeout) timeout=$2 ;;
		--silence) silence=$2 ;;
		--mem) mem=$2 ;;
		--cpus) cpus=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage ;;
	*) usage "unknown argument '$1'" ;;
	esac
done

[[ -n $kernel && -n $initrd && -n $outdir ]] || usage "--kernel, --initrd and --outdir are required"
for n in "$timeout" "$silence" "$mem" "$cpus"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || usage "'$n' is not a positive integer"
done
[[ -f $kernel ]] || usage "kernel '$kernel' not found"
[[ -f $initrd ]] || usage "initrd '$initrd' not found"
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "$prog: error: qemu-system-x86_64 not found; run scripts/host/install-deps.sh" >&2; exit 1; }

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
# QEMU's option syntax treats commas as separators.
[[ $outdir != *,* && $kernel != *,* && $initrd != *,* ]] ||
	usage "paths must not contain commas"
console=$outdir/console.log
results=$outdir/results.log
dmesg=$outdir/dmesg.log
monitor=$outdir/monitor.sock
wedged=$outdir/wedged-cpus.log
rm -f "$console" "$results" "$dmesg" "$monitor" "$wedged"
: >"$console"

cmdline="console=ttyS0 panic=-1 init_on_alloc=0 page_poison=1 loglevel=4 tsc=reliable${extra:+ $extra}"

# TCG only: nested KVM is unreliable on the machines this runs on.
qemu=(
	qemu-system-x86_64 -accel "$tcg" -cpu max -smp "$cpus" -m "$mem"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	-serial "file:$console" -serial "file:$results" -serial "file:$dmesg"
	-monitor "unix:$monitor,server=on,wait=off"
)

echo "$prog: booting $(basename "$kernel") (timeout ${timeout}s, silence ${silence}s," \
	"${mem} MiB, ${cpus} CPUs, $tcg)" >&2
start=$SECONDS
"${qemu[@]}" </dev/null &
qemu_pid=$!
trap 'kill -KILL "$qemu_pid" 2>/dev/null || :' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Follow the console file live; tail exits once QEMU is gone.
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$console" | tr -d '\r' &
tail_pid=$!

# cpu_state: where every vCPU of a wedged guest is, from QEMU's monitor,
# into $wedged (what the guest itself can no longer print).
cpu_state() {
	command -v python3 >/dev/null || return 0
	python3 - "$monitor" >"$wedged" 2>&1 <<'PY' || :
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
time.sleep(0.5)
s.recv(65536)
out = b""
for cmd in (b"info registers -a\n", b"info irq\n"):
    s.sendall(cmd)
    time.sleep(1)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
print(out.decode(errors="replace"))
PY
}

# stop_qemu: TERM first, so QEMU flushes its files; KILL what does not go
# (a stopped process only dies of KILL).
stop_qemu() {
	kill -TERM "$qemu_pid" 2>/dev/null || :
	for _ in 1 2 3; do
		kill -0 "$qemu_pid" 2>/dev/null || return 0
		sleep 1
	done
	kill -KILL "$qemu_pid" 2>/dev/null || :
}

# Until its first line the guest is booting, which a loaded host can make
# slower than a short silence limit: the boot gets at least two minutes.
boot_silence=$((silence > 120 ? silence : 120))
verdict=""
heard=$SECONDS last_size=0 limit=$boot_silence
while kill -0 "$qemu_pid" 2>/dev/null; do
	size=$(stat -c %s "$results" 2>/dev/null || echo 0)
	if [[ $size -ne $last_size ]]; then
		last_size=$size
		heard=$SECONDS
		limit=$silence
	fi
	if ((SECONDS - start >= timeout)); then
		verdict=timeout
	elif ((SECONDS - heard >= limit)); then
		verdict=silent
		cpu_state
	fi
	if [[ -n $verdict ]]; then
		stop_qemu
		break
	fi
	sleep 1
done
qemu_status=0
wait "$qemu_pid" 2>/dev/null || qemu_status=$?
wait "$tail_pid" || :
trap - EXIT
elapsed=$((SECONDS - start))

last_console() {
	echo "$prog: last 40 console lines:" >&2
	tail -n 40 "$console" | tr -d '\r' | sed 's/^/  | /' >&2
}

if [[ $verdict == timeout ]]; then
	echo "$prog: error: timeout: guest still running after ${timeout}s; QEMU killed" >&2
	echo "$prog: console log: $console" >&2
	exit 124
fi
if [[ $verdict == silent ]]; then
	echo "$prog: error: wedged: nothing on the results port for ${limit}s" \
		"(after $((SECONDS - start))s); QEMU killed" >&2
	last_console
	[[ ! -s $wedged ]] || echo "$prog: the vCPUs' registers: $wedged" >&2
	exit 123
fi

status=""
if [[ -f $results ]]; then
	status=$(tr -d '\r' <"$results" | sed -n 's/^EXIT \([0-9]\{1,3\}\)$/\1/p' | tail -n 1)
fi
if [[ -z $status ]]; then
	if [[ $qemu_status -ne 0 ]]; then
		echo "$prog: error: QEMU failed with status $qemu_status" >&2
	else
		echo "$prog: error: the guest reported no exit status (panic or crash?)" >&2
	fi
	last_console
	exit 125
fi
echo "$prog: guest exited with status $status after ${elapsed}s" >&2
exit "$status"
