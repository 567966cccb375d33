#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Write the tarball of `make bundle`: everything the suite needs on a machine
# of one's own, under one directory mmapdemo-bundle-<kver>/:
#   run.sh           the entry point (scripts/guest/bundle-run.sh)
#   mmapdemo.ko      the module, built for KVER
#   KVER             that release, which run.sh checks against uname -r
#   bin/             mmapdemo-tests, mmapdemo (the CLI the tests run), the
#                    runner scripts/guest/runtests.sh with scripts/guest/guest-lib.sh, and a
#                    static busybox for the runner's tools
# Every program is static: the machine's C library does not matter. The
# archive is reproducible for identical inputs.
#
# Usage: scripts/vm/bundle.sh OUT KVER KO USERSPACE_DIR
#   OUT            the tarball to write (.tar.gz)
#   KVER           the release mmapdemo.ko is built for
#   KO             mmapdemo.ko
#   USERSPACE_DIR  the build of `make userspace` (static binaries)
set -euo pipefail

prog=${0##*/}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

usage() {
	usage_exit "OUT KVER KO USERSPACE_DIR"
}

[[ $# -eq 4 && $1 == *.tar.gz ]] || usage
out=$1 kver=$2 ko=$3 userspace=$4

[[ -f $ko ]] || die "$ko not found; run 'make module' first"
# The kernel refuses a module of another release; say so here, not on the VM.
vermagic=$(modinfo -F vermagic "$ko") || die "modinfo cannot read $ko"
[[ $vermagic == "$kver "* ]] || die "$ko is built for '${vermagic%% *}', not $kver"

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	[[ -x $b ]] && { busybox=$b; break; }
done
[[ -n $busybox ]] || die "busybox not found; install busybox-static"

# static PATH: PATH must exist and be linked statically.
static() {
	[[ -x $1 ]] || die "$1 not found; run 'make userspace' first"
	if readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; then
		die "$1 is dynamically linked; 'make userspace' builds static binaries" \
			"(and busybox-static a static busybox)"
	fi
}

name=mmapdemo-bundle-$kver
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dir=$stage/$name
mkdir -p "$dir/bin"

for bin in "$userspace/bin/mmapdemo-tests" "$userspace/bin/mmapdemo" "$busybox"; do
	static "$bin"
	install -m 755 "$bin" "$dir/bin/"
done
install -m 644 "$ko" "$dir/mmapdemo.ko"
install -m 755 "$root/scripts/guest/runtests.sh" "$dir/bin/runtests.sh"
install -m 644 "$root/scripts/guest/guest-lib.sh" "$dir/bin/guest-lib.sh"
install -m 755 "$root/scripts/guest/bundle-run.sh" "$dir/run.sh"
echo "$kver" >"$dir/KVER"

mkdir -p "$(dirname "$out")"
tar -C "$stage" --sort=name --mtime="@${SOURCE_DATE_EPOCH:-0}" --owner=0 --group=0 \
	--numeric-owner -cf - "$name" | gzip -n >"$out.tmp"
mv "$out.tmp" "$out"
echo "bundle: $out ($(du -h "$out" | cut -f1)); on the machine, as root:" \
	"tar -xzf ${out##*/} && ./$name/run.sh"
