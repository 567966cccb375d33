#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one command inside a build root (scripts/host/build-root.sh) with /proc and
# /dev, and each --bind DIR at the same path as on the host, so that paths
# mean the same inside and out. The mounts live in a private mount namespace:
# they end with the command, however it ends, and the host never sees them.
#
# Usage: scripts/host/in-root.sh ROOT [--bind DIR]... -- COMMAND [ARG...]
set -euo pipefail

prog=${0##*/}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
	echo "usage: $prog ROOT [--bind DIR]... -- COMMAND [ARG...]" >&2
	exit 2
}

inside=false
if [[ ${1:-} == --inside ]]; then
	inside=true
	shift
fi
[[ $# -ge 3 ]] || usage
root=$1
shift
binds=()
while [[ $# -gt 0 && $1 != -- ]]; do
	[[ $1 == --bind && $# -ge 2 ]] || usage
	binds+=("$2")
	shift 2
done
[[ ${1:-} == -- && $# -ge 2 ]] || usage
shift
[[ -x $root/usr/bin/env ]] || die "$root is not a build root (scripts/host/build-root.sh makes one)"

if [[ $inside == false ]]; then
	sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	args=()
	for b in "${binds[@]}"; do
		[[ $b == /* ]] || die "--bind wants an absolute directory: $b"
		# A directory the command is to fill (DESTDIR) may not exist yet.
		mkdir -p "$b"
		args+=(--bind "$b")
	done
	exec "${sudo[@]}" unshare --mount --propagation private -- \
		"$0" --inside "$root" "${args[@]}" -- "$@"
fi

mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
for b in "${binds[@]}"; do
	mkdir -p "$root$b"
	mount --bind "$b" "$root$b"
done
# The caller's make (DKMS, the Makefile) must not steer the root's make.
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
exec chroot "$root" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
