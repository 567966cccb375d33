#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make (once) and provision a minimal Debian root of another suite in the
# cache, for kernels whose headers need that suite's compiler and C library
# (kernels.conf's "root" column). The root holds make, binutils (gcc needs
# `as`), sparse, dkms, the compilers of its kernels and whichever packages
# are asked for, installed with the root's own apt: nothing of it enters the
# host's package database. Packages already there cost no network.
#
# Usage: scripts/build-root.sh NAME [PACKAGE[=VERSION]...]
#   NAME  a root of kernels.conf (e.g. trixie, sid)
# Prints ROOT=<directory> on stdout; progress goes to stderr.
# Cache: <cache>/roots/NAME (see scripts/lib.sh)
set -euo pipefail

prog=${0##*/}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 1 ]] || {
	echo "usage: $prog NAME [PACKAGE[=VERSION]...]" >&2
	exit 2
}
name=$1
shift

# The suites of the kernels built in this root: the root's own, plus e.g.
# its backports.
mapfile -t suites < <(kernels_conf | awk -v r="$name" '$3 == r { print $2 }' | sort -u)
[[ ${#suites[@]} -gt 0 && $name != host ]] || die "no kernel of kernels.conf is built in a root '$name'"
mapfile -t gccs < <(kernels_conf | awk -v r="$name" '$3 == r { print $4 }' | sort -u)
want=(make binutils sparse dkms "${gccs[@]}" "$@")

[[ $(id -u) -eq 0 ]] || die "making a build root needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap not found; run scripts/install-deps.sh"

cache=$(cache_dir)
root=$cache/roots/$name
mkdir -p "$cache/roots"
# Serialise concurrent users of the roots: one apt at a time per root.
exec 9>"$cache/roots/.lock-$name"
flock 9

if [[ ! -f $root/.mmapdemo-root ]]; then
	mirror=$(host_mirror)
	log "creating the $name build root from $mirror (once; about 20 s)"
	stage=$cache/roots/.stage-$name
	rm -rf "$stage"
	trap 'rm -rf "$stage"' EXIT
	debootstrap --variant=minbase "$name" "$stage" "$mirror" </dev/null >"$cache/roots/$name.log" 2>&1 || {
		tail -n 20 "$cache/roots/$name.log" >&2
		die "debootstrap $name failed (log: $cache/roots/$name.log)"
	}
	for s in "${suites[@]}"; do
		[[ $s == "$name" ]] || echo "deb $mirror $s main" >>"$stage/etc/apt/sources.list.d/mmapdemo.list"
	done
	# The root is for builds only: no documentation, no recommended packages.
	printf 'APT::Install-Recommends "false";\n' >"$stage/etc/apt/apt.conf.d/90mmapdemo"
	touch "$stage/.mmapdemo-root"
	rm -rf "$root"
	mv "$stage" "$root"
	trap - EXIT
	log "created $root"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || :

# installed PKG[=VER]: whether the root has that package (at that version).
installed() {
	local pkg=${1%%=*} ver
	# shellcheck disable=SC2016 # dpkg-query expands these, not the shell
	ver=$(chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$pkg" 2>/dev/null) || return 1
	[[ $ver == "ii "* ]] || return 1
	[[ $1 != *=* || ${ver#ii } == "${1#*=}" ]]
}

missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
	run=("$lib_dir/in-root.sh" "$root" --)
	out=$("${run[@]}" apt-get -q update 2>&1) || {
		# A mirror snapshot can serve a Release past its Valid-Until date.
		grep -q 'is expired' <<<"$out" || {
			echo "$out" >&2
			die "apt-get update in the $name root failed"
		}
		log "note: the $name Release file on the mirror is past its Valid-Until date;" \
			"the $name build root accepts it (Acquire::Check-Valid-Until=false)"
		printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/91mmapdemo-valid-until"
		"${run[@]}" apt-get -q update >&2 || die "apt-get update in the $name root failed"
	}
	log "installing into the $name root: ${missing[*]}"
	"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null >"$cache/roots/$name.log" 2>&1 || {
		tail -n 20 "$cache/roots/$name.log" >&2
		die "apt-get install in the $name root failed (log: $cache/roots/$name.log)"
	}
	"${run[@]}" apt-get clean
fi
echo "ROOT=$root"
