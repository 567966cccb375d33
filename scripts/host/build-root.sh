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
# Usage: scripts/host/build-root.sh NAME [PACKAGE[=VERSION]...]
#   NAME  a root of kernels.conf (e.g. trixie, sid)
# Prints ROOT=<directory> on stdout; progress goes to stderr.
# Cache: <cache>/roots/NAME (see scripts/lib.sh)
set -euo pipefail

prog=${0##*/}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

[[ $# -ge 1 ]] || usage_exit "NAME [PACKAGE[=VERSION]...]"
name=$1
shift

# The suites of the kernels built in this root: the root's own, plus e.g.
# its backports.
mapfile -t suites < <(kernels_conf | awk -v r="$name" '$3 == r { print $2 }' | sort -u)
[[ ${#suites[@]} -gt 0 && $name != host ]] || die "no kernel of kernels.conf is built in a root '$name'"
mapfile -t gccs < <(kernels_conf | awk -v r="$name" '$3 == r { print $4 }' | sort -u)
want=(make binutils sparse dkms "${gccs[@]}" "$@")

[[ $(id -u) -eq 0 ]] || die "making a build root needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap not found; run scripts/host/install-deps.sh"

cache=$(cache_dir)
root=$cache/roots/$name
mkdir -p "$cache/roots"
# Serialise concurrent users of the roots: one apt at a time per root.
exec 9>"$cache/roots/.lock-$name"
flock 9

if [[ ! -f $root/.mmapdemo-root ]]; then
	mirror=$(host_mirror)
	log "creating the $name build root from $mirror (once; about a minute with its tools)"
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

run=("$lib_dir/host/in-root.sh" "$root" --)
log_file=$cache/roots/$name.log

# root_update: the root's apt-get update. A mirror snapshot can serve a
# Release past its Valid-Until date: the root then accepts it, and says so.
root_update() {
	local out
	out=$("${run[@]}" apt-get -q update 2>&1) && return 0
	grep -q 'is expired' <<<"$out" || {
		echo "$out" >&2
		die "apt-get update in the $name root failed"
	}
	log "note: a Release file of the $name root's mirror is past its Valid-Until date;" \
		"the $name build root accepts it (Acquire::Check-Valid-Until=false)"
	printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/91mmapdemo-valid-until"
	"${run[@]}" apt-get -q update >>"$log_file" 2>&1 || die "apt-get update in the $name root failed"
}

# root_install PACKAGE...: install into the root, output in its log.
root_install() {
	"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o Dpkg::Options::=--force-confold "$@" </dev/null >"$log_file" 2>&1 || {
		tail -n 20 "$log_file" >&2
		die "apt-get install in the $name root failed (log: $log_file)"
	}
}

updated=false
if [[ ${#missing[@]} -gt 0 ]]; then
	root_update
	updated=true
	log "installing into the $name root: ${missing[*]}"
	root_install "${missing[@]}"
	"${run[@]}" apt-get clean
fi

# Under __CHECKER__ 7.x headers use __typeof_unqual__, which the sparse of
# some suites (trixie's 0.6.4) cannot parse: kbuild then skips the check.
# Such a root gets sparse built from unstable's source, in /usr/local.
probe='static int x;\nstatic __typeof_unqual__(x) y;\n'
sparse_ok() {
	printf '%b' "$probe" >"$root/tmp/mmapdemo-probe.c"
	local out
	out=$("${run[@]}" sparse /tmp/mmapdemo-probe.c 2>&1) && [[ -z $out ]]
}
if ! sparse_ok; then
	log "building a sparse that knows __typeof_unqual__ in the $name root (once; seconds)"
	echo "deb-src $(host_mirror) sid main" >"$root/etc/apt/sources.list.d/mmapdemo-src.list"
	[[ $updated == true && -n $(find "$root/var/lib/apt/lists" -name '*sid*Sources*') ]] || root_update
	root_install libc6-dev
	cc=${gccs[${#gccs[@]} - 1]}
	"${run[@]}" sh -ec "rm -rf /usr/local/src/sparse && mkdir -p /usr/local/src/sparse
		cd /usr/local/src/sparse && apt-get source -q --download-only sparse
		dpkg-source -x sparse_*.dsc src && make -C src -j$(nproc) CC=$cc sparse
		install -m 755 src/sparse /usr/local/bin/sparse" >>"$log_file" 2>&1 || {
		tail -n 20 "$log_file" >&2
		die "building sparse in the $name root failed (log: $log_file)"
	}
	sparse_ok || die "the sparse built in the $name root still cannot parse __typeof_unqual__"
fi

# Debian's 7.x headers lack kbuild's probe of the checker (the Makefile runs
# scripts/checker-valid.sh, and without it C=1/C=2 check nothing). Our own
# probe asks the same of the checker as above.
for common in "$root"/usr/src/linux-headers-*-common; do
	[[ -d $common ]] || continue
	grep -q 'scripts/checker-valid.sh' "$common/Makefile" 2>/dev/null || continue
	[[ ! -e $common/scripts/checker-valid.sh ]] || continue
	cat >"$common/scripts/checker-valid.sh" <<EOF_PROBE
#!/bin/sh
# Written by mmapdemo's scripts/host/build-root.sh, for want of the kernel's own:
# prints 1 when the checker (its command line as arguments) reads
# __typeof_unqual__ without a word.
f=\$(mktemp --suffix=.c) || exit 0
trap 'rm -f "\$f"' EXIT
printf '$probe' >"\$f"
out=\$("\$@" "\$f" 2>&1) && [ -z "\$out" ] && echo 1
exit 0
EOF_PROBE
	chmod 755 "$common/scripts/checker-valid.sh"
done
echo "ROOT=$root"
