#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch a Debian kernel image and its headers into a per-user cache, without
# installing anything into the host's /boot, apt sources or package database.
#
# Usage: scripts/host/fetch-kernel.sh SERIES
#   SERIES  a series of scripts/host/kernels.conf (6.1, 6.12, 7.3, 7.2, ...)
#
# Prints three shell-assignable lines on stdout (progress goes to stderr):
#   KVER=<abi>  KDIR=<headers tree>  VMLINUZ=<kernel image>
# Next to VMLINUZ it also leaves vmlinux-<abi>, the uncompressed kernel, which
# QEMU boots faster (PVH entry), when it can be extracted.
# A suite the host's apt sources carry is read through the host's apt; any
# other through a private apt configuration and state under the cache, with
# the host's mirror. The headers of a kernel built in a root (kernels.conf)
# are installed there (scripts/host/build-root.sh): KDIR is then inside the root.
# Cache: <cache>/kernels/<abi>, <cache>/apt/<suite>, <cache>/roots/<root>
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/../lib.sh"

usage() {
	echo "usage: $prog SERIES   (SERIES: $(kernel_series | paste -sd ' '))" >&2
	exit 2
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
is_kernel "$series" || usage
suite=$(kernel_field "$series" suite)
build_root=$(kernel_field "$series" root)

for tool in apt-cache apt-get dpkg-deb flock tar readelf; do
	command -v "$tool" >/dev/null || die "$tool not found (this needs a Debian host)"
done

cache=$(cache_dir)
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# release_expired LISTS: whether the InRelease in LISTS is past its Valid-Until.
release_expired() {
	local until
	until=$(sed -n 's/^Valid-Until: //p' "$1"/*InRelease 2>/dev/null | head -n 1)
	[[ -n $until ]] && [[ $(date -d "$until" +%s 2>/dev/null || echo 0) -lt $(date +%s) ]]
}

# apt_private SUITE: set apt_opts to a private apt configuration of SUITE
# alone (so its candidates are that suite's), updated at most once a day.
apt_private() {
	local d=$cache/apt/$1 out
	apt_opts=(-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
		-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/empty"
		-o "Dir::Etc::Preferences=$d/empty/preferences" -o "Dir::Etc::PreferencesParts=$d/empty")
	[[ ! -f $d/valid-until-off ]] || apt_opts+=(-o Acquire::Check-Valid-Until=false)
	# The host's sources.list.d and preferences stay out: an empty directory.
	mkdir -p "$d/lists/partial" "$d/cache" "$d/empty"
	# One user of a suite's lists at a time (apt refuses a second); the
	# lock is held until this fetch ends.
	exec 8>"$d/.lock"
	flock 8
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(host_mirror) $1 main" \
		>"$d/sources.list"
	[[ -z $(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null) ]] || return 0
	log "updating the private package lists of $1 ($d)"
	# A mirror snapshot can serve a Release past its Valid-Until date: apt
	# refuses it, unless the host's configuration already stops checking.
	if ! out=$(apt-get -q "${apt_opts[@]}" update 2>&1) || grep -q 'is expired' <<<"$out" ||
		{ [[ ! -f $d/valid-until-off ]] && release_expired "$d/lists"; }; then
		if grep -q 'is expired' <<<"$out" || release_expired "$d/lists"; then
			log "note: the $1 Release file on the mirror is past its Valid-Until date;" \
				"its private apt configuration accepts it (Acquire::Check-Valid-Until=false)"
			touch "$d/valid-until-off"
			apt_opts+=(-o Acquire::Check-Valid-Until=false)
			out=$(apt-get -q "${apt_opts[@]}" update 2>&1) && return 0
		fi
		echo "$out" >&2
		# Lists of an earlier update still name a kernel: use them offline.
		[[ -n $(find "$d/lists" -maxdepth 1 -name '*_Packages*' 2>/dev/null) ]] ||
			die "apt-get update of the private $1 lists failed"
		log "warning: the update failed; using the private $1 lists of an earlier update"
	fi
}

# Any active one-line source or deb822 stanza naming the suite counts.
release_opt=() apt_opts=()
if [[ $suite == "$codename" ]]; then
	:
elif grep -rqsE "^[^#]*[[:space:]]$suite([[:space:]]|\$)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	release_opt=(-t "$suite")
else
	apt_private "$suite"
fi
apt_cache() { apt-cache "${apt_opts[@]}" "$@"; }

# apt-cache is slow here (no package cache), so it is called only twice.
img_meta=$(apt_cache depends "${release_opt[@]}" linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[[ -n $img_meta ]] || die "apt-cache knows no linux-image-amd64 for $series ($suite);" \
	"run scripts/host/install-deps.sh (or apt-get update) first"
# The ABI comes from the metapackage each time, so a kernel update is noticed.
abi=${img_meta#linux-image-}
[[ $abi == "$series".* ]] || die "linux-image-amd64 of $suite resolves to $abi," \
	"not a $series kernel; is $suite configured and updated?"
hdr_pkg=linux-headers-$abi

# One line per package: NAME VERSION DEPENDENCY... (candidate versions).
info=$(apt_cache show --no-all-versions "${release_opt[@]}" "$img_meta" "$hdr_pkg" 2>/dev/null |
	awk '/^Package: / { pkg = $2 }
	     /^Version: / { ver = $2 }
	     /^Depends: / { dep = substr($0, 10); gsub(/ *\([^)]*\)/, "", dep); gsub(/ *[,|] */, " ", dep) }
	     /^$/ { if (pkg != "") print pkg, ver, dep; pkg = ver = dep = "" }
	     END { if (pkg != "") print pkg, ver, dep }') || true

read -r -a img_info <<<"$(grep "^$img_meta " <<<"$info" || true)"
read -r -a hdr_info <<<"$(grep "^$hdr_pkg " <<<"$info" || true)"
[[ ${#img_info[@]} -ge 2 ]] || die "apt-cache has no details for $img_meta"
[[ ${#hdr_info[@]} -ge 2 ]] || die "apt-cache has no details for $hdr_pkg"

# The package with the image itself: some image packages are thin wrappers
# of -unsigned; from 7.x linux-image-<abi> is a metapackage of
# linux-binary-<abi>, which keeps it in /usr/lib/modules/<abi>/.
img_pkg=$img_meta
for d in "${img_info[@]:2}"; do
	[[ $d == "$img_meta-unsigned" || $d == "linux-binary-$abi" ]] && img_pkg=$d
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

if [[ $build_root == host ]]; then
	pkgs=("$img_pkg" "$hdr_pkg" "$common_pkg" "$kbuild_pkg")
else
	# The headers go into the build root, through its own apt.
	pkgs=("$img_pkg")
fi
# A new upload of the same ABI changes these versions and triggers a refetch.
want="$img_meta=${img_info[1]}"$'\n'"$hdr_pkg=${hdr_info[1]}"$'\n'

root=$cache/kernels/$abi
stamp=$root/.mmapdemo-fetched
kdir=$root/usr/src/linux-headers-$abi
vmlinuz=$root/boot/vmlinuz-$abi

mkdir -p "$cache/kernels"
# Serialise concurrent fetches of the same kernel; other kernels (and
# their build roots) are fetched side by side.
exec 9>"$cache/kernels/.lock-$abi"
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
	if ! (cd "$dl" && apt-get download -q "${apt_opts[@]}" "${release_opt[@]}" "${pkgs[@]}") 2>&1 |
		{ grep -v 'unsandboxed' || :; } >&2; then
		die "apt-get download ${pkgs[*]} failed (stale package lists? try apt-get update)"
	fi

	# From the image only the kernel is needed; its modules are ~400 MB unpacked.
	mkdir -p "$stage/boot"
	listing=$(dpkg-deb -c "$dl/${img_pkg}_"*.deb)
	if grep -q " \./usr/lib/modules/$abi/vmlinuz\$" <<<"$listing"; then
		dpkg-deb --fsys-tarfile "$dl/${img_pkg}_"*.deb |
			tar -x -O "./usr/lib/modules/$abi/vmlinuz" >"$stage/boot/vmlinuz-$abi"
	else
		dpkg-deb --fsys-tarfile "$dl/${img_pkg}_"*.deb | tar -x -C "$stage" ./boot
	fi
	[[ -s $stage/boot/vmlinuz-$abi ]] || die "no kernel image in $img_pkg"
	if [[ $build_root == host ]]; then
		for p in "$hdr_pkg" "$common_pkg" "$kbuild_pkg"; do
			dpkg-deb -x "$dl/${p}_"*.deb "$stage"
		done
		mk=$stage/usr/src/linux-headers-$abi/Makefile
		[[ -f $mk ]] || die "unexpected package layout for $abi"
		# The headers Makefile includes the -common tree by absolute path.
		grep -q "^include /usr/src/" "$mk" || die "no 'include /usr/src/...' line in $mk"
		sed -i "s|^include /usr/src/|include $root/usr/src/|" "$mk"
	fi

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

if [[ $build_root != host ]]; then
	broot=$("$here/build-root.sh" "$build_root" "$hdr_pkg=${hdr_info[1]}" | sed -n 's/^ROOT=//p') ||
		die "could not provide $hdr_pkg in the $build_root build root"
	[[ -n $broot ]] || die "scripts/host/build-root.sh printed no ROOT="
	kdir=$broot/usr/src/linux-headers-$abi
fi

[[ -f $kdir/Makefile && -f $vmlinuz ]] || die "cache entry $root is incomplete; remove it and retry"

echo "KVER=$abi"
echo "KDIR=$kdir"
echo "VMLINUZ=$vmlinuz"
