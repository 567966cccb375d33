#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a small gzip'd newc initramfs for the QEMU guests: static busybox with
# a link per applet, the usual mount points, scripts/guest/guest-init.sh as /init,
# and any extra files. The archive is reproducible for identical inputs.
#
# Usage: scripts/vm/build-initramfs.sh OUT [DEST=SRC]...
#   OUT       the initramfs to write (e.g. build/vm/<kver>/initramfs.gz)
#   DEST=SRC  copy host file SRC to absolute guest path DEST (mode preserved;
#             parent directories are created); e.g. /job=path/to/job.sh
# A dynamically linked SRC (e.g. Debian's stress-ng) brings its loader and
# the shared libraries ldd lists, at the same paths as on the host.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/../lib.sh"

usage() {
	usage_exit "OUT [DEST=SRC]...   (DEST: absolute path in the guest)"
}

[[ $# -ge 1 && -n $1 && $1 != *=* ]] || usage
out=$1
shift

for spec in "$@"; do
	[[ $spec == /*=* ]] || {
		echo "$prog: bad argument '$spec': want DEST=SRC with DEST absolute" >&2
		usage
	}
	src=${spec#*=}
	[[ -f $src ]] || die "'$src' (for ${spec%%=*}) is not a regular file"
done

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	[[ -x $b ]] && { busybox=$b; break; }
done
[[ -n $busybox ]] || die "busybox not found; install busybox-static"
# The guest has no libc, so a dynamically linked busybox cannot run there.
if readelf -l "$busybox" 2>/dev/null | grep -q 'interpreter'; then
	die "$busybox is dynamically linked; install busybox-static"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,mnt,etc,lib,root,usr}
chmod 1777 "$stage/tmp"
ln -s bin "$stage/sbin"
ln -s ../bin "$stage/usr/bin"
ln -s ../bin "$stage/usr/sbin"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$stage/bin/$applet"
done
install -m 755 "$here/../guest/guest-init.sh" "$stage/init"

for spec in "$@"; do
	dest=${spec%%=*}
	src=${spec#*=}
	mkdir -p "$stage$(dirname "$dest")"
	rm -f "$stage$dest"
	cp --preserve=mode "$src" "$stage$dest"
done

# The loader and libraries of dynamically linked programs.
for spec in "$@"; do
	src=${spec#*=}
	readelf -l "$src" 2>/dev/null | grep -q 'program interpreter' || continue
	# ldd prints "name => /path (addr)" or "/path (addr)" per library.
	ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while IFS= read -r lib; do
			[[ -e $stage$lib ]] && continue
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib"
		done
done

# Fixed timestamps and sorted names make the archive reproducible.
find "$stage" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 -printf "%P\0" | LC_ALL=C sort -z |
	cpio --quiet --null -o -H newc --reproducible --owner=0:0) |
	gzip -n >"$out.tmp"
mv "$out.tmp" "$out"
