#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch a Debian kernel image and its headers into a per-user cache, without
# installing anything into the host's /boot or package database.
#
# Usage: scripts/fetch-kernel.sh SERIES
#   SERIES  6.1 (bookworm) or 6.12 (bookworm-backports)
#
# Prints three shell-assignable lines on stdout (progress goes to stderr):
#   KVER=<abi>  KDIR=<headers tree>  VMLINUZ=<kernel image>
# Next to VMLINUZ it also leaves vmlinux-<abi>, the uncompressed kernel, which
# QEMU boots faster (PVH entry), when it can be extracted.
# Cache: ${MMAPDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmapdemo}/kernels/<abi>
set -euo pipefail

prog=${0##*/}

usage() {
	echo "usage: $prog SERIES   (SERIES: 6.1 or 6.12)" >&2
	exit 2
}

die() {
	echo "$prog: error: $*" >&2
	exit 1
}

log() {
	echo "$prog: $*" >&2
}

# Under TCG the guest's own decompression of vmlinuz costs seconds per boot
# (about 7 s for an xz image), while QEMU boots the uncompressed ELF directly
# through its PVH entry point. Find the payload by its magic and unpack it.
extract_vmlinux() {
	local img=$1 out=$2 spec tool magic off
	for spec in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
		tool=${spec%%:*}
		magic=${spec#*:}
		command -v "$tool" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1 | head -n 3); do
			# Trailing data after the payload makes the decompressor complain.
			tail -c +$((off + 1)) "$img" | "$tool" -dc 2>/dev/null >"$out.tmp" || :
			# XEN_ELFNOTE_PHYS32_ENTRY (0x12) is what QEMU needs to boot it.
			if readelf -n "$out.tmp" 2>/dev/null | grep -qE 'Xen.*(\(0x00000012\)|PHYS32_ENTRY)'; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

[[ $# -eq 1 ]] || usage
series=$1
case $series in
6.1) release_opt=() ;;
6.12) release_opt=(-t bookworm-backports) ;;
*) usage ;;
esac

for tool in apt-cache apt-get dpkg-deb flock tar readelf; do
	command -v "$tool" >/dev/null || die "$tool not found (this needs a Debian host)"
done

cache=${MMAPDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmapdemo}
# Kbuild cannot cope with whitespace in paths, and callers parse our output.
[[ $cache != *[[:space:]]* ]] || die "cache path '$cache' contains whitespace; set MMAPDEMO_CACHE"

# apt-cache is slow here (no package cache), so it is called only twice.
img_meta=$(apt-cache depends "${release_opt[@]}" linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[[ -n $img_meta ]] || die "apt-cache knows no linux-image-amd64 for $series;" \
	"run scripts/install-deps.sh (or apt-get update) first"
# The ABI comes from the metapackage each time, so a kernel update is noticed.
abi=${img_meta#linux-image-}
[[ $abi == "$series".* ]] || die "linux-image-amd64 for $series resolves to $abi," \
	"not a $series kernel; is bookworm-backports configured and updated?"
hdr_pkg=linux-headers-$abi

# One line per package: NAME VERSION DEPENDENCY... (candidate versions).
info=$(apt-cache show --no-all-versions "${release_opt[@]}" "$img_meta" "$hdr_pkg" 2>/dev/null |
	awk '/^Package: / { pkg = $2 }
	     /^Version: / { ver = $2 }
	     /^Depends: / { dep = substr($0, 10); gsub(/ *\([^)]*\)/, "", dep); gsub(/ *[,|] */, " ", dep) }
	     /^$/ { if (pkg != "") print pkg, ver, dep; pkg = ver = dep = "" }
	     END { if (pkg != "") print pkg, ver, dep }') || true

read -r -a img_info <<<"$(grep "^$img_meta " <<<"$info" || true)"
read -r -a hdr_info <<<"$(grep "^$hdr_pkg " <<<"$info" || true)"
[[ ${#img_info[@]} -ge 2 ]] || die "apt-cache has no details for $img_meta"
[[ ${#hdr_info[@]} -ge 2 ]] || die "apt-cache has no details for $hdr_pkg"

# Some image packages are thin wrappers; the payload is then in -unsigned.
img_pkg=$img_meta
for d in "${img_info[@]:2}"; do
	[[ $d == "$img_meta-unsigned" ]] && img_pkg=$d
done
common_pkg="" kbuild_pkg=""
for d in "${hdr_info[@]:2}"; do
	case $d in
	linux-headers-*-common) common_pkg=$d ;;
	linux-kbuild-*) kbuild_pkg=$d ;;
	esac
done
[[ -n $common_pkg && -n $kbuild_pkg ]] ||
	die "cannot resolve the -common/linux-kbuild dependencies of $hdr_pkg"

pkgs=("$img_pkg" "$hdr_pkg" "$common_pkg" "$kbuild_pkg")
# A new upload of the same ABI changes these versions and triggers a refetch.
want="$img_meta=${img_info[1]}"$'\n'"$hdr_pkg=${hdr_info[1]}"$'\n'

root=$cache/kernels/$abi
stamp=$root/.mmapdemo-fetched
kdir=$root/usr/src/linux-headers-$abi
vmlinuz=$root/boot/vmlinuz-$abi

mkdir -p "$cache/kernels"
# Serialise concurrent fetches of the same cache.
exec 9>"$cache/kernels/.lock"
flock 9

if [[ -f $stamp && "$(cat "$stamp")"$'\n' == "$want" ]]; then
	log "$abi already in $root"
else
	log "fetching $abi: ${pkgs[*]}"
	stage=$(mktemp -d "$cache/kernels/.stage.XXXXXX")
	dl=$(mktemp -d)
	trap 'rm -rf "$stage" "$dl"' EXIT
	# apt-get download drops privileges to _apt when run as root.
	chmod 777 "$dl"
	# Its warning about running unsandboxed as root is expected noise.
	if ! (cd "$dl" && apt-get download -q "${pkgs[@]}") 2>&1 |
		{ grep -v 'unsandboxed' || :; } >&2; then
		die "apt-get download ${pkgs[*]} failed (stale package lists? try apt-get update)"
	fi

	# From the image only boot/ is needed; its modules are ~400 MB unpacked.
	dpkg-deb --fsys-tarfile "$dl/${img_pkg}_"*.deb | tar -x -C "$stage" ./boot
	for p in "$hdr_pkg" "$common_pkg" "$kbuild_pkg"; do
		dpkg-deb -x "$dl/${p}_"*.deb "$stage"
	done

	mk=$stage/usr/src/linux-headers-$abi/Makefile
	[[ -f $mk && -f $stage/boot/vmlinuz-$abi ]] || die "unexpected package layout for $abi"
	# The headers Makefile includes the -common tree by absolute path.
	grep -q "^include /usr/src/" "$mk" || die "no 'include /usr/src/...' line in $mk"
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$mk"

	printf '%s' "$want" | sed '/^$/d' >"$stage/.mmapdemo-fetched"
	rm -rf "$root"
	mv "$stage" "$root"
	chmod 755 "$root"
	rm -rf "$dl"
	trap - EXIT
	log "unpacked $abi into $root"
fi

vmlinux=$root/boot/vmlinux-$abi
if [[ ! -f $vmlinux && ! -f $root/boot/.no-vmlinux ]]; then
	if extract_vmlinux "$vmlinuz" "$vmlinux"; then
		log "extracted the uncompressed $vmlinux for faster guest boots"
	else
		log "note: no uncompressed vmlinux could be extracted; guests boot vmlinuz (slower)"
		touch "$root/boot/.no-vmlinux"
	fi
fi

[[ -f $kdir/Makefile && -f $vmlinuz ]] || die "cache entry $root is incomplete; remove it and retry"

echo "KVER=$abi"
echo "KDIR=$kdir"
echo "VMLINUZ=$vmlinuz"
